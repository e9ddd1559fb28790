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
* The Novosibirsk 4-pion current (:func:`four_pion_current`; Bondar et al., Comput. Phys.
  Commun. 146 (2002) 139, formulas and numbers as in Pythia 8 HMETau2FourPions): section
  "4-pion current" below and docs/tau_channels.md.
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
    "four_pion_current",
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
    inv = 1.0 / v[3] if v[3] != 0.0 else 0.0  # J = 0 (e.g. outside a fitted range): h = 0
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


# ====================================================================== 4-pion current
# Novosibirsk 4-pion current: A.E. Bondar, S.I. Eidelman, A.I. Milstein, T. Pierzchala,
# N.I. Root, Z. Was, M. Worek, Comput. Phys. Commun. 146 (2002) 139, hep-ph/0201149 (based on the
# Novosibirsk e+e- -> 4 pi data).  Formulas and every number below as read in Pythia 8
# src/HelicityMatrixElements.cc, HMETau2FourPions (alisw/pythia8; itself a port of Herwig++
# FourPionNovosibirskCurrent and of the TAUOLA code); docs/tau_channels.md has the table.
#
# ``par`` layout (built by fastsim.tau.channels._fourpi_par):
#   0 mode (0: pi- pi- pi+ pi0, 1: pi- pi0 pi0 pi0)    1 omega pi part on (1) / off (0)
#   2 m_pi+- (rho functions)   3 pion mass in the sigma width (pi+- in mode 0, pi0 in mode 1)
#   4 m_a1   5 m_rho   6 G_rho   7 m_sigma   8 G_sigma   9, 10 Re, Im of the sigma coupling
#   11 m_omega   12 G_omega   13, 14 Re, Im of the omega coupling   15 Lambda^2 (a1 form factor)
#   16 g(m_rho^2) = (m_rho^2 - 4 m^2)^1.5 / m_rho   17 h(m_rho^2)   18 h'(m_rho^2)
#   19 K_rho = m_rho^2 + m_rho G_rho d(0)  (the rho normalisation of Pythia's t1, t3)
NOVO_NPAR = 20

#: piecewise fits G_i(s) of the 4-pion normalisation (i = 1: pi- 3 pi0, 2: 2pi- pi+ pi0 without
#: omega, 3: the omega pi part), as in Pythia HMETau2FourPions::G ("G-functions given in
#: TAUOLA"): columns s0..s5, a1 b1, a2 b2 c2 d2 e2, a3 b3 c3 d3 e3, a4 b4, a5 b5.
NOVO_G = np.array(
    [
        [0.614403, 0.656264, 1.57896, 3.08198, 3.12825, 3.17488, -23383.7, 38059.2, 230.368,
         -4.39368, 687.002, -732.581, 207.087, 1633.92, -2596.21, 1703.08, -501.407, 54.5919,
         -2982.44, 986.009, 6948.99, -2188.74],
        [0.614403, 0.635161, 2.30794, 3.08198, 3.12825, 3.17488, -54171.5, 88169.3, 454.638,
         -3.07152, -48.7086, 81.9702, -24.0564, -162.421, 308.977, -27.7887, -48.5957, 10.6168,
         -2650.29, 879.776, 6936.99, -2184.97],
        [0.81364, 0.861709, 1.92621, 3.08198, 3.12825, 3.17488, -84888.9, 104332.0, 2698.15,
         -3.08302, 1936.11, -1254.59, 201.291, 7171.65, -6387.9, 3056.27, -888.63, 108.632,
         -5607.48, 1917.27, 26573.0, -8369.76],
    ]
)  # fmt: skip


@njit(cache=True, inline="always")
def novo_g(i: int, s: float) -> float:
    """G_i(s) (i = 0, 1, 2 for the rows of :data:`NOVO_G`); 0 outside [s0, s5)."""
    c = NOVO_G[i]
    if s < c[0]:
        return 0.0
    if s < c[1]:
        return c[6] + c[7] * s
    if s < c[2]:
        return c[8] * s ** c[9] + c[10] * s * s + c[11] * s**3 + c[12] * s**4
    if s < c[3]:
        return c[13] + c[14] * s + c[15] * s * s + c[16] * s**3 + c[17] * s**4
    if s < c[4]:
        return c[18] + c[19] * s
    if s < c[5]:
        return c[20] + c[21] * s
    return 0.0


