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
"""

from __future__ import annotations

import statistics
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


FIGURES: dict[str, Callable[[Path, bool], float]] = {
    "lhe_read_events_per_s": lambda tmp, quick: _pair(tmp, quick, "lhe")[0],
    "lhe_raw_pylhe_events_per_s": lambda tmp, quick: _pair(tmp, quick, "lhe")[1],
    "hepmc3_read_events_per_s": lambda tmp, quick: _pair(tmp, quick, "hepmc")[0],
    "hepmc3_raw_pyhepmc_events_per_s": lambda tmp, quick: _pair(tmp, quick, "hepmc")[1],
}
