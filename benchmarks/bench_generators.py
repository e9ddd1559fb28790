"""Generator speed figures and the ISR cross-section comparison with Pythia 8.

  ee_mumu_zprime_events_per_s        unweighted e+e- -> mu mu Z'(-> mu mu), m = 1 GeV, ISR on
  ee_4mu_events_per_s                unweighted SM e+e- -> 4 mu, ISR on
  ee_mumu_isr_events_per_s           unweighted e+e- -> mu mu (gamma/Z) with ISR
  pythia8_ee_mumu_isr_events_per_s   Pythia 8 (pythia8mc) e+e- -> gamma*/Z -> mu mu, PDF:lepton = on
  isr_sigma_ratio_fastsim_over_pythia8   sigma(ee -> mumu, ISR, m_mumu > 5 GeV) fastsim / Pythia 8

All rates are generator-only (`generate` calls of CHUNK = 1e5 events, the default
run.chunk_size, after a warm-up that compiles the numba kernels and trains the grids), on
one core.  Both programs use alpha(0)
(Pythia: SigmaProcess:alphaEMorder = 0), gamma + Z exchange, beams 7 GeV e- on
4 GeV e+ (fastsim: SuperKEKB preset without energy spread) and the same cuts:
m(mu mu) > 5 GeV and pT-hat > 1 GeV.  The second is Pythia's: its 2 -> 2 processes
with light outgoing particles get PhaseSpace:pTHatMinDiverge (default 1 GeV) as a
minimum transverse momentum in the hard frame, which removes |cos theta-hat| > 0.98 at
10.58 GeV (-2.7 % of the Born cross section; docs/physics.md).  fastsim generates the full
angle, so the comparison takes fastsim's cross section times the fraction of its events
with pT(mu) > 1 GeV in the e+e- CM frame (equal to pT-hat: the ISR photons are collinear
with the beams).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

M_HAT_MIN = 5.0  # GeV, cut on the dimuon (hard-system) mass in the comparison
PT_HAT_MIN = 1.0  # GeV, Pythia's PhaseSpace:pTHatMinDiverge default, set explicitly in both


def _beams(spread: bool = True):
    from fastsim.beams import BeamSetup
    from fastsim.cards import load_card

    repo = Path(__file__).resolve().parent.parent
    beam = load_card(repo / "cards" / "belle2_run1.yaml")["beam"]
    beam["spread"] = spread
    return BeamSetup.from_card(beam)


CHUNK = 100_000  # events per generate call: the default run.chunk_size, as `fastsim run` works


def _rate(cls_name: str, params: dict, n: int, spread: bool = True) -> tuple[float, float, float]:
    from fastsim.generators import GENERATORS
    from fastsim.generators.base import XsecTally
    from fastsim.particles import ParticleTable

    gen = GENERATORS[cls_name](params, _beams(spread), ParticleTable())
    gen.generate(min(n, 2000), np.random.default_rng(0))  # warm-up
    tally = XsecTally()
    t0 = time.perf_counter()
    for i, a in enumerate(range(0, n, CHUNK)):
        tally = tally.merge(gen.generate(min(CHUNK, n - a), np.random.default_rng(i + 1))[1])
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
        f"PhaseSpace:pTHatMin = {PT_HAT_MIN}",
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


def fastsim_sigma_pt_hat_cut(n: int = 400_000) -> tuple[float, float]:
    """sigma(ee -> mu mu, ISR, m > M_HAT_MIN, pT-hat > PT_HAT_MIN) (nb) and its error: the
    generator's cross section times the fraction of its unweighted events passing pT-hat."""
    from fastsim.beams import lab_to_cm
    from fastsim.generators import GENERATORS
    from fastsim.particles import ParticleTable

    # pT-hat of the hard muons; alpha(0) without vacuum polarisation, as Pythia's ffbar2ffbar
    params = {"isr": True, "sqrt_shat_min": M_HAT_MIN, "fsr": False, "vacuum_polarization": False}
    gen = GENERATORS["ee_mumu"](params, _beams(False), ParticleTable())
    batch, tally = gen.generate(n, np.random.default_rng(3))
    mc = batch["mc"]
    first = mc.offsets[:-1]
    p4 = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1)
    her, ler = p4[first], p4[first + 1]  # the event's beams (status 4), e- first
    mu = np.flatnonzero((mc["id"] == 13) & (mc["status"] == 1))
    assert len(mu) == n and np.all(mc["id"][first] == 11)
    cm = lab_to_cm(p4[mu][:, None, :], her, ler)[:, 0]
    frac = float(np.mean(np.hypot(cm[:, 0], cm[:, 1]) > PT_HAT_MIN))
    sigma = tally.sigma_nb * frac
    err = sigma * np.hypot(tally.sigma_err_nb / tally.sigma_nb, np.sqrt(frac * (1 - frac) / n) / frac)
    return sigma, float(err)


def isr_sigma_ratio_fastsim_over_pythia8(tmp: Path, quick: bool) -> float:
    if "pythia_sigma_nb" not in _CACHE:
        _CACHE["pythia_sigma_nb"] = _pythia(20_000 if quick else 100_000)[1]
    return fastsim_sigma_pt_hat_cut()[0] / _CACHE["pythia_sigma_nb"]


FIGURES = {
    "ee_mumu_zprime_events_per_s": ee_mumu_zprime_events_per_s,
    "ee_4mu_events_per_s": ee_4mu_events_per_s,
    "ee_mumu_isr_events_per_s": ee_mumu_isr_events_per_s,
    "pythia8_ee_mumu_isr_events_per_s": pythia8_ee_mumu_isr_events_per_s,
    "isr_sigma_ratio_fastsim_over_pythia8": isr_sigma_ratio_fastsim_over_pythia8,
}