@njit(cache=True, inline="always")
def novo_h(s: float, m: float) -> float:
    """The dispersive rho function h(s) = v^3 s ln((1+v)/(1-v)) / pi, v = sqrt(1 - 4m^2/s),
    and h(0) = -8 m^2 / pi (Gounaris-Sakurai type; Pythia rhoFormFactor1)."""
    m2 = m * m
    if s > 4.0 * m2:
        v = math.sqrt(1.0 - 4.0 * m2 / s)
        return v * math.log((1.0 + v) / (1.0 - v)) * (s - 4.0 * m2) / math.pi
    if s < 1e-7:
        return -8.0 * m2 / math.pi
    return 0.0


@njit(cache=True, inline="always")
def novo_hprime(s: float, m: float) -> float:
    """dh/ds (Pythia rhoFormFactor2) for s > 4 m^2, else 0."""
    m2 = m * m
    if s <= 4.0 * m2:
        return 0.0
    v = math.sqrt(1.0 - 4.0 * m2 / s)
    return v / (math.pi * s) * (s * v + (2.0 * m2 + s) * math.log((1.0 + v) / (1.0 - v)))


@njit(cache=True, nogil=True)
def novo_rho_d(s: float, par: np.ndarray) -> complex:
    """rho denominator D(s) = s - m^2 - m G d(s) + i m G g(s)/g(m^2), d(s) = [h(s) - h(m^2)
    - (s - m^2) h'(m^2)] / g(m^2), g(s) = (s - 4 m_pi^2)^1.5 / sqrt(s) (p-wave)."""
    mpi, mr, gr, gm = par[2], par[5], par[6], par[16]
    mr2 = mr * mr
    x = s - 4.0 * mpi * mpi
    gq = x * math.sqrt(x) / math.sqrt(s) if x > 0.0 else 0.0
    d = (novo_h(s, mpi) - par[17] - (s - mr2) * par[18]) / gm
    return complex(s - mr2 - mr * gr * d, mr * gr * gq / gm)


@njit(cache=True, nogil=True)
def novo_a1_d(s: float, par: np.ndarray) -> complex:
    """a1 denominator s - m_a1^2 + i sqrt(s) G(s) with the fitted running width of Pythia
    HMETau2FourPions::a1D (thresholds 0.16960 and 0.83425 GeV^2)."""
    if s < 0.16960:
        g = 0.0
    elif s < 0.83425:
        x = s - 0.16960
        g = 0.003052 * x * x * x * (1.0 + 151.088 * x + 174.495 * x * x)
    else:
        g = 2.60817 - 2.47790 * s + 0.66539 * s * s - 0.0678183 * s**3 + 1.66577 * (s - 1.23701) / s
    return complex(s - par[4] * par[4], math.sqrt(s) * g)


@njit(cache=True, nogil=True)
def novo_sigma_d(s: float, par: np.ndarray) -> complex:
    """sigma denominator s - m^2 + i m G beta(s)/beta(m^2), beta = sqrt(1 - 4 m_pi^2/s) (s-wave)."""
    mp2 = par[3] * par[3]
    ms = par[7]
    bq = math.sqrt(max(1.0 - 4.0 * mp2 / s, 0.0))
    bm = math.sqrt(max(1.0 - 4.0 * mp2 / (ms * ms), 0.0))
    return complex(s - ms * ms, ms * par[8] * bq / bm)


@njit(cache=True, nogil=True)
def novo_omega_d(s: float, par: np.ndarray) -> complex:
    """omega denominator s - m^2 + i m G g(sqrt s), g the TAUOLA fit quoted by Pythia omeD."""
    q = math.sqrt(s)
    x = q - par[11]
    if s < 1.0:
        g = 1.0 + x * (17.560 + x * (141.110 + x * (894.884 + x * (4977.35 + x * (7610.66 - 42524.4 * x)))))
    else:
        g = -1333.26 + 4860.0 * q - 6000.81 * q * q + 2504.97 * q * q * q
    g = max(g, 0.0)
    return complex(s - par[11] * par[11], par[11] * par[12] * g)


