"""The W-coupled axion-like particle (model alp_w): B -> K(*) a, a -> gamma gamma.

Independent numbers: |g_abs| and BR(B+ -> K+ a) of ../shared/reference/physics.md 6b; the
photon-coupled ALP's width (fastsim.models.alp) at g_agg = s_W^2 g_aW and physics.md 6a's
c*tau; FORESEE's inclusive BR(B -> X_s a) against the dark Higgs' exclusive fraction; the
kinematic endpoints; a short ups4s_bbbar run whose /meta rate is the model's BR.

Units: GeV, cm, ns; couplings in GeV^-1.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from analysis.io import read_processes
from fastsim.cards import load_card
from fastsim.constants import SIN2_THETA_W
from fastsim.io import open_events
from fastsim.models import get_model, model_for_pdg
from fastsim.models.alp import ALP
from fastsim.models.alp_w import ALPW, loop_f
from fastsim.models.dark_higgs import DarkHiggs
from fastsim.run import run

ROOT = Path(__file__).resolve().parents[1]
G = 1e-4  # GeV^-1


def test_registered_with_its_own_particle() -> None:
    assert get_model("alp_w") is ALPW
    assert ALPW.particle.pdg == 9900029 and ALPW.particle.pdg != ALP.particle.pdg
    assert model_for_pdg(9900029) == "alp_w" and model_for_pdg(9900028) == "alp"
    assert ALPW.production_power == 2 and ALPW.width_power == 2


def test_g_abs_against_the_sheet() -> None:
    """physics.md 6b: f(x_t) = 1.22, |g_abs| = 9.9e-5 g_aW with the top alone.  The sheet used
    |V_ts| = 0.0394, V_tb = 1.019, m_t = 174 GeV; the model |V_ts| = 0.0411, |V_tb| = 1.010 (PDG
    2024) and the PDG m_t: |V_tb V_ts| is 3.4 % larger, so 5 % on g_abs and 2 % on f(x_t)."""
    a = ALPW(mass=1.0, coupling=G)
    x_t = (a.sm_mass(6) / a.sm_mass(24)) ** 2
    assert loop_f(x_t) == pytest.approx(1.22, rel=0.02)
    assert a.g_abs(top_only=True) == pytest.approx(9.9e-5 * G, rel=0.05)
    # the charm loop (through CKM unitarity) is a 2e-4 correction
    assert a.g_abs() == pytest.approx(a.g_abs(top_only=True), rel=1e-3)
    assert a.g_abs() < a.g_abs(top_only=True)
    # linear in g_aW
    assert ALPW(mass=1.0, coupling=3 * G).g_abs() == pytest.approx(3 * a.g_abs(), rel=1e-12)


def test_br_b_to_k_a_against_the_sheet() -> None:
    """physics.md 6b: BR(B+ -> K+ a) = 1.9e-5 (g_aW / 1e-4 GeV^-1)^2 at small m_a; 10 % for the
    CKM and mass inputs (|g_abs|^2 differs by 7 % through |V_tb V_ts|^2 alone)."""
    prod = ALPW(mass=0.1, coupling=G).production()
    assert prod["B+ -> K+ a_W"] == pytest.approx(1.9e-5, rel=0.10)
    # BR ~ g^2
    prod3 = ALPW(mass=0.1, coupling=3 * G).production()
    for key, br in prod.items():
        assert prod3[key] == pytest.approx(9 * br, rel=1e-12)
    # B0 -> K0 a: the same width up to m_K0 vs m_K+, times tau_B0 / tau_B+ (PDG: 1.519 / 1.638)
    ratio = prod["B0 -> K0 a_W"] / prod["B+ -> K+ a_W"]
    assert ratio == pytest.approx(1.519 / 1.638, rel=0.01)


def test_exclusive_fraction_as_for_the_dark_higgs() -> None:
    """FORESEE's inclusive BR(B -> X_s a) = 2.3e4 (g_aW GeV)^2 and its inclusive BR(B -> X_s S)
    = 5.6 sin^2 theta (physics.md 3a, 6b): the same b -> s vertex structure and form factor
    give the same exclusive K+ fraction, about 8 %; within 15 % of each other."""
    m = 0.1
    a = ALPW(mass=m, coupling=G).production()
    s = DarkHiggs(mass=m, coupling=1e-3).production()
    frac_a = a["B+ -> K+ a_W"] / (2.3e4 * G**2)
    frac_s = s["B+ -> K+ S"] / (5.6 * 1e-3**2)
    assert frac_a == pytest.approx(frac_s, rel=0.15)
    assert 0.06 < frac_a < 0.11


def test_gamma_gamma_width_is_the_photon_alps_at_sw2_g() -> None:
    for m in (0.2, 1.0, 3.0):
        w = ALPW(mass=m, coupling=G)
        ref = ALP(mass=m, coupling=SIN2_THETA_W * G)
        assert w.widths == {(22, 22): pytest.approx(ref.widths[(22, 22)], rel=1e-12)}
        assert w.branching_fractions() == {"gamma gamma": 1.0}
    # physics.md 6a: c*tau = 4e-8 m at g_agg = 1e-3 GeV^-1, m = 1 GeV; c*tau ~ 1 / g_agg^2
    # (one significant figure on the sheet: 5 %)
    ctau = ALPW(mass=1.0, coupling=G).ctau_cm
    assert ctau == pytest.approx(4e-6 * (1e-3 / (0.23121 * G)) ** 2, rel=0.05)
    assert ALPW(mass=1.0, coupling=G).ctau_at(G / 10) == pytest.approx(100 * ctau, rel=1e-12)


def test_rates_vanish_at_the_endpoints() -> None:
    a = ALPW(mass=1.0, coupling=G)
    m_bp, m_b0 = a.sm_mass(521), a.sm_mass(511)
    for key, m_b, m_k in (
        ("B+ -> K+ a_W", m_bp, a.sm_mass(321)),
        ("B0 -> K0 a_W", m_b0, a.sm_mass(311)),
        ("B+ -> K*+ a_W", m_bp, a.sm_mass(323)),
        ("B0 -> K*0 a_W", m_b0, a.sm_mass(313)),
    ):
        end = m_b - m_k
        assert ALPW(mass=end, coupling=G).production()[key] == 0.0
        assert ALPW(mass=end + 0.1, coupling=G).production()[key] == 0.0
        near = ALPW(mass=end - 1e-8, coupling=G).production()[key]  # 10 eV below
        assert 0.0 < near < 1e-2 * a.production()[key]
    # the K mode goes as lambda^(1/2) near its endpoint: a quarter of the distance, half the rate
    key, end = "B+ -> K+ a_W", m_bp - a.sm_mass(321)
    r1 = ALPW(mass=end - 4e-6, coupling=G).production()[key]
    r4 = ALPW(mass=end - 1.6e-5, coupling=G).production()[key]
    assert r1 / r4 == pytest.approx(0.5, rel=0.01)


CARD = """
include: [{root}/cards/detectors/belle.yaml, {root}/cards/datasets/belle_y4s.yaml]
run: {{seed: 11, events: 150, chunk_size: 150, output: {out}}}
models:
  alp_w: {{mass: 1.0, coupling: 1.0e-4}}
