"""Read speed of external samples (issue 8), against the raw readers on the same file.

Figures (events per second, one process; medians of 5 alternating runs):
  lhe_read_events_per_s        fastsim ``lhe`` reader: index + parse + move to the card's
                               lab frame + weights, chunks of 10k events
  lhe_raw_pylhe_events_per_s   pylhe iterating the same file (``with_attributes=False``)
  hepmc3_read_events_per_s     fastsim ``hepmc`` reader, same pipeline
  hepmc3_raw_pyhepmc_events_per_s  pyhepmc iterating the same file
The samples: Pythia 8 e+e- -> tau+ tau- at 10.58 GeV, hard process only for LHE
(Pythia's LHEF writer), full events with isotropic tau decays for HepMC3 (pyhepmc
writer); 40k / 10k events (``--quick``: 10k / 3k).

Memory (issue 24: external samples stream, memory flat in the file size):
  hepmc_peak_rss_mib_2e4       peak RSS (MiB) of ``fastsim run`` (a subprocess; detector, trigger
                               and reco off, chunk size 20000) of a ``hepmc`` process reading a
                               HepMC3 file of 2e4 e+e- -> mu+ mu- events (fastsim's Born
                               generator at generator level, exported by ``fastsim convert``)
  hepmc_peak_rss_mib_2e5       the same for a 2e5-event file
  hepmc_peak_rss_ratio_2e5_over_2e4  their ratio (target <= 1.10)
``--quick``: files of 2e3 and 2e4 events, chunk size 2000.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 1, events: 1000000, chunk_size: 10000, output: out.h5, workers: 1}}
dataset: {{name: bench, luminosity_fb: 1.0}}
processes:
  sample: {{generator: {gen}, files: [{file}], sqrt_s_tolerance: 0.01, cross_section_pb: 800.0}}
"""


def _pythia(settings: list[str]):
    import pythia8mc

    py = pythia8mc.Pythia("", False)
    base = [
        "Beams:frameType = 2",
        "Beams:idA = 11",
        "Beams:idB = -11",
        "Beams:eA = 7.0",
        "Beams:eB = 4.0",
        "WeakSingleBoson:ffbar2ffbar(s:gmZ) = on",
        "23:onMode = off",
        "23:onIfAny = 15",
        "PDF:lepton = off",
        "Print:quiet = on",
        "Next:numberCount = 0",
    ]
    for s in base + settings:
        py.readString(s)
    py.init()
    return py


def _lhe(path: Path, n: int) -> Path:
    import pythia8mc

    if path.exists():
        return path
    py = _pythia(["PartonLevel:all = off", "HadronLevel:all = off"])
    info = py.infoPython()  # keep a reference: the writer holds a pointer to it
    writer = pythia8mc.LHEF3FromPythia8(py.process, info, 15, True)
    writer.openLHEF(str(path))
    writer.setInit()
    for _ in range(n):
        py.next()
        writer.setEvent()
    writer.closeLHEF(False)
    del info
    return path


def _hepmc(path: Path, n: int) -> Path:
    import pyhepmc

    from fastsim.external.pythia_event import hepmc_from_pythia

    if path.exists():
        return path
    py = _pythia(["TauDecays:mode = 0"])
    with pyhepmc.open(path, "w") as out:
        for iev in range(n):
            py.next()
            g = hepmc_from_pythia(py.event, iev)
            g.weights = [1.0]
            out.write(g)
    return path


def _fastsim_reader(tmp: Path, gen: str, path: Path) -> Callable[[], int]:
    from fastsim.cards import load_card
    from fastsim.external import hepmc, lhe
    from fastsim.generators import GENERATORS
    from fastsim.particles import ParticleTable
    from fastsim.setup import build_beams

    card_path = tmp / f"bench_{gen}.yaml"
    card_path.write_text(CARD.format(gen=gen, file=path))
    card = load_card(card_path)
    params = card["processes"]["sample"]
    cls = GENERATORS[gen]
    beams = build_beams(card)

    def read() -> int:
        for mod in (lhe, hepmc):  # index from scratch each time: part of reading a file
            mod._INDEX.clear()
            mod._OPEN.clear()
        g = cls(params, beams, ParticleTable())
        n = cls.events_available(params)
        rng = np.random.default_rng(1)
        for a in range(0, n, 10_000):
            g.read_events(a, min(10_000, n - a), rng)
        return n

    return read


def _median_rate(fn: Callable[[], int], repeats: int = 3) -> float:
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def _raw_pylhe(path: Path) -> Callable[[], int]:
    import pylhe

    def read() -> int:
        return sum(1 for _ in pylhe.LHEFile.fromfile(path, with_attributes=False).events)

    return read


def _raw_pyhepmc(path: Path) -> Callable[[], int]:
    import pyhepmc

    def read() -> int:
        with pyhepmc.open(path) as f:
            return sum(1 for _ in f)

    return read


_CACHE: dict[tuple[str, bool], tuple[float, float]] = {}