@njit(cache=True, inline="always")
def _add4(a: tuple, b: tuple) -> tuple:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


@njit(cache=True, inline="always")
def _axpy(j: tuple, c: complex, v: tuple) -> tuple:
    """j + c v for a complex 4-tuple j, complex c and real 4-tuple v."""
    return (j[0] + c * v[0], j[1] + c * v[1], j[2] + c * v[2], j[3] + c * v[3])


@njit(cache=True, inline="always")
def _a1_ff(s: float, par: np.ndarray) -> float:
    """a1 form factor [(1 + m_a1^2/L^2) / (1 + s/L^2)]^2, L^2 = par[15]."""
    r = (1.0 + par[4] * par[4] / par[15]) / (1.0 + s / par[15])
    return r * r


@njit(cache=True, inline="always")
def _a1_coef(sa: float, par: np.ndarray) -> complex:
    """a1 factor of t1 and t2: F_a1(s_A) m_a1^2 / D_a1(s_A)."""
    return _a1_ff(sa, par) * par[4] * par[4] / novo_a1_d(sa, par)


@njit(cache=True, inline="always")
def _rho_coef(sr: float, par: np.ndarray) -> complex:
    """rho factor of t1 and t3: K_rho / D_rho(s_R)."""
    return par[19] / novo_rho_d(sr, par)


@njit(cache=True, inline="always")
def _sigma_coef(ss: float, par: np.ndarray) -> complex:
    """sigma factor of t2: c_sigma m_sigma^2 / D_sigma(s)."""
    return complex(par[9], par[10]) * par[7] * par[7] / novo_sigma_d(ss, par)


@njit(cache=True, inline="always")
def novo_t1(q: tuple, q1: tuple, q3: tuple, q4: tuple, a: tuple) -> tuple:
    """Four-vector of the a1 pi term with a1 -> rho pi (t1 of Pythia HMETau2FourPions): q1 the
    pion recoiling against the a1, A = q2 + q3 + q4 the a1 (q2 its pion), rho -> (q3, q4):
        v = (q.A)[(q3.A) q4 - (q4.A) q3] + [(q.q4)(q1.q3) - (q.q3)(q1.q4)] A,
    t1 = -[F_a1 m_a1^2 / D_a1(s_A)] [K_rho / D_rho(s_34)] v (antisymmetric in q3, q4)."""
    qa = mdot(q, a)
    x3 = qa * mdot(q3, a)
    x4 = qa * mdot(q4, a)
    y = mdot(q, q4) * mdot(q1, q3) - mdot(q, q3) * mdot(q1, q4)
    return (
        x3 * q4[0] - x4 * q3[0] + y * a[0],
        x3 * q4[1] - x4 * q3[1] + y * a[1],
        x3 * q4[2] - x4 * q3[2] + y * a[2],
        x3 * q4[3] - x4 * q3[3] + y * a[3],
    )


@njit(cache=True, inline="always")
def novo_t2(q: tuple, q2: tuple, a: tuple) -> tuple:
    """Four-vector of the a1 pi term with a1 -> sigma pi (t2): q2 the a1's pion, A the a1,
    v = s_A [(q.A) q2 - (q.q2) A]; t2 = [F_a1 m_a1^2 / D_a1] [c_sigma m_sigma^2 / D_sigma] v."""
    sa = mdot(a, a)
    x = sa * mdot(q, a)
    y = sa * mdot(q, q2)
    return (x * q2[0] - y * a[0], x * q2[1] - y * a[1], x * q2[2] - y * a[2], x * q2[3] - y * a[3])