processes:
  kplus: {{generator: ups4s_bbbar, signal_decay: "B+ -> K+ a_W"}}
  kstar: {{generator: ups4s_bbbar, signal_decay: "B0 -> K*0 a_W"}}
"""


def test_ups4s_run_carries_the_models_rate(tmp_path: Path) -> None:
    out = tmp_path / "b2ka.h5"
    card = tmp_path / "b2ka.yaml"
    card.write_text(CARD.format(root=ROOT, out=out))
    run(load_card(card), progress=False)
    prod = ALPW(mass=1.0, coupling=G).production()
    procs = {p.name: p for p in read_processes(out)}
    for name, key in (("kplus", "B+ -> K+ a_W"), ("kstar", "B0 -> K*0 a_W")):
        p = procs[name]
        assert p.model == "alp_w" and p.x_pdg == 9900029
        assert p.mass_gev == 1.0 and p.coupling == G
        assert p.signal_br == pytest.approx(prod[key], rel=1e-12)
    # /meta names the signal particle's width (the Upsilon(4S)'s under upsilon_width_gev)
    with open_events(out) as f:
        meta = f.summary()["processes"][0]["model"]
    assert meta["width_gev"] == pytest.approx(ALPW(mass=1.0, coupling=G).width_gev, rel=1e-12)
    assert meta["upsilon_width_gev"] > 0.01
    # every a_W of the record decays into two photons
    with open_events(out) as f:
        mc = next(f.iter_chunks(10_000))["mc"]
    ids = mc["id"]
    base = mc.offsets[mc.event_index()]
    a_idx = np.flatnonzero(ids == 9900029)
    assert len(a_idx) == 300
    mothers = base + mc["mother1"]
    kids = np.flatnonzero(np.isin(mothers, a_idx) & (mc["mother1"] >= 0))
    assert np.all(ids[kids] == 22) and len(kids) == 2 * len(a_idx)
    assert math.isfinite(procs["kplus"].sigma_nb) and procs["kplus"].sigma_nb > 0
