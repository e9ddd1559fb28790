"""ee_tautau_phil (issue #17 item 2): e+e- -> tau+ tau- phi_L, phi_L -> l+ l-.

Independent checks:
* the helicity-amplitude |M|^2 against a covariant trace evaluation with explicit Dirac
  matrices (numpy), point by point (photon exchange; the tau and decay-lepton masses kept);
* the cross section against a second integration: uniform sampling of the three-body phase
  space (tau-, tau+, phi_L) with the trace |M|^2 of the production alone, times the model's
  BR(phi_L -> l l) (the narrow-width factorisation), within 3 combined standard errors;
* the phi_L decay lengths against Exp(c tau) of the model and the daughters' vertices against
  x + p/m c t.

Units: GeV, cm; cross sections in nb.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastsim.beams import BeamSetup
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.generators.ee_tautau_phil import EETauTauPhiL
from fastsim.particles import ParticleTable

# ---------------------------------------------------------------- Dirac algebra (Dirac basis)
I2 = np.eye(2)
Z2 = np.zeros((2, 2))
SIG = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
G0 = np.block([[I2, Z2], [Z2, -I2]]).astype(complex)
GAMMA = [G0] + [np.block([[Z2, s], [-s, Z2]]).astype(complex) for s in SIG]
METRIC = np.diag([1.0, -1.0, -1.0, -1.0])
ONE = np.eye(4, dtype=complex)


def slash(p: np.ndarray) -> np.ndarray:
    """p-slash for four-vectors (n, 4) ordered (px, py, pz, E): (n, 4, 4)."""
    e, px, py, pz = p[:, 3], p[:, 0], p[:, 1], p[:, 2]
    return (
        e[:, None, None] * GAMMA[0]
        - px[:, None, None] * GAMMA[1]
        - py[:, None, None] * GAMMA[2]
        - pz[:, None, None] * GAMMA[3]
    )


def mdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[:, 3] * b[:, 3] - np.sum(a[:, :3] * b[:, :3], axis=1)


def propagator(k: np.ndarray, m: float) -> np.ndarray:
    """(k-slash + m) / (k^2 - m^2): (n, 4, 4)."""
    return (slash(k) + m * ONE) / (mdot(k, k) - m * m)[:, None, None]


def production_trace(k1, k2, p1, p2, q, m_e, m_tau, y_tau) -> np.ndarray:
    """Spin-averaged |M|^2 of e-(k1) e+(k2) -> gamma* -> tau-(p1) tau+(p2) phi_L(q) by traces:
    (e^2/s)^2 / 4 L^{mu nu} H_{mu nu}, Gamma_mu = y [S(p1 + q) g_mu + g_mu S(-p2 - q)]."""
    e2 = 4 * math.pi * ALPHA_EM
    s = mdot(k1 + k2, k1 + k2)
    sa = propagator(p1 + q, m_tau)
    sb = propagator(-(p2 + q), m_tau)
    el = slash(k2) - m_e * ONE
    er = slash(k1) + m_e * ONE
    tl = slash(p1) + m_tau * ONE
    tr = slash(p2) - m_tau * ONE
    lt = np.empty((len(s), 4, 4), complex)
    ht = np.empty((len(s), 4, 4), complex)
    for mu in range(4):
        gam_mu = y_tau * (sa @ GAMMA[mu] + GAMMA[mu] @ sb)
        for nu in range(4):
            gbar_nu = y_tau * (GAMMA[nu] @ sa + sb @ GAMMA[nu])
            lt[:, mu, nu] = np.trace(el @ GAMMA[mu] @ er @ GAMMA[nu], axis1=1, axis2=2)
            ht[:, mu, nu] = np.trace(tl @ gam_mu @ tr @ gbar_nu, axis1=1, axis2=2)
    # lower H's indices with the metric and contract
    h_low = np.einsum("am,nmk,kb->nab", METRIC, ht, METRIC)
    return (np.einsum("nab,nab->n", lt, h_low).real * (e2 / s) ** 2 / 4).real


def beams_no_spread() -> BeamSetup:
    from fastsim.cards import load_card
    from tests.conftest import CARDS

    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    return BeamSetup.from_card(beam)


def generator(mass: float, **kw: object) -> EETauTauPhiL:
    cfg = {"mass": mass, "coupling": 1.0, "isr": False, "fsr": False, "z_exchange": False,
           "vacuum_polarization": False, **kw}  # fmt: skip
    return EETauTauPhiL(cfg, beams_no_spread(), ParticleTable())


@pytest.mark.parametrize(("mass", "decay"), [(0.15, "ee"), (1.5, "mumu")])
def test_amplitude_equals_the_trace(mass: float, decay: str) -> None:
    g = generator(mass, decay=decay)
    pts = g._points(400, np.random.default_rng(5))
    p, big_m = pts["p_cm"], np.sqrt(pts["s"])
    me2 = g.me2(p, big_m)
    a, b = g.incoming(big_m)
    y_tau, y_d, _ = g.couplings()
    m_d = g.md
    prod = production_trace(a, b, p[:, 0], p[:, 1], p[:, 2] + p[:, 3], g.m_e, g.m_tau, y_tau)
    dec = y_d**2 * 4 * (mdot(p[:, 2], p[:, 3]) - m_d**2)  # Tr[(p3-slash + m)(p4-slash - m)] y^2
    ok = me2 > 0
    assert ok.sum() > 300
    assert np.allclose(me2[ok], prod[ok] * dec[ok], rtol=1e-8)


def _uniform_three_body(n: int, sqrt_s: float, m: float, mx: float, rng: np.random.Generator):
    """tau-, tau+, phi momenta (n, 3, 4) in the CM frame and the phase-space weight of each
    point: sequential two-body splits P -> tau- k, k -> tau+ phi with m_k^2 uniform and
    isotropic angles, dPhi_3 = dPhi_2(P) dm_k^2 / (2 pi) dPhi_2(k), dPhi_2 = |p*| / (4 pi M)."""

    def pstar(big, a, b):
        return np.sqrt(np.maximum((big**2 - (a + b) ** 2) * (big**2 - (a - b) ** 2), 0)) / (2 * big)

    def iso(k):
        c = rng.uniform(-1, 1, k)
        ph = rng.uniform(0, 2 * math.pi, k)
        s_ = np.sqrt(1 - c * c)
        return np.stack([s_ * np.cos(ph), s_ * np.sin(ph), c], axis=1)

    lo, hi = (m + mx) ** 2, (sqrt_s - m) ** 2
    mk = np.sqrt(rng.uniform(lo, hi, n))
    p1s = pstar(sqrt_s, m, mk)
    d1 = iso(n)
    p1 = np.column_stack([p1s[:, None] * d1, np.hypot(p1s, m)])
    k = np.column_stack([-p1s[:, None] * d1, np.hypot(p1s, mk)])
    p2s = pstar(mk, m, mx)
    d2 = iso(n)
    p2r = np.column_stack([p2s[:, None] * d2, np.hypot(p2s, m)])
    qr = np.column_stack([-p2s[:, None] * d2, np.hypot(p2s, mx)])
    from fastsim import kinematics

    p2 = kinematics.boost_to_frame_of(p2r[:, None, :], k, mass=mk)[:, 0]
    q = kinematics.boost_to_frame_of(qr[:, None, :], k, mass=mk)[:, 0]
    w = p1s / (4 * math.pi * sqrt_s) * (hi - lo) / (2 * math.pi) * p2s / (4 * math.pi * mk)
    return np.stack([p1, p2, q], axis=1), w


@pytest.mark.parametrize(("mass", "decay"), [(0.15, "ee"), (1.5, "mumu")])
def test_cross_section_against_a_second_integration(mass: float, decay: str) -> None:
    g = generator(mass, decay=decay)
    _, tally = g.generate(20_000, np.random.default_rng(11))
    sigma, err = tally.sigma_nb, tally.sigma_err_nb
    rng = np.random.default_rng(12)
    sqrt_s = g.beams.sqrt_s
    vals = []
    for _ in range(8):
        p, w = _uniform_three_body(25_000, sqrt_s, g.m_tau, mass, rng)
        a, b = g.incoming(np.full(len(w), sqrt_s))
        me2 = production_trace(a, b, p[:, 0], p[:, 1], p[:, 2], g.m_e, g.m_tau, g.couplings()[0])
        vals.append(me2 * w / (2 * sqrt_s**2) * GEV2_TO_NB)
    v = np.concatenate(vals)
    br = g.model.branching_fraction((-(11 if decay == "ee" else 13), 11 if decay == "ee" else 13))
    ref, ref_err = v.mean() * br, v.std() / math.sqrt(len(v)) * br
    assert ref_err / ref < 0.03 and err / sigma < 0.03
    assert abs(sigma - ref) < 3 * math.hypot(err, ref_err), (sigma, err, ref, ref_err)


def test_decay_vertex_is_displaced_by_the_lifetime() -> None:
    g = generator(0.1, decay="ll")
    assert g.decay == "ee" and g.ctau_cm == pytest.approx(g.model.ctau_cm)
    batch, _ = g.generate(4000, np.random.default_rng(3))
    mc = batch["mc"]
    phi = np.flatnonzero(mc["id"] == g.x_id)
    ct = mc["lifetime"][phi]
    assert len(phi) == 4000
    assert abs(ct.mean() / g.ctau_cm - 1) < 4 / math.sqrt(4000)  # Exp: sigma(mean) = ctau / sqrt(n)
    ev = mc.event_index()
    base = mc.offsets[:-1]
    kids = np.flatnonzero((np.abs(mc["id"]) == 11) & (mc["mother1"] >= 0))
    kids = kids[base[ev[kids]] + mc["mother1"][kids] == phi[ev[kids]]]
    assert len(kids) == 8000
    par = phi[ev[kids]]
    step = mc["lifetime"][par] / mc["m"][par]
    for c, x in zip(("px", "py", "pz"), ("vx", "vy", "vz"), strict=True):
        assert np.allclose(mc[x][kids], mc[x][par] + mc[c][par] * step, rtol=1e-5, atol=1e-6)


def test_ll_picks_mu_pairs_above_threshold_and_point_from_the_card_models() -> None:
    assert generator(1.0, decay="ll").decay == "mumu"
    table = ParticleTable()
    table.models[9900026] = ("leptophilic_scalar", {"mass": 0.5, "coupling": 2.0})
    g = EETauTauPhiL({"isr": False}, beams_no_spread(), table)
    assert (g.mx, g.g, g.decay) == (0.5, 2.0, "mumu")
    with pytest.raises(ValueError, match="leptophilic_scalar point"):
        EETauTauPhiL({"isr": False}, beams_no_spread(), ParticleTable())


def test_decay_all_is_the_production_cross_section_decayed_by_the_decay_stage(tmp_path) -> None:
    """decay: all -> sigma(tau tau phi_L) = sigma x BR(mu mu) / BR(mu mu) point by point (same
    seed, same points), phi_L undecayed by the generator; through a card with the model's
    point the decay stage decays it by the model's BRs (at 0.1 GeV: e e 95 %, gamma gamma 5 %)."""
    from fastsim.cards import load_card
    from fastsim.io import open_events
    from fastsim.run import run

    table = ParticleTable()
    table.register(9900026, "phi_L", mass=1.0, ctau=1e-6, width=None, charge=0.0)
    cfg = {"mass": 1.0, "coupling": 1.0, "isr": False, "fsr": False, "z_exchange": False, "vacuum_polarization": False,
           "decay": "all"}  # fmt: skip
    assert EETauTauPhiL(cfg, beams_no_spread(), ParticleTable()).check()  # phi_L's decays unknown
    g_all = EETauTauPhiL(cfg, beams_no_spread(), table)
    _, t_mumu = generator(1.0, decay="mumu").generate(3000, np.random.default_rng(9))
    _, t_all = g_all.generate(3000, np.random.default_rng(9))
    br = g_all.model.branching_fraction((-13, 13))
    assert t_all.sigma_nb * br == pytest.approx(t_mumu.sigma_nb, rel=1e-9)
    card = tmp_path / "c.yaml"
    card.write_text(
        "include: [detectors/belle.yaml, datasets/belle_y4s.yaml]\n"
        "run: {seed: 4, events: 3000, chunk_size: 3000, output: x.h5}\n"
        "models: {leptophilic_scalar: {mass: 0.1, coupling: 1.0}}\n"
        "processes: {s: {generator: ee_tautau_phil, decay: all}}\n"
    )
    out = tmp_path / "x.h5"
    run(load_card(card), output=out, workers=1, progress=False)
    with open_events(out) as f:
        mc = next(f.iter_chunks(10_000))["mc"]
    phi = np.flatnonzero(mc["id"] == 9900026)
    assert len(phi) == 3000 and np.all(mc["status"][phi] == 2)
    ev, base = mc.event_index(), mc.offsets[:-1]
    kids = np.flatnonzero(mc["mother1"] >= 0)
    kids = kids[base[ev[kids]] + mc["mother1"][kids] == phi[ev[kids]]]
    with_e = np.zeros(mc.n_events, bool)
    with_e[ev[kids[np.abs(mc["id"][kids]) == 11]]] = True  # (an e e decay may add FSR photons)
    assert abs((1 - with_e.mean()) - 0.046) < 0.015  # BR(gamma gamma) 4.6 %, binomial error 0.4 %
    assert mc["lifetime"][phi].mean() == pytest.approx(1.098, rel=0.1)  # c*tau at 0.1 GeV, xi = 1