@njit(cache=True, nogil=True)
def novo_t3(q: tuple, q1: tuple, q2: tuple, q3: tuple, q4: tuple, par: np.ndarray) -> tuple:
    """omega pi with omega -> rho pi: q1 the recoiling pion, q2 the omega's odd pion, rho ->
    (q3, q4).  v = [(q.q3)(q1.q4) - (q.q4)(q1.q3)] q2 + [(q.q4)(q1.q2) - (q.q2)(q1.q4)] q3
    + [(q.q2)(q1.q3) - (q.q3)(q1.q2)] q4 (omega form factor 1)."""
    o = _add4(q2, _add4(q3, q4))
    r = _add4(q3, q4)
    so = mdot(o, o)
    sr = mdot(r, r)
    ow = complex(par[13], par[14])
    c = ow * par[11] * par[11] * par[19] / (novo_omega_d(so, par) * novo_rho_d(sr, par))
    a2, a3, a4 = mdot(q, q2), mdot(q, q3), mdot(q, q4)
    b2, b3, b4 = mdot(q1, q2), mdot(q1, q3), mdot(q1, q4)
    x2 = a3 * b4 - a4 * b3
    x3 = a4 * b2 - a2 * b4
    x4 = a2 * b3 - a3 * b2
    v = (
        x2 * q2[0] + x3 * q3[0] + x4 * q4[0],
        x2 * q2[1] + x3 * q3[1] + x4 * q4[1],
        x2 * q2[2] + x3 * q3[2] + x4 * q4[2],
        x2 * q2[3] + x3 * q3[3] + x4 * q4[3],
    )
    return c, v


