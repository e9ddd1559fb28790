"""Numba helpers for tau decays: random streams, four-vectors, form factors, currents, polarimeter.

Units: GeV.  Four-vectors are tuples ``(px, py, pz, E)`` inside kernels; the metric is
(+, -, -, -): a.b = a_E b_E - a_vec.b_vec.  All functions are ``@njit(inline="always")`` so that
the channel kernels of :mod:`fastsim.tau.channels` compile them into their event loops.

Conventions (tested in ``tests/test_tau_channels.py`` against an explicit Dirac-matrix trace):

* V-A charged current for the tau-: M = (G/sqrt 2) ubar(nu) gamma^mu (1 - gamma5) u(tau) J_mu,
  spin projector u ubar = (Pslash + m)(1 + gamma5 sslash)/2.  Summed over the nu spin,
  |M|^2 ~ X_b V^b with X = P - m s (reference/tau.md 2.1) and, for a complex current J,

      V^b = 2 Re[(N.J) J*^b] - (J.J*) N^b - 2 E^b(Im J, Re J, N)                 (1)

  where E^b(a, b, c) is the four-vector with d.E(a, b, c) = det[a; b; c; d] (rows are the
  contravariant components in the order (E, px, py, pz)).  The sign of the last term was
  fixed by the explicit-trace test (tests/test_tau_channels.py; the opposite sign fails it for
  the complex 3-pion current), not by hand.  In the tau rest frame
  X.V = m (V^0 + V_vec . s_vec), so the unpolarised density is V^0 and the polarimeter is
  h = V_vec / V^0 (|h| <= 1 because |M|^2 >= 0 for every s).  This is the Pi / Pi5 form of
  TAUOLA (Jadach, Kuehn, Was, CPC 64 (1991) 275; tau.md 2.1) written as one four-vector.
* Breit-Wigner with a p-wave running width (as EvtGen EvtTauHadnu::BW, Kuehn-Santamaria,
  Z. Phys. C48 (1990) 445):  BW(s) = m^2 / (m^2 - s - i m Gamma (m/sqrt s) (q(s)/q(m))^3),
  q the two-body momentum of the resonance daughters.
* numba caching: the kernels of channels.py inline these functions and are cached on disk;
  numba re-compiles a cached kernel only when *its own* file changes, so after editing this
  file delete ``fastsim/tau/__pycache__/*.nb[ic]`` (or touch channels.py).
* Random numbers: per-event splitmix64 streams (:func:`fastsim.detector.vmath.next_uniform`)
  whose start is a hash of (seed, event index) (:func:`event_state`), so event i is the same
  whatever n or chunking.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fastsim.detector.vmath import next_uniform, vsincos

__all__ = [
    "a1_breit_wigner",
    "bw_pwave",
    "event_state",
    "ks_gfun",
    "ks_three_pion_current",
    "vector_form_factor",
    "vector_form_factor_np",
    "vector_lineshape",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_PI = 2.0 * math.pi


# ====================================================================== random streams
@njit(cache=True, inline="always")
def _fmix64(z: np.uint64) -> np.uint64:
    """The splitmix64 output function (Steele, Lea, Flood, OOPSLA 2014): a bijective mix."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def event_state(seed: np.uint64, i: np.int64) -> np.uint64:
    """Start of the splitmix64 stream of event ``i`` for ``seed``: fmix(fmix(seed) + (i+1) golden).

    Streams of different events start at pseudo-random points of the 2^64 cycle; two streams of
    a few hundred draws overlap with probability ~1e-15 per pair."""
    return _fmix64(_fmix64(seed) + np.uint64(i + 1) * _GOLDEN)


@njit(cache=True, inline="always")
def iso_dir(state: np.uint64) -> tuple:
    """(state, x, y, z): an isotropic unit vector from two uniforms."""
    state, u1 = next_uniform(state)
    state, u2 = next_uniform(state)
    c = 2.0 * u1 - 1.0
    st = math.sqrt(max(0.0, 1.0 - c * c))
    sp, cp = vsincos(_TWO_PI * u2)
    return state, st * cp, st * sp, c


