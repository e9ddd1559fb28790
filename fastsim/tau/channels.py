"""Tau- decay channels: matrix elements, unpolarised generation at rest and polarimeter vectors.

Units: GeV.  Four-vectors ``(px, py, pz, E)``.  Every kernel generates the decay of a tau- at
rest, unpolarised, and returns with each decay its polarimeter vector h, defined by

    dGamma(s) / dGamma(unpolarised) = 1 + h . s        (s: tau- spin unit vector, rest frame)

with the tau- spin projector u ubar = (Pslash + m)(1 + gamma5 sslash)/2 (reference/tau.md 1.4):
tau- -> pi- nu gives h = +p_hat(pi-).  The engine (not here) imposes spin correlations by
rotating each decay rigidly and CP-conjugates for the tau+ (h unchanged).

Channels (``docs/tau_channels.md`` has the table with sources, parameters, bounds, speeds):

* ``e``, ``mu`` (TAULNUNU): V-A, charged-lepton mass kept; |M|^2 ~ (P.n)(l.nu_tau) with n the
  anti-nu_l, which depends on s = m^2(l nu_tau) only; h = n_hat (event by event, |h| = 1).
* ``pi``, ``K`` (TAUSCALARNU): two-body, h = p_hat.
* ``rho`` (RHO_KS), ``Kstar_K0pi`` / ``Kstar_Kpi0`` (KSTAR): vector form factor x (q1 - q2)_T;
  h by the closed form of tau.md 2.4.
* ``a1_3prong``, ``a1_1prong`` (A1_KS): Kuehn-Santamaria current with the DEC TAUHADNU
  parameters; h from the general complex-current form (:func:`fastsim.tau.currents.polarimeter`).
* ``omega_pi`` (OMEGA_PI): vector current eps(Q, p_omega, e_omega) with the omega kept as a
  product (spin summed); h from the real hadronic tensor.
* ``4pi_3prong`` (pi- pi- pi+ pi0, the non-omega DEC line), ``4pi_1prong`` (pi- 3 pi0)
  (FOURPI_NOVOSIBIRSK): the Novosibirsk current (Bondar et al., CPC 146 (2002) 139) as in
  Pythia 8 HMETau2FourPions, a1 pi with a1 -> rho pi and a1 -> sigma pi, without the omega pi
  part (the DEC file has "pi- omega nu_tau" separately); two-stage generation (4-pion
  configuration, then the neutrino direction); h from the complex current.
* everything else (PHSP): flat n-body phase space of the DEC daughters, h = 0.

Random numbers: each event i has its own splitmix64 stream started from a hash of
(seed, channel name, i) (:func:`fastsim.tau.currents.event_state`), so results for the same
(seed, n) are identical and event i does not depend on n.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass

import numpy as np
from numba import njit

from fastsim.detector.vmath import next_uniform, vsincos
from fastsim.tau.currents import (
    NOVO_NPAR,
    boost_from_rest,
    event_state,
    four_pion_current,
    iso_dir,
    ks_three_pion_current,
    mdot,
    novo_h,
    novo_hprime,
    ortho_basis,
    pdk,
    polarimeter,
    vector_form_factor,
)

__all__ = [
    "CHANNELS",
    "TauChannel",
    "channel_for_dec_line",
    "channels_for_dec_line",
    "generate_decays",
    "lnunu_s_density",
    "weight_bound",
]

_TWO_PI = 2.0 * math.pi

# ---------------------------------------------------------------------- PDG ids (tau- decays)
_E, _NUE, _MU, _NUMU, _NUTAU = 11, 12, 13, 14, 16
_PI, _PI0, _K, _K0, _OMEGA = 211, 111, 321, 311, 223
_RHO, _KSTAR, _A1 = 213, 323, 20213


@dataclass(frozen=True)
class TauChannel:
    """One tau- decay channel (see the module docstring).

    ``products`` are the generated particles in kernel output order, ``intermediates`` the
    resonances kept in the truth record as (pdg, indices of their daughters in ``products``)."""

    name: str
    dec_daughters: tuple[int, ...]
    products: tuple[int, ...]
    intermediates: tuple[tuple[int, tuple[int, ...]], ...]
    model: str


def _ch(
    name: str, dec: tuple[int, ...], products: tuple[int, ...] | None, inter: tuple, model: str
) -> TauChannel:
    return TauChannel(name, dec, dec if products is None else products, inter, model)


#: the channels with a dedicated matrix element (by name)
CHANNELS: dict[str, TauChannel] = {
    c.name: c
    for c in (
        _ch("e", (_E, -_NUE, _NUTAU), None, (), "TAULNUNU"),
        _ch("mu", (_MU, -_NUMU, _NUTAU), None, (), "TAULNUNU"),
        _ch("pi", (-_PI, _NUTAU), None, (), "TAUSCALARNU"),
        _ch("K", (-_K, _NUTAU), None, (), "TAUSCALARNU"),
        _ch("rho", (-_RHO, _NUTAU), (-_PI, _PI0, _NUTAU), ((-_RHO, (0, 1)),), "RHO_KS"),
        _ch("Kstar_K0pi", (-_KSTAR, _NUTAU), (-_K0, -_PI, _NUTAU), ((-_KSTAR, (0, 1)),), "KSTAR"),
        _ch("Kstar_Kpi0", (-_KSTAR, _NUTAU), (-_K, _PI0, _NUTAU), ((-_KSTAR, (0, 1)),), "KSTAR"),
        _ch("a1_3prong", (-_PI, -_PI, _PI, _NUTAU), None, ((-_A1, (0, 1, 2)),), "A1_KS"),
        _ch("a1_1prong", (-_PI, _PI0, _PI0, _NUTAU), None, ((-_A1, (0, 1, 2)),), "A1_KS"),
        _ch("omega_pi", (-_PI, _OMEGA, _NUTAU), None, (), "OMEGA_PI"),
        _ch("4pi_3prong", (-_PI, -_PI, _PI, _PI0, _NUTAU), None, (), "FOURPI_NOVOSIBIRSK"),
        _ch("4pi_1prong", (-_PI, _PI0, _PI0, _PI0, _NUTAU), None, (), "FOURPI_NOVOSIBIRSK"),
    )
}

#: K*- -> K0bar pi- : K- pi0 = 2/3 : 1/3 (isospin; DECAY_BELLE2.DEC K*+ block 0.666 / 0.333)
_KSTAR_SPLIT = ((2.0 / 3.0, "Kstar_K0pi"), (1.0 / 3.0, "Kstar_Kpi0"))


def _key(dec: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(int(d) for d in dec))


_BY_DEC: dict[tuple[int, ...], tuple[tuple[float, str], ...]] = {}
for _c in CHANNELS.values():
    _BY_DEC.setdefault(_key(_c.dec_daughters), ((1.0, _c.name),))
_BY_DEC[_key((-_KSTAR, _NUTAU))] = _KSTAR_SPLIT


def channels_for_dec_line(dec_daughters: tuple[int, ...]) -> tuple[tuple[float, TauChannel], ...]:
    """The channels of one DEC line of the tau- block with their fractions (summing to 1).

    One channel with fraction 1 for every line except "K*- nu_tau", which gives the two K*
    decay modes K0bar pi- (2/3) and K- pi0 (1/3), because a channel has one fixed product
    list.  Lines without a dedicated matrix element give a flat phase-space channel."""
    split = _BY_DEC.get(_key(dec_daughters))
    if split is None:
        return ((1.0, _phsp_channel(tuple(int(d) for d in dec_daughters))),)
    return tuple((f, CHANNELS[name]) for f, name in split)


def channel_for_dec_line(dec_daughters: tuple[int, ...]) -> TauChannel:
    """The channel for one DEC-file line of the tau- block (order-insensitive match); lines
    without a dedicated matrix element -> flat phase space of the DEC daughters with h = 0.

    For "K*- nu_tau" this is the dominant K0bar pi- channel (2/3 of the line); use
    :func:`channels_for_dec_line` to get both K* modes with their fractions."""
    return channels_for_dec_line(dec_daughters)[0][1]


@functools.lru_cache(maxsize=256)
def _phsp_channel(dec: tuple[int, ...]) -> TauChannel:
    return TauChannel("phsp:" + " ".join(str(d) for d in dec), dec, dec, (), "PHSP")


# ====================================================================== model parameters
# 2-pion vector form factor: Kuehn-Santamaria rho + rho' (Z. Phys. C48 (1990) 445, the pi pi
# fit; TAUOLA formf.f FPIKM, reference/tau.md 2.4): m_rho = 0.773, G = 0.145, m_rho' = 1.370,
# G' = 0.510, beta = -0.145; F = (BW_rho + beta BW_rho') / (1 + beta).  Rows (m, G, Re c, Im c).
_RHO_BETA = -0.145
RHO_FF = np.array(
    [[0.773, 0.145, 1.0 / (1.0 + _RHO_BETA), 0.0], [1.370, 0.510, _RHO_BETA / (1.0 + _RHO_BETA), 0.0]]
)
# K pi vector form factor: K*(892) + K*(1410) of the Belle fit (Epifanov et al., PLB 654 (2007)
# 65, arXiv:0706.2231), values as in Pythia 8 HMETau2TwoMesonsViaVectorScalar: (0.89547,
# 0.04619) and (1.414, 0.232) with the coefficient 0.075 exp(1.4399 i); the scalar K0*(800)
# part of that fit is not included (the DEC line is "K*- nu_tau", a vector).
_KS2 = 0.075 * complex(math.cos(1.4399), math.sin(1.4399))
KSTAR_FF = np.array(
    [
        [0.89547, 0.04619, (1.0 / (1.0 + _KS2)).real, (1.0 / (1.0 + _KS2)).imag],
        [1.414, 0.232, (_KS2 / (1.0 + _KS2)).real, (_KS2 / (1.0 + _KS2)).imag],
    ]
)
# omega pi- vector form factor (simplified, not fitted to omega pi data): the Kuehn-Santamaria
# rho + rho' form of RHO_FF in Q^2 (the omega pi spectral function is a rho-tail + rho(1450)
# interference, CLEO PRD 61 (2000) 072003); the running widths use two pi- masses.
OMEGA_PI_FF = RHO_FF
# Kuehn-Santamaria 3-pion parameters of DECAY_BELLE2.DEC (TAUHADNU -0.108 0.775 0.149 1.364
# 0.400 1.23 0.4): beta, m_rho, G_rho, m_rho', G_rho', m_a1, G_a1 (reference/tau.md 2.5)
A1_PARAMS = (-0.108, 0.775, 0.149, 1.364, 0.400, 1.23, 0.4)
# Novosibirsk 4-pion current (Bondar et al., Comput. Phys. Commun. 146 (2002) 139,
# hep-ph/0201149): the values of Pythia 8 HMETau2FourPions::initConstants (alisw/pythia8
# src/HelicityMatrixElements.cc).  The a1 width 0.45 is used only by the phase-space proposal
# (the current uses the fitted running width of currents.novo_a1_d); the omega values only
# when the omega pi part is switched on (not for the DEC lines, see _fourpi_par).
FOURPI_PARAMS = {
    "m_a1": 1.23,
    "g_a1": 0.45,
    "m_rho": 0.7761,
    "g_rho": 0.1445,
    "m_sigma": 0.8,
    "g_sigma": 0.8,
    "sigma_amp": 1.39987,
    "sigma_phase": 0.43585,
    "m_omega": 0.782,
    "g_omega": 0.00841,
    "omega_amp": 1.0,
    "omega_phase": 0.0,
    "lambda2": 1.2,
}


# ====================================================================== kernels
@njit(cache=True, inline="always")
def _accept(state: np.uint64, w: float, wmax: float) -> tuple:
    state, u = next_uniform(state)
    return state, u * wmax < w


# ---------------------------------------------------------------- tau -> l nubar_l nu_tau
@njit(cache=True, nogil=True)
def _k_lnunu(n: int, seed: np.uint64, ml: float, mt: float, stats: np.ndarray) -> tuple:
    """tau- -> l- nubar_l nu_tau.  |M|^2 ~ (P.n)(l.nu) = (M^2 - s)(s - m^2)/4, s = m^2(l nu_tau),
    n = nubar_l (V-A; e.g. Okun, "Leptons and Quarks", muon decay).  With dPhi_3 ~ ds
    p_n(s)/M p*(s)/sqrt(s) and isotropic sub-decays, s has the density
    g(s) = (M^2 - s)^2 (s - m^2)^2 / s, sampled uniformly in [m^2, M^2] against its exact maximum
    at s* = [M^2 + m^2 + sqrt((M^2 + m^2)^2 + 12 M^2 m^2)] / 6 (d ln g/ds = 0).  h = n_hat."""
    p = np.empty((n, 3, 4))
    h = np.empty((n, 3))
    mt2, ml2 = mt * mt, ml * ml
    ss = (mt2 + ml2 + math.sqrt((mt2 + ml2) ** 2 + 12.0 * mt2 * ml2)) / 6.0
    gmax = (mt2 - ss) ** 2 * (ss - ml2) ** 2 / ss
    trials = 0
    for i in range(n):
        st = event_state(seed, i)
        s = ml2
        while True:
            trials += 1
            st, u = next_uniform(st)
            s = ml2 + (mt2 - ml2) * u
            g = (mt2 - s) ** 2 * (s - ml2) ** 2 / s if s > 0.0 else 0.0
            st, ok = _accept(st, g, gmax)
            if ok:
                break
        st, dx, dy, dz = iso_dir(st)  # anti-nu_l direction
        k = (mt2 - s) / (2.0 * mt)
        rs = math.sqrt(s)
        q = (-k * dx, -k * dy, -k * dz, mt - k)
        st, ex, ey, ez = iso_dir(st)
        ps = (s - ml2) / (2.0 * rs)
        lep = boost_from_rest((ps * ex, ps * ey, ps * ez, (s + ml2) / (2.0 * rs)), q, rs)
        nu = boost_from_rest((-ps * ex, -ps * ey, -ps * ez, ps), q, rs)
        for c in range(4):
            p[i, 0, c] = lep[c]
            p[i, 2, c] = nu[c]
        p[i, 1, 0], p[i, 1, 1], p[i, 1, 2], p[i, 1, 3] = k * dx, k * dy, k * dz, k
        h[i, 0], h[i, 1], h[i, 2] = dx, dy, dz
    stats[0] = trials
    return p, h


# ---------------------------------------------------------------- tau -> P nu
@njit(cache=True, nogil=True)
def _k_scalar(n: int, seed: np.uint64, m: float, mt: float, stats: np.ndarray) -> tuple:
    """tau- -> P- nu: two-body, isotropic; h = p_hat(P) (tau.md 2.3)."""
    p = np.empty((n, 2, 4))
    h = np.empty((n, 3))
    k = pdk(mt, m, 0.0)
    e = math.sqrt(m * m + k * k)
    for i in range(n):
        st = event_state(seed, i)
        st, dx, dy, dz = iso_dir(st)
        p[i, 0, 0], p[i, 0, 1], p[i, 0, 2], p[i, 0, 3] = k * dx, k * dy, k * dz, e
        p[i, 1, 0], p[i, 1, 1], p[i, 1, 2], p[i, 1, 3] = -k * dx, -k * dy, -k * dz, k
        h[i, 0], h[i, 1], h[i, 2] = dx, dy, dz
    stats[0] = n
    return p, h


# ---------------------------------------------------------------- tau -> V nu -> P1 P2 nu
@njit(cache=True, inline="always")
def _cauchy_s(st: np.uint64, m0: float, g0: float, th_lo: float, th_hi: float) -> tuple:
    """s from the Cauchy density ~ 1/((s - m0^2)^2 + m0^2 g0^2) between tan(th_lo), tan(th_hi)
    (inverse CDF); returns (state, s, 1/density up to a constant = (s - m0^2)^2 + (m0 g0)^2)."""
    st, u = next_uniform(st)
    sn, cs = vsincos(th_lo + u * (th_hi - th_lo))
    mg = m0 * g0
    x = mg * sn / cs
    return st, m0 * m0 + x, x * x + mg * mg


@njit(cache=True, inline="always")
def _vector_weight(s: float, m1: float, m2: float, mt: float, res: np.ndarray) -> float:
    """|F(s)|^2 (M^2 - s)^2 (M^2 + 2 s) q^3 / s^1.5: the s density of tau -> V nu -> P1 P2 nu
    (same as :func:`fastsim.tau.currents.vector_lineshape`)."""
    q = pdk(math.sqrt(s), m1, m2)
    f = vector_form_factor(s, res, m1, m2)
    mt2 = mt * mt
    return (
        (f.real * f.real + f.imag * f.imag)
        * (mt2 - s) ** 2
        * (mt2 + 2.0 * s)
        * q
        * q
        * q
        / (s * math.sqrt(s))
    )


@njit(cache=True, nogil=True)
def _vector_pilot(
    u: np.ndarray, m1: float, m2: float, mt: float, res: np.ndarray, prop: np.ndarray
) -> np.ndarray:
    """The accept-reject weight w(s(u)) of :func:`_k_vector` at given uniforms (bound scan)."""
    out = np.empty(len(u))
    m0, g0, lo, hi = prop[0], prop[1], prop[2], prop[3]
    mg = m0 * g0
    smin = (m1 + m2) ** 2
    for i in range(len(u)):
        sn, cs = vsincos(lo + u[i] * (hi - lo))
        x = mg * sn / cs
        s = m0 * m0 + x
        out[i] = _vector_weight(s, m1, m2, mt, res) * (x * x + mg * mg) if s > smin else 0.0
    return out


@njit(cache=True, nogil=True)
def _k_vector(
    n: int,
    seed: np.uint64,
    m1: float,
    m2: float,
    mt: float,
    res: np.ndarray,
    prop: np.ndarray,
    wmax: float,
    stats: np.ndarray,
) -> tuple:
    """tau- -> V- nu -> P1 P2 nu with J = F(s) (q1 - q2)_T (tau.md 2.4).

    In the P1 P2 rest frame J = F (0, 2 q n_hat) and the spin-summed |M|^2 of eq. (1) of
    currents.py is ~ |F|^2 q^2 (M^2 - s) [1 + (M^2/s - 1) cos^2 theta], theta the angle of P1
    to the hadron direction: s is drawn from a Cauchy proposal (prop = m0, g0, theta range)
    against the bound ``wmax`` of w = density / proposal, cos theta exactly (mixture of the
    flat and the 3 c^2 / 2 parts, the latter as +-max of three uniforms).  The polarimeter is
    the closed form h = M [2 (N.J) J_vec - J^2 N_vec] / [2 (P.J)(N.J) - (P.N) J^2] (tau.md 2.4,
    TauSpinner calculateHH)."""
    p = np.empty((n, 3, 4))
    h = np.empty((n, 3))
    mt2 = mt * mt
    smin = (m1 + m2) ** 2
    trials = 0
    over = 0
    wtop = 0.0
    for i in range(n):
        st = event_state(seed, i)
        s = smin
        while True:
            trials += 1
            st, s, inv = _cauchy_s(st, prop[0], prop[1], prop[2], prop[3])
            w = _vector_weight(s, m1, m2, mt, res) * inv if (s > smin) & (s < mt2) else 0.0
            if w > wmax:
                over += 1
            wtop = max(wtop, w)
            st, ok = _accept(st, w, wmax)
            if ok:
                break
        a = mt2 / s - 1.0
        st, u0 = next_uniform(st)
        st, u1 = next_uniform(st)
        st, u2 = next_uniform(st)
        st, u3 = next_uniform(st)
        st, u4 = next_uniform(st)
        c = 2.0 * u1 - 1.0
        cq = max(u1, u2, u3)
        c = c if u0 * (1.0 + a / 3.0) < 1.0 else (cq if u4 < 0.5 else -cq)
        st, dx, dy, dz = iso_dir(st)  # hadron direction in the tau frame
        e1, e2 = ortho_basis(dx, dy, dz)
        st, uphi = next_uniform(st)
        sp, cp = vsincos(_TWO_PI * uphi)
        sth = math.sqrt(max(0.0, 1.0 - c * c))
        nx = c * dx + sth * (cp * e1[0] + sp * e2[0])
        ny = c * dy + sth * (cp * e1[1] + sp * e2[1])
        nz = c * dz + sth * (cp * e1[2] + sp * e2[2])
        rs = math.sqrt(s)
        q = pdk(rs, m1, m2)
        k = (mt2 - s) / (2.0 * mt)
        qq = (k * dx, k * dy, k * dz, mt - k)
        a1 = boost_from_rest((q * nx, q * ny, q * nz, math.sqrt(m1 * m1 + q * q)), qq, rs)
        a2 = boost_from_rest((-q * nx, -q * ny, -q * nz, math.sqrt(m2 * m2 + q * q)), qq, rs)
        nu = (-k * dx, -k * dy, -k * dz, k)
        for cc in range(4):
            p[i, 0, cc] = a1[cc]
            p[i, 1, cc] = a2[cc]
            p[i, 2, cc] = nu[cc]
        # closed-form polarimeter with J = (q1 - q2) - Q (m1^2 - m2^2)/s
        cj = (m1 * m1 - m2 * m2) / s
        j = (
            a1[0] - a2[0] - cj * qq[0],
            a1[1] - a2[1] - cj * qq[1],
            a1[2] - a2[2] - cj * qq[2],
            a1[3] - a2[3] - cj * qq[3],
        )
        nj = mdot(nu, j)
        j2 = mdot(j, j)
        brak = 2.0 * (mt * j[3]) * nj - (mt * nu[3]) * j2
        h[i, 0] = mt * (2.0 * nj * j[0] - j2 * nu[0]) / brak
        h[i, 1] = mt * (2.0 * nj * j[1] - j2 * nu[1]) / brak
        h[i, 2] = mt * (2.0 * nj * j[2] - j2 * nu[2]) / brak
    stats[0] = trials
    stats[1] = over
    stats[2] = wtop
    return p, h


# ---------------------------------------------------------------- three hadrons + nu
@njit(cache=True, inline="always")
def _table_s(st: np.uint64, tab: np.ndarray) -> tuple:
    """s from a piecewise-constant density (inverse CDF): tab[0] bin edges, tab[1] cumulative
    probabilities at the edges (0 ... 1, every bin > 0).  Returns (state, s, 1/density)."""
    st, u = next_uniform(st)
    e = tab[0]
    c = tab[1]
    lo = 0
    hi = len(e) - 1
    while hi - lo > 1:  # largest bin b with c[b] <= u
        mid = (lo + hi) // 2
        if c[mid] <= u:
            lo = mid
        else:
            hi = mid
    pb = c[lo + 1] - c[lo]
    wd = e[lo + 1] - e[lo]
    return st, e[lo] + (u - c[lo]) / pb * wd, wd / pb


@njit(cache=True, inline="always")
def _other_range(s: float, sx: float, m1: float, m3: float) -> tuple:
    """Range of s23 at fixed s13 (or of s13 at fixed s23) for the pions (1, 2) of mass m1 and
    3 of mass m3 in a system of mass^2 s (PDG "Kinematics" 49.4.3.1)."""
    r = math.sqrt(sx)
    e3 = (sx - m1 * m1 + m3 * m3) / (2.0 * r)
    e2 = (s - sx - m1 * m1) / (2.0 * r)
    p3 = math.sqrt(max(e3 * e3 - m3 * m3, 0.0))
    p2 = math.sqrt(max(e2 * e2 - m1 * m1, 0.0))
    return (e3 + e2) ** 2 - (p3 + p2) ** 2, (e3 + e2) ** 2 - (p3 - p2) ** 2


@njit(cache=True, inline="always")
def _dalitz_build(st: np.uint64, s: float, ma: float, mb: float, mc: float, sab: float, sbc: float) -> tuple:
    """Momenta of a, b, c in the rest frame of the system (mass^2 s) for the Dalitz point
    (sab, sbc), uniform orientation (a isotropic, c at a uniform azimuth around a)."""
    rs = math.sqrt(s)
    sac = s + ma * ma + mb * mb + mc * mc - sab - sbc
    ea = (s + ma * ma - sbc) / (2.0 * rs)
    eb = (s + mb * mb - sac) / (2.0 * rs)
    ec = (s + mc * mc - sab) / (2.0 * rs)
    pa = math.sqrt(max(ea * ea - ma * ma, 0.0))
    pb = math.sqrt(max(eb * eb - mb * mb, 0.0))
    pc = math.sqrt(max(ec * ec - mc * mc, 0.0))
    den = 2.0 * pa * pc
    cac = (pb * pb - pa * pa - pc * pc) / den if den > 0.0 else 1.0
    cac = min(1.0, max(-1.0, cac))
    sac_ = math.sqrt(1.0 - cac * cac)
    st, ax, ay, az = iso_dir(st)
    e1, e2 = ortho_basis(ax, ay, az)
    st, uphi = next_uniform(st)
    sp, cp = vsincos(_TWO_PI * uphi)
    cx = pc * (cac * ax + sac_ * (cp * e1[0] + sp * e2[0]))
    cy = pc * (cac * ay + sac_ * (cp * e1[1] + sp * e2[1]))
    cz = pc * (cac * az + sac_ * (cp * e1[2] + sp * e2[2]))
    va = (pa * ax, pa * ay, pa * az, ea)
    vc = (cx, cy, cz, ec)
    vb = (-va[0] - cx, -va[1] - cy, -va[2] - cz, eb)
    return st, va, vb, vc


#: proposal mixture of the 3-pion Dalitz plane: rho Breit-Wigner in s13, in s23, flat
_A_BW = 0.4
_A_FLAT = 0.2


@njit(cache=True, inline="always")
def _three_pion_ps(st: np.uint64, s: float, m1: float, m3: float, mr: float, gr: float) -> tuple:
    """Flat 3-pion phase space at mass^2 s importance-sampled in the Dalitz plane: with
    probability 0.4 each s13 or s23 from a Cauchy (rho Breit-Wigner, m_rho, G_rho) and the other
    variable uniform in its range, with probability 0.2 both uniform (multichannel, Kleiss &
    Pittau, CPC 83 (1994) 141).  Returns (state, weight, q1, q2, q3) with weight
    = (dPhi_3 / ds13 ds23 ~ 1/s) / (mixture density) in the system rest frame."""
    rs = math.sqrt(s)
    lo = (m1 + m3) ** 2
    hi = (rs - m1) ** 2
    mg = mr * gr
    tlo = math.atan((lo - mr * mr) / mg)
    thi = math.atan((hi - mr * mr) / mg)
    st, u0 = next_uniform(st)
    st, u1 = next_uniform(st)
    st, u2 = next_uniform(st)
    sn, cs = vsincos(tlo + u1 * (thi - tlo))
    sbw = mr * mr + mg * sn / cs
    sfl = lo + (hi - lo) * u1
    first = sbw if u0 < 2.0 * _A_BW else sfl
    olo, ohi = _other_range(s, first, m1, m3)
    second = olo + (ohi - olo) * u2
    swap = (u0 >= _A_BW) & (u0 < 2.0 * _A_BW)
    s13 = second if swap else first
    s23 = first if swap else second
    # mixture density at (s13, s23)
    l13, h13 = _other_range(s, s23, m1, m3)  # range of s13 at this s23
    l23, h23 = _other_range(s, s13, m1, m3)
    r13 = mg / ((s13 - mr * mr) ** 2 + mg * mg) / (thi - tlo)
    r23 = mg / ((s23 - mr * mr) ** 2 + mg * mg) / (thi - tlo)
    g = _A_BW * (r13 / (h23 - l23) + r23 / (h13 - l13)) + _A_FLAT / ((hi - lo) * (h23 - l23))
    st, va, vb, vc = _dalitz_build(st, s, m1, m3, m1, s13, s23)  # (a, b, c) = (q1, q3, q2)
    return st, 1.0 / (s * g), va, vc, vb


@njit(cache=True, inline="always")
def _trial_3pi(st: np.uint64, m: np.ndarray, mt: float, par: np.ndarray, tab: np.ndarray) -> tuple:
    """One weighted 3-pion + nu configuration: s = Q^2 from the table ``tab``, the Dalitz plane
    by :func:`_three_pion_ps`, nu isotropic.  Weight = V^0 x (M^2 - s) (two-body phase space
    of tau -> Q nu) x (3-body weight) / (s density).  Products order: 3-prong (q1, q2, q3),
    1-prong (q3, q1, q2)."""
    mt2 = mt * mt
    st, s, inv = _table_s(st, tab)
    m1, m3 = par[7], par[8]
    st, wps, q1, q2, q3 = _three_pion_ps(st, s, m1, m3, par[1], par[2])
    st, dx, dy, dz = iso_dir(st)
    k = (mt2 - s) / (2.0 * mt)
    qq = (k * dx, k * dy, k * dz, mt - k)
    rs = math.sqrt(s)
    b1 = boost_from_rest(q1, qq, rs)
    b2 = boost_from_rest(q2, qq, rs)
    b3 = boost_from_rest(q3, qq, rs)
    nu = (-k * dx, -k * dy, -k * dz, k)
    jr, ji = ks_three_pion_current(b1, b2, b3, par)
    v0, hx, hy, hz = polarimeter(jr, ji, nu)
    w = v0 * (mt2 - s) * wps * inv
    if par[9] == 2.0:
        return st, w, s, b1, b2, b3, nu, hx, hy, hz
    return st, w, s, b3, b1, b2, nu, hx, hy, hz


@njit(cache=True, nogil=True)
def _pilot_3pi(n: int, seed: np.uint64, m: np.ndarray, mt: float, par: np.ndarray, tab: np.ndarray) -> tuple:
    """(weights, s) of n trials (for the s table and the bound)."""
    out = np.empty(n)
    ss = np.empty(n)
    for i in range(n):
        st = event_state(seed, i)
        st, w, s, _p0, _p1, _p2, _nu, _hx, _hy, _hz = _trial_3pi(st, m, mt, par, tab)
        out[i] = w
        ss[i] = s
    return out, ss


@njit(cache=True, nogil=True)
def _k_3pi(
    n: int,
    seed: np.uint64,
    m: np.ndarray,
    mt: float,
    par: np.ndarray,
    tab: np.ndarray,
    wmax: float,
    stats: np.ndarray,
) -> tuple:
    """tau- -> 3 pi nu with the Kuehn-Santamaria current (see :func:`_trial_3pi`)."""
    p = np.empty((n, 4, 4))
    h = np.empty((n, 3))
    trials = 0
    over = 0
    wtop = 0.0
    for i in range(n):
        st = event_state(seed, i)
        while True:
            trials += 1
            st, w, _s, p0, p1, p2, nu, hx, hy, hz = _trial_3pi(st, m, mt, par, tab)
            if w > wmax:
                over += 1
            wtop = max(wtop, w)
            st, ok = _accept(st, w, wmax)
            if ok:
                break
        for c in range(4):
            p[i, 0, c] = p0[c]
            p[i, 1, c] = p1[c]
            p[i, 2, c] = p2[c]
            p[i, 3, c] = nu[c]
        h[i, 0], h[i, 1], h[i, 2] = hx, hy, hz
    stats[0] = trials
    stats[1] = over
    stats[2] = wtop
    return p, h


# ---------------------------------------------------------------- tau -> omega pi nu
@njit(cache=True, inline="always")
def _trial_omega_pi(st: np.uint64, m: np.ndarray, mt: float, res: np.ndarray, tab: np.ndarray) -> tuple:
    """One weighted tau- -> pi- omega nu configuration (products pi-, omega, nu).

    Current J^mu = F(Q^2) eps^{mu a b c} Q_a p_b e_c (p, e: omega momentum and polarisation;
    the G-parity-allowed vector current, e.g. Decker, Mirkes, Sauer, Was, Z. Phys. C58 (1993)
    445), summed over the omega spin (the omega is decayed later, unpolarised).  The spin sum
    gives the real tensor H^{mn} = det[[g^{mn}, Q^m, p^m], [Q^n, Q^2, Q.p], [p^n, Q.p, p^2]] and
    eq. (1) of currents.py reduces to
        V = 2 {[(Q.p)(N.p) - p^2 (N.Q)] Q + [(Q.p)(N.Q) - Q^2 (N.p)] p}   (times |F|^2).
    s = Q^2 from the table, pi omega and nu isotropic; weight = |F|^2 V^0 (M^2 - s) q(s)/sqrt(s)
    / (s density)."""
    mt2 = mt * mt
    st, s, inv = _table_s(st, tab)
    rs = math.sqrt(s)
    q = pdk(rs, m[0], m[1])
    st, ax, ay, az = iso_dir(st)
    st, dx, dy, dz = iso_dir(st)
    k = (mt2 - s) / (2.0 * mt)
    qq = (k * dx, k * dy, k * dz, mt - k)
    pi = boost_from_rest((q * ax, q * ay, q * az, math.sqrt(m[0] ** 2 + q * q)), qq, rs)
    om = boost_from_rest((-q * ax, -q * ay, -q * az, math.sqrt(m[1] ** 2 + q * q)), qq, rs)
    nu = (-k * dx, -k * dy, -k * dz, k)
    qp = mdot(qq, om)
    np_ = mdot(nu, om)
    nq = mdot(nu, qq)
    pp = mdot(om, om)
    a = 2.0 * (qp * np_ - pp * nq)
    b = 2.0 * (qp * nq - s * np_)
    v = (a * qq[0] + b * om[0], a * qq[1] + b * om[1], a * qq[2] + b * om[2], a * qq[3] + b * om[3])
    f = vector_form_factor(s, res, m[0], m[0])
    w = (f.real * f.real + f.imag * f.imag) * v[3] * (mt2 - s) * q / rs * inv
    return st, w, s, pi, om, nu, v[0] / v[3], v[1] / v[3], v[2] / v[3]


@njit(cache=True, nogil=True)
def _pilot_omega_pi(
    n: int, seed: np.uint64, m: np.ndarray, mt: float, res: np.ndarray, tab: np.ndarray
) -> tuple:
    out = np.empty(n)
    ss = np.empty(n)
    for i in range(n):
        st = event_state(seed, i)
        st, w, s, _p0, _p1, _nu, _hx, _hy, _hz = _trial_omega_pi(st, m, mt, res, tab)
        out[i] = w
        ss[i] = s
    return out, ss


@njit(cache=True, nogil=True)
def _k_omega_pi(
    n: int,
    seed: np.uint64,
    m: np.ndarray,
    mt: float,
    res: np.ndarray,
    tab: np.ndarray,
    wmax: float,
    stats: np.ndarray,
) -> tuple:
    """tau- -> pi- omega nu (see :func:`_trial_omega_pi`)."""
    p = np.empty((n, 3, 4))
    h = np.empty((n, 3))
    trials = 0
    over = 0
    wtop = 0.0
    for i in range(n):
        st = event_state(seed, i)
        while True:
            trials += 1
            st, w, _s, p0, p1, nu, hx, hy, hz = _trial_omega_pi(st, m, mt, res, tab)
            if w > wmax:
                over += 1
            wtop = max(wtop, w)
            st, ok = _accept(st, w, wmax)
            if ok:
                break
        for c in range(4):
            p[i, 0, c] = p0[c]
            p[i, 1, c] = p1[c]
            p[i, 2, c] = nu[c]
        h[i, 0], h[i, 1], h[i, 2] = hx, hy, hz
    stats[0] = trials
    stats[1] = over
    stats[2] = wtop
    return p, h


# ---------------------------------------------------------------- tau -> 4 pi nu (Novosibirsk)
@njit(cache=True, inline="always")
def _trunc_cauchy(x: float, m0: float, g0: float, lo: float, hi: float) -> float:
    """Density at x of the Cauchy 1/((x - m0^2)^2 + (m0 g0)^2) truncated to [lo, hi]."""
    mg = m0 * g0
    norm = math.atan((hi - m0 * m0) / mg) - math.atan((lo - m0 * m0) / mg)
    return mg / ((x - m0 * m0) ** 2 + mg * mg) / norm


@njit(cache=True, inline="always")
def _draw_cauchy(st: np.uint64, m0: float, g0: float, lo: float, hi: float) -> tuple:
    st, u = next_uniform(st)
    mg = m0 * g0
    tlo = math.atan((lo - m0 * m0) / mg)
    thi = math.atan((hi - m0 * m0) / mg)
    sn, cs = vsincos(tlo + u * (thi - tlo))
    return st, min(max(m0 * m0 + mg * sn / cs, lo), hi)


@njit(cache=True, inline="always")
def _inv2(pp: np.ndarray, a: int, b: int) -> float:
    """m^2 of pions a and b of the buffer pp (4, 4)."""
    e = pp[a, 3] + pp[b, 3]
    x = pp[a, 0] + pp[b, 0]
    y = pp[a, 1] + pp[b, 1]
    z = pp[a, 2] + pp[b, 2]
    return e * e - x * x - y * y - z * z


@njit(cache=True, inline="always")
def _inv3(pp: np.ndarray, a: int, b: int, c: int) -> float:
    e = pp[a, 3] + pp[b, 3] + pp[c, 3]
    x = pp[a, 0] + pp[b, 0] + pp[c, 0]
    y = pp[a, 1] + pp[b, 1] + pp[c, 1]
    z = pp[a, 2] + pp[b, 2] + pp[c, 2]
    return e * e - x * x - y * y - z * z


@njit(cache=True, inline="always")
def _put(pp: np.ndarray, k: int, v: tuple) -> None:
    pp[k, 0], pp[k, 1], pp[k, 2], pp[k, 3] = v[0], v[1], v[2], v[3]


@njit(cache=True, inline="always")
def _row(pp: np.ndarray, k: int) -> tuple:
    return (pp[k, 0], pp[k, 1], pp[k, 2], pp[k, 3])


@njit(cache=True, nogil=True)
def _four_pion_ps_density(pp: np.ndarray, s: float, m: np.ndarray, ch: np.ndarray, prop: np.ndarray) -> float:
    """Density of the multichannel proposal at the 4-pion configuration pp (any frame), per
    unit of flat 4-body phase space.  Channel k (row of ``ch``: b, a, c, d, type, cumulative
    probability): Q -> b A, A -> a R, R -> c d with isotropic decays, so dPhi_4 ~ ds_A ds_R
    p(Q; b, A) p(A; a, R) p(R; c, d) / (sqrt(s s_A s_R)) dOmega^3; type 0 draws s_A from an
    a1 and s_R from a rho Cauchy (prop = m_a1, G_a1, m_rho, G_rho), type 1 both uniformly."""
    rs = math.sqrt(s)
    g = 0.0
    prev = 0.0
    for k in range(ch.shape[0]):
        alpha = ch[k, 5] - prev
        prev = ch[k, 5]
        b, a, c, d = int(ch[k, 0]), int(ch[k, 1]), int(ch[k, 2]), int(ch[k, 3])
        sa = _inv3(pp, a, c, d)
        sr = _inv2(pp, c, d)
        ra = math.sqrt(max(sa, 0.0))
        rr = math.sqrt(max(sr, 0.0))
        jac = pdk(rs, m[b], ra) * pdk(ra, m[a], rr) * pdk(rr, m[c], m[d])
        if jac <= 0.0:
            return math.inf
        jac /= rs * ra * rr
        alo = (m[a] + m[c] + m[d]) ** 2
        ahi = (rs - m[b]) ** 2
        rlo = (m[c] + m[d]) ** 2
        rhi = (ra - m[a]) ** 2
        if ch[k, 4] == 0.0:
            f = _trunc_cauchy(sa, prop[0], prop[1], alo, ahi) * _trunc_cauchy(sr, prop[2], prop[3], rlo, rhi)
        else:
            f = 1.0 / ((ahi - alo) * (rhi - rlo))
        g += alpha * f / jac
    return g


@njit(cache=True, nogil=True)
def _trial_4pi(
    st: np.uint64,
    m: np.ndarray,
    mt: float,
    par: np.ndarray,
    tab: np.ndarray,
    ch: np.ndarray,
    prop: np.ndarray,
    pp: np.ndarray,
) -> tuple:
    """Stage 1 of tau- -> 4 pi nu: one weighted 4-pion configuration in the 4-pion rest frame,
    written to pp (4, 4) in product order.  s = Q^2 from the table ``tab``, the configuration
    from the multichannel proposal of :func:`_four_pion_ps_density` (channel picked with the
    cumulative probabilities ch[:, 5]).  The neutrino direction is not drawn here: the weight
    uses the average over it of the unpolarised density (:func:`_nu_density`),
        w = <P.V>/M x (M^2 - s) / (s density) / (4-pion proposal density).
    Returns (state, w, s, Re J, Im J), J the current in this frame."""
    mt2 = mt * mt
    st, s, inv = _table_s(st, tab)
    rs = math.sqrt(s)
    st, u = next_uniform(st)
    k = 0
    while (k < ch.shape[0] - 1) and (u >= ch[k, 5]):
        k += 1
    b, a, c, d = int(ch[k, 0]), int(ch[k, 1]), int(ch[k, 2]), int(ch[k, 3])
    alo = (m[a] + m[c] + m[d]) ** 2
    ahi = (rs - m[b]) ** 2
    if ch[k, 4] == 0.0:
        st, sa = _draw_cauchy(st, prop[0], prop[1], alo, ahi)
    else:
        st, u1 = next_uniform(st)
        sa = alo + u1 * (ahi - alo)
    ra = math.sqrt(sa)
    rlo = (m[c] + m[d]) ** 2
    rhi = (ra - m[a]) ** 2
    if ch[k, 4] == 0.0:
        st, sr = _draw_cauchy(st, prop[2], prop[3], rlo, rhi)
    else:
        st, u2 = next_uniform(st)
        sr = rlo + u2 * (rhi - rlo)
    rr = math.sqrt(sr)
    # R -> c d in the R frame, A -> a R in the A frame, Q -> b A in the Q frame
    q3 = pdk(rr, m[c], m[d])
    st, x, y, z = iso_dir(st)
    vc = (q3 * x, q3 * y, q3 * z, math.sqrt(m[c] ** 2 + q3 * q3))
    vd = (-q3 * x, -q3 * y, -q3 * z, math.sqrt(m[d] ** 2 + q3 * q3))
    q2 = pdk(ra, m[a], rr)
    st, x, y, z = iso_dir(st)
    va = (q2 * x, q2 * y, q2 * z, math.sqrt(m[a] ** 2 + q2 * q2))
    vr = (-q2 * x, -q2 * y, -q2 * z, math.sqrt(sr + q2 * q2))
    vc = boost_from_rest(vc, vr, rr)
    vd = boost_from_rest(vd, vr, rr)
    q1 = pdk(rs, m[b], ra)
    st, x, y, z = iso_dir(st)
    _put(pp, b, (q1 * x, q1 * y, q1 * z, math.sqrt(m[b] ** 2 + q1 * q1)))
    va_ = (-q1 * x, -q1 * y, -q1 * z, math.sqrt(sa + q1 * q1))
    _put(pp, a, boost_from_rest(va, va_, ra))
    _put(pp, c, boost_from_rest(vc, va_, ra))
    _put(pp, d, boost_from_rest(vd, va_, ra))
    g = _four_pion_ps_density(pp, s, m, ch, prop)
    jr, ji = four_pion_current(_row(pp, 0), _row(pp, 1), _row(pp, 2), _row(pp, 3), par)
    avg, _top = _nu_density(jr, ji, s, mt)
    w = avg * (mt2 - s) * inv / g if g < math.inf else 0.0
    return st, w, s, jr, ji


@njit(cache=True, inline="always")
def _nu_density(jr: tuple, ji: tuple, s: float, mt: float) -> tuple:
    """Average over the neutrino direction n (4-pion rest frame) and an upper bound of the
    unpolarised density rho(n) = P.V / M (V of currents.polarimeter, P = Q + N; equal to V^0 in
    the tau rest frame).  For a current with J^0 = 0 in this frame (the Novosibirsk current is
    transverse, J.Q = 0) and N = k (n, 1), k = (M^2 - s) / (2 sqrt s):
        rho(n) M = 2 k^2 |n.J|^2 + sqrt(s) k |J|^2 -+ 2 sqrt(s) k n.(Im J x Re J),
    so <rho> M = (2/3) k^2 |J|^2 + sqrt(s) k |J|^2 and rho M <= 2 k^2 L + sqrt(s) k |J|^2
    + 2 sqrt(s) k |Im J x Re J|, L the largest eigenvalue of Re J Re J^T + Im J Im J^T."""
    rs = math.sqrt(s)
    k = (mt * mt - s) / (2.0 * rs)
    rr = jr[0] * jr[0] + jr[1] * jr[1] + jr[2] * jr[2]
    ii = ji[0] * ji[0] + ji[1] * ji[1] + ji[2] * ji[2]
    ri = jr[0] * ji[0] + jr[1] * ji[1] + jr[2] * ji[2]
    j2 = rr + ii
    lam = 0.5 * j2 + math.sqrt(0.25 * (rr - ii) ** 2 + ri * ri)
    cx = ji[1] * jr[2] - ji[2] * jr[1]
    cy = ji[2] * jr[0] - ji[0] * jr[2]
    cz = ji[0] * jr[1] - ji[1] * jr[0]
    cr = math.sqrt(cx * cx + cy * cy + cz * cz)
    avg = (2.0 / 3.0 * k * k * j2 + rs * k * j2) / mt
    top = (2.0 * k * k * lam + rs * k * j2 + 2.0 * rs * k * cr) / mt
    return avg, top


@njit(cache=True, nogil=True)
def _finish_4pi(st: np.uint64, pp: np.ndarray, jr: tuple, ji: tuple, s: float, mt: float) -> tuple:
    """Stage 2: the neutrino direction n in the 4-pion rest frame from the exact density
    rho(n) = P.V / M by accept-reject against the bound of :func:`_nu_density` (acceptance
    > 1/3), then pp, J and nu are boosted to the tau rest frame (the 4-pion system moves
    along -n there) and h = V_vec / V^0 is computed.  Returns (state, nu, hx, hy, hz, over)
    with over = 1 if rho exceeded its bound (never expected)."""
    rs = math.sqrt(s)
    mt2 = mt * mt
    kq = (mt2 - s) / (2.0 * rs)
    _avg, top = _nu_density(jr, ji, s, mt)
    top *= 1.0 + 1e-9
    over = 0
    x, y, z = 0.0, 0.0, 1.0
    while True:
        st, x, y, z = iso_dir(st)
        nq = (kq * x, kq * y, kq * z, kq)
        v0, hx, hy, hz = polarimeter(jr, ji, nq)
        pq = (kq * x, kq * y, kq * z, rs + kq)  # the tau in this frame
        rho = (pq[3] * v0 - v0 * (pq[0] * hx + pq[1] * hy + pq[2] * hz)) / mt
        if rho > top:
            over = 1
        st, u = next_uniform(st)
        if u * top < rho:
            break
    kt = (mt2 - s) / (2.0 * mt)
    qq = (-kt * x, -kt * y, -kt * z, mt - kt)
    for j in range(4):
        _put(pp, j, boost_from_rest(_row(pp, j), qq, rs))
    jr_ = boost_from_rest(jr, qq, rs)
    ji_ = boost_from_rest(ji, qq, rs)
    nu = (kt * x, kt * y, kt * z, kt)
    v0, hx, hy, hz = polarimeter(jr_, ji_, nu)
    return st, nu, hx, hy, hz, over


@njit(cache=True, nogil=True)
def _pilot_4pi(
    n: int,
    seed: np.uint64,
    m: np.ndarray,
    mt: float,
    par: np.ndarray,
    tab: np.ndarray,
    ch: np.ndarray,
    prop: np.ndarray,
) -> tuple:
    """(stage-1 weights, s) of n trials (for the s table and the bound)."""
    out = np.empty(n)
    ss = np.empty(n)
    pp = np.empty((4, 4))
    for i in range(n):
        st = event_state(seed, i)
        st, w, s, _jr, _ji = _trial_4pi(st, m, mt, par, tab, ch, prop, pp)
        out[i] = w
        ss[i] = s
    return out, ss


@njit(cache=True, nogil=True)
def _k_4pi(
    n: int,
    seed: np.uint64,
    m: np.ndarray,
    mt: float,
    par: np.ndarray,
    tab: np.ndarray,
    ch: np.ndarray,
    prop: np.ndarray,
    wmax: float,
    stats: np.ndarray,
) -> tuple:
    """tau- -> 4 pi nu with the Novosibirsk current: stage 1 (:func:`_trial_4pi`) accept-reject
    of the 4-pion configuration against ``wmax``, stage 2 (:func:`_finish_4pi`) the neutrino
    direction.  stats: stage-1 trials, weights above a bound (either stage), largest stage-1
    weight."""
    p = np.empty((n, 5, 4))
    h = np.empty((n, 3))
    pp = np.empty((4, 4))
    trials = 0
    over = 0
    wtop = 0.0
    for i in range(n):
        st = event_state(seed, i)
        while True:
            trials += 1
            st, w, s, jr, ji = _trial_4pi(st, m, mt, par, tab, ch, prop, pp)
            if w > wmax:
                over += 1
            wtop = max(wtop, w)
            st, ok = _accept(st, w, wmax)
            if ok:
                break
        st, nu, hx, hy, hz, o2 = _finish_4pi(st, pp, jr, ji, s, mt)
        over += o2
        for j in range(4):
            for c in range(4):
                p[i, j, c] = pp[j, c]
        for c in range(4):
            p[i, 4, c] = nu[c]
        h[i, 0], h[i, 1], h[i, 2] = hx, hy, hz
    stats[0] = trials
    stats[1] = over
    stats[2] = wtop
    return p, h


# ---------------------------------------------------------------- flat n-body phase space
@njit(cache=True, nogil=True)
def _k_phsp(n: int, seed: np.uint64, m: np.ndarray, mt: float, wmax: float, stats: np.ndarray) -> tuple:
    """Flat n-body phase space by GENBOD (F. James, CERN 68-15): sorted uniforms give the
    intermediate masses, weight prod_j p(M_j; M_{j-1}, m_j) against the analytic bound
    ``wmax`` (:func:`_phsp_bound`), then sequential isotropic two-body decays.  h = 0."""
    k = len(m)
    p = np.empty((n, k, 4))
    h = np.zeros((n, 3))
    r = np.empty(k)
    im = np.empty(k)
    pd = np.empty(k)
    cum = np.empty(k)
    acc = 0.0
    for j in range(k):
        acc += m[j]
        cum[j] = acc
    te = mt - acc
    trials = 0
    for i in range(n):
        st = event_state(seed, i)
        while True:
            trials += 1
            r[0] = 0.0
            r[k - 1] = 1.0
            for j in range(1, k - 1):  # insertion sort of k - 2 uniforms
                st, u = next_uniform(st)
                jj = j
                while (jj > 1) and (r[jj - 1] > u):
                    r[jj] = r[jj - 1]
                    jj -= 1
                r[jj] = u
            w = 1.0
            for j in range(k):
                im[j] = r[j] * te + cum[j]
            for j in range(1, k):
                pd[j] = pdk(im[j], im[j - 1], m[j])
                w *= pd[j]
            st, ok = _accept(st, w, wmax)
            if ok:
                break
        # particles 0 and 1 back to back in the rest frame of im[1]
        st, dx, dy, dz = iso_dir(st)
        q = pd[1]
        p[i, 0, 0], p[i, 0, 1], p[i, 0, 2], p[i, 0, 3] = q * dx, q * dy, q * dz, math.sqrt(m[0] ** 2 + q * q)
        p[i, 1, 0], p[i, 1, 1], p[i, 1, 2], p[i, 1, 3] = (
            -q * dx,
            -q * dy,
            -q * dz,
            math.sqrt(m[1] ** 2 + q * q),
        )
        for j in range(2, k):
            # system 0..j-1 (mass im[j-1]) recoils against particle j in the rest frame of im[j]
            st, dx, dy, dz = iso_dir(st)
            q = pd[j]
            sysv = (q * dx, q * dy, q * dz, math.sqrt(im[j - 1] ** 2 + q * q))
            for l in range(j):
                b = boost_from_rest((p[i, l, 0], p[i, l, 1], p[i, l, 2], p[i, l, 3]), sysv, im[j - 1])
                p[i, l, 0], p[i, l, 1], p[i, l, 2], p[i, l, 3] = b[0], b[1], b[2], b[3]
            p[i, j, 0], p[i, j, 1], p[i, j, 2], p[i, j, 3] = (
                -q * dx,
                -q * dy,
                -q * dz,
                math.sqrt(m[j] ** 2 + q * q),
            )
    stats[0] = trials
    return p, h


def _phsp_bound(m: np.ndarray, mt: float) -> float:
    """GENBOD's maximum weight: prod_j p(te + cum_j; cum_{j-1}, m_j), te = M - sum m (each factor
    is maximal at its largest parent / smallest sub-system mass; James, CERN 68-15)."""
    cum = np.cumsum(m)
    te = mt - cum[-1]
    w = 1.0
    for j in range(1, len(m)):
        w *= pdk(te + cum[j], cum[j - 1], m[j])
    return float(w) if len(m) > 2 else 1.0


# ====================================================================== bounds and dispatch
_PILOT_SEED = 0x5EED_7A0
_PILOT_N = 1_000_000
#: safety factor on the maximum weight of the pilot run (3-pion channels)
_PILOT_SAFETY = 1.3
#: safety factor on the maximum over a 20001-point scan of a smooth 1-D weight (vector channels)
_SCAN_SAFETY = 1.05


def _cauchy_prop(m0: float, g0: float, smin: float, smax: float) -> np.ndarray:
    mg = m0 * g0
    return np.array([m0, g0, math.atan((smin - m0 * m0) / mg), math.atan((smax - m0 * m0) / mg)])


def _vector_setup(channel: TauChannel, masses: np.ndarray, m_tau: float) -> tuple:
    res = RHO_FF if channel.model == "RHO_KS" else KSTAR_FF
    m1, m2 = float(masses[0]), float(masses[1])
    prop = _cauchy_prop(res[0, 0], res[0, 1], (m1 + m2) ** 2, m_tau * m_tau)
    return res, prop


def _a1_setup(channel: TauChannel, masses: np.ndarray) -> tuple:
    beta, mr, gr, mr2, gr2, ma1, ga1 = A1_PARAMS
    odd = 2 if channel.name == "a1_3prong" else 0
    m_same = float(masses[0] if odd == 2 else masses[1])
    m_odd = float(masses[odd])
    par = np.array([beta, mr, gr, mr2, gr2, ma1, ga1, m_same, m_odd, float(odd)])
    return par


def _fourpi_par(channel: TauChannel, masses: np.ndarray, omega: bool = False) -> np.ndarray:
    """Parameter vector of :func:`fastsim.tau.currents.four_pion_current` (layout in currents.py).

    ``omega`` switches the omega pi part on.  The DEC line "pi- pi- pi+ pi0 nu_tau" is the
    non-omega part (DECAY_BELLE2.DEC lists "pi- omega nu_tau" separately, reference/tau.md
    2.7), so the channel uses omega=False: the omega pi amplitude and its interference with
    a1 pi are dropped (the pi- 3 pi0 mode has no omega pi part: omega -> 3 pi0 is forbidden)."""
    fp = FOURPI_PARAMS
    mode = 0.0 if channel.name == "4pi_3prong" else 1.0
    m_pic = float(masses[0])  # the pi- is product 0 in both modes
    m_sig = m_pic if mode == 0.0 else float(masses[1])  # sigma -> pi+ pi- or pi0 pi0
    mr, gr = fp["m_rho"], fp["g_rho"]
    mr2 = mr * mr
    gm = (mr2 - 4.0 * m_pic**2) ** 1.5 / mr
    h_m = float(novo_h(mr2, m_pic))
    hp_m = float(novo_hprime(mr2, m_pic))
    d0 = (float(novo_h(0.0, m_pic)) - h_m + mr2 * hp_m) / gm
    par = np.zeros(NOVO_NPAR)
    par[:] = [
        mode,
        1.0 if omega else 0.0,
        m_pic,
        m_sig,
        fp["m_a1"],
        mr,
        gr,
        fp["m_sigma"],
        fp["g_sigma"],
        fp["sigma_amp"] * math.cos(fp["sigma_phase"]),
        fp["sigma_amp"] * math.sin(fp["sigma_phase"]),
        fp["m_omega"],
        fp["g_omega"],
        fp["omega_amp"] * math.cos(fp["omega_phase"]),
        fp["omega_amp"] * math.sin(fp["omega_phase"]),
        fp["lambda2"],
        gm,
        h_m,
        hp_m,
        mr2 + mr * gr * d0,
    ]
    return par


#: multichannel proposal of the 4-pion phase space (products 0..3 as in the channel): rows
#: (b, a, c, d, type) for Q -> b A, A -> a R, R -> c d; type 0 = a1 and rho Cauchy (one row per
#: a1 -> rho pi term of the current), type 1 = uniform in s_A and s_R (covers the sigma terms)
_FOURPI_CHANNELS = {
    "4pi_3prong": [
        (0, 2, 1, 3),
        (1, 2, 0, 3),
        (0, 1, 2, 3),
        (1, 0, 2, 3),
        (3, 1, 0, 2),
        (3, 0, 1, 2),
        (0, 3, 1, 2),
    ],
    "4pi_1prong": [
        (2, 3, 0, 1),
        (2, 1, 0, 3),
        (3, 2, 0, 1),
        (3, 1, 0, 2),
        (1, 2, 0, 3),
        (1, 3, 0, 2),
        (0, 1, 2, 3),
    ],
}
#: probability of the uniform channel (the rest is shared equally by the a1 rho channels)
_FOURPI_FLAT = 0.2


def _fourpi_setup(channel: TauChannel) -> tuple:
    rows = _FOURPI_CHANNELS[channel.name]
    nres = len(rows) - 1
    alpha = [(1.0 - _FOURPI_FLAT) / nres] * nres + [_FOURPI_FLAT]
    ch = np.array([[*r, 0.0 if k < nres else 1.0, 0.0] for k, r in enumerate(rows)])
    ch[:, 5] = np.cumsum(alpha)
    ch[-1, 5] = 1.0
    fp = FOURPI_PARAMS
    prop = np.array([fp["m_a1"], fp["g_a1"], fp["m_rho"], fp["g_rho"]])
    return ch, prop


_S_BINS = 48
_S_FLOOR = 0.1


def _s_table(w: np.ndarray, s: np.ndarray, smin: float, smax: float) -> np.ndarray:
    """Piecewise-constant proposal for s from a weighted pilot: 48 equal bins with probability
    0.9 x (share of the pilot weight) + 0.1 / 48 (a floor, so no bin is empty)."""
    edges = np.linspace(smin, smax, _S_BINS + 1)
    f, _ = np.histogram(s, bins=edges, weights=w)
    prob = (1.0 - _S_FLOOR) * f / f.sum() + _S_FLOOR / _S_BINS
    return np.vstack([edges, np.concatenate([[0.0], np.cumsum(prob)])])


@functools.lru_cache(maxsize=128)
def _setup_cached(name: str, masses: tuple[float, ...], m_tau: float) -> tuple:
    """(bound, proposal arrays...) of a channel, computed once per (channel, masses, m_tau)
    and user (:mod:`fastsim.disk_cache`: the pilot runs cost seconds in every worker)."""
    from fastsim.disk_cache import cached_float_and_arrays

    channel = CHANNELS.get(name)
    key = repr((name, masses, m_tau, channel))
    return cached_float_and_arrays("tau_setup", key, lambda: _setup_compute(name, masses, m_tau))


def _setup_compute(name: str, masses: tuple[float, ...], m_tau: float) -> tuple:
    """The set-up behind :func:`_setup_cached`: the weight bound and the proposal arrays."""
    channel = CHANNELS.get(name) or _phsp_channel(tuple(int(x) for x in name[5:].split()))
    m = np.array(masses)
    if channel.model in ("RHO_KS", "KSTAR"):
        res, prop = _vector_setup(channel, m, m_tau)
        u = (np.arange(20001) + 0.5) / 20001
        return _SCAN_SAFETY * float(_vector_pilot(u, m[0], m[1], m_tau, res, prop).max()), res, prop
    if channel.model == "A1_KS":
        par = _a1_setup(channel, m)
        smin, smax = float(m[:3].sum()) ** 2, m_tau * m_tau
        flat = np.array([[smin, smax], [0.0, 1.0]])
        w, s = _pilot_3pi(_PILOT_N // 2, np.uint64(_PILOT_SEED + 1), m[:3].copy(), m_tau, par, flat)
        tab = _s_table(w, s, smin, smax)
        w, s = _pilot_3pi(_PILOT_N, np.uint64(_PILOT_SEED), m[:3].copy(), m_tau, par, tab)
        return _PILOT_SAFETY * float(w.max()), par, tab
    if channel.model == "FOURPI_NOVOSIBIRSK":
        par = _fourpi_par(channel, m)
        ch, prop = _fourpi_setup(channel)
        smin, smax = float(m[:4].sum()) ** 2, m_tau * m_tau
        flat = np.array([[smin, smax], [0.0, 1.0]])
        mp = m[:4].copy()
        w, s = _pilot_4pi(_PILOT_N // 2, np.uint64(_PILOT_SEED + 1), mp, m_tau, par, flat, ch, prop)
        tab = _s_table(w, s, smin, smax)
        w, s = _pilot_4pi(_PILOT_N, np.uint64(_PILOT_SEED), mp, m_tau, par, tab, ch, prop)
        return _PILOT_SAFETY * float(w.max()), par, tab, ch, prop
    if channel.model == "OMEGA_PI":
        smin, smax = float(m[0] + m[1]) ** 2, m_tau * m_tau
        flat = np.array([[smin, smax], [0.0, 1.0]])
        w, s = _pilot_omega_pi(_PILOT_N // 4, np.uint64(_PILOT_SEED + 1), m, m_tau, OMEGA_PI_FF, flat)
        tab = _s_table(w, s, smin, smax)
        w, s = _pilot_omega_pi(_PILOT_N // 2, np.uint64(_PILOT_SEED), m, m_tau, OMEGA_PI_FF, tab)
        return _PILOT_SAFETY * float(w.max()), tab
    if channel.model == "PHSP":
        return (_phsp_bound(m, m_tau),)
    if channel.model == "TAULNUNU":
        mt2, ml2 = m_tau * m_tau, float(m[0]) ** 2
        ss = (mt2 + ml2 + math.sqrt((mt2 + ml2) ** 2 + 12.0 * mt2 * ml2)) / 6.0
        return (float(lnunu_s_density(np.array(ss), float(m[0]), m_tau)),)  # exact maximum
    return (math.nan,)  # exact sampling, no bound needed


def lnunu_s_density(s: np.ndarray, m_l: float, m_tau: float) -> np.ndarray:
    """The density in s = m^2(l nu_tau) that :func:`_k_lnunu` samples: (M^2 - s)^2 (s - m^2)^2 / s
    (|M|^2 x phase space; its integral over [m^2, M^2] is proportional to the width)."""
    s = np.asarray(s, dtype=np.float64)
    return (m_tau**2 - s) ** 2 * (s - m_l**2) ** 2 / s


def weight_bound(channel: TauChannel, masses: np.ndarray, m_tau: float) -> float:
    """The accept-reject bound used for ``channel`` (nan for channels sampled exactly; for
    TAULNUNU the exact maximum of :func:`lnunu_s_density`)."""
    return _setup_cached(channel.name, tuple(float(x) for x in masses), float(m_tau))[0]


def _seed(seed: int, channel: TauChannel) -> np.uint64:
    if not 0 <= int(seed) < 2**63:
        msg = f"seed must be an int in [0, 2**63), got {seed}"
        raise ValueError(msg)
    salt = zlib.crc32(channel.name.encode())
    return np.uint64((int(seed) ^ (salt * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF)


def generate_with_stats(
    channel: TauChannel, n: int, seed: int, masses: np.ndarray, m_tau: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`generate_decays` plus the accept-reject statistics (trials, number of trial
    weights above the bound, largest trial weight) as a float array of 3."""
    masses = np.ascontiguousarray(masses, dtype=np.float64)
    if masses.shape != (len(channel.products),):
        msg = f"{channel.name}: expected {len(channel.products)} masses, got shape {masses.shape}"
        raise ValueError(msg)
    if masses.sum() >= m_tau:
        msg = f"{channel.name}: products heavier than the tau"
        raise ValueError(msg)
    n = int(n)
    sd = _seed(seed, channel)
    stats = np.zeros(3)
    mt = float(m_tau)
    model = channel.model
    if model == "TAULNUNU":
        p, h = _k_lnunu(n, sd, float(masses[0]), mt, stats)
    elif model == "TAUSCALARNU":
        p, h = _k_scalar(n, sd, float(masses[0]), mt, stats)
    elif model in ("RHO_KS", "KSTAR"):
        wmax, res, prop = _setup_cached(channel.name, tuple(masses.tolist()), mt)
        p, h = _k_vector(n, sd, float(masses[0]), float(masses[1]), mt, res, prop, wmax, stats)
    elif model == "A1_KS":
        wmax, par, tab = _setup_cached(channel.name, tuple(masses.tolist()), mt)
        p, h = _k_3pi(n, sd, masses[:3].copy(), mt, par, tab, wmax, stats)
    elif model == "FOURPI_NOVOSIBIRSK":
        wmax, par, tab, ch, prop = _setup_cached(channel.name, tuple(masses.tolist()), mt)
        p, h = _k_4pi(n, sd, masses[:4].copy(), mt, par, tab, ch, prop, wmax, stats)
    elif model == "OMEGA_PI":
        wmax, tab = _setup_cached(channel.name, tuple(masses.tolist()), mt)
        p, h = _k_omega_pi(n, sd, masses, mt, OMEGA_PI_FF, tab, wmax, stats)
    elif model == "PHSP":
        p, h = _k_phsp(n, sd, masses, mt, weight_bound(channel, masses, mt), stats)
    else:
        msg = f"unknown tau channel model {model!r}"
        raise ValueError(msg)
    return p, h, stats


def generate_decays(
    channel: TauChannel, n: int, seed: int, masses: np.ndarray, m_tau: float
) -> tuple[np.ndarray, np.ndarray]:
    """n unpolarised tau- decays at rest in ``channel``.

    ``masses`` (k,) GeV of ``channel.products``.  Returns p (n, k, 4) four-momenta (px, py, pz,
    E) in the tau- rest frame, summing to (0, 0, 0, m_tau), and h (n, 3), the polarimeter vector
    of each decay (decay density ~ 1 + h.s for the tau- spin s).  Deterministic in ``seed``
    (int in [0, 2**63)): event i uses its own random stream, so it is the same for any n."""
    p, h, _ = generate_with_stats(channel, n, seed, masses, m_tau)
    return p, h
