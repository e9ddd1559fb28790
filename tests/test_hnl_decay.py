"""Issue #18, item 2: N -> nu l+ l- with the V-A matrix element (fastsim.decay_models,
HNL_NU_LL), not phase space.

Independent numbers: in the massless limit the g_L^2 term is muon decay with N as the muon,
the neutrino as nu_mu, l as the electron and lbar as nu_e-bar, so l carries <x> = 7/10 and lbar
<x> = 3/5 (x = 2E/m; spectra x^2 (3 - 2x) and 6 x^2 (1 - x), e.g. Griffiths, "Introduction to
Elementary Particles", sec. 10.3); the g_R^2 term swaps them.  The width from integrating the
|M|^2 over phase space must be G_F^2 m^5 (g_L^2 + g_R^2) / (192 pi^3) in that limit.

Units: GeV.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastsim import decay_models as dm
from fastsim import kinematics
from fastsim.constants import G_FERMI, SIN2_THETA_W

M_MU = 0.1056583755  # GeV (test inputs; the engine takes masses from particle)


def _sample(m_n: float, ids: tuple[int, ...], masses: tuple[float, ...], n: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    p4 = kinematics.n_body_phase_space(np.full(n, m_n), np.asarray(masses), rng)
    parent = np.tile([0.0, 0.0, 0.0, m_n], (n, 1))
    nan4 = np.full((n, 4), np.nan)
    w, _ = dm.model_weight(dm.HEAVY_NEUTRINO, (), 9900018, ids, parent, p4, np.full(n, np.nan), nan4)
    return p4, w, rng.random(n) < w


@pytest.mark.parametrize("nu", [16, -16])
def test_lepton_spectra_follow_muon_decay(nu: int) -> None:
    """m_N = 50 GeV (m_mu / m_N = 0.002): <x> of l- and l+ from the muon-decay spectra mixed by
    g_L^2 and g_R^2; for the antineutrino final state (the CP image) l- and l+ swap."""
    m_n = 50.0
    ids = (nu, 13, -13)
    p4, w, acc = _sample(m_n, ids, (0.0, M_MU, M_MU), 400_000, 1)
    assert np.all((w >= 0) & (w <= 1))
    x_minus = 2 * p4[acc, 1, 3] / m_n
    x_plus = 2 * p4[acc, 2, 3] / m_n
    gl2, gr2 = (-0.5 + SIN2_THETA_W) ** 2, SIN2_THETA_W**2
    paired, other = 0.6, 0.7  # lbar (paired with N in the g_L^2 term) and l
    want_lbar = (gl2 * paired + gr2 * other) / (gl2 + gr2)
    want_l = (gl2 * other + gr2 * paired) / (gl2 + gr2)
    want_minus, want_plus = (want_l, want_lbar) if nu > 0 else (want_lbar, want_l)
    # ~60000 accepted events: the means to +-0.001 (1 sigma); 0.004 leaves room for m_mu
    assert x_minus.mean() == pytest.approx(want_minus, abs=0.004)
    assert x_plus.mean() == pytest.approx(want_plus, abs=0.004)
    assert abs(x_minus.mean() - x_plus.mean()) > 0.01  # the matrix element is not phase space


def test_width_by_phase_space_integration() -> None:
    """Gamma = 1/(2m) <64 G_F^2 |M|^2 / (64 G_F^2)> Phi_3: massless limit G_F^2 m^5 (g_L^2 +
    g_R^2) / (192 pi^3) (muon decay), to the Monte-Carlo precision (0.5 %)."""
    m_n = 50.0
    n = 400_000
    rng = np.random.default_rng(2)
    p4 = kinematics.n_body_phase_space(np.full(n, m_n), np.array([0.0, 1e-4, 1e-4]), rng)
    parent = np.tile([0.0, 0.0, 0.0, m_n], (n, 1))
    msq, _ = dm.heavy_neutrino_msq((16, 13, -13), parent, p4)
    phi3 = m_n**2 / (256 * math.pi**3)  # massless three-body phase-space volume
    gamma = 64 * G_FERMI**2 * msq.mean() * phi3 / (2 * m_n)
    gl2, gr2 = (-0.5 + SIN2_THETA_W) ** 2, SIN2_THETA_W**2
    want = G_FERMI**2 * m_n**5 * (gl2 + gr2) / (192 * math.pi**3)
    assert gamma == pytest.approx(want, rel=0.005)


def test_same_flavour_adds_the_charged_current() -> None:
    """nu_mu mu+ mu-: W exchange adds 1 to g_L (Fierz), so |M|^2 grows by ((g_L + 1)^2 + g_R^2)
    / (g_L^2 + g_R^2) on average in the massless limit."""
    m_n = 50.0
    n = 200_000
    rng = np.random.default_rng(3)
    p4 = kinematics.n_body_phase_space(np.full(n, m_n), np.array([0.0, 1e-4, 1e-4]), rng)
    parent = np.tile([0.0, 0.0, 0.0, m_n], (n, 1))
    nc, _ = dm.heavy_neutrino_msq((16, 13, -13), parent, p4)
    cc, _ = dm.heavy_neutrino_msq((14, 13, -13), parent, p4)
    gl, gr = -0.5 + SIN2_THETA_W, SIN2_THETA_W
    assert cc.mean() / nc.mean() == pytest.approx(((gl + 1) ** 2 + gr**2) / (gl**2 + gr**2), rel=0.01)


def test_bound_holds_at_low_mass() -> None:
    """At m_N = 0.3-1.6 GeV (the search's range) the weight never exceeds 1."""
    for m_n in (0.3, 0.7, 1.6):
        _, w, _ = _sample(m_n, (16, 13, -13), (0.0, M_MU, M_MU), 100_000, 4)
        assert w.max() <= 1.0 and w.max() > 0.2  # not so loose that sampling crawls


def test_card_decay_model_reaches_the_engine(tmp_path) -> None:
    """A card particle's mode with ``model: HNL_NU_LL`` decays with the matrix element in a run:
    in the N rest frame the l+ (paired with N by g_L^2) is softer than the l-, as above."""
    from fastsim.cards import load_card
    from fastsim.io import open_events
    from fastsim.run import run
    from tests.conftest import REPO

    card = tmp_path / "n.yaml"
    card.write_text(
        f"""
include: [{REPO}/cards/detectors/belle2.yaml, {REPO}/cards/beams/superkekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 1.0}}
run: {{seed: 3, events: 20000, chunk_size: 20000, output: {tmp_path / "n.h5"}}}
detector: {{enabled: false}}
particles:
  9900018:
    name: N
    mass: 20.0
    ctau: 0.0
    decays: [{{br: 1.0, daughters: [16, 13, -13], model: HNL_NU_LL}}]
processes:
  gun: {{generator: particle_gun, pdg: 9900018, p_min: 1.0, p_max: 1.0}}
"""
    )
    run(load_card(card), progress=False)
    with open_events(tmp_path / "n.h5") as f:
        mc = f.read_events()["mc"]
    p4 = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1)
    n = np.flatnonzero(mc["id"] == 9900018)
    ev = mc.event_index()
    parent = n[np.searchsorted(ev[n], ev)]  # the event's N for every item
    rest = kinematics.boost_to_rest_frame(p4, p4[parent])
    x_minus = 2 * rest[mc["id"] == 13, 3] / 20.0
    x_plus = 2 * rest[mc["id"] == -13, 3] / 20.0
    gl2, gr2 = (-0.5 + SIN2_THETA_W) ** 2, SIN2_THETA_W**2
    want = (gl2 * 0.7 + gr2 * 0.6) / (gl2 * 0.6 + gr2 * 0.7)  # <x-> / <x+> = 1.023
    # final-state radiation (the decay engine's) takes ~1 % of both leptons' energy: the ratio
    # keeps the matrix element's asymmetry; 20000 decays give it to +-0.003
    assert x_minus.mean() / x_plus.mean() == pytest.approx(want, abs=0.008)
    assert x_minus.mean() / x_plus.mean() > 1.01  # phase space would give 1
