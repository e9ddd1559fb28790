"""Full-chain throughput (issue #21): what a user runs, measured whole.

  full_chain_ee_mumu_events_per_s   `fastsim run` of e+e- -> mu+ mu- (ee_mumu: helicity
                                    amplitudes, ISR and FSR) through the decays, the Belle II
                                    detector, trigger, reconstruction and the HDF5 writer; one
                                    worker, chunks of 1e5 events, after a warm-up run (numba
                                    cache warm, grids trained)
  full_chain_ee_mumu_2workers_speedup   the same with two workers over one

`pythia8_ee_mumu_isr_events_per_s` (benchmarks/bench_generators.py) is Pythia 8's generation
alone of the same process in the same `benchmarks/run.py` run: the issue's yardstick is their
ratio.  The per-stage split (seconds: generator, decays, detector, trigger, reco, writer) is
printed from the run's profile (`fastsim run --profile`).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CARD = """
include: [{repo}/cards/detectors/belle2.yaml, {repo}/cards/beams/superkekb_y4s.yaml]
run: {{seed: 1, events: {events}, chunk_size: 100000, output: out.h5, workers: {workers}}}
dataset: {{name: benchmark, luminosity_fb: 1.0}}
processes:
  mumu: {{generator: ee_mumu, isr: true, fsr: true}}
"""

_SECONDS: dict[int, float] = {}


def _run(tmp: Path, events: int, workers: int) -> float:
    from fastsim.cards import load_card
    from fastsim.run import run

    card = tmp / f"chain_{events}_{workers}.yaml"
    card.write_text(CARD.format(repo=REPO, events=events, workers=workers))
    summary = run(load_card(card), output=tmp / f"chain_{events}_{workers}.h5", progress=False, profile=True)
    split = ", ".join(f"{k} {v:.2f} s" for k, v in summary.timings.items())
    print(
        f"  full chain, {events} events, {workers} worker(s): {summary.seconds:.2f} s ({split})", flush=True
    )
    return summary.seconds


def full_chain_ee_mumu_events_per_s(tmp: Path, quick: bool) -> float:
    _run(tmp, 20_000, 1)  # warm-up: compilation, grids, decay tables
    n = 200_000 if quick else 1_000_000
    _SECONDS[1] = _run(tmp, n, 1)
    return n / _SECONDS[1]


def full_chain_ee_mumu_2workers_speedup(tmp: Path, quick: bool) -> float:
    n = 200_000 if quick else 1_000_000
    if 1 not in _SECONDS:
        full_chain_ee_mumu_events_per_s(tmp, quick)
    return _SECONDS[1] / _run(tmp, n, 2)


FIGURES = {
    "full_chain_ee_mumu_events_per_s": full_chain_ee_mumu_events_per_s,
    "full_chain_ee_mumu_2workers_speedup": full_chain_ee_mumu_2workers_speedup,
}
