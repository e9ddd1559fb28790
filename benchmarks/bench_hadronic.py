"""Hadronic-event speed and memory figures (issue 16): fastsim against Pythia 8 alone.

  pythia8_ee_qqbar_events_per_s          Pythia 8 alone: e+e- -> gamma*/Z -> q qbar (u d s c) at
                                         10.58 GeV with its ISR (lepton PDFs), shower,
                                         fragmentation (Belle II tune) and its own decays
  ee_qqbar_events_per_s                  `fastsim run` of ee_qqbar: generation, Pythia 8 shower and
                                         fragmentation, DECAY_BELLE2.DEC decays, HDF5; 1 worker,
                                         detector, trigger, reco off
  ee_qqbar_over_pythia8_speed_ratio      the two above, measured in the same run
  ups4s_bbbar_events_per_s               the same for ups4s_bbbar (B decays: engine + Pythia 8)
  ee_qqbar_2workers_speedup              ee_qqbar with 2 workers over 1 worker
  ee_qqbar_peak_rss_ratio_4x             peak RSS (MiB) of a run 4x longer over the shorter one
                                         (memory flat with the number of events: ~1)

Chunks of 2e4 events.  Speeds are medians over alternating repeats (see :func:`_speed_pairs`).
Pythia 8 alone is timed over ``Pythia::nextBatch`` (the batch interface: the event record as
arrays, what fastsim reads too) after ``init()`` and a warm-up batch; fastsim over the whole
``run`` after a warm-up run (Pythia initialised, numba kernels compiled), as the other
benchmarks of this directory.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 1, events: {events}, chunk_size: {chunk}, output: out.h5, workers: {workers}}}
dataset: {{name: benchmark, luminosity_fb: 1.0}}
detector: {{enabled: false}}
trigger: {{enabled: false}}
reco: {{enabled: false}}
processes:
  p: {{generator: {generator}}}
"""

_CACHE: dict[str, float] = {}
ROOT = Path(__file__).resolve().parents[1]


def _card(tmp: Path, generator: str, events: int, workers: int = 1, chunk: int = 20_000) -> Path:
    path = tmp / f"{generator}_{events}_{workers}.yaml"
    for sub in ("detectors", "beams"):
        if not (tmp / sub).exists():
            (tmp / sub).symlink_to(ROOT / "cards" / sub)
    path.write_text(CARD.format(events=events, chunk=chunk, workers=workers, generator=generator))
    return path


def _run_rate(tmp: Path, generator: str, n: int, workers: int = 1) -> float:
    from fastsim.cards import load_card
    from fastsim.run import run

    run(load_card(_card(tmp, generator, 2000, workers, 1000)), output=tmp / "warm.h5", progress=False)
    card = load_card(_card(tmp, generator, n, workers))
    t0 = time.perf_counter()
    run(card, output=tmp / f"{generator}.h5", progress=False)
    return n / (time.perf_counter() - t0)


def _speed_pairs(tmp: Path, quick: bool) -> None:
    """Pythia 8 alone and fastsim's ee_qqbar measured in alternation (three pairs; one with
    --quick): the machine's speed drifts by ~10 % over minutes, so each figure is the median
    and the ratio the median of the pairs' ratios."""
    if "ratio" in _CACHE:
        return
    from benchmarks.qqbar_reference import pythia_ee_qqbar

    py = pythia_ee_qqbar(1, isr=True)
    py.nextBatch(200)
    n_py = 5000 if quick else 40_000
    n_fs = 20_000 if quick else 100_000
    rates_py, rates_fs = [], []
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        py.nextBatch(n_py)
        rates_py.append(n_py / (time.perf_counter() - t0))
        rates_fs.append(_run_rate(tmp, "ee_qqbar", n_fs))
    _CACHE["pythia"] = statistics.median(rates_py)
    _CACHE["qq"] = statistics.median(rates_fs)
    _CACHE["ratio"] = statistics.median(f / p for f, p in zip(rates_fs, rates_py, strict=True))


def pythia8_ee_qqbar_events_per_s(tmp: Path, quick: bool) -> float:
    _speed_pairs(tmp, quick)
    return _CACHE["pythia"]


def ee_qqbar_events_per_s(tmp: Path, quick: bool) -> float:
    _speed_pairs(tmp, quick)
    return _CACHE["qq"]


def ee_qqbar_over_pythia8_speed_ratio(tmp: Path, quick: bool) -> float:
    _speed_pairs(tmp, quick)
    return _CACHE["ratio"]


def ups4s_bbbar_events_per_s(tmp: Path, quick: bool) -> float:
    return _run_rate(tmp, "ups4s_bbbar", 20_000 if quick else 100_000)


def ee_qqbar_2workers_speedup(tmp: Path, quick: bool) -> float:
    """Median over alternating pairs (one with --quick, three otherwise) of the 2-worker rate
    over the 1-worker rate, 4e5 events each (2e4-event chunks: 20 chunks, the workers' start
    ~4 % of the run)."""
    n = 40_000 if quick else 400_000
    ratios = []
    for _ in range(1 if quick else 3):
        one = _run_rate(tmp, "ee_qqbar", n)
        ratios.append(_run_rate(tmp, "ee_qqbar", n, workers=2) / one)
    return statistics.median(ratios)


def _peak_rss_mib(tmp: Path, events: int) -> float:
    """Peak RSS (MiB) of a `fastsim run` subprocess of ee_qqbar with ``events`` events."""
    card = _card(tmp, "ee_qqbar", events)
    code = (
        "import resource, sys\n"
        "from fastsim.cards import load_card\nfrom fastsim.run import run\n"
        f"run(load_card({str(card)!r}), output={str(tmp / 'rss.h5')!r}, progress=False)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def ee_qqbar_peak_rss_ratio_4x(tmp: Path, quick: bool) -> float:
    n = 20_000 if quick else 50_000
    return _peak_rss_mib(tmp, 4 * n) / _peak_rss_mib(tmp, n)


FIGURES = {
    "pythia8_ee_qqbar_events_per_s": pythia8_ee_qqbar_events_per_s,
    "ee_qqbar_events_per_s": ee_qqbar_events_per_s,
    "ee_qqbar_over_pythia8_speed_ratio": ee_qqbar_over_pythia8_speed_ratio,
    "ups4s_bbbar_events_per_s": ups4s_bbbar_events_per_s,
    "ee_qqbar_2workers_speedup": ee_qqbar_2workers_speedup,
    "ee_qqbar_peak_rss_ratio_4x": ee_qqbar_peak_rss_ratio_4x,
}
