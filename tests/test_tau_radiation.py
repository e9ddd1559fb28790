"""O(alpha) photon emission in tau decays at rest (fastsim/tau/radiation.py) against independent
numbers: the radiative branching ratios of tau -> l nu nu gamma (E_gamma > 10 MeV) at LO
(Fael, Mercolli, Passera, JHEP 07 (2015) 153, arXiv:1506.03416) and as measured by BaBar
(PRD 91 (2015) 051103, arXiv:1502.01784); the angle-integrated one-leg emission rate by
quadrature; the eikonal factor vs the Feynman-gauge current with the tau; the dead cone;
four-momentum conservation, masses, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from fastsim.constants import ALPHA_EM
from fastsim.particles import default_table
from fastsim.tau.channels import CHANNELS, generate_decays
from fastsim.tau.radiation import N_UNIFORMS, charges_of, radiate_decays, soft_factor

TABLE = default_table()
MT = float(TABLE.mass(np.array([15]))[0])
ORIGIN = np.array([0.0, 0.0, 0.0, MT])


def _decays(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    ch = CHANNELS[name]
    m = TABLE.mass(np.array(ch.products)).astype(np.float64)
    p, _ = generate_decays(ch, n, seed, m, MT)
    return np.array(p, dtype=np.float64), charges_of(ch.products)


def _two_body(m1: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """tau- -> X- nu at rest, isotropic: p (n, 2, 4)."""
    pa = (MT * MT - m1 * m1) / (2 * MT)
    c = rng.uniform(-1, 1, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    s = np.sqrt(1 - c * c)
    d = np.stack([s * np.cos(phi), s * np.sin(phi), c], axis=1)
    p = np.empty((n, 2, 4))
    p[:, 0, :3] = pa * d
    p[:, 0, 3] = math.sqrt(m1 * m1 + pa * pa)
    p[:, 1, :3] = -pa * d
    p[:, 1, 3] = pa
    return p


def _mass2(p: np.ndarray) -> np.ndarray:
    return p[..., 3] ** 2 - np.sum(p[..., :3] ** 2, axis=-1)


# ====================================================================== radiative branching ratios
# B(tau -> l nu nu gamma, E_gamma > 10 MeV in the tau rest frame):
#   LO SM: Fael et al. arXiv:1506.03416 Table (LO column): e 1.834e-2, mu 3.67e-3 (as quoted in the
#   task brief; the search tool returned only the abstract of arXiv:1506.03416, which states the
#   NLO result agrees with the mu measurement and is 3.5 sigma below BaBar's e measurement);
#   BaBar arXiv:1502.01784: e 1.847e-2, mu 3.69e-3.
# Per decay: divided by B(tau -> e nu nu) = 0.1782, B(tau -> mu nu nu) = 0.1739 (PDG).
BR_CASES = {
    "e": {"lo": 1.834e-2, "babar": 1.847e-2, "br": 0.1782},
    "mu": {"lo": 3.67e-3, "babar": 3.69e-3, "br": 0.1739},
}


@pytest.mark.parametrize("name", ["e", "mu"])
def test_radiative_branching_ratio(name: str) -> None:
    """Tolerance 10 % against the LO SM value (the brief); statistical error <= 1.1 %.
    Result (seeds fixed): e +5.9 %, mu +8.3 % (eikonal x AP factor, no matrix-element
    correction: the hard non-collinear photons are overestimated); with the phase-space
    Jacobian of the recoil (option) e -11 %, mu -7 %: the two bracket the exact LO."""
    n = 400_000
    p, q = _decays(name, n, 7)
    u = np.random.default_rng(1).random((n, N_UNIFORMS))
    cut = BR_CASES[name]
    ref = cut["lo"] / cut["br"]
    _, ph = radiate_decays(p, q, MT, u, cutoff=1e-3)
    prob = float(np.mean(ph[:, 3] > 0.010))
    err = math.sqrt(prob * (1 - prob) / n)
    print(
        f"{name}: P(E>10 MeV) = {prob:.5f} +- {err:.5f}; LO {ref:.5f} (ratio {prob / ref:.3f}); "
        f"BaBar {cut['babar'] / cut['br']:.5f} (ratio {prob * cut['br'] / cut['babar']:.3f})"
    )
    assert abs(prob / ref - 1) < 0.10
    assert abs(prob * cut["br"] / cut["babar"] - 1) < 0.10
    _, ph_j = radiate_decays(p, q, MT, u, cutoff=1e-3, phase_space_jacobian=True)
    prob_j = float(np.mean(ph_j[:, 3] > 0.010))
    print(f"{name}: with the phase-space Jacobian {prob_j:.5f} (ratio {prob_j / ref:.3f})")
    assert prob_j < ref < prob  # the exact LO lies between the two hard-photon treatments


# ====================================================================== kinematics
@pytest.mark.parametrize("name", ["e", "mu", "pi", "K", "rho", "a1_3prong", "4pi_3prong", "Kstar_K0pi"])
@pytest.mark.parametrize("jac", [False, True])
def test_conservation_and_masses(name: str, jac: bool) -> None:
    n = 20_000
    p, q = _decays(name, n, 11)
    u = np.random.default_rng(2).random((n, N_UNIFORMS + 1))  # extra columns are ignored
    p_new, ph = radiate_decays(p, q, MT, u, cutoff=1e-3, phase_space_jacobian=jac)
    emitted = ph[:, 3] > 0
    assert 0.002 < emitted.mean() < 0.3
    total = p_new.sum(axis=1) + ph
    assert np.abs(total - ORIGIN).max() < 1e-12
    assert np.abs(_mass2(ph)).max() < 1e-12  # massless photon
    assert np.abs(_mass2(p_new) - _mass2(p)).max() < 1e-12  # every product keeps its mass (GeV^2)
    assert ph[emitted, 3].min() > 1e-3 * MT / 2
    assert np.array_equal(p_new[~emitted], p[~emitted])
    assert not ph[~emitted].any()
    # the products' internal configuration is kept: directions in the system rest frame
    k = emitted.nonzero()[0][:200]
    sys = MT * np.array([0, 0, 0, 1.0]) - ph[k]
    msys = np.sqrt(_mass2(sys))
    eta = -sys[:, :3] / msys[:, None]  # boost back to the system rest frame
    g = sys[:, 3] / msys
    pp = p_new[k]
    qd = np.einsum("ni,nki->nk", eta, pp[..., :3])
    back = pp[..., :3] + eta[:, None, :] * (pp[..., 3] + qd / (g[:, None] + 1))[..., None]
    massive = np.linalg.norm(p[k, :, :3], axis=2) > 0
    d_old = p[k, :, :3] / np.linalg.norm(p[k, :, :3], axis=2)[..., None]
    d_new = back / np.linalg.norm(back, axis=2)[..., None]
    assert np.abs(np.sum(d_old * d_new, axis=2)[massive] - 1).max() < 1e-9


def test_determinism() -> None:
    n = 50_000
    p, q = _decays("mu", n, 3)
    u = np.random.default_rng(5).random((n, N_UNIFORMS))
    a = radiate_decays(p, q, MT, u)
    b = radiate_decays(p, q, MT, u.copy())
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = radiate_decays(p, q, MT, np.random.default_rng(6).random((n, N_UNIFORMS)))
    assert not np.array_equal(a[1], c[1])
    # event i depends only on its own row: a subset gives the same rows
    s = radiate_decays(p[100:200], q, MT, u[100:200])
    assert np.array_equal(s[1], a[1][100:200])


def test_input_errors() -> None:
    p, q = _decays("e", 10, 1)
    with pytest.raises(ValueError, match="uniforms"):
        radiate_decays(p, q, MT, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="charges"):
        radiate_decays(p, q[:2], MT, np.zeros((10, N_UNIFORMS)))
    p3, q3 = _decays("4pi_3prong", 10, 1)
    with pytest.raises(ValueError, match="larger cutoff"):
        radiate_decays(p3, q3, MT, np.zeros((10, N_UNIFORMS)), cutoff=1e-12)


# ====================================================================== the emission density
def _feynman_gauge(p: np.ndarray, q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """w^2 (-J.J), J = sum_i Q_i p_i/(p_i.k) - Q_tau P/(P.k), tau- (Q = -1) at rest, k = (n, 1)."""
    metric = np.array([-1.0, -1.0, -1.0, 1.0])
    k = np.concatenate([n, np.ones((len(n), 1))], axis=1)
    cur = np.zeros((len(n), 4))
    for i, qi in enumerate(q):
        if qi:
            cur += qi * p[:, i] / np.sum(p[:, i] * k * metric, axis=1)[:, None]
    tau = np.tile(ORIGIN, (len(n), 1))
    cur -= -1.0 * tau / np.sum(tau * k * metric, axis=1)[:, None]
    return -np.sum(cur * cur * metric, axis=1)


@pytest.mark.parametrize("name", ["e", "mu", "pi", "a1_3prong", "4pi_3prong"])
def test_eikonal_equals_feynman_gauge_current_with_tau(name: str) -> None:
    """The transverse (tau-rest-frame) eikonal factor of the module equals -J.J of the full
    current incl. the decaying tau-, because the charges add up to -1 (gauge invariance)."""
    rng = np.random.default_rng(4)
    n = 2000
    p, q = _decays(name, n, 9)
    assert q.sum() == -1
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    f = soft_factor(p, q, d)
    ref = _feynman_gauge(p, q, d)
    assert np.all(f >= 0)
    np.testing.assert_allclose(f, ref, rtol=1e-7, atol=1e-9)


def test_tau_at_rest_alone_does_not_radiate() -> None:
    """Only neutral products (charge not conserved, no such decay): the tau at rest has no
    transverse current, F = 0 and nothing is emitted; the Feynman-gauge -J.J of the tau alone
    is -1/w^2 < 0 (no probability without a conserved current)."""
    n = 5000
    p = _two_body(0.135, n, np.random.default_rng(1))
    q = np.zeros(2)
    d = np.tile([0.0, 0.6, 0.8], (n, 1))
    assert not soft_factor(p, q, d).any()
    np.testing.assert_allclose(_feynman_gauge(p, q, d), -1.0)
    p_new, ph = radiate_decays(p, q, MT, np.random.default_rng(2).random((n, N_UNIFORMS)))
    assert not ph.any()
    assert np.array_equal(p_new, p)


def _rate_one_leg(m1: float, cutoff: float, jac: bool) -> float:
    """P_emit of tau- -> X- nu (one charged leg) by quadrature of the angle-integrated density
    (alpha/pi) [(1/v) ln((1+v)/(1-v)) - 2] h(w/E_X) J dw/w, v the X velocity in the recoil
    system of mass M' (2-body kinematics), J = (p'/M') / (p/m_tau) (2-body phase space)."""
    p0 = (MT * MT - m1 * m1) / (2 * MT)
    e0 = math.sqrt(p0 * p0 + m1 * m1)
    w_cut, w_max = cutoff * MT / 2, (MT * MT - m1 * m1) / (2 * MT)

    def dens(lw: float) -> float:
        w = math.exp(lw)
        mp = math.sqrt(MT * MT - 2 * MT * w)
        pp = (mp * mp - m1 * m1) / (2 * mp)
        ep = (mp * mp + m1 * m1) / (2 * mp)
        v = pp / ep
        omv = m1 * m1 / (ep * (ep + pp))
        soft = (1 / v) * math.log((1 + v) / omv) - 2 if v > 1e-4 else 2 * v * v / 3
        z = w / e0
        jj = (pp / mp) / (p0 / MT) if jac else 1.0
        return ALPHA_EM / math.pi * soft * (1 - z + z * z / 2) * jj

    return integrate.quad(dens, math.log(w_cut), math.log(w_max), limit=200, epsabs=1e-12)[0]


