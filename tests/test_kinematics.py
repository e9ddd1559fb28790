"""Tests of fastsim.kinematics against independent formulas and statistical tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from fastsim import kinematics as K

# PDG 2024 masses (GeV), typed here on purpose as independent reference numbers
M_D0, M_K, M_PI, M_PI0, M_KS = 1.86484, 0.493677, 0.13957039, 0.1349768, 0.497611


def random_p4(rng: np.random.Generator, n: int, m_lo: float = 0.0, m_hi: float = 5.0, p_max: float = 10.0):
    m = rng.uniform(m_lo, m_hi, n)
    p = rng.uniform(-p_max, p_max, (n, 3))
    return np.column_stack([p, np.sqrt(m**2 + np.sum(p**2, axis=1))]), m


@pytest.fixture(params=["genbod", "rambo"])
def method(request, monkeypatch):
    """Force one phase-space algorithm (both are exact; they must agree)."""
    monkeypatch.setattr(K, "RAMBO_KINETIC_FRACTION", 2.0 if request.param == "genbod" else -1.0)
    return request.param


def test_invariants_simple_values():
    p4 = np.array([[3.0, 0.0, 4.0, 13.0], [0.0, 0.0, 0.0, 0.5]])
    np.testing.assert_allclose(K.momentum(p4), [5.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(K.invariant_mass(p4), [12.0, 0.5], rtol=1e-15)
    assert K.invariant_mass2(np.array([[0.0, 0.0, 2.0, 1.0]]))[0] == pytest.approx(-3.0)  # space-like
    assert K.invariant_mass(np.array([[0.0, 0.0, 2.0, 1.0]]))[0] == 0.0


def test_two_body_momentum_kallen():
    # K_S0 -> pi+ pi-: p = sqrt(M^2/4 - m^2) for equal masses (independent closed form)
    assert K.two_body_momentum(M_KS, M_PI, M_PI) == pytest.approx(np.sqrt(M_KS**2 / 4 - M_PI**2), rel=1e-14)
    # unequal masses: D0 -> K- pi+, the PDG listing quotes p = 861 MeV/c
    assert K.two_body_momentum(M_D0, M_K, M_PI) == pytest.approx(0.861, abs=5e-4)
    # massless daughters: M/2 ; below threshold: 0 (documented)
    np.testing.assert_allclose(
        K.two_body_momentum(np.array([2.0, 0.1]), 0.0, np.array([0.0, 0.2])), [1.0, 0.0]
    )


def test_two_body_decay_momentum_and_isotropy():
    rng = np.random.default_rng(1)
    n = 20000
    d = K.two_body_decay(np.full(n, M_D0), M_K, M_PI, rng)
    p_expected = np.sqrt((M_D0**2 - (M_K + M_PI) ** 2) * (M_D0**2 - (M_K - M_PI) ** 2)) / (2 * M_D0)
    np.testing.assert_allclose(K.momentum(d[:, 0]), p_expected, rtol=1e-12)
    np.testing.assert_allclose(d.sum(axis=1), np.tile([0, 0, 0, M_D0], (n, 1)), atol=1e-12)
    np.testing.assert_allclose(K.invariant_mass(d), np.tile([M_K, M_PI], (n, 1)), rtol=1e-9)
    # cos(theta) uniform: KS test against U(-1, 1)
    cos_t = d[:, 0, 2] / K.momentum(d[:, 0])
    assert stats.kstest(cos_t, stats.uniform(-1, 2).cdf).pvalue > 1e-3


def test_boost_preserves_mass_and_inverts():
    rng = np.random.default_rng(2)
    # B-factory range: the float precision of m from E^2 - p^2 is ~1e-16 (E/m)^2
    p4, m = random_p4(rng, 5000, 0.1, 3.0, 2.0)
    parent, _ = random_p4(rng, 5000, 1.0, 11.0, 10.0)
    lab = K.boost_to_frame_of(p4, parent)
    np.testing.assert_allclose(K.invariant_mass(lab), m, rtol=1e-9, atol=1e-9)
    back = K.boost_to_rest_frame(lab, parent)
    np.testing.assert_allclose(back, p4, rtol=1e-9, atol=1e-9 * np.abs(p4).max())
    # the parent's own four-momentum goes to rest
    rest = K.boost_to_rest_frame(parent, parent)
    np.testing.assert_allclose(rest[:, :3], 0.0, atol=1e-9 * parent[:, 3].max())
    np.testing.assert_allclose(rest[:, 3], K.invariant_mass(parent), rtol=1e-9)
    # boost by beta then by -beta is the identity; (n, k, 4) layout works too
    beta = rng.uniform(-0.55, 0.55, (5000, 3))
    pk = np.stack([p4, p4[::-1]], axis=1)
    np.testing.assert_allclose(K.boost(K.boost(pk, beta), -beta), pk, rtol=1e-9, atol=1e-9 * np.abs(pk).max())


def test_boost_against_independent_construction():
    """General-direction boost == rotate(z -> n) . boost along z . rotate back, with the
    textbook z-boost E' = gamma (E + beta pz), pz' = gamma (pz + beta E)."""
    rng = np.random.default_rng(3)
    n = 1000
    p4, _ = random_p4(rng, n, 0.0, 2.0)
    direction = K.isotropic_directions(n, rng)
    b = rng.uniform(0.0, 0.999, n)
    g = 1.0 / np.sqrt(1.0 - b**2)
    R = K.rotation_z_to(direction)
    q = K.rotate(p4, np.transpose(R, (0, 2, 1)))  # into the frame where n = z
    qz = g * (q[:, 2] + b * q[:, 3])
    qe = g * (q[:, 3] + b * q[:, 2])
    q = np.column_stack([q[:, 0], q[:, 1], qz, qe])
    expected = K.rotate(q, R)
    got = K.boost(p4, direction * b[:, None])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


def test_rotation_z_to():
    rng = np.random.default_rng(4)
    d = np.vstack([K.isotropic_directions(1000, rng), [[0, 0, 1], [0, 0, -1], [1, 0, 0]]])
    R = K.rotation_z_to(d)
    np.testing.assert_allclose(R @ np.array([0.0, 0.0, 1.0]), d, atol=1e-14)
    np.testing.assert_allclose(
        np.einsum("nji,njk->nik", R, R), np.broadcast_to(np.eye(3), R.shape), atol=1e-14
    )
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-14)
    v = np.tile([1.0, 2.0, 3.0, 9.0], (len(d), 1))
    np.testing.assert_allclose(K.momentum(K.rotate(v, R)), np.sqrt(14.0), rtol=1e-14)


def test_sum_of_daughters_is_parent(method):
    rng = np.random.default_rng(5)
    n = 3000
    parent, M = random_p4(rng, n, 1.0, 5.0, 6.0)
    masses = np.array([M_PI, M_PI, M_PI0, 0.0])
    rest = K.n_body_phase_space(M, masses, rng)
    lab = K.boost_to_frame_of(rest, parent)
    np.testing.assert_allclose(lab.sum(axis=1), parent, rtol=1e-9, atol=1e-9 * parent[:, 3].max())
    np.testing.assert_allclose(K.invariant_mass(lab[:, :3]), np.broadcast_to(masses[:3], (n, 3)), rtol=1e-9)


def test_four_body_conserves_momentum(method):
    rng = np.random.default_rng(6)
    n = 20000
    M = rng.uniform(1.0, 5.3, n)
    masses = np.array([M_K, M_PI, M_PI, M_PI0])
    p = K.n_body_phase_space(M, masses, rng)
    np.testing.assert_allclose(p.sum(axis=1)[:, :3], 0.0, atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1)[:, 3], M, rtol=1e-12)
    np.testing.assert_allclose(K.invariant_mass(p), np.broadcast_to(masses, (n, 4)), rtol=1e-9)
    # per-event masses (n, k)
    pm = np.broadcast_to(masses, (n, 4)) * rng.uniform(0.5, 1.0, (n, 4))
    q = K.n_body_phase_space(M, pm, rng)
    np.testing.assert_allclose(K.invariant_mass(q), pm, rtol=1e-9)
    np.testing.assert_allclose(q.sum(axis=1)[:, 3], M, rtol=1e-12)


def _dalitz_m23_range(m12sq, M, m1, m2, m3):
    """Kinematic limits of m23^2 at given m12^2 (PDG "Kinematics", Dalitz plot section)."""
    m12 = np.sqrt(m12sq)
    e2 = (m12sq - m1**2 + m2**2) / (2 * m12)
    e3 = (M**2 - m12sq - m3**2) / (2 * m12)
    p2 = np.sqrt(np.maximum(e2**2 - m2**2, 0))
    p3 = np.sqrt(np.maximum(e3**2 - m3**2, 0))
    return (e2 + e3) ** 2 - (p2 + p3) ** 2, (e2 + e3) ** 2 - (p2 - p3) ** 2


@pytest.mark.parametrize(
    ("M", "masses"),
    [(M_D0, (M_K, M_PI, M_PI0)), (M_D0, (M_KS, M_K, M_K))],
    ids=["D0->K-pi+pi0", "D0->KSK+K-"],
)
def test_dalitz_plot_is_flat(method, M, masses):
    """Flat phase space = uniform Dalitz density (PDG "Kinematics": dGamma ~ |M|^2 dm12^2 dm23^2).
    Chi-square over the bins lying fully inside the kinematic boundary."""
    rng = np.random.default_rng(7)
    n = 200_000
    m1, m2, m3 = masses
    p = K.n_body_phase_space(np.full(n, M), np.array(masses), rng)
    m12sq = K.invariant_mass2(p[:, 0] + p[:, 1])
    m23sq = K.invariant_mass2(p[:, 1] + p[:, 2])
    nb = 20
    x_edges = np.linspace((m1 + m2) ** 2, (M - m3) ** 2, nb + 1)
    y_edges = np.linspace((m2 + m3) ** 2, (M - m1) ** 2, nb + 1)
    counts, _, _ = np.histogram2d(m12sq, m23sq, bins=[x_edges, y_edges])
    inside = np.ones((nb, nb), bool)
    for i in range(nb):  # a bin is inside if a 6 x 6 grid of its points is
        xs = np.linspace(x_edges[i], x_edges[i + 1], 6)
        lo, hi = _dalitz_m23_range(xs, M, m1, m2, m3)
        for j in range(nb):
            inside[i, j] = np.all(lo <= y_edges[j]) and np.all(hi >= y_edges[j + 1])
    c = counts[inside]
    assert inside.sum() > 100
    expected = c.mean()
    chi2 = np.sum((c - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, len(c) - 1) > 1e-3
    # no event outside the physical region
    lo, hi = _dalitz_m23_range(m12sq, M, m1, m2, m3)
    assert np.all(m23sq >= lo - 1e-9) and np.all(m23sq <= hi + 1e-9)


def test_genbod_and_rambo_agree(monkeypatch):
    """Two independent algorithms give the same 5-body distributions (two-sample KS)."""
    M = 2.0
    masses = np.array([M_K, M_PI, M_PI, M_PI0, 0.0])
    samples = {}
    for name, frac in (("genbod", 2.0), ("rambo", -1.0)):
        monkeypatch.setattr(K, "RAMBO_KINETIC_FRACTION", frac)
        p = K.n_body_phase_space(np.full(30000, M), masses, np.random.default_rng(8))
        samples[name] = (K.invariant_mass(p[:, 0] + p[:, 1]), p[:, 4, 3], K.invariant_mass(p[:, 2] + p[:, 3]))
    for a, b in zip(samples["genbod"], samples["rambo"], strict=True):
        assert stats.ks_2samp(a, b).pvalue > 1e-3


def _phase_space_3(M, m1, m2, m3):
    """3-body phase-space volume up to a constant: the Dalitz-plot area."""
    lo_x, hi_x = (m1 + m2) ** 2, (M - m3) ** 2

    def width(x):
        lo, hi = _dalitz_m23_range(x, M, m1, m2, m3)
        return hi - lo

    return integrate.quad(width, lo_x, hi_x, epsabs=1e-13)[0]


@pytest.mark.parametrize("k", [2, 3])
def test_mass_weighting_with_m_min(method, k):
    """Masses drawn uniformly then accepted with n_body_phase_space_weighted(m_min=...)
    must follow uniform x Phi_k(M; m).  Phi_2 ~ p*/M, Phi_3 ~ Dalitz area (numerical)."""
    rng = np.random.default_rng(9)
    n = 200_000
    M, lo_m1, hi_m1 = 1.0, 0.1, 0.6
    others = [0.3] if k == 2 else [M_PI, M_PI]
    m1 = rng.uniform(lo_m1, hi_m1, n)
    masses = np.column_stack([m1, *[np.full(n, m) for m in others]])
    m_min = np.array([lo_m1, *others])
    _, a = K.n_body_phase_space_weighted(np.full(n, M), masses, rng, m_min=m_min)
    accepted = m1[rng.random(n) < a]
    grid = np.linspace(lo_m1, hi_m1, 201)
    if k == 2:
        dens = K.two_body_momentum(M, grid, others[0])
    else:
        dens = np.array([_phase_space_3(M, g, *others) for g in grid])
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    cdf /= cdf[-1]
    assert len(accepted) > 10_000
    assert stats.kstest(accepted, lambda x: np.interp(x, grid, cdf)).pvalue > 1e-3


def test_breit_wigner_against_numerical_cdf():
    rng = np.random.default_rng(10)
    m0, gamma, lo, hi = 0.77526, 0.1474, 2 * M_PI, 1.2
    x = K.sample_breit_wigner(m0, gamma, lo, hi, rng, size=100_000)
    assert x.min() >= lo and x.max() <= hi

    def density(m):  # relativistic BW in m^2, written in m: 2m / ((m^2 - m0^2)^2 + m0^2 G^2)
        return 2 * m / ((m * m - m0 * m0) ** 2 + (m0 * gamma) ** 2)

    norm = integrate.quad(density, lo, hi, points=[m0])[0]
    grid = np.linspace(lo, hi, 2001)
    cdf = np.array([integrate.quad(density, lo, g, points=[m0] if g > m0 else None)[0] for g in grid]) / norm
    assert stats.kstest(x, lambda v: np.interp(v, grid, cdf)).pvalue > 1e-3
    # per-entry parameters, gamma = 0 gives m0, infinite upper limit allowed
    y = K.sample_breit_wigner(np.array([1.0, 2.0]), np.array([0.0, 0.1]), 0.0, np.inf, rng)
    assert y[0] == 1.0 and y[1] > 0


def test_deterministic():
    def run(seed):
        rng = np.random.default_rng(seed)
        a = K.n_body_phase_space(np.full(500, M_D0), np.array([M_K, M_PI, M_PI, M_PI0]), rng)
        b = K.two_body_decay(np.full(500, M_D0), M_K, M_PI, rng)
        c = K.sample_breit_wigner(0.775, 0.149, 0.28, 1.5, rng, 500)
        return np.concatenate([a.ravel(), b.ravel(), c])

    x, y, z = run(11), run(11), run(12)
    assert np.array_equal(x.view(np.uint8), y.view(np.uint8))
    assert not np.array_equal(x, z)


def test_input_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="threshold"):
        K.n_body_phase_space(np.array([0.3]), np.array([M_PI, M_PI, M_PI]), rng)
    with pytest.raises(ValueError, match="at least two"):
        K.n_body_phase_space(np.array([1.0]), np.array([M_PI]), rng)
    with pytest.raises(ValueError, match="beta"):
        K.boost(np.zeros((1, 4)), np.array([[0.0, 0.0, 1.0]]))
