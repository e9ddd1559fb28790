"""e+e- -> mu+ mu- (gamma): one-photon (+ Z) annihilation from helicity amplitudes,
muon and electron masses kept, with ISR (Kuraev-Fadin) and the beam-energy spread.

The analytic Born cross section of pure QED, used by the tests as the independent check,
dsigma/dcos(theta*) = (pi alpha^2 beta / (2 s)) [1 + cos^2 theta* + (1 - beta^2) sin^2 theta*],
sigma = (4 pi alpha^2 / 3 s) beta (3 - beta^2) / 2 (Peskin & Schroeder eq. 5.12 and
problem 5.2; PDG review "Cross-section formulae for specific processes", massless limit)
with alpha = alpha(0).  Vacuum polarisation (``vacuum_polarization``, on by default): the
s-channel photon exchange is divided by 1 - Pi(s) (complex), i.e. alpha(0) -> alpha(s) in the
photon propagator c_gamma^2 / s only (the Z part unchanged), at the hard s' = s (1 - x) of
every event, in the ISR envelope and in the multichannel ``me2_mumu`` path alike; Pi(s):
leptons exact at one loop, hadrons Burkhardt & Pietrzyk, Phys. Lett. B356 (1995) 398
(:mod:`fastsim.generators.vacuum_polarization`; 1/|1 - Pi|^2 = 1.0769 at 10.58 GeV).  The
tests comparing with the alpha(0) formula above switch it off.  The Z exchange (on by
default, ``z_exchange``) changes sigma by < 1e-4 at 10.58 GeV and gives the
forward-backward asymmetry (about -0.8 %).  Hard-photon emission is the separate process
``ee_mumugamma``; ISR photons are collinear (structure function).

Fast path (default; ``_points`` below).  With massless electrons (the helicity-flip terms
are O(m_e^2/s) ~ 1e-9) the exact tree-level |M|^2 of gamma + Z exchange with massive
muons is, per electron chirality i in {L, R} and muon chirality j,
G_ij = c_gamma^2 / s + z_i z_j / (s - M_Z^2 + i M_Z Gamma_Z)   (same propagators as
helicity.schannel), and with c = cos(theta*) of the mu- to the e- direction,
  (1/4) sum |M|^2 = s^2/16 [A (1 + c)^2 + B (1 - c)^2 + D (1 - c^2)],
  A = sum_i |G_ii (1 + beta) + G_i~i (1 - beta)|^2,  B = sum_i |G_ii (1 - beta) + G_i~i (1 + beta)|^2,
  D = 2 (1 - beta^2) sum_i |G_iL + G_iR|^2
(helicity amplitudes of massive fermions: the opposite-helicity muon pair carries
d^1_{+-1,+-1} = (1 +- c)/2 with the chiral weights sqrt(E +- p), the equal-helicity pair
d^1_{+-1,0} ~ sin theta with the mass; e.g. Hagiwara, Peccei, Zeppenfeld, Hikasa,
Nucl. Phys. B282 (1987) 253; checked against the helicity kernel ``me2_mumu`` in the
tests).  sigma_0 = int dc (1/4 sum|M|^2) beta / (32 pi s beta_e).  The event then needs
no multichannel machinery: x = 1 - s'/s is drawn from a tabulated envelope of
F(x, s0) sigma_0(s0 (1 - x)) (u = (x/xmax)^beta_ISR, ~4096 bins, piecewise constant) with
the one-dimensional weight w = F(x) sigma_0(s (1 - x)) / g(x) (per-event s with the
energy spread) that the hit-or-miss step unweights with ~99 % efficiency; the angle is
drawn exactly from dsigma/dc (a mixture of the three positive shapes, each by inverse
CDF) and phi uniformly.  With ISR the cos_theta_max cut is applied in the CM frame after
the recoil boost (angle drawn on [-1, 1]); without ISR it is built into the angular
sampling.  ``fast = False`` selects the generic multichannel path with ``me2_mumu``.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim import kinematics
from fastsim.constants import GEV2_TO_NB
from fastsim.generators.ee_mumu_born import born_sigma_nb  # noqa: F401  (re-exported)
from fastsim.generators.electroweak import ew_couplings, lepton_mass
from fastsim.generators.helicity import (
    bar,
    beams_cm,
    current,
    dot,
    p4t,
    schannel,
    uspinor,
    vspinor,
)
from fastsim.generators.phase_space import Channel, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
from fastsim.generators.vacuum_polarization import pi_gamma
from fastsim.schema import Field

MUON = 13


@njit(cache=True, nogil=True)
def me2_mumu(
    p: np.ndarray,
    M: np.ndarray,
    m_e: float,
    ce: float,
    zl: float,
    zr: float,
    mz: float,
    wz: float,
    z_on: bool,
    vp: np.ndarray | None = None,
) -> np.ndarray:
    """Spin-averaged |M|^2 of e-(k1) e+(k2) -> mu-(p[:,0]) mu+(p[:,1]) (gamma + Z).

    ``vp`` (n,) complex, if given, multiplies the photon exchange: 1 / (1 - Pi(M^2))."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        q = (M[i], 0.0, 0.0, 0.0)
        a = p4t(p[i, 0])
        b = p4t(p[i, 1])
        tot = 0.0
        for h1 in range(-1, 2, 2):
            u1 = uspinor(k1[0], k1[1], k1[2], k1[3], h1)
            for h2 in range(-1, 2, 2):
                vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], h2))
                eg, ez = schannel(vb2, u1, q, ce, zl, zr, mz, wz, z_on)
                for h3 in range(-1, 2, 2):
                    ub3 = bar(uspinor(a[0], a[1], a[2], a[3], h3))
                    for h4 in range(-1, 2, 2):
                        v4 = vspinor(b[0], b[1], b[2], b[3], h4)
                        amp = dot(current(ub3, v4, ce, ce), eg)
                        if vp is not None:
                            amp = amp * vp[i]
                        if z_on:
                            amp += dot(current(ub3, v4, zl, zr), ez)
                        tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


