"""Tests of fastsim.decay_models: accept-reject on flat phase space with the model weights,
compared with analytic moments, scipy quadrature of the textbook dGamma/dq^2 formulas, the
covariant trace for P -> P l nu, and a measured D* polarisation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.integrate import quad

from fastsim import decay_models as dm
from fastsim import kinematics

# masses from the same particle table as the module (the weights use the parent's table mass)
M_B, M_DST, M_D, M_D0, M_K, M_E, M_MU, M_TAU = (
    dm._mass_width(i)[0] for i in (511, 413, 411, 421, 321, 11, 13, 15)
)
# SLPOLE parameters of D -> rho l nu in DECAY_BELLE2.DEC
RHO_PARAMS = (1.0, -0.605, 0.0, 1.0, 0.6, -0.605, 0.0, 1.0, 1.5, -0.871, 0.0, 1.0, 0.0, -0.605, 0.0, 1.0)
NAN4 = np.full(4, np.nan)


# ---------------------------------------------------------------------- helpers
def dot(a, b):
    return a[..., 3] * b[..., 3] - np.sum(a[..., :3] * b[..., :3], axis=-1)


def two_level(n, m_gp, m_p, m_d1, m_d2, seed, lab_beta=(0.1, -0.3, 0.5)):
    """Grandparent -> parent (+ recoil) -> d1 d2, with the true helicity cosine of d1 known.

    The parent flies along a random n in the grandparent frame; d1 is drawn isotropically in
    the parent frame (reached by a pure boost along n, so the helicity axis there is n) and
    everything is finally boosted to a 'lab' frame.  Returns lab momenta and cos_true."""
    rng = np.random.default_rng(seed)
    nhat = kinematics.isotropic_directions(n, rng)
    p = kinematics.two_body_momentum(np.array([m_gp]), np.array([m_p]), np.array([0.14]))[0]
    parent = np.concatenate([p * nhat, np.full((n, 1), math.hypot(p, m_p))], axis=1)
    dd = kinematics.isotropic_directions(n, rng)
    cos_true = np.sum(dd * nhat, axis=1)
    q = kinematics.two_body_momentum(np.array([m_p]), np.array([m_d1]), np.array([m_d2]))[0]
    d = np.empty((n, 2, 4))
    d[:, 0, :3] = q * dd
    d[:, 1, :3] = -q * dd
    d[:, 0, 3] = math.hypot(q, m_d1)
    d[:, 1, 3] = math.hypot(q, m_d2)
    d = kinematics.boost_to_frame_of(d, parent, mass=np.full(n, m_p))
    gp = np.tile([0.0, 0.0, 0.0, m_gp], (n, 1))
    beta = np.array(lab_beta)
    return (
        kinematics.boost(gp, beta),
        kinematics.boost(parent, beta),
        kinematics.boost(d, beta),
        cos_true,
    )


def accept(w, seed):
    return np.random.default_rng(seed).random(len(w)) < w


def sl_sample(model, params, parent, dau_ids, masses, n, seed, rho=False):
    """Flat 3-body phase space at rest, weights, acceptance and q^2."""
    rng = np.random.default_rng(seed)
    M = dm._mass_width(abs(parent))[0]
    p4 = kinematics.n_body_phase_space(np.full(n, M), np.asarray(masses), rng)
    P = np.tile([0.0, 0.0, 0.0, M], (n, 1))
    w, r = dm.model_weight(model, params, parent, dau_ids, P, p4, np.full(n, np.nan), np.tile(NAN4, (n, 1)))
    acc = rng.random(n) < w
    q = p4[:, 1] + p4[:, 2]
    return p4, w, r, acc, dot(q, q)


def hel_amps_test(ff, vector, q2, M, m):
    """Helicity amplitudes written out again for the quadrature (Korner-Schuler 1990)."""
    kk = math.sqrt(max((M * M - (m + math.sqrt(q2)) ** 2) * (M * M - (m - math.sqrt(q2)) ** 2), 0.0)) / (
        2 * M
    )
    if vector:
        a1, a2, v, a0 = (float(x) for x in ff)
        hpm = [(M + m) * a1 - s * 2 * M * kk * v / (M + m) for s in (1, -1)]
        h0 = ((M * M - m * m - q2) * (M + m) * a1 - 4 * M * M * kk * kk * a2 / (M + m)) / (
            2 * m * math.sqrt(q2)
        )
        return kk, hpm[0], hpm[1], h0, 2 * M * kk * a0 / math.sqrt(q2)
    fp, f0 = (float(x) for x in ff)
    return kk, 0.0, 0.0, 2 * M * kk * fp / math.sqrt(q2), (M * M - m * m) * f0 / math.sqrt(q2)


def dgamma_dq2(model, params, vector, M, m, ml, part="all"):
    """dGamma/dq^2 ~ K (q^2 - m^2)^2/q^2 [(H+^2 + H-^2 + H0^2)(1 + m^2/2q^2) + 3 m^2/(2 q^2) Ht^2]
    (Korner-Schuler Z. Phys. C 46 (1990) 93; Fajfer, Kamenik, Nisandzic arXiv:1203.2654 eq. 4)."""

    def f(q2):
        ff = dm._FF[model](params, vector, np.array([q2]), M, m)
        kk, hp, hm, h0, ht = hel_amps_test([x[0] for x in ff], vector, q2, M, m)
        r = ml * ml / q2
        pre = kk * (q2 - ml * ml) ** 2 / q2
        lon = h0 * h0 * (1 + r / 2) + 1.5 * r * ht * ht
        if part == "long":
            return pre * lon
        return pre * ((hp * hp + hm * hm) * (1 + r / 2) + lon)

    return f


def integrate(f, lo, hi):
    """quad in pieces: the helicity-flip structure sits at q^2 - m_l^2 ~ m_l^2."""
    edges = lo + (hi - lo) * np.array([0.0, 1e-6, 1e-3, 0.1, 1.0])
    return sum(quad(f, a, b, limit=200)[0] for a, b in itertools.pairwise(edges))


def quad_mean_q2(model, params, vector, M, m, ml):
    f = dgamma_dq2(model, params, vector, M, m, ml)
    lo, hi = ml * ml, (M - m) ** 2
    return integrate(lambda x: x * f(x), lo, hi) / integrate(f, lo, hi)


# ---------------------------------------------------------------------- angular chain
def test_svs_then_vss_is_longitudinal():
    n = 100_000
    gp, parent, d, ct = two_level(n, 5.279, 0.8955, 0.4937, 0.1350, seed=1)
    # B+ -> K*+ pi0 (SVS) sets rho00 = 1 for the K*
    _, rho = dm.model_weight("SVS", (), 521, (323, 111), gp, d, np.full(n, np.nan), np.tile(NAN4, (n, 1)))
    assert np.all(rho[:, 0] == 1.0)
    assert np.all(np.isnan(rho[:, 1]))
    w, _ = dm.model_weight("VSS", (), 323, (321, 111), parent, d, rho[:, 0], gp)
    a = accept(w, 2)
    # longitudinal: dN/dcos ~ cos^2 -> <cos^2> = 3/5; sd of cos^2 is 0.27: 5 sigma < 0.01
    assert np.mean(ct[a] ** 2) == pytest.approx(0.6, abs=0.01)
    assert a.mean() == pytest.approx(1.0 / 3.0, abs=0.01)  # efficiency of cos^2 on flat: 1/3


def test_vss_unpolarised_flat_and_transverse():
    n = 100_000
    gp, parent, d, ct = two_level(n, 3.097, 0.775, 0.1396, 0.1396, seed=3)
    w, rho = dm.model_weight("VSS", (), 113, (211, -211), parent, d, np.full(n, np.nan), gp)
    assert np.all(w == 1.0)
    assert np.all(np.isnan(rho))
    w, _ = dm.model_weight("VSS", (), 113, (211, -211), parent, d, np.full(n, 1.0 / 3.0), gp)
    assert np.allclose(w, 1.0)
    w, _ = dm.model_weight("VSS", (), 113, (211, -211), parent, d, np.zeros(n), gp)
    a = accept(w, 4)
    assert np.mean(ct[a] ** 2) == pytest.approx(0.2, abs=0.006)  # sin^2: <cos^2> = 1/5


def test_vsp_pwave_and_vll():
    n = 100_000
    gp, parent, d, ct = two_level(n, 5.279, 2.00685, 1.86484, 0.0, seed=5)
    w, _ = dm.model_weight("VSP_PWAVE", (), 423, (421, 22), parent, d, np.ones(n), gp)
    a = accept(w, 6)
    assert np.mean(ct[a] ** 2) == pytest.approx(0.2, abs=0.006)  # longitudinal V -> S gamma: sin^2
    # psi(2S) -> tau+ tau-, transverse parent: (1 + c^2) + eps (1 - c^2), eps = 4 m^2/M^2
    gp, parent, d, ct = two_level(n, 10.58, 3.6861, M_TAU, M_TAU, seed=7)
    w, _ = dm.model_weight("VLL", (), 100443, (15, -15), parent, d, np.zeros(n), gp)
    a = accept(w, 8)
    eps = 4 * M_TAU**2 / 3.6861**2
    expect = (2 / 3 + 2 / 5 + eps * (2 / 3 - 2 / 5)) / (2 + 2 / 3 + eps * (2 - 2 / 3))
    assert np.mean(ct[a] ** 2) == pytest.approx(expect, abs=0.006)
    assert w.max() <= 1.0


def test_svv_helamp_rho00_then_vss():
    n = 100_000
    gp, parent, d, ct = two_level(n, 5.279, 2.01026, 1.86484, 0.13957, seed=9)
    params = (0.336, 0.0, 0.88, 0.0, 0.336, 0.0)
    _, rho = dm.model_weight(
        "SVV_HELAMP", params, -511, (413, -20213), gp, d, np.full(n, np.nan), np.tile(NAN4, (n, 1))
    )
    r00 = 0.88**2 / (0.88**2 + 2 * 0.336**2)
    assert np.allclose(rho, r00)
    w, _ = dm.model_weight("VSS", (), 413, (421, 211), parent, d, rho[:, 0], gp)
    a = accept(w, 10)
    assert np.mean(ct[a] ** 2) == pytest.approx((1 + 2 * r00) / 5, abs=0.006)
    _, rho = dm.model_weight(
        "SVP_HELAMP", (1.0, 0.0, 1.0, 0.0), 511, (313, 22), gp, d, np.full(n, np.nan), gp
    )
    assert np.all(rho[:, 0] == 0.0)
    assert np.all(np.isnan(rho[:, 1]))


@pytest.mark.parametrize(
    ("params", "r00"),
    [
        ((1.0, 0.0, 0.0, 0.0, 0.0, 0.0), 1 / 3),
        ((0, 0, 0, 0, 1.0, 0), 2 / 3),
        # helicity states as partial waves: |lambda=0> ~ |S> - sqrt2 |D>, |lambda=+-1> ~ sqrt2 |S> + |D>
        ((1.0, 0.0, 0.0, 0.0, math.sqrt(2.0), math.pi), 1.0),
        ((math.sqrt(2.0), 0.0, 0.0, 0.0, 1.0, 0.0), 0.0),
    ],
)
def test_vvs_pwave_daughter_polarisation(params, r00):
    """a_1 -> rho pi: S wave leaves the rho unpolarised, D wave gives |H0|^2/sum = 2/3
    (CG coefficients, PDG RPP table 'Clebsch-Gordan coefficients')."""
    n = 50_000
    gp, parent, d, _ = two_level(n, 5.279, 1.23, 0.775, 0.13957, seed=11)
    w, rho = dm.model_weight("VVS_PWAVE", params, 20213, (113, 211), parent, d, np.full(n, np.nan), gp)
    assert np.allclose(w, 1.0)
    assert np.mean(rho[:, 0]) == pytest.approx(r00, abs=1e-9)
    # a longitudinal a_1 in pure D wave: dN/dcos ~ |H1|^2 s^2 + |H0|^2 c^2 with |H0|^2 = 4 |H1|^2
    w, _ = dm.model_weight("VVS_PWAVE", params, 20213, (113, 211), parent, d, np.ones(n), gp)
    assert np.max(w) <= 1.0
    assert np.min(w) >= 0.0


# ---------------------------------------------------------------------- semileptonic
def test_covariant_trace_b_to_d_tau_nu():
    """w / (covariant |M|^2 = 8 [2 (J.k1)(J.k2) - J^2 (k1.k2)]) is constant: checks the
    H0-Ht interference sign and the helicity-flip terms."""
    n = 2000
    p = dm._DEFAULTS["HQET3", False]
    p4, w, _, _, q2 = sl_sample("HQET3", p, -511, (411, 15, -16), [M_D, M_TAU, 0.0], n, seed=12)
    D, lep, nu = p4[:, 0], p4[:, 1], p4[:, 2]
    P = np.tile([0.0, 0.0, 0.0, M_B], (n, 1))
    fp, f0 = dm._ff_hqet3(p, False, q2, M_B, M_D)
    q = lep + nu
    J = fp[:, None] * (P + D) + ((f0 - fp) * (M_B**2 - M_D**2) / q2)[:, None] * q
    cov = 8 * (2 * dot(J, lep) * dot(J, nu) - dot(J, J) * dot(lep, nu))
    ratio = w / cov
    assert np.std(ratio) / np.mean(ratio) < 1e-8


@pytest.mark.parametrize(
    ("model", "parent", "ids", "masses"),
    [
        ("BGL", -511, (413, 11, -12), [M_DST, M_E, 0.0]),
        ("BGL", -511, (411, 11, -12), [M_D, M_E, 0.0]),
        ("HQET3", -511, (413, 15, -16), [M_DST, M_TAU, 0.0]),
        ("HQET3", 521, (-421, -15, 16), [M_D0, M_TAU, 0.0]),
        ("SLBKPOLE", 421, (-321, -11, 12), [M_K, M_E, 0.0]),
    ],
)
def test_sl_mean_q2_vs_quad(model, parent, ids, masses):
    vector = ids[0] in (413, -413)
    params = dm._DEFAULTS[model, vector]
    _, w, _, acc, q2 = sl_sample(model, params, parent, ids, masses, 100_000, seed=13)
    M = dm._mass_width(abs(parent))[0]
    ref = quad_mean_q2(model, params, vector, M, masses[0], masses[1])
    err = np.std(q2[acc]) / math.sqrt(acc.sum())
    assert np.mean(q2[acc]) == pytest.approx(ref, abs=4 * err)
    assert w.max() <= 1.0
    if masses[1] == M_TAU:
        assert np.all(q2[acc] > M_TAU**2)


@pytest.mark.parametrize(
    ("model", "ids", "masses"),
    [("BGL", (413, 11, -12), [M_DST, M_E, 0.0]), ("HQET3", (413, 15, -16), [M_DST, M_TAU, 0.0])],
)
def test_dstar_longitudinal_fraction(model, ids, masses):
    """F_L(D*) = mean of the returned rho00 over accepted events vs quadrature."""
    params = dm._DEFAULTS[model, True]
    _, _, rho, acc, _ = sl_sample(model, params, -511, ids, masses, 100_000, seed=14)
    fl = np.mean(rho[acc, 0])
    lo, hi = masses[1] ** 2, (M_B - M_DST) ** 2
    num = integrate(dgamma_dq2(model, params, True, M_B, M_DST, masses[1], "long"), lo, hi)
    den = integrate(dgamma_dq2(model, params, True, M_B, M_DST, masses[1]), lo, hi)
    assert fl == pytest.approx(num / den, abs=0.005)  # sd of rho00 ~0.3 over ~3e4 events
    if masses[1] == M_E:
        # Belle's measured F_L(D*) for light leptons is ~0.5 (e.g. arXiv:2301.07529)
        assert 0.45 < fl < 0.60
    else:
        # SM expectation ~0.44-0.46 (as quoted next to Belle's F_L(D*) in tau nu, arXiv:1903.03102)
        assert 0.41 < fl < 0.51
    assert np.all((rho[:, 0] >= 0) & (rho[:, 0] <= 1))


@pytest.mark.parametrize(
    ("model", "parent", "ids", "masses", "mrange", "tightness"),
    [
        ("BGL", -511, (413, 11, -12), [M_DST, M_E, 0.0], None, 0.8),
        ("HQET3", -511, (413, 15, -16), [M_DST, M_TAU, 0.0], None, 0.8),
        ("BGL", 521, (-421, -11, 12), [M_D0, M_E, 0.0], None, 0.8),
        # K*, rho: masses spread from the hadronic threshold (K pi, pi pi; where the bound's
        # mass scan starts and |M|^2 ~ 1/m^2 is largest) to the top of the engine's window
        ("SLPOLE", 421, (-323, -11, 12), [0.8918, M_E, 0.0], (0.6287, 1.3769), 0.6),
        ("SLPOLE", -421, (213, 13, -14), [0.7751, M_MU, 0.0], (0.2746, M_D0 - M_MU - 1e-6), 0.6),
        ("SLPOLE", 411, (113, -11, 12), [0.7753, M_E, 0.0], (0.2792, M_D - M_E - 1e-6), 0.6),
    ],
)
def test_sl_bound_never_exceeded(model, parent, ids, masses, mrange, tightness):
    """Unclipped |M|^2 / bound < 1 on 1e5 flat phase-space points (meson masses spread over
    the bound's mass window for the K* and the rho)."""
    rng = np.random.default_rng(15)
    n = 100_000
    vector = abs(ids[0]) in (413, 423, 323, 213, 113)
    params = RHO_PARAMS if abs(ids[0]) in (213, 113) else dm._DEFAULTS[model, vector]
    M = dm._mass_width(abs(parent))[0]
    ms = np.tile(np.asarray(masses, float), (n, 1))
    if mrange is not None:
        ms[:, 0] = rng.uniform(*mrange, n)
    p4 = kinematics.n_body_phase_space(np.full(n, M), ms, rng)
    q = p4[:, 1] + p4[:, 2]
    q2 = dot(q, q)
    m = np.sqrt(dot(p4[:, 0], p4[:, 0]))
    w, _ = dm.model_weight(
        model,
        params,
        parent,
        ids,
        np.tile([0, 0, 0, M], (n, 1)),
        p4,
        np.full(n, np.nan),
        np.tile(NAN4, (n, 1)),
    )
    # w is clipped only above 1, so max < 1 means the bound was never exceeded
    assert w.max() < 1.0
    bound = dm._sl_bound(model, params, vector, parent, ids[0], masses[1])
    # the bound is not absurdly loose (efficiency would suffer)
    assert w.max() > tightness
    # direct unclipped evaluation at the extreme cos theta_l = +-1 for the sampled q^2, m
    for c in (-1.0, 1.0):
        raw = dm._sl_eval(model, params, vector, q2, np.full(n, M), m, masses[1] ** 2, np.full(n, c))[0]
        assert np.max(raw) / bound < 1.0


def test_bgl_form_factor_normalisation():
    """BGL D* at zero recoil: h_A1(1) = 0.906 (FNAL/MILC, PRD 89 (2014) 114504: 0.906(13));
    BGL D: f+(0) = f0(0) within the fit precision (1 %)."""
    w1 = 1.0 + 1e-6
    q2 = np.array([M_B**2 + M_DST**2 - 2 * M_B * M_DST * w1])
    a1, _, _, _ = dm._ff_bgl(dm._DEFAULTS["BGL", True], True, q2, M_B, M_DST)
    rstar = 2 * math.sqrt(M_B * M_DST) / (M_B + M_DST)
    assert 2 * a1[0] / (rstar * (1 + w1)) == pytest.approx(0.906, abs=0.02)
    fp, f0 = dm._ff_bgl(dm._DEFAULTS["BGL", False], False, np.array([0.0]), M_B, M_D)
    assert fp[0] == pytest.approx(f0[0], rel=0.015)


def test_unsupported_and_degenerate_inputs():
    n = 10
    P = np.tile([0.0, 0.0, 0.0, M_B], (n, 1))
    d = np.zeros((n, 3, 4))
    w, rho = dm.model_weight(
        "ISGW2", (), 531, (-431, 11, -12), P, d, np.full(n, np.nan), np.tile(NAN4, (n, 1))
    )
    assert np.all(w == 1.0)
    assert np.all(np.isnan(rho))
    assert "ISGW2" not in dm.SUPPORTED
    assert {"SVS", "VSS", "BGL", "HQET3", "SLPOLE", "SLBKPOLE", "SVV_HELAMP"} <= dm.SUPPORTED
    # empty params fall back to the DEC-file defaults
    p4 = kinematics.n_body_phase_space(np.full(n, M_B), np.array([M_DST, M_E, 0.0]), np.random.default_rng(0))
    w1, _ = dm.model_weight("BGL", (), -511, (413, 11, -12), P, p4, np.full(n, np.nan), np.tile(NAN4, (n, 1)))
    w2, _ = dm.model_weight(
        "BGL",
        dm._DEFAULTS["BGL", True],
        -511,
        (413, 11, -12),
        P,
        p4,
        np.full(n, np.nan),
        np.tile(NAN4, (n, 1)),
    )
    assert np.array_equal(w1, w2)


def test_dstar_lepton_forward_backward_asymmetry():
    """A_FB of the charged lepton (theta_l: lepton vs W direction, in the W frame, computed
    here by explicit boosts) vs quadrature of (3/4)[(H-^2 - H+^2) - 2 r H0 Ht]/[...]; for
    b -> c l nu the D* is mostly helicity -1 and A_FB > 0; the BGL expectation and Belle's
    2023 measurements for light leptons are A_FB ~ 0.2."""
    params = dm._DEFAULTS["BGL", True]
    p4, _, _, acc, _ = sl_sample("BGL", params, -511, (413, 11, -12), [M_DST, M_E, 0.0], 100_000, seed=16)
    p4 = p4[acc]
    w_p4 = p4[:, 1] + p4[:, 2]
    rest = kinematics.boost_to_rest_frame(p4[:, :2], w_p4)
    lep, mes = rest[:, 1, :3], rest[:, 0, :3]
    c = -np.sum(lep * mes, axis=1) / (np.linalg.norm(lep, axis=1) * np.linalg.norm(mes, axis=1))
    afb = np.mean(np.sign(c))

    def parts(q2):
        ff = dm._FF["BGL"](params, True, np.array([q2]), M_B, M_DST)
        kk, hp, hm, h0, ht = hel_amps_test([x[0] for x in ff], True, q2, M_B, M_DST)
        r = M_E**2 / q2
        pre = kk * (q2 - M_E**2) ** 2 / q2
        tot = (hp * hp + hm * hm + h0 * h0) * (1 + r / 2) + 1.5 * r * ht * ht
        return pre * 0.75 * ((hm * hm - hp * hp) - 2 * r * h0 * ht), pre * tot

    lo, hi = M_E**2, (M_B - M_DST) ** 2
    ref = integrate(lambda x: parts(x)[0], lo, hi) / integrate(lambda x: parts(x)[1], lo, hi)
    assert afb == pytest.approx(ref, abs=4 / math.sqrt(len(c)))
    assert 0.15 < afb < 0.30


def test_rho_bound_is_above_hadronic_threshold():
    """The rho0's lightest mode is e+e- (the engine draws masses down to ~1 MeV), but the
    bound's mass scan starts at the pi pi threshold: with the scan down to 1 MeV the bound
    was ~1e5 too large (|H_0|^2 ~ 1/m^2) and D -> rho l nu never got accepted."""
    m_pi = dm._mass_width(211)[0]
    assert dm._hadronic_threshold(113) == pytest.approx(2 * m_pi, abs=1e-6)
    lo, hi = dm._meson_window(113, M_D, M_E)
    assert lo == pytest.approx(2 * m_pi, abs=1e-6)
    assert hi == pytest.approx(M_D - M_E, abs=1e-5)
    assert dm._meson_window(413, M_B, M_E) == (M_DST, M_DST)  # narrow: nominal mass only


def _supported_modes():
    """(parent, mode, parent mass, daughter masses) of every DECAY_BELLE2.DEC mode with a
    model in SUPPORTED whose particles are known and which is open at the nominal masses."""
    from fastsim.decays import sm_decay_table
    from fastsim.particles import default_table

    table, particles = sm_decay_table(), default_table()
    out = []
    for parent in table.parents:
        for mode in table.modes(parent):
            if mode.model not in dm.SUPPORTED:
                continue
            ids = np.abs(np.array([parent, *mode.daughters]))
            if not np.all(particles.knows(ids)):
                continue
            masses = particles.mass(ids)
            if masses[1:].sum() < masses[0]:
                out.append((parent, mode, float(masses[0]), masses[1:]))
    return out


def test_every_supported_mode_has_a_tight_valid_bound():
    """For every supported DEC mode, on 2000 flat phase-space points at the nominal masses
    (polarised parents, rho00 uniform in [0, 1], with a grandparent): mean w > 0.02, i.e. no
    bound so loose that the engine's accept-reject stalls (D -> rho l nu had mean ~6e-6), and
    max w <= 1 (semileptonic: < 1, no |M|^2 above its bound); rho00 in [0, 1] or NaN."""
    rng = np.random.default_rng(21)
    n = 2000
    rho00 = rng.uniform(0.0, 1.0, n)
    gp = np.tile([0.3, -0.4, 1.2, 11.0], (n, 1))  # grandparent seen from the parent at rest
    modes = _supported_modes()
    failures, models = [], set()
    for parent, mode, M, masses in modes:
        p4 = kinematics.n_body_phase_space(np.full(n, M), masses, rng)
        P = np.tile([0.0, 0.0, 0.0, M], (n, 1))
        w, rho = dm.model_weight(mode.model, mode.params, parent, mode.daughters, P, p4, rho00, gp)
        models.add(mode.model)
        rho_ok = np.all(np.isnan(rho) | ((rho >= -1e-12) & (rho <= 1.0 + 1e-12)))
        # semileptonic w is clipped at 1 only where |M|^2 exceeds the bound (too tight): w = 1
        # must not occur; angular w = f / max_c f is 1 wherever the density is flat
        w_ok = w.max() < 1.0 if mode.model in dm._SEMILEPTONIC else w.max() <= 1.0
        if not (w_ok and w.mean() > 0.02 and w.min() >= 0.0 and rho_ok):
            failures.append((parent, mode.daughters, mode.model, float(w.mean()), float(w.max())))
    assert not failures, failures
    assert len(modes) > 1000
    # HQET2 is not used by DECAY_BELLE2.DEC; HNL_NU_LL is fastsim's own (tests/test_hnl_decay.py)
    assert models == set(dm.SUPPORTED) - {"HQET2", dm.HEAVY_NEUTRINO}