def _pair(tmp: Path, quick: bool, kind: str) -> tuple[float, float]:
    """(fastsim rate, raw rate), measured alternately on the same file."""
    key = (kind, quick)
    if key not in _CACHE:
        if kind == "lhe":
            path = _lhe(tmp / f"bench_{quick}.lhe", 10_000 if quick else 40_000)
            ours, raw = _fastsim_reader(tmp, "lhe", path), _raw_pylhe(path)
        else:
            path = _hepmc(tmp / f"bench_{quick}.hepmc3", 3_000 if quick else 10_000)
            ours, raw = _fastsim_reader(tmp, "hepmc", path), _raw_pyhepmc(path)
        ours()  # warm-up: imports, numba compilation
        raw()
        r_ours, r_raw = [], []
        for _ in range(5):
            r_ours.append(_median_rate(ours, 1))
            r_raw.append(_median_rate(raw, 1))
        _CACHE[key] = (statistics.median(r_ours), statistics.median(r_raw))
    return _CACHE[key]


MUMU_GEN_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 2, events: {events}, chunk_size: 100000, output: gen.h5, workers: 1}}
dataset: {{name: bench, luminosity_fb: 1.0}}
decays: {{enabled: false}}
detector: {{enabled: false}}
trigger: {{enabled: false}}
reco: {{enabled: false}}
processes:
  mumu: {{generator: ee_mumu_born}}
"""

HEPMC_RUN_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 1, events: 10000000, chunk_size: {chunk}, output: out.h5, workers: 1}}
dataset: {{name: bench, luminosity_fb: 1.0}}
detector: {{enabled: false}}
trigger: {{enabled: false}}
reco: {{enabled: false}}
processes:
  mumu: {{generator: hepmc, files: [{file}], sqrt_s_tolerance: 0.01}}
"""

# runs ARGS as a child and prints the child's peak RSS (KiB on Linux): the wrapper's only child
_PEAK_SCRIPT = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _mumu_hepmc3(tmp: Path, n: int) -> Path:
    """A HepMC3 file of n e+e- -> mu+ mu- events: a generator-level fastsim run, exported."""
    from fastsim.cards import load_card
    from fastsim.external.export import write_hepmc3
    from fastsim.run import run

    path = tmp / f"mumu_{n}.hepmc3"
    if not path.exists():
        card = tmp / f"mumu_gen_{n}.yaml"
        card.write_text(MUMU_GEN_CARD.format(events=n))
        gen = tmp / f"mumu_gen_{n}.h5"
        run(load_card(card), output=gen, progress=False)
        write_hepmc3(gen, path)
        gen.unlink()
    return path


def hepmc_run_peak_rss_mib(tmp: Path, n: int, chunk: int) -> float:
    """Peak RSS (MiB) of ``fastsim run`` of a ``hepmc`` process reading an n-event file."""
    path = _mumu_hepmc3(tmp, n)
    card = tmp / f"hepmc_run_{n}.yaml"
    card.write_text(HEPMC_RUN_CARD.format(chunk=chunk, file=path))
    out = tmp / f"hepmc_run_{n}.h5"
    cmd = [sys.executable, "-m", "fastsim", "run", str(card), "-o", str(out), "--quiet"]
    res = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, *cmd], capture_output=True, text=True, check=True, cwd=tmp
    )
    out.unlink()
    return float(res.stdout.strip().splitlines()[-1]) / 1024


_RSS: dict[bool, tuple[float, float]] = {}


def _hepmc_rss(tmp: Path, quick: bool) -> tuple[float, float]:
    """(peak RSS of the 2e4-event run, of the 2e5-event run) in MiB (--quick: 2e3, 2e4)."""
    if quick not in _RSS:
        small, chunk = (2_000, 2_000) if quick else (20_000, 20_000)
        hepmc_run_peak_rss_mib(tmp, small, chunk)  # warm-up: numba cache, page cache
        _RSS[quick] = (
            hepmc_run_peak_rss_mib(tmp, small, chunk),
            hepmc_run_peak_rss_mib(tmp, 10 * small, chunk),
        )
    return _RSS[quick]


FIGURES: dict[str, Callable[[Path, bool], float]] = {
    "lhe_read_events_per_s": lambda tmp, quick: _pair(tmp, quick, "lhe")[0],
    "lhe_raw_pylhe_events_per_s": lambda tmp, quick: _pair(tmp, quick, "lhe")[1],
    "hepmc3_read_events_per_s": lambda tmp, quick: _pair(tmp, quick, "hepmc")[0],
    "hepmc3_raw_pyhepmc_events_per_s": lambda tmp, quick: _pair(tmp, quick, "hepmc")[1],
    "hepmc_peak_rss_mib_2e4": lambda tmp, quick: _hepmc_rss(tmp, quick)[0],
    "hepmc_peak_rss_mib_2e5": lambda tmp, quick: _hepmc_rss(tmp, quick)[1],
    "hepmc_peak_rss_ratio_2e5_over_2e4": lambda tmp, quick: (
        _hepmc_rss(tmp, quick)[1] / _hepmc_rss(tmp, quick)[0]
    ),
}
