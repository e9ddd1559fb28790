"""Tau-pair spin state and the tau decay engine: the spin density of e+e- -> tau+ tau- from the
helicity amplitudes against the analytic QED result with the tau mass
(``../shared/reference/tau.md`` sec. 1.3), the correlation estimated from decayed events
(C_ij = 9 <h-_i h+_j> in pi-pi and rho-rho events) against the same formula per production
angle, the pi-pi energy correlation, and the truth record of the decays."""

from __future__ import annotations

import numpy as np
import pytest

from fastsim import kinematics
from fastsim.beams import BeamSetup
from fastsim.cards import load_card
from fastsim.decays import decay_particles, sm_decay_table
from fastsim.generators.ee_tautau import EETauTau, density_ll
from fastsim.particles import ParticleTable
from fastsim.spin import rest_frame_axes, spin_from_helicity_density, spin_to_lab
from tests.conftest import CARDS


def _generator(**params: object) -> EETauTau:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    cfg = {"isr": False, "fsr": False, "z_exchange": False, **params}
    return EETauTau(cfg, BeamSetup.from_card(beam), ParticleTable())


def _analytic_c(theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """C_ij (n, 3, 3) of gamma* -> tau+ tau- in the common axes (tau.md sec. 1.3)."""
    s2, c2 = np.sin(theta) ** 2, np.cos(theta) ** 2
    d = 2 - beta**2 * s2
    ginv = np.sqrt(1 - beta**2)
    out = np.zeros((len(theta), 3, 3))
    out[:, 0, 0] = (2 - beta**2) * s2 / d
    out[:, 1, 1] = -(beta**2) * s2 / d
    out[:, 2, 2] = (2 * c2 + beta**2 * s2) / d
    out[:, 0, 2] = out[:, 2, 0] = np.sin(2 * theta) * ginv / d
    return out


@pytest.mark.parametrize("theta_deg", [30.0, 60.0, 90.0, 120.0, 170.0])
def test_spin_density_from_amplitudes_is_the_analytic_qed_result(theta_deg: float) -> None:
    gen = _generator()
    m, M = gen.m_l, 10.58
    e = M / 2
    p = np.sqrt(e * e - m * m)
    t, phi = np.radians(theta_deg), 0.7
    d = np.array([np.sin(t) * np.cos(phi), np.sin(t) * np.sin(phi), np.cos(t)])
    P = np.zeros((1, 2, 4))
    P[0, 0, :3], P[0, 1, :3], P[0, :, 3] = p * d, -p * d, e
    ew = gen.ew
    rho = density_ll(
        P, np.array([M]), np.ones(1, complex), gen.m_e, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, False
    )
    P1, P2, C, _ = spin_from_helicity_density(rho, P[:, 0], P[:, 1])
    x = np.array([0.0, 0.0, 1.0]) - d * np.cos(t)
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(d, x), d])  # rows: common axes (x, y, z)
    ref = _analytic_c(np.array([t]), np.array([p / e]))[0]
    np.testing.assert_allclose(R @ C[0] @ R.T, ref, atol=1e-6)  # m_e terms ~ 1e-8
    np.testing.assert_allclose(P1[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(P2[0], 0.0, atol=1e-12)


def test_spin_to_lab_is_a_rotation_and_the_identity_for_the_same_frame() -> None:
    rng = np.random.default_rng(3)
    n = 50
    p = np.zeros((n, 4))
    p[:, :3] = rng.normal(size=(n, 3)) * 3
    p[:, 3] = np.sqrt(np.sum(p[:, :3] ** 2, axis=1) + 1.77**2)
    P = rng.normal(size=(n, 3)) * 0.3
    C = rng.normal(size=(n, 3, 3)) * 0.3
    same = spin_to_lab(P, P, C, p, p, lambda v: v, p, p)
    np.testing.assert_allclose(same[0], P, atol=1e-12)
    np.testing.assert_allclose(same[2], C, atol=1e-12)
    # a boost along x: the rest-frame axes come back as a rotation (Wigner), lengths kept
    beta = np.array([0.6, 0.0, 0.0])
    lab = kinematics.boost(p, beta)
    P_l, _, C_l = spin_to_lab(P, P, C, p, p, lambda v: kinematics.boost(v, beta), lab, lab)
    np.testing.assert_allclose(np.linalg.norm(P_l, axis=1), np.linalg.norm(P, axis=1), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(C_l, axis=(1, 2)), np.linalg.norm(C, axis=(1, 2)), rtol=1e-12)
    # and it is the Wigner rotation: axes boosted to p, then by beta, equal the axes of lab
    # rotated by W (checked on the time components, which a rotation does not touch)
    ax = kinematics.boost(rest_frame_axes(p), beta)
    ax_lab = rest_frame_axes(lab)
    W = np.einsum("nia,nja->nij", ax[:, :, :3], ax_lab[:, :, :3]) - np.einsum(
        "ni,nj->nij", ax[:, :, 3], ax_lab[:, :, 3]
    )
    np.testing.assert_allclose(np.einsum("nij,ni->nj", W, P), P_l, atol=1e-10)


def _decayed_sample(n: int, channel: tuple[int, ...], seed: int, **params: object):
    gen = _generator(**params)
    table = sm_decay_table().copy()
    table.add(15, [(1.0, channel, "TEST")])
    table.add(-15, [(1.0, tuple(-d for d in channel), "TEST")])
    batch, _ = gen.generate(n, np.random.default_rng(seed))
    stable = frozenset({*_default_stable(), 111})
    mc = decay_particles(
        batch["mc"], table, np.random.default_rng(seed + 1), stable=stable, spin=batch.collections.get("spin")
    )
    return gen, mc


def _default_stable() -> frozenset[int]:
    from fastsim.decays import DEFAULT_STABLE

    return DEFAULT_STABLE


def _p4(f: dict[str, np.ndarray], i: np.ndarray) -> np.ndarray:
    return np.stack([f["px"][i], f["py"][i], f["pz"][i], f["e"][i]], axis=1)


def _common_frames(mc):
    """Per event: tau-, tau+ indices, cos theta of the tau- to the e- in the pair frame, and a
    function taking lab vectors of either tau's decay to its rest frame in the common axes."""
    f, off = mc.fields, mc.offsets
    ev = np.repeat(np.arange(len(off) - 1), np.diff(off))
    tm = np.flatnonzero((f["id"] == 15) & (f["mother1"] == 0))
    tp = np.flatnonzero((f["id"] == -15) & (f["mother1"] == 0))
    Tm, Tp, her = _p4(f, tm), _p4(f, tp), _p4(f, off[:-1])
    pair = Tm + Tp
    Tm_c = kinematics.boost_to_rest_frame(Tm, pair)
    Tp_c = kinematics.boost_to_rest_frame(Tp, pair)
    z = Tm_c[:, :3] / np.linalg.norm(Tm_c[:, :3], axis=1)[:, None]
    eb = kinematics.boost_to_rest_frame(her, pair)[:, :3]
    eb /= np.linalg.norm(eb, axis=1)[:, None]
    cth = np.sum(z * eb, axis=1)
    x = eb - z * cth[:, None]
    x /= np.linalg.norm(x, axis=1)[:, None]
    axes = np.stack([x, np.cross(z, x), z], axis=1)  # (n, 3, 3) rows x, y, z

    def to_rest(v: np.ndarray, minus: bool) -> np.ndarray:
        vc = kinematics.boost_to_rest_frame(v, pair)
        vr = kinematics.boost_to_rest_frame(vc, Tm_c if minus else Tp_c)
        return np.einsum("nij,nj->ni", axes, vr[:, :3])

    beta = np.linalg.norm(Tm_c[:, :3], axis=1) / Tm_c[:, 3]
    return ev, tm, tp, cth, beta, to_rest


def _check_correlation(
    h_m: np.ndarray, h_p: np.ndarray, cth: np.ndarray, beta: np.ndarray, scale: float
) -> None:
    """C_ij = scale <h-_i h+_j> in four bins of cos theta against the analytic C averaged over
    the same events; every component within 4.5 standard errors, chi2/ndf < 1.6."""
    ref_ev = _analytic_c(np.arccos(cth), beta)
    est_ev = scale * h_m[:, :, None] * h_p[:, None, :]
    chi2, ndf = 0.0, 0
    for lo, hi in ((-1.0, -0.5), (-0.5, 0.0), (0.0, 0.5), (0.5, 1.0)):
        b = (cth >= lo) & (cth < hi)
        est = est_ev[b].mean(axis=0)
        err = est_ev[b].std(axis=0) / np.sqrt(b.sum())
        ref = ref_ev[b].mean(axis=0)
        pull = (est - ref) / err
        assert np.all(np.abs(pull) < 4.5), (lo, hi, est, ref, pull)
        chi2 += float(np.sum(pull**2))
        ndf += 9
    assert chi2 / ndf < 1.6, chi2 / ndf
    # the test can fail: a flipped sign of the tau+ polarimeter is far off
    b = cth > 0.5
    flipped = (-est_ev[b]).mean(axis=0)
    assert np.max(np.abs(flipped - ref_ev[b].mean(axis=0))) > 1.0


def test_pi_pi_events_reproduce_the_correlation_matrix_per_production_angle() -> None:
    _, mc = _decayed_sample(200_000, (-211, 16), seed=11)
    f = mc.fields
    ev, tm, _, cth, beta, to_rest = _common_frames(mc)
    off = mc.offsets
    im = np.flatnonzero(f["id"] == -211)
    ip = np.flatnonzero(f["id"] == 211)
    assert np.array_equal(off[ev[im]] + f["mother1"][im], tm)
    h_m = to_rest(_p4(f, im), True)
    h_p = -to_rest(_p4(f, ip), False)  # tau+ -> pi+ nu: h = -p_hat (tau.md sec. 1.4)
    h_m /= np.linalg.norm(h_m, axis=1)[:, None]
    h_p /= np.linalg.norm(h_p, axis=1)[:, None]
    _check_correlation(h_m, h_p, cth, beta, 9.0)


def test_pi_pi_energy_correlation_is_c_zz_over_three() -> None:
    """x = E_pi / E_beam is linear in cos theta* of the pion in its tau's frame, so
    corr(x-, x+) = <h-_z h+_z> / (1/3)^... = <C_zz>/3 (tau.md sec. 1.4: positive)."""
    _, mc = _decayed_sample(200_000, (-211, 16), seed=12)
    f = mc.fields
    _, _, _, cth, beta, _ = _common_frames(mc)
    cm = _p4(f, mc.offsets[:-1]) + _p4(f, mc.offsets[:-1] + 1)
    xm = kinematics.boost_to_rest_frame(_p4(f, np.flatnonzero(f["id"] == -211)), cm)[:, 3]
    xp = kinematics.boost_to_rest_frame(_p4(f, np.flatnonzero(f["id"] == 211)), cm)[:, 3]
    r = np.corrcoef(xm, xp)[0, 1]
    expect = _analytic_c(np.arccos(cth), beta)[:, 2, 2].mean() / 3
    assert abs(r - expect) < 3.5 / np.sqrt(len(xm)), (r, expect)
    assert expect > 0.29


def test_uncorrelated_when_spin_correlations_are_off() -> None:
    _, mc = _decayed_sample(100_000, (-211, 16), seed=13, spin_correlations=False)
    f = mc.fields
    cm = _p4(f, mc.offsets[:-1]) + _p4(f, mc.offsets[:-1] + 1)
    xm = kinematics.boost_to_rest_frame(_p4(f, np.flatnonzero(f["id"] == -211)), cm)[:, 3]
    xp = kinematics.boost_to_rest_frame(_p4(f, np.flatnonzero(f["id"] == 211)), cm)[:, 3]
    assert abs(np.corrcoef(xm, xp)[0, 1]) < 3.5 / np.sqrt(len(xm))


def _rho_polarimeter(pi: np.ndarray, pi0: np.ndarray) -> np.ndarray:
    """tau- -> pi- pi0 nu at rest (tau.md sec. 2.4): h = m [2 (N.q) q - q^2 N] / [2 (P.q)(N.q) - (P.N) q^2],
    q = p_pi - p_pi0, N = P - p_pi - p_pi0, P = (m, 0)."""
    m = float(ParticleTable().mass(np.array([15]))[0])
    q = pi - pi0
    N = -(pi + pi0)
    N[:, 3] += m

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a[:, 3] * b[:, 3] - np.sum(a[:, :3] * b[:, :3], axis=1)

    nq, q2 = dot(N, q), dot(q, q)
    pq, pn = m * q[:, 3], m * N[:, 3]
    h = m * (2 * nq[:, None] * q[:, :3] - q2[:, None] * N[:, :3]) / (2 * pq * nq - pn * q2)[:, None]
    return h


def test_rho_rho_events_reproduce_the_correlation_matrix() -> None:
    _, mc = _decayed_sample(150_000, (-213, 16), seed=14)
    f = mc.fields
    ev, tm, tp, cth, beta, to_rest = _common_frames(mc)
    off = mc.offsets
    # rho entries are kept (status 2) with the pions below them
    rho_m = np.flatnonzero(f["id"] == -213)
    assert len(rho_m) == len(tm) and np.all(f["status"][rho_m] == 2)
    ipm, ipp, i0 = (np.flatnonzero(f["id"] == k) for k in (-211, 211, 111))
    tau_of = off[ev] + f["mother1"]  # mother of each entry (global)
    gm = tau_of[tau_of[i0]]  # grand-mother of the pi0: the tau
    i0m, i0p = i0[f["id"][gm] == 15], i0[f["id"][gm] == -15]
    e_m = lambda i: to_rest(_p4(f, i), True)
    e_p = lambda i: to_rest(_p4(f, i), False)

    def rest4(i: np.ndarray, minus: bool) -> np.ndarray:
        v = e_m(i) if minus else e_p(i)
        out = np.empty((len(i), 4))
        out[:, :3] = v
        out[:, 3] = kinematics.boost_to_rest_frame(
            kinematics.boost_to_rest_frame(_p4(f, i), _p4(f, tm) + _p4(f, tp)),
            kinematics.boost_to_rest_frame(_p4(f, tm if minus else tp), _p4(f, tm) + _p4(f, tp)),
        )[:, 3]
        return out

    h_m = _rho_polarimeter(rest4(ipm, True), rest4(i0m, True))
    # tau+: CP image (momenta -> -momenta, h unchanged)
    pp, p0 = rest4(ipp, False), rest4(i0p, False)
    pp[:, :3] *= -1
    p0[:, :3] *= -1
    h_p = _rho_polarimeter(pp, p0)
    # events where a tau radiated a decay photon (O(alpha), fastsim.tau.radiation) have other
    # kinematics than the closed form assumes: leave them out
    gam = np.flatnonzero((f["id"] == 22) & (f["mother1"] >= 0))
    rad_tau = np.zeros(len(f["id"]), bool)
    rad_tau[off[ev[gam]] + f["mother1"][gam]] = True
    keep = ~rad_tau[tm] & ~rad_tau[tp]
    assert 0.9 < keep.mean() < 0.99
    np.testing.assert_allclose(np.linalg.norm(h_m[keep], axis=1), 1.0, atol=1e-6)  # |h| = 1 (tau.md 2.4)
    _check_correlation(h_m[keep], h_p[keep], cth[keep], beta[keep], 9.0)


def test_decay_record_vertices_and_lifetime() -> None:
    _, mc = _decayed_sample(50_000, (-213, 16), seed=15)
    f, off = mc.fields, mc.offsets
    ev = np.repeat(np.arange(len(off) - 1), np.diff(off))
    taus = np.flatnonzero(np.abs(f["id"]) == 15)
    assert np.all(f["status"][taus] == 2)
    # daughters: nu_tau, rho and in a few % a decay photon; their momenta sum to the tau's
    d1 = off[ev[taus]] + f["daughter1"][taus]
    d2 = off[ev[taus]] + f["daughter2"][taus]
    n_d = d2 - d1 + 1
    assert set(n_d.tolist()) == {2, 3}
    assert 0.005 < np.mean(n_d == 3) < 0.1
    sums = (
        _p4(f, d1)
        + _p4(f, d1 + 1)
        + np.where((n_d == 3)[:, None], _p4(f, np.minimum(d1 + 2, len(f["id"]) - 1)), 0.0)
    )
    np.testing.assert_allclose(sums, _p4(f, taus), atol=1e-9)
    kids = np.concatenate([d1, d1 + 1, (d1 + 2)[n_d == 3]])
    assert set(np.abs(f["id"][kids]).tolist()) == {16, 213, 22}
    # decay length: mean proper c t is c tau (87 um); the vertex is at (p/m) c t
    ct = f["lifetime"][taus]
    ctau = ParticleTable().ctau(np.array([15]))[0]
    assert abs(ct.mean() / ctau - 1) < 4 / np.sqrt(len(ct))
    m = f["m"][taus]
    disp = np.stack([f[c][d1] - f[c][taus] for c in ("vx", "vy", "vz")], axis=1)
    np.testing.assert_allclose(disp, _p4(f, taus)[:, :3] * (ct / m)[:, None], atol=1e-12)
    assert ctau == pytest.approx(0.00871, rel=0.01)  # PDG c tau 87.0 um, via particle


def test_tau_pair_spin_from_the_2_to_4_amplitudes_in_the_soft_limit() -> None:
    """ee_mumu_zprime with lepton: tau (ee_llx amplitudes, Z' -> nu nu): for a soft Z' the tau
    pair's correlation, measured from pi-pi decays, is that of gamma* -> tau tau at the pair's
    angle (soft emission factorises from the spin structure); the estimate is within 4.5 sigma
    of the analytic C averaged over the same events, component by component."""
    from fastsim.generators.ee_llx import EEMuMuZprime

    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    params = {"mass": 0.02, "coupling": 0.01, "lepton": "tau", "decay": "nunu", "isr": False, "fsr": False}
    params["z_exchange"] = False
    gen = EEMuMuZprime(params, BeamSetup.from_card(beam), ParticleTable())
    batch, _ = gen.generate(120_000, np.random.default_rng(21))
    table = sm_decay_table().copy()
    table.add(15, [(1.0, (-211, 16), "TEST")])
    table.add(-15, [(1.0, (211, -16), "TEST")])
    stable = frozenset({*_default_stable(), 111})
    mc = decay_particles(
        batch["mc"], table, np.random.default_rng(22), stable=stable, spin=batch.collections["spin"]
    )
    f = mc.fields
    _, tm, _, cth, beta, to_rest = _common_frames(mc)
    # soft Z': the tau pair carries almost all of sqrt(s)
    pair = _p4(f, tm) + _p4(f, np.flatnonzero((f["id"] == -15) & (f["mother1"] == 0)))
    m_pair = np.sqrt(pair[:, 3] ** 2 - np.sum(pair[:, :3] ** 2, axis=1))
    soft = m_pair > 10.3
    assert soft.mean() > 0.3
    im = np.flatnonzero(f["id"] == -211)
    ip = np.flatnonzero(f["id"] == 211)
    h_m = to_rest(_p4(f, im), True)
    h_p = -to_rest(_p4(f, ip), False)
    h_m /= np.linalg.norm(h_m, axis=1)[:, None]
    h_p /= np.linalg.norm(h_p, axis=1)[:, None]
    est_ev = 9.0 * h_m[soft][:, :, None] * h_p[soft][:, None, :]
    est = est_ev.mean(axis=0)
    err = est_ev.std(axis=0) / np.sqrt(soft.sum())
    ref = _analytic_c(np.arccos(cth[soft]), beta[soft]).mean(axis=0)
    assert np.all(np.abs(est - ref) < 4.5 * err), (est, ref)
    assert ref[2, 2] > 0.8 and ref[1, 1] < -0.3  # the test can fail: C is far from 0 here