@njit(cache=True, inline="always")
def ortho_basis(x: float, y: float, z: float) -> tuple:
    """Two unit vectors e1, e2 with (e1, e2, n) right-handed orthonormal, n = (x, y, z) a unit
    vector (Duff et al., J. Comput. Graph. Tech. 6 (2017) 1, branch-free)."""
    sg = math.copysign(1.0, z)
    a = -1.0 / (sg + z)
    b = x * y * a
    return (1.0 + sg * x * x * a, sg * b, -sg * x), (b, sg + y * y * a, -y)


# ====================================================================== four-vectors
@njit(cache=True, inline="always")
def mdot(a: tuple, b: tuple) -> float:
    """Minkowski product of (px, py, pz, E) tuples (real or complex; no conjugation)."""
    return a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2]


@njit(cache=True, inline="always")
def boost_from_rest(p: tuple, q: tuple, mq: float) -> tuple:
    """p given in the rest frame of q (mass mq), returned in the frame where q has momentum q
    (PDG "Kinematics" 49.1, written with eta = q_vec / mq, gamma = E_q / mq)."""
    g = q[3] / mq
    ex, ey, ez = q[0] / mq, q[1] / mq, q[2] / mq
    ep = ex * p[0] + ey * p[1] + ez * p[2]
    f = p[3] + ep / (g + 1.0)
    return (p[0] + ex * f, p[1] + ey * f, p[2] + ez * f, g * p[3] + ep)


@njit(cache=True, inline="always")
def pdk(m: float, m1: float, m2: float) -> float:
    """Two-body momentum of m -> m1 m2 (0 below threshold); PDG "Kinematics" 49.4.2."""
    lam = (m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)
    return math.sqrt(lam) / (2.0 * m) if (lam > 0.0) & (m > m1 + m2) else 0.0


@njit(cache=True, inline="always")
def eps_vec(a: tuple, b: tuple, c: tuple) -> tuple:
    """E(a, b, c) with d.E = det[a; b; c; d] (rows: contravariant (E, px, py, pz)); returned as
    a (px, py, pz, E) tuple.  Works for real tuples."""
    # 3x3 minors over the columns (x, y, z), (E, y, z), (E, x, z), (E, x, y)
    mxyz = (
        a[0] * (b[1] * c[2] - b[2] * c[1])
        - a[1] * (b[0] * c[2] - b[2] * c[0])
        + a[2] * (b[0] * c[1] - b[1] * c[0])
    )
    meyz = (
        a[3] * (b[1] * c[2] - b[2] * c[1])
        - a[1] * (b[3] * c[2] - b[2] * c[3])
        + a[2] * (b[3] * c[1] - b[1] * c[3])
    )
    mexz = (
        a[3] * (b[0] * c[2] - b[2] * c[0])
        - a[0] * (b[3] * c[2] - b[2] * c[3])
        + a[2] * (b[3] * c[0] - b[0] * c[3])
    )
    mexy = (
        a[3] * (b[0] * c[1] - b[1] * c[0])
        - a[0] * (b[3] * c[1] - b[1] * c[3])
        + a[1] * (b[3] * c[0] - b[0] * c[3])
    )
    # det = sum_k (-1)^(3+k) d^k M_k with columns k = E, x, y, z -> cofactors C = (-mxyz, meyz,
    # -mexz, mexy); d.E = d^0 E^0 - d_vec.E_vec = sum_k d^k C_k gives E^0 = C_E, E^i = -C_i
    return (-meyz, mexz, -mexy, -mxyz)