@pytest.mark.parametrize(
    ("m1", "jac"), [(0.13957, False), (0.13957, True), (0.49368, False), (0.49368, True), (1.5, False)]
)
def test_one_leg_rate_vs_quadrature(m1: float, jac: bool) -> None:
    """tau -> pi nu, K nu and a heavy X- (1.5 GeV, v = 0.17: the slow charge radiates little,
    ~ (alpha/pi) (2/3) v^2 per unit log, dipole limit); tolerance 4 sigma (binomial)."""
    n = 1_000_000
    rng = np.random.default_rng(21)
    p = _two_body(m1, n, rng)
    cutoff = 1e-3
    _, ph = radiate_decays(
        p, np.array([-1.0, 0.0]), MT, rng.random((n, N_UNIFORMS)), cutoff=cutoff, phase_space_jacobian=jac
    )
    prob = float(np.mean(ph[:, 3] > 0))
    ref = _rate_one_leg(m1, cutoff, jac)
    err = math.sqrt(ref * (1 - ref) / n)
    print(f"m = {m1}: P_emit = {prob:.6f}, quadrature {ref:.6f} +- {err:.6f} (stat)")
    assert abs(prob - ref) < 4 * err
    if m1 > 1:
        assert ref < 5e-4  # "the tau itself radiates little at rest"