def chiral_g(
    s: np.ndarray,
    ew: Any,
    z_on: bool,
    vp: bool | np.ndarray = False,
    final: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """G_ij (2, 2, n) complex: photon + Z s-channel factors, i = electron, j = muon chirality (L, R).

    ``vp``: the photon term c_gamma^2 / s is divided by 1 - Pi(s) (alpha(0) -> alpha(s)); an
    array is Pi(s) already evaluated (one evaluation for several final states).
    ``final``: the final fermion's couplings (e Q_f, Z left, Z right) if not the muon's."""
    s = np.asarray(s, dtype=np.float64)
    zc = (ew.z_l, ew.z_r)
    c_f, zf_l, zf_r = final if final is not None else (ew.c_gamma, ew.z_l, ew.z_r)
    zf = (zf_l, zf_r)
    bw = 1.0 / (s - ew.mz**2 + 1j * ew.mz * ew.wz) if z_on else np.zeros_like(s)
    photon = ew.c_gamma * c_f / s
    if isinstance(vp, np.ndarray):
        photon = photon / (1.0 - vp)
    elif vp:
        photon = photon / (1.0 - pi_gamma(s).reshape(s.shape))
    g = np.empty((2, 2, *s.shape), np.complex128)
    for i in range(2):
        for j in range(2):
            g[i, j] = photon + zc[i] * zf[j] * bw
    return g


def angular_coefs(
    s: np.ndarray,
    m_mu: float,
    ew: Any,
    z_on: bool,
    vp: bool | np.ndarray = False,
    final: tuple | None = None,
) -> tuple:
    """(A, B, D, beta) with (1/4) sum |M|^2 = s^2/16 [A (1+c)^2 + B (1-c)^2 + D (1-c^2)].
    ``final``: couplings of another final fermion (:func:`chiral_g`), ``m_mu`` its mass."""
    s = np.asarray(s, dtype=np.float64)
    b = np.sqrt(np.clip(1.0 - 4.0 * m_mu**2 / s, 0.0, None))
    g = chiral_g(s, ew, z_on, vp, final)
    a = np.zeros_like(s)
    bb = np.zeros_like(s)
    d = np.zeros_like(s)
    for i in range(2):
        same, flip = g[i, i], g[i, 1 - i]
        a += np.abs(same * (1 + b) + flip * (1 - b)) ** 2
        bb += np.abs(same * (1 - b) + flip * (1 + b)) ** 2
        d += 2 * (1 - b * b) * np.abs(g[i, 0] + g[i, 1]) ** 2
    return a, bb, d, b


def me2_analytic(
    s: np.ndarray, c: np.ndarray, m_mu: float, ew: Any, z_on: bool, vp: bool = False
) -> np.ndarray:
    """Spin-averaged |M|^2 (massless electrons) at s and cos(theta*) c of the mu-."""
    a, b, d, _ = angular_coefs(s, m_mu, ew, z_on, vp)
    return s * s / 16 * (a * (1 + c) ** 2 + b * (1 - c) ** 2 + d * (1 - c * c))


def sigma0_nb(
    s: np.ndarray,
    m_mu: float,
    m_e: float,
    ew: Any,
    z_on: bool,
    cos_max: float = 1.0,
    vp: bool | np.ndarray = False,
    final: tuple | None = None,
) -> tuple:
    """Born sigma (nb) of gamma + Z for |cos theta*| < cos_max, and (A, B, D, beta) at s
    (``final``: another final fermion's couplings, one colour)."""
    a, b, d, beta = angular_coefs(s, m_mu, ew, z_on, vp, final)
    cm = cos_max
    i_pm = 2 * cm + 2 * cm**3 / 3  # int (1 +- c)^2 dc
    i_0 = 2 * cm - 2 * cm**3 / 3  # int (1 - c^2) dc
    beta_e = np.sqrt(np.clip(1.0 - 4.0 * m_e**2 / s, 0.0, None))
    # sigma = int dc |M|^2 / (2 s beta_e) * beta / (16 pi)  (dPhi_2 = beta/(16 pi) dc after phi)
    sig = s / 16 * ((a + b) * i_pm + d * i_0) * beta / (32 * np.pi * beta_e) * GEV2_TO_NB
    return sig, (a, b, d, beta)


def sample_cos(
    a: np.ndarray, b: np.ndarray, d: np.ndarray, cm: float, rng: np.random.Generator
) -> np.ndarray:
    """cos theta* from A (1+c)^2 + B (1-c)^2 + D (1-c^2) on [-cm, cm], exactly (inverse CDFs)."""
    n = len(a)
    i_pm = 2 * cm + 2 * cm**3 / 3
    i_0 = 2 * cm - 2 * cm**3 / 3
    pa, pb, pd = a * i_pm, b * i_pm, d * i_0
    r = rng.random(n) * (pa + pb + pd)
    u = rng.random(n)
    lo3, hi3 = (1 - cm) ** 3, (1 + cm) ** 3
    c_sq = np.cbrt(lo3 + u * (hi3 - lo3)) - 1.0  # density (1 + c)^2
    f_lo, f_hi = (2 - 3 * cm + cm**3) / 4, (2 + 3 * cm - cm**3) / 4  # CDF of (3/4)(1 - c^2)
    up = f_lo + u * (f_hi - f_lo)
    c_0 = 2.0 * np.cos((np.arccos(np.clip(1.0 - 2.0 * up, -1.0, 1.0)) + 4.0 * np.pi) / 3.0)
    c = np.where(r < pa, c_sq, np.where(r < pa + pb, -c_sq, c_0))
    return np.clip(c, -cm, cm)


class EEMuMuBorn(MEProcess):
    name = "ee_mumu"
    doc = "e+e- -> mu+mu- (QED + Z, masses kept) with ISR, boosted to the lab"
    params: ClassVar[dict[str, Field]] = {
        "cos_theta_max": Field(
            float,
            1.0,
            "cut on |cos theta*| of both muons in the CM frame",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "z_exchange": Field(bool, True, "include the s-channel Z"),
        "vacuum_polarization": Field(
            bool,
            True,
            "running alpha(s) = alpha(0)/(1 - Pi(s)) in the s-channel photon (leptons + hadrons, "
            "Burkhardt-Pietrzyk 1995); false: alpha(0)",
        ),
        **COMMON_PARAMS,
    }
    TRAIN_POINTS = 20_000
    TRAIN_ITER = 1
    #: PDG id of the produced lepton (the tau-pair process ``ee_tautau`` sets 15)
    lepton: ClassVar[int] = MUON

    def setup(self) -> None:
        self.m_l = lepton_mass(self.lepton, self.particles)
        self.final_ids = np.array([self.lepton, -self.lepton])
        self.final_masses = np.array([self.m_l, self.m_l])
        self.cos_max = self.config["cos_theta_max"]
        self.ew = ew_couplings()
        self.z_on = bool(self.config["z_exchange"])
        self.vp_on = bool(self.config["vacuum_polarization"])
        tree = Node(children=(Node(leaf=0), Node(leaf=1)))
        self.phase_space = MultiChannel([Channel(tree, self.final_masses)])
        self._envelope: tuple | None = None

    fast: bool = True
    ENV_BINS: ClassVar[int] = 4096

    def _x_envelope(self) -> tuple:
        """Piecewise-constant density table in u = (x/xmax)^beta_ISR: (edges, cdf, density).

        Edges: uniform in u, plus edges geometric in s' - s'_min near the threshold (radiative
        return), where sigma_0 rises as beta_mu within a narrow range of u.  Each bin takes the
        largest of 9 evaluations of the integrand (x 1.01)."""
        if self._envelope is None:
            rad, xmax, b = self.radiator, self.xmax, self.radiator.beta
            s0 = self.beams.sqrt_s**2
            cs = self._cos_sample()

            def f_of_u(uu: np.ndarray) -> np.ndarray:
                x = xmax * uu ** (1.0 / b)
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    # F(x) dx = [norm + (F - b x^(b-1) norm) x^(1-b)/b] xmax^b du
                    f = rad.norm + (rad.F(x) - b * x ** (b - 1) * rad.norm) * x ** (1 - b) / b
                    f = np.where(x > 0, f, rad.norm) * xmax**b
                    sig, _ = self.born(s0 * (1 - x), cs)
                    out = f * sig
                return np.where(np.isfinite(out), out, 0.0)

            smin = s0 * (1 - xmax)
            t = np.geomspace(1e-9, s0 / smin, self.ENV_BINS // 2)
            x_thr = np.clip(1 - smin * (1 + t) / s0, 0.0, xmax)
            edges = np.unique(
                np.concatenate([np.linspace(0.0, 1.0, self.ENV_BINS // 2 + 1), (x_thr / xmax) ** b])
            )
            frac = np.linspace(0.0, 1.0, 9)
            pts = edges[:-1, None] + np.diff(edges)[:, None] * frac
            fb = f_of_u(pts.ravel()).reshape(pts.shape).max(axis=1) * 1.01 + 1e-300
            cdf = np.concatenate([[0.0], np.cumsum(fb * np.diff(edges))])
            self._envelope = (edges, cdf / cdf[-1], fb / cdf[-1])
        return self._envelope

    def _cos_sample(self) -> float:
        return self.cos_max if not self.isr_on else 1.0

    def _points(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if not self.fast:
            return super()._points(n, rng)
        her, ler = self.beams.sample(n, rng)
        s = kinematics.invariant_mass2(her + ler)
        cs = self._cos_sample()
        if self.isr_on:
            edges, cdf, dens_u = self._x_envelope()
            r = rng.random(n)
            k = np.minimum(np.searchsorted(cdf, r, side="right") - 1, len(dens_u) - 1)
            u = edges[k] + (r - cdf[k]) / dens_u[k]
            u = np.clip(u, 1e-300, 1.0)
            b = self.radiator.beta
            x = self.xmax * u ** (1.0 / b)
            # density in x: g(u) du/dx = g(u) b x^(b-1) / xmax^b
            w_isr = self.radiator.F(x) * self.xmax**b / (dens_u[k] * b * x ** (b - 1))
            z1, z2 = self.radiator.split(x, rng)
        else:
            x = np.zeros(n)
            w_isr = np.ones(n)
            z1 = z2 = np.ones(n)
        sp = s * (1 - x)
        sig, (ca, cb, cd, beta) = self.born(sp, cs, rng)
        c = sample_cos(ca, cb, cd, cs, rng)
        phi = 2 * np.pi * rng.random(n)
        M = np.sqrt(sp)
        pst = 0.5 * M * beta
        st = np.sqrt(np.maximum(1 - c * c, 0.0))
        p = np.empty((n, 2, 4))
        p[:, 0, 0] = pst * st * np.cos(phi)
        p[:, 0, 1] = pst * st * np.sin(phi)
        p[:, 0, 2] = pst * c
        p[:, :, 3] = 0.5 * M[:, None]
        p[:, 1, :3] = -p[:, 0, :3]
        if self.isr_on:
            # boost along z to the CM frame: gamma = (z1 + z2)/(2 sqrt(z1 z2)), gamma beta = (z1 - z2)/(...)
            rz = 0.5 / np.sqrt(z1 * z2)
            g, gb = ((z1 + z2) * rz)[:, None], ((z1 - z2) * rz)[:, None]
            pz, e = p[:, :, 2].copy(), p[:, :, 3].copy()
            p[:, :, 2] = g * pz + gb * e
            p[:, :, 3] = g * e + gb * pz
        w = sig * w_isr
        if self.cos_max < 1.0 and self.isr_on:
            w = w * self.cut(p)
        w = np.where(np.isfinite(w), w, 0.0)
        return {
            "her": her,
            "ler": ler,
            "s": s,
            "z1": z1,
            "z2": z2,
            "p_cm": p,
            "w": w,
            "dens": np.ones((n, 1)),
            **self.born_extra,
        }

    #: per-point arrays :meth:`born` adds to the points (``ee_qqbar``: the flavour)
    born_extra: ClassVar[dict[str, np.ndarray]] = {}

    def born(self, sp: np.ndarray, cos_max: float, rng: np.random.Generator | None = None) -> tuple:
        """Born sigma (nb) at s' and the angular coefficients (A, B, D, beta) of the events'
        final state (:func:`sigma0_nb`); ``rng`` is given when events are drawn (a process
        with several final states picks one per event with it)."""
        return sigma0_nb(sp, self.m_l, self.m_e, self.ew, self.z_on, cos_max, self.vp_on)

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        ew = self.ew
        vp = self.photon_vp(M * M) if self.vp_on else None
        return me2_mumu(
            np.ascontiguousarray(p), M, self.m_e, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, self.z_on, vp
        )

    def photon_vp(self, s: np.ndarray) -> np.ndarray:
        """1 / (1 - Pi(s)) (n,) complex multiplying the photon exchange (1 where VP is off)."""
        s = np.asarray(s, dtype=np.float64)
        if not self.vp_on:
            return np.ones(s.shape, np.complex128)
        return (1.0 / (1.0 - pi_gamma(s))).reshape(s.shape)

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        if self.cos_max >= 1.0:
            return np.ones(len(p_cm), bool)
        c = p_cm[:, :, 2] / np.linalg.norm(p_cm[:, :, :3], axis=2)
        return np.all(np.abs(c) < self.cos_max, axis=1)

    def describe(self) -> dict[str, Any]:
        return {
            **self.describe_common(),
            "z_exchange": self.z_on,
            "vacuum_polarization": self.vp_on,
            "alpha_em": "alpha(0)/(1 - Pi(s)) in the photon exchange" if self.vp_on else "alpha(0)",
            "sin2_theta_w_onshell": self.ew.sw2,
            "sampling": "analytic Born + tabulated ISR envelope" if self.fast else "multichannel",
        }