@njit(cache=True, nogil=True)
def four_pion_current(p0: tuple, p1: tuple, p2: tuple, p3: tuple, par: np.ndarray) -> tuple:
    """Novosibirsk 4-pion current (see the block comment above) for the pions in the channel's
    product order: mode 0 (p0, p1, p2, p3) = (pi-, pi-, pi+, pi0), mode 1 = (pi-, pi0, pi0, pi0).
    The sums over the t-vectors are those of Pythia HMETau2FourPions::initHadronicCurrent
    (symmetric in the identical pions; the isospin signs of the model), each distinct
    propagator computed once.  Returns (Re J, Im J)."""
    q = _add4(_add4(p0, p1), _add4(p2, p3))
    s = mdot(q, q)
    z = 0.0j
    j = (z, z, z, z)
    if par[0] == 0.0:
        t012 = _add4(_add4(p0, p1), p2)
        t023 = _add4(_add4(p0, p2), p3)
        t123 = _add4(_add4(p1, p2), p3)
        a012 = _a1_coef(mdot(t012, t012), par)
        a023 = _a1_coef(mdot(t023, t023), par)
        a123 = _a1_coef(mdot(t123, t123), par)
        r02 = _rho_coef(mdot(_add4(p0, p2), _add4(p0, p2)), par)
        r12 = _rho_coef(mdot(_add4(p1, p2), _add4(p1, p2)), par)
        r03 = _rho_coef(mdot(_add4(p0, p3), _add4(p0, p3)), par)
        r13 = _rho_coef(mdot(_add4(p1, p3), _add4(p1, p3)), par)
        r23 = _rho_coef(mdot(_add4(p2, p3), _add4(p2, p3)), par)
        g02 = _sigma_coef(mdot(_add4(p0, p2), _add4(p0, p2)), par)
        g12 = _sigma_coef(mdot(_add4(p1, p2), _add4(p1, p2)), par)
        # a1 pi, a1 -> rho pi: bachelor pi- with a1^0 -> rho-+ pi+-, bachelor pi0 with a1- -> rho0 pi-
        j = _axpy(j, -a123 * r13, novo_t1(q, p0, p1, p3, t123))
        j = _axpy(j, -a023 * r03, novo_t1(q, p1, p0, p3, t023))
        j = _axpy(j, -a123 * r23, novo_t1(q, p0, p2, p3, t123))
        j = _axpy(j, -a023 * r23, novo_t1(q, p1, p2, p3, t023))
        j = _axpy(j, -a012 * r02, novo_t1(q, p3, p0, p2, t012))
        j = _axpy(j, -a012 * r12, novo_t1(q, p3, p1, p2, t012))
        # a1 pi, a1 -> sigma pi (sigma -> pi+ pi-): a1- (bachelor pi0), a1^0 (bachelor pi-)
        j = _axpy(j, a012 * g02, novo_t2(q, p1, t012))
        j = _axpy(j, a012 * g12, novo_t2(q, p0, t012))
        j = _axpy(j, -a123 * g12, novo_t2(q, p3, t123))
        j = _axpy(j, -a023 * g02, novo_t2(q, p3, t023))
        g = novo_g(1, s)
        j = (g * j[0], g * j[1], g * j[2], g * j[3])
        if par[1] != 0.0:
            k = (z, z, z, z)
            c, v = novo_t3(q, p0, p2, p1, p3, par)
            k = _axpy(k, c, v)
            c, v = novo_t3(q, p1, p2, p0, p3, par)
            k = _axpy(k, c, v)
            c, v = novo_t3(q, p0, p1, p2, p3, par)
            k = _axpy(k, -c, v)
            c, v = novo_t3(q, p1, p0, p2, p3, par)
            k = _axpy(k, -c, v)
            c, v = novo_t3(q, p0, p3, p1, p2, par)
            k = _axpy(k, -c, v)
            c, v = novo_t3(q, p1, p3, p0, p2, par)
            k = _axpy(k, -c, v)
            g3 = novo_g(2, s)
            j = (j[0] + g3 * k[0], j[1] + g3 * k[1], j[2] + g3 * k[2], j[3] + g3 * k[3])
    else:
        t012 = _add4(_add4(p0, p1), p2)
        t013 = _add4(_add4(p0, p1), p3)
        t023 = _add4(_add4(p0, p2), p3)
        t123 = _add4(_add4(p1, p2), p3)
        a012 = _a1_coef(mdot(t012, t012), par)
        a013 = _a1_coef(mdot(t013, t013), par)
        a023 = _a1_coef(mdot(t023, t023), par)
        a123 = _a1_coef(mdot(t123, t123), par)
        r01 = _rho_coef(mdot(_add4(p0, p1), _add4(p0, p1)), par)
        r02 = _rho_coef(mdot(_add4(p0, p2), _add4(p0, p2)), par)
        r03 = _rho_coef(mdot(_add4(p0, p3), _add4(p0, p3)), par)
        g12 = _sigma_coef(mdot(_add4(p1, p2), _add4(p1, p2)), par)
        g13 = _sigma_coef(mdot(_add4(p1, p3), _add4(p1, p3)), par)
        g23 = _sigma_coef(mdot(_add4(p2, p3), _add4(p2, p3)), par)
        # a1- pi0 with a1- -> rho- pi0 (rho- -> pi- pi0)
        j = _axpy(j, -a013 * r01, novo_t1(q, p2, p0, p1, t013))
        j = _axpy(j, -a013 * r03, novo_t1(q, p2, p0, p3, t013))
        j = _axpy(j, -a012 * r01, novo_t1(q, p3, p0, p1, t012))
        j = _axpy(j, -a012 * r02, novo_t1(q, p3, p0, p2, t012))
        j = _axpy(j, -a023 * r03, novo_t1(q, p1, p0, p3, t023))
        j = _axpy(j, -a023 * r02, novo_t1(q, p1, p0, p2, t023))
        # a1- -> sigma pi- (bachelor pi0) and a1^0 -> sigma pi0 (bachelor pi-), sigma -> pi0 pi0
        j = _axpy(j, a013 * g13, novo_t2(q, p0, t013))
        j = _axpy(j, a012 * g12, novo_t2(q, p0, t012))
        j = _axpy(j, a023 * g23, novo_t2(q, p0, t023))
        j = _axpy(j, -a123 * g13, novo_t2(q, p2, t123))
        j = _axpy(j, -a123 * g12, novo_t2(q, p3, t123))
        j = _axpy(j, -a123 * g23, novo_t2(q, p1, t123))
        g = novo_g(0, s)
        j = (g * j[0], g * j[1], g * j[2], g * j[3])
    jr = (j[0].real, j[1].real, j[2].real, j[3].real)
    ji = (j[0].imag, j[1].imag, j[2].imag, j[3].imag)
    return jr, ji