def test_dead_cone_around_kaon() -> None:
    """tau -> K nu: the photon angle to the kaon follows (1 - c^2)/(1 - v c)^2 with v the kaon
    velocity after the emission (probability-integral transform, KS test), which vanishes
    along the kaon and peaks at cos(theta) = v (theta = 1/gamma for fast particles); few
    photons inside 1/4 of that angle."""
    m1 = 0.49368
    n = 600_000
    rng = np.random.default_rng(8)
    p = _two_body(m1, n, rng)
    _, ph = radiate_decays(p, np.array([-1.0, 0.0]), MT, rng.random((n, N_UNIFORMS)))
    em = ph[:, 3] > 0
    w = ph[em, 3]
    assert em.sum() > 3000
    d = p[em, 0, :3] / np.linalg.norm(p[em, 0, :3], axis=1)[:, None]
    c = np.sum(d * ph[em, :3], axis=1) / w
    mp = np.sqrt(MT * MT - 2 * MT * w)
    v = (mp * mp - m1 * m1) / (mp * mp + m1 * m1)

    def kk(t: np.ndarray) -> np.ndarray:
        return (1 - v * v) / t + 2 * np.log(t) - t

    def cdf(x: np.ndarray) -> np.ndarray:
        return (kk(1 + v) - kk(1 - v * x)) / (kk(1 + v) - kk(1 - v))

    ks = stats.kstest(cdf(c), "uniform")
    print(f"dead cone: {em.sum()} photons, KS p = {ks.pvalue:.3f}")
    assert ks.pvalue > 1e-3
    c_peak = v  # d/dc of (1 - c^2)/(1 - v c)^2 ~ (v - c)
    c_in = np.cos(np.arccos(c_peak) / 4)
    inside = int(np.sum(c > c_in))
    expect = float(np.sum(1 - cdf(c_in)))
    print(
        f"inside theta_peak/4: {inside} photons, expected {expect:.1f}; peak "
        f"{np.degrees(np.arccos(c_peak)).mean():.1f} deg"
    )
    assert abs(inside - expect) < 4 * math.sqrt(expect) + 2
    assert inside < 0.02 * em.sum()  # the cone theta < theta_peak/4 is 1/16 of the peak cone
    # the distribution of cos(theta) has its maximum near the peak, not along the kaon (c = 1)
    hist, edges = np.histogram(c, bins=40, range=(-1, 1))
    peak = 0.5 * (edges[np.argmax(hist)] + edges[np.argmax(hist) + 1])
    assert abs(peak - np.median(c_peak)) < 0.15
    assert hist[-1] < 0.5 * hist.max()
