"""Generator speed figures and the ISR cross-section comparison with Pythia 8.

  ee_mumu_zprime_events_per_s        unweighted e+e- -> mu mu Z'(-> mu mu), m = 1 GeV, ISR on
  ee_4mu_events_per_s                unweighted SM e+e- -> 4 mu, ISR on
  ee_mumu_isr_events_per_s           unweighted e+e- -> mu mu (gamma/Z) with ISR
  pythia8_ee_mumu_isr_events_per_s   Pythia 8 (pythia8mc) e+e- -> gamma*/Z -> mu mu, PDF:lepton = on
  isr_sigma_ratio_fastsim_over_pythia8   sigma(ee -> mumu, ISR, m_mumu > 5 GeV) fastsim / Pythia 8

All rates are generator-only (the `generate` call, after a warm-up that compiles the
numba kernels and trains the grids), on one core.  Both programs use alpha(0)
(Pythia: SigmaProcess:alphaEMorder = 0), gamma + Z exchange, beams 7 GeV e- on
4 GeV e+ head-on (fastsim: SuperKEKB preset without energy spread) and the same cut
m(mu mu) > 5 GeV.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

M_HAT_MIN = 5.0  # GeV, cut on the dimuon (hard-system) mass in the comparison


def _beams(spread: bool = True):
    from fastsim.beams import BeamSetup
    from fastsim.cards import load_card

    repo = Path(__file__).resolve().parent.parent
    beam = load_card(repo / "cards" / "belle2_run1.yaml")["beam"]
    beam["spread"] = spread
    return BeamSetup.from_card(beam)


def _rate(cls_name: str, params: dict, n: int, spread: bool = True) -> tuple[float, float, float]:
    from fastsim.generators import GENERATORS
    from fastsim.particles import ParticleTable

    gen = GENERATORS[cls_name](params, _beams(spread), ParticleTable())
    gen.generate(min(n, 2000), np.random.default_rng(0))  # warm-up
    t0 = time.perf_counter()
    _, tally = gen.generate(n, np.random.default_rng(1))
    return n / (time.perf_counter() - t0), tally.sigma_nb, tally.sigma_err_nb


def ee_mumu_zprime_events_per_s(tmp: Path, quick: bool) -> float:
    return _rate("ee_mumu_zprime", {"mass": 1.0, "coupling": 1.0, "isr": True}, 20_000 if quick else 100_000)[
        0
    ]


def ee_4mu_events_per_s(tmp: Path, quick: bool) -> float:
    return _rate("ee_4mu", {"isr": True}, 5_000 if quick else 20_000)[0]


def ee_mumu_isr_events_per_s(tmp: Path, quick: bool) -> float:
    return _rate("ee_mumu", {"isr": True}, 200_000 if quick else 1_000_000)[0]


def _pythia(n: int) -> tuple[float, float]:
    import pythia8mc as pythia8

    py = pythia8.Pythia("", False)
    for s in (
        "Beams:idA = 11",
        "Beams:idB = -11",
        "Beams:frameType = 2",
        "Beams:eA = 7.0",
        "Beams:eB = 4.0",
        "PDF:lepton = on",
        "WeakSingleBoson:ffbar2ffbar(s:gmZ) = on",
        "23:onMode = off",
        "23:onIfAny = 13",
        f"PhaseSpace:mHatMin = {M_HAT_MIN}",
        "SigmaProcess:alphaEMorder = 0",
        "PartonLevel:MPI = off",
        "HadronLevel:all = off",
        "Next:numberCount = 0",
        "Print:quiet = on",
    ):
        py.readString(s)
    py.init()
    for _ in range(1000):
        py.next()
    t0 = time.perf_counter()
    for _ in range(n):
        py.next()
    rate = n / (time.perf_counter() - t0)
    return rate, py.infoPython().sigmaGen() * 1e6  # mb -> nb


_CACHE: dict[str, float] = {}


def pythia8_ee_mumu_isr_events_per_s(tmp: Path, quick: bool) -> float:
    rate, sigma = _pythia(20_000 if quick else 100_000)
    _CACHE["pythia_sigma_nb"] = sigma
    return rate


def isr_sigma_ratio_fastsim_over_pythia8(tmp: Path, quick: bool) -> float:
    if "pythia_sigma_nb" not in _CACHE:
        _CACHE["pythia_sigma_nb"] = _pythia(20_000 if quick else 100_000)[1]
    _, sigma, _ = _rate("ee_mumu", {"isr": True, "sqrt_shat_min": M_HAT_MIN}, 200_000, spread=False)
    return sigma / _CACHE["pythia_sigma_nb"]


FIGURES = {
    "ee_mumu_zprime_events_per_s": ee_mumu_zprime_events_per_s,
    "ee_4mu_events_per_s": ee_4mu_events_per_s,
    "ee_mumu_isr_events_per_s": ee_mumu_isr_events_per_s,
    "pythia8_ee_mumu_isr_events_per_s": pythia8_ee_mumu_isr_events_per_s,
    "isr_sigma_ratio_fastsim_over_pythia8": isr_sigma_ratio_fastsim_over_pythia8,
}