@njit(cache=True, inline="always")
def polarimeter(jr: tuple, ji: tuple, n: tuple) -> tuple:
    """(V^0, hx, hy, hz) of eq. (1) of the module docstring for the current J = jr + i ji and the
    neutrino momentum n, in the tau rest frame: V^0 is the unpolarised |M|^2 up to a constant,
    h = V_vec / V^0 the polarimeter vector."""
    nr = mdot(n, jr)
    ni = mdot(n, ji)
    jj = mdot(jr, jr) + mdot(ji, ji)  # J.J* (real)
    e = eps_vec(ji, jr, n)
    v = [0.0, 0.0, 0.0, 0.0]
    for k in range(4):
        # 2 Re[(N.J) J*^k] = 2 (nr jr^k + ni ji^k)
        v[k] = 2.0 * (nr * jr[k] + ni * ji[k]) - jj * n[k] - 2.0 * e[k]
    inv = 1.0 / v[3]
    return v[3], v[0] * inv, v[1] * inv, v[2] * inv


# ====================================================================== form factors
@njit(cache=True, inline="always")
def bw_pwave(s: float, m: float, g: float, m1: float, m2: float) -> complex:
    """p-wave Breit-Wigner m^2/(m^2 - s - i m Gamma(s)), Gamma(s) = g (m/sqrt s) (q(s)/q(m))^3
    (Kuehn, Santamaria, Z. Phys. C48 (1990) 445; EvtGen EvtTauHadnu::BW); no width below the
    threshold m1 + m2."""
    m2r = m * m
    rs = math.sqrt(s)
    qs = pdk(rs, m1, m2)
    qm = pdk(m, m1, m2)
    r = qs / qm
    wid = m * g * (m / rs) * r * r * r if qs > 0.0 else 0.0
    return m2r / complex(m2r - s, -wid)


@njit(cache=True, inline="always")
def vector_form_factor(s: float, res: np.ndarray, m1: float, m2: float) -> complex:
    """F(s) = sum_k c_k BW_k(s), rows of ``res``: (mass, width, Re c, Im c)."""
    f = 0.0j
    for k in range(res.shape[0]):
        f += complex(res[k, 2], res[k, 3]) * bw_pwave(s, res[k, 0], res[k, 1], m1, m2)
    return f


@njit(cache=True, inline="always")
def ks_gfun(s: float, m_rho: float, m_pi: float) -> float:
    """Kuehn-Santamaria 3-pion width function g(Q^2), Z. Phys. C48 (1990) 445 eq. (3.16), as in
    EvtGen EvtTauHadnu::gFunc / TAUOLA GFUN (reference/tau.md 2.5); m_pi is the mass of the two
    identical pions."""
    if s < (m_rho + m_pi) ** 2:
        a = s - 9.0 * m_pi * m_pi
        return 4.1 * a * a * a * (1.0 - 3.3 * a + 5.8 * a * a)
    return s * (1.623 + 10.38 / s - 9.32 / (s * s) + 0.65 / (s * s * s))


@njit(cache=True, inline="always")
def a1_breit_wigner(s: float, m_a1: float, g_a1: float, m_rho: float, m_pi: float) -> complex:
    """a1 propagator m^2/(m^2 - s - i m Gamma(s)), Gamma(s) = Gamma g(s)/g(m^2) (KS; tau.md 2.5)."""
    m2 = m_a1 * m_a1
    wid = m_a1 * g_a1 * ks_gfun(s, m_rho, m_pi) / ks_gfun(m2, m_rho, m_pi)
    return m2 / complex(m2 - s, -wid)


@njit(cache=True, inline="always")
def ks_three_pion_current(q1: tuple, q2: tuple, q3: tuple, par: np.ndarray) -> tuple:
    """Kuehn-Santamaria a1 -> 3 pi current (Z. Phys. C48 (1990) 445; tau.md 2.5; EvtGen TAUHADNU):

        J = BW_a1(Q^2) [ (q1 - q3)_T F(s13) + (q2 - q3)_T F(s23) ],  X_T = X - Q (Q.X)/Q^2,
        F(s) = [BW_rho(s) + beta BW_rho'(s)] / (1 + beta),

    q1, q2 the identical pions, q3 the odd one.  ``par`` = (beta, m_rho, G_rho, m_rho', G_rho',
    m_a1, G_a1, m1, m3) with m1 (m3) the mass of the identical (odd) pions.  Returns
    (Re J, Im J) as two (px, py, pz, E) tuples."""
    beta, mr, gr, mr2, gr2, ma1, ga1, m1, m3 = (
        par[0],
        par[1],
        par[2],
        par[3],
        par[4],
        par[5],
        par[6],
        par[7],
        par[8],
    )
    qq = (q1[0] + q2[0] + q3[0], q1[1] + q2[1] + q3[1], q1[2] + q2[2] + q3[2], q1[3] + q2[3] + q3[3])
    s = mdot(qq, qq)
    u = (q1[0] - q3[0], q1[1] - q3[1], q1[2] - q3[2], q1[3] - q3[3])
    v = (q2[0] - q3[0], q2[1] - q3[1], q2[2] - q3[2], q2[3] - q3[3])
    cu = mdot(qq, u) / s
    cv = mdot(qq, v) / s
    s13 = mdot(q1, q1) + mdot(q3, q3) + 2.0 * mdot(q1, q3)
    s23 = mdot(q2, q2) + mdot(q3, q3) + 2.0 * mdot(q2, q3)
    norm = 1.0 / (1.0 + beta)
    f13 = (bw_pwave(s13, mr, gr, m1, m3) + beta * bw_pwave(s13, mr2, gr2, m1, m3)) * norm
    f23 = (bw_pwave(s23, mr, gr, m1, m3) + beta * bw_pwave(s23, mr2, gr2, m1, m3)) * norm
    ba = a1_breit_wigner(s, ma1, ga1, mr, m1)
    a = ba * f13
    b = ba * f23
    jr = [0.0, 0.0, 0.0, 0.0]
    ji = [0.0, 0.0, 0.0, 0.0]
    for k in range(4):
        uk = u[k] - qq[k] * cu
        vk = v[k] - qq[k] * cv
        jr[k] = a.real * uk + b.real * vk
        ji[k] = a.imag * uk + b.imag * vk
    return (jr[0], jr[1], jr[2], jr[3]), (ji[0], ji[1], ji[2], ji[3])


# ====================================================================== numpy versions (tests, docs)
def vector_form_factor_np(s: np.ndarray, res: np.ndarray, m1: float, m2: float) -> np.ndarray:
    """numpy version of :func:`vector_form_factor` (complex array)."""
    s = np.asarray(s, dtype=np.float64)

    def q(x: np.ndarray) -> np.ndarray:
        lam = (x - (m1 + m2) ** 2) * (x - (m1 - m2) ** 2)
        return np.sqrt(np.maximum(lam, 0.0) / x) / 2.0

    f = np.zeros(s.shape, complex)
    for m, g, cr, ci in np.asarray(res, dtype=np.float64):
        wid = m * g * (m / np.sqrt(s)) * (q(s) / q(m * m)) ** 3
        f += complex(cr, ci) * m * m / (m * m - s - 1j * wid)
    return f


def vector_lineshape(s: np.ndarray, m_tau: float, m1: float, m2: float, res: np.ndarray) -> np.ndarray:
    """Unnormalised dGamma/ds of tau -> V nu -> P1 P2 nu for the vector form factor ``res``:

        dGamma/ds ~ |F(s)|^2 (1 - s/m_tau^2)^2 (1 + 2 s/m_tau^2) q(s)^3 / s^(3/2)

    (Tsai, PRD 4 (1971) 2821; the angular integral of eq. (1) with J = (q1 - q2)_T), q(s) the
    P1 P2 momentum in their rest frame.  This is the density the vector-channel kernel samples."""
    s = np.asarray(s, dtype=np.float64)
    lam = (s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2)
    q = np.sqrt(np.maximum(lam, 0.0) / s) / 2.0
    x = s / (m_tau * m_tau)
    f2 = np.abs(vector_form_factor_np(s, res, m1, m2)) ** 2
    return np.where((s > (m1 + m2) ** 2) & (x < 1.0), f2 * (1 - x) ** 2 * (1 + 2 * x) * q**3 / s**1.5, 0.0)
