"""Radiative Bhabha scattering e+e- -> e+ e- gamma at tree level (QED, electron mass kept):
the background of the single-photon (mono-photon, invisible dark photon) search when both
final e+- escape down the beam pipes or into gaps.

Final state (``final_ids`` order): e-(p1) e+(p2) gamma(k); beams e-(k1) along +z, e+(k2).

Amplitude.  All 8 tree diagrams: the two Bhabha topologies (t-channel photon between the e-
line ubar(p1) ... u(k1) and the e+ line vbar(k2) ... v(p2); s-channel photon between the
annihilating beams vbar(k2) ... u(k1) and the produced pair ubar(p1) ... v(p2)), each with the
real photon on either fermion line before or after the exchanged-photon vertex.  The two
topologies ("pairings" of the rows ubar(p1), vbar(k2) with the columns u(k1), v(p2)) enter with
the relative minus sign of Fermi statistics (the sign of the t- and s-channel Bhabha
amplitudes).  Built from :mod:`fastsim.generators.helicity` (the line with two photons is
``_line2``, the pairing bookkeeping that of :mod:`fastsim.generators.ee_eell`), summed over
the 2^4 lepton and 2 photon helicities; photon polarisations are the helicity vectors (the
Ward identity M(eps -> k) = 0 holds line by line and is tested).

Electron mass.  In the single-photon configuration one e+- is scattered by a quasi-real
photon (|t| down to |t|_min = m_e^2 x^2 / (1 - x), x the energy fraction it loses) at angles
~ m_e/E from its beam, where the massless formulas diverge and the helicity-flip amplitudes
matter.  The mass is kept in spinors, propagators and kinematics; spinors of particles close to
-z use the cancellation-free two-component spinor ``helicity.chi_collinear`` (p + p_z = p_T^2 / (p - p_z)) and
sqrt(E - |p|) = m / sqrt(E + |p|) (as in ``ee_eell``).  The gauge cancellation of the
quasi-real photon (J^mu ~ (k1 + p1)^mu, whose contraction with the Compton tensor is
O(p_T / E) of the individual terms) costs ~ log10(E / sqrt|t|) ~ 5 digits at |t|_min: double
precision leaves ~ 1e-10 relative at |t| ~ 1e-9 GeV^2 and ~ 1e-8 at |t| ~ 1e-11 GeV^2, checked in
tests/test_ee_eegamma.py against a 50-digit ``decimal`` evaluation with Dirac matrices and a
different spinor basis.  The unweighting efficiency is low (0.4-2 % with both electrons lost):
the peripheral channels are not shaped to that cut.

Z exchange is neglected: at sqrt(s) = 10.58 GeV the s-channel Z interference is
O(s / M_Z^2) ~ 1.3 % of the s-channel diagrams, which are < 1e-3 of the cross section in the
peripheral (single-photon) region, and in the t-channel it is O(|t| / M_Z^2).

Phase space (Kleiss-Pittau ``MultiChannel``, hep-ph/9405257):
  * ``PeripheralChannel`` (one per spectator e- or e+, i.e. per t-channel peak): the spectator's
    |t| log-uniform between its kinematic limits |t|_min ~ m_e^2 x^2 and |t|_max (the 1/|t| of
    the quasi-real photon), the mass s_X of the recoiling (e gamma) system with density
    1/(s_X - m_e^2) (final-state collinear and soft peaks) or 1/(s_X - m_e^2 + s_c)^2 (the
    quasi-real Compton spectrum, s_c ~ E_min sqrt(s) (1 - c_max)), the photon direction in the X
    rest frame isotropic or with density 1/(a - c) + 1/(a + c) about the other beam's direction
    (its initial-state collinear peak and the second t-channel peak);
  * one ``phase_space.Channel`` tree (photon recoiling against the e+ e- pair, photon polar
    angle peaked along the beams, 1/E_gamma spectrum) for the wide-angle annihilation region.

Cuts (CM frame unless stated): photon E*_gamma > ``photon_energy_min``, |cos theta*_gamma| <
``photon_cos_theta_max`` and ``photon_theta_min_deg`` < theta*_gamma < ``photon_theta_max_deg``;
electrons unconstrained by default; ``electron_cos_theta_max`` < 1 requires both e+- at
|cos theta*| below it (a tracked, wide-angle topology), ``electron_cos_theta_min`` > 0 at least
one e+- above it (lost along a beam, CM); ``lost_electrons`` = 1 or 2 requires at least that many
e+- outside the lab polar-angle window [``acceptance_theta_min_deg``, ``acceptance_theta_max_deg``]
(default 12.4 - 155.1 deg, the Belle II ECL; lab frame of the nominal beams).

ISR and FSR are off by default: the hard photon is itself the (single) radiation of the
process, and the Kuraev-Fadin s-channel radiator is not the correction of a t-channel process;
the COMMON_PARAMS switches work (ISR then lowers the hard mass, FSR showers the final e+-).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim import kinematics
from fastsim.generators.helicity import (
    bar,
    bslash,
    current,
    fprop,
    polvec,
    sdot,
    slash,
    spinor_collinear,
    tadd,
    tneg,
)
from fastsim.generators.peripheral import one_minus_cos, orthonormal_basis, t_range
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess, cm_to_lab_fast
from fastsim.schema import Field

__all__ = ["EEEEGamma", "PeripheralChannel", "amps_eegamma", "me2_eegamma"]

ELECTRON, PHOTON = 11, 22

#: helicity configurations: 2^4 lepton (p1, k2, k1, p2) x 2 photon
N_HEL = 32


# ====================================================================== amplitudes
@njit(cache=True, nogil=True)
def _t_beam(e: float, pb: float, p: np.ndarray, m: float, side: float) -> float:
    """t = (k - p)^2 of a beam lepton (energy e, momentum pb along side * z) scattered to p
    (px, py, pz, E), mass m, without cancellation (|t| down to 1e-12 GeV^2 from components of
    size E): -t = 2 [m^2 (e - E')^2 / (e E' - m^2 + pb p') + pb p' (1 - cos)] (the identity
    (e E' - m^2)^2 - pb^2 p'^2 = m^2 (e - E')^2), 1 - cos = p_T^2 / (p' (p' + p_z)) forward."""
    pt2 = p[0] * p[0] + p[1] * p[1]
    pz = side * p[2]
    pp = math.sqrt(pt2 + pz * pz)
    omc = pt2 / (pp * (pp + pz)) if pz > 0.0 else 1.0 - pz / pp
    e1 = p[3]
    return -2.0 * (m * m * (e - e1) ** 2 / (e * e1 - m * m + pb * pp) + pb * pp * omc)


@njit(cache=True, nogil=True)
def _amps_one(p: np.ndarray, M: float, m: float, ce: float, gauge: bool, out: np.ndarray) -> None:
    """i M for the 32 helicity configurations of one event into ``out`` (32,) complex.

    Index h = 16 h_p1 + 8 h_k2 + 4 h_k1 + 2 h_p2 + h_gamma (0: helicity -1, 1: +1).  Rows
    ubar(p1), vbar(k2) (outgoing momenta p1, -k2), columns u(k1), v(p2) (outgoing -k1, p2).
    Pairing sigma = (0, 1) (t-channel: e- line, e+ line, sign +1) or (1, 0) (s-channel: pair
    ubar(p1) v(p2), beams vbar(k2) u(k1), sign -1).  For each pairing, line A carries the real
    photon: row_A [eps S(prow_A + k) E_B + E_B S(-(pcol_A + k)) eps] col_A, E_B = D J_B the
    exchanged photon of the other line (Feynman gauge, -i J / q^2, t from ``_t_beam``).  ``gauge``: eps -> k (Ward identity)."""
    e = 0.5 * M
    pb = math.sqrt(max((e - m) * (e + m), 0.0))
    k1 = (e, 0.0, 0.0, pb)
    k2 = (e, 0.0, 0.0, -pb)
    p1 = (p[0, 3], p[0, 0], p[0, 1], p[0, 2])
    p2 = (p[1, 3], p[1, 0], p[1, 1], p[1, 2])
    kg = (p[2, 3], p[2, 0], p[2, 1], p[2, 2])
    rows = (
        bar(spinor_collinear(p1, m, -1, False)),
        bar(spinor_collinear(p1, m, 1, False)),
        bar(spinor_collinear(k2, m, -1, True)),
        bar(spinor_collinear(k2, m, 1, True)),
    )
    cols = (
        spinor_collinear(k1, m, -1, False),
        spinor_collinear(k1, m, 1, False),
        spinor_collinear(p2, m, -1, True),
        spinor_collinear(p2, m, 1, True),
    )
    prow = (p1, tneg(k2))
    pcol = (tneg(k1), p2)
    if gauge:
        kc = (kg[0] + 0j, kg[1] + 0j, kg[2] + 0j, kg[3] + 0j)
        eps = (kc, kc)
    else:
        eps = (polvec(kg[0], kg[1], kg[2], kg[3], -1, True), polvec(kg[0], kg[1], kg[2], kg[3], 1, True))
    # sub[pairing, A, h_row, h_col, h_B (2 h_row_B + h_col_B), h_gamma]
    sub = np.empty((2, 2, 2, 2, 4, 2), np.complex128)
    for ip in range(2):
        sg = (0, 1) if ip == 0 else (1, 0)
        es = []  # es[4 L + 2 h_row + h_col]: exchanged photon D J of line L
        for li in range(2):
            q = tadd(prow[li], pcol[sg[li]])
            if ip == 0:  # t-channel: q^2 = t of the e- (li = 0) or e+ (li = 1) line, exactly
                f = -1j / _t_beam(e, pb, p[li], m, 1.0 if li == 0 else -1.0)
            else:
                f = -1j / (q[0] * q[0] - q[1] * q[1] - q[2] * q[2] - q[3] * q[3])
            for hr in range(2):
                for hc in range(2):
                    j = current(rows[2 * li + hr], cols[2 * sg[li] + hc], ce, ce)
                    es.append((f * j[0], f * j[1], f * j[2], f * j[3]))  # D J = -i J / q^2
        for a in range(2):
            b = 1 - a
            pr = tadd(prow[a], kg)
            pc = tneg(tadd(pcol[sg[a]], kg))
            for hr in range(2):
                row = rows[2 * a + hr]
                r_eps = (bslash(row, eps[0], ce, ce), bslash(row, eps[1], ce, ce))
                for hc in range(2):
                    col = cols[2 * sg[a] + hc]
                    c_eps = (
                        fprop(pc, m, 0.0, slash(eps[0], ce, ce, col)),
                        fprop(pc, m, 0.0, slash(eps[1], ce, ce, col)),
                    )
                    for hb in range(4):
                        eb = es[4 * b + hb]
                        x = fprop(pr, m, 0.0, slash(eb, ce, ce, col))
                        y = bslash(row, eb, ce, ce)
                        for hg in range(2):
                            sub[ip, a, hr, hc, hb, hg] = sdot(r_eps[hg], x) + sdot(y, c_eps[hg])
    for h in range(N_HEL):
        hr = (h >> 4 & 1, h >> 3 & 1)  # p1, k2
        hc = (h >> 2 & 1, h >> 1 & 1)  # k1, p2
        hg = h & 1
        amp = 0j
        for ip in range(2):
            sg = (0, 1) if ip == 0 else (1, 0)
            s = 0j
            for a in range(2):
                b = 1 - a
                s += sub[ip, a, hr[a], hc[sg[a]], 2 * hr[b] + hc[sg[b]], hg]
            amp += s if ip == 0 else -s
        out[h] = amp


@njit(cache=True, nogil=True)
def amps_eegamma(p: np.ndarray, M: np.ndarray, m: float, ce: float, gauge: bool) -> np.ndarray:
    """Helicity amplitudes (n, 32) of e-(k1) e+(k2) -> e-(p0) e+(p1) gamma(p2) for momenta
    p (n, 3, 4) (px, py, pz, E) in the rest frame of mass M (e- beam along +z); ``ce`` the
    electron charge (-e).  ``gauge``: the photon polarisation replaced by its momentum."""
    n = p.shape[0]
    out = np.empty((n, N_HEL), np.complex128)
    buf = np.empty(N_HEL, np.complex128)
    for i in range(n):
        _amps_one(p[i], M[i], m, ce, gauge, buf)
        out[i] = buf
    return out


@njit(cache=True, nogil=True)
def me2_eegamma(p: np.ndarray, M: np.ndarray, m: float, ce: float) -> np.ndarray:
    """Spin-averaged |M|^2 (n,) (beam helicities averaged, final ones and the photon's summed)."""
    n = p.shape[0]
    out = np.empty(n)
    buf = np.empty(N_HEL, np.complex128)
    for i in range(n):
        _amps_one(p[i], M[i], m, ce, False, buf)
        tot = 0.0
        for h in range(N_HEL):
            tot += buf[h].real ** 2 + buf[h].imag ** 2
        out[i] = 0.25 * tot
    return out


# ====================================================================== phase space
def _one_minus_cos_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cos of the angle between three-vectors a, b (n, 3), without cancellation."""
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    ab = np.sum(a * b, axis=1)
    cr2 = np.sum(np.cross(a, b) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ab > 0, cr2 / (na * nb * (na * nb + ab)), 1.0 - ab / (na * nb))


class PeripheralChannel:
    """Phase-space channel of the t-channel peak of one beam lepton (the *spectator*, index
    ``spect``: 0 = e- along +z, 1 = e+ along -z) recoiling against X = (other lepton + photon).

    Variables: s_X = M^2 + m^2 - 2 M E_spect with density 1/(s_X - m^2) (``s_power`` 1) or
    1/(s_X - m^2 + s_c)^2 (``s_power`` 2) on [m^2 (1 + r/(1 - r)), (M - m)^2], r = 2 E_min / M
    (a photon of CM energy E_min needs s_X - m^2 >= 2 E_min s_X / M); the spectator's |t|
    log-uniform in [|t|_min, |t|_max] at that energy, azimuth uniform; the photon direction in
    the X rest frame isotropic (``peaked`` False) or with density (1/(1 + d - c) + 1/(1 + d + c))
    / norm, c its cosine with the other beam (boosted to the X frame), d = max(d_floor,
    m^2 / (2 E_b^2)) (the photon's acceptance cut keeps it d_floor away from the beams).

    Density with respect to dPhi_3 (PDG "Kinematics" 49.4.3, as ``phase_space.Channel``):
    g = [4 pi M / p_1 * 4 p_beam p_1 g(t)] * [2 pi g(s_X)] * [4 pi m_X / p*_X * rho_Omega].
    Same interface as :class:`phase_space.Channel` (``generate``, ``density``, ``n_random``, ``k``).
    """

    n_random = 5
    k = 3

    def __init__(
        self,
        m: float,
        spect: int,
        s_power: int,
        s_c: float,
        e_min: float,
        peaked: bool,
        d_floor: float,
    ) -> None:
        self.m = m
        self.a = spect
        self.b = 1 - spect
        self.side = 1.0 if spect == 0 else -1.0
        self.power = s_power
        self.s_c = s_c
        self.e_min = e_min
        self.peaked = peaked
        self.d_floor = d_floor

    # ------------------------------------------------------------------ helpers
    def _s_range(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Range of y = s_X - m^2."""
        m2 = self.m**2
        r = np.clip(2 * self.e_min / M, 0.0, 0.999)
        lo = np.maximum(m2 * r / (1 - r), 1e-30)
        hi = np.maximum((M - self.m) ** 2 - m2, lo * (1 + 1e-12))
        return lo, hi

    def _g_s(self, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        if self.power == 1:
            g = 1.0 / (y * np.log(hi / lo))
        else:
            c = self.s_c
            g = 1.0 / ((y + c) ** 2 * (1 / (lo + c) - 1 / (hi + c)))
        return np.where((y >= lo * (1 - 1e-9)) & (y <= hi * (1 + 1e-9)), g, 0.0)

    def _beam_b(self, M: np.ndarray) -> np.ndarray:
        """The other beam (n, 4) (the one the X line starts from)."""
        e = 0.5 * M
        pb = np.sqrt(np.maximum((e - self.m) * (e + self.m), 0.0))
        v = np.zeros((len(M), 4))
        v[:, 2] = -self.side * pb
        v[:, 3] = e
        return v

    def _delta(self, axis_e: np.ndarray) -> np.ndarray:
        return np.maximum(self.d_floor, self.m**2 / (2 * axis_e**2))

    # ------------------------------------------------------------------ generation
    def generate(self, u: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Momenta (n, 3, 4) in the rest frame of mass M (e- beam along +z) from uniforms u."""
        n = len(M)
        m = self.m
        e = 0.5 * M
        pb = np.sqrt(np.maximum((e - m) * (e + m), 0.0))
        lo, hi = self._s_range(M)
        out = np.zeros((n, 3, 4))
        with np.errstate(all="ignore"):
            if self.power == 1:
                y = lo * (hi / lo) ** u[:, 0]
            else:
                c = self.s_c
                y = 1.0 / (1 / (lo + c) - u[:, 0] * (1 / (lo + c) - 1 / (hi + c))) - c
            sx = y + m * m
            e1 = np.maximum((M * M - y) / (2 * M), m)
            p1 = np.sqrt(np.maximum((e1 - m) * (e1 + m), 0.0))
            tmin, tmax = t_range(e, pb, e1, m)
            t = tmin * (tmax / tmin) ** u[:, 1]
            omc = np.clip((t - tmin) / (2 * pb * p1), 0.0, 2.0)
            st = np.sqrt(omc * (2 - omc))
            phi = 2 * np.pi * u[:, 2]
            sp = out[:, self.a]
            sp[:, 0] = p1 * st * np.cos(phi)
            sp[:, 1] = p1 * st * np.sin(phi)
            sp[:, 2] = self.side * p1 * (1 - omc)
            sp[:, 3] = e1
            X = -sp.copy()
            X[:, 3] += M
            mx = np.sqrt(sx)
            w = y / (2 * mx)  # photon energy in the X frame
            ax = kinematics.boost_to_rest_frame(self._beam_b(M), X, mx)
            axis = ax[:, :3] / np.linalg.norm(ax[:, :3], axis=1)[:, None]
            uc = u[:, 3]
            if self.peaked:
                d = self._delta(ax[:, 3])
                lg = np.log((2 + d) / d)
                first = uc < 0.5
                v = np.where(first, 2 * uc, 2 * uc - 1)
                cc = (1 + d) - (2 + d) * np.exp(-v * lg)
                cc = np.clip(np.where(first, cc, -cc), -1.0, 1.0)
            else:
                cc = 2 * uc - 1
            ss = np.sqrt(np.maximum(1 - cc * cc, 0.0))
            ph = 2 * np.pi * u[:, 4]
            b1, b2 = orthonormal_basis(axis)
            dirn = cc[:, None] * axis + ss[:, None] * (np.cos(ph)[:, None] * b1 + np.sin(ph)[:, None] * b2)
            rest = np.empty((n, 2, 4))
            rest[:, 0, :3] = -w[:, None] * dirn
            rest[:, 0, 3] = np.sqrt(w * w + m * m)
            rest[:, 1, :3] = w[:, None] * dirn
            rest[:, 1, 3] = w
            lab = kinematics.boost_to_frame_of(rest, X, mx)
            out[:, self.b] = lab[:, 0]
            out[:, 2] = lab[:, 1]
            bad = ~(np.isfinite(out).all(axis=(1, 2)) & (p1 > 0) & (y > 0))
            out[bad] = np.nan
        return out

    # ------------------------------------------------------------------ density
    def density(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Density (n,) of momenta p (n, 3, 4) (rest frame of mass M) w.r.t. dPhi_3."""
        m = self.m
        e = 0.5 * M
        pb = np.sqrt(np.maximum((e - m) * (e + m), 0.0))
        lo, hi = self._s_range(M)
        with np.errstate(all="ignore"):
            sp = p[:, self.a]
            lb = p[:, self.b]
            k = p[:, 2]
            e1 = sp[:, 3]
            p1 = np.sqrt(np.maximum((e1 - m) * (e1 + m), 0.0))
            # s_X - m^2 = 2 p_b.k = 2 w (E_b - |p_b| cos), cancellation-free
            pbn = np.linalg.norm(lb[:, :3], axis=1)
            w = k[:, 3]
            y = 2 * w * (m * m / (lb[:, 3] + pbn) + pbn * _one_minus_cos_between(lb[:, :3], k[:, :3]))
            g = 2 * np.pi * self._g_s(y, lo, hi)
            tmin, tmax = t_range(e, pb, e1, m)
            t = tmin + 2 * pb * p1 * one_minus_cos(sp[:, :3], self.side)
            inside = (t >= tmin * (1 - 1e-9)) & (t <= tmax * (1 + 1e-9))
            g = g * np.where(inside, 16 * np.pi * M * pb / (np.maximum(t, tmin) * np.log(tmax / tmin)), 0.0)
            sx = y + m * m
            mx = np.sqrt(sx)
            wx = y / (2 * mx)
            g = g * 4 * np.pi * mx / wx
            if self.peaked:
                X = lb + k
                both = kinematics.boost_to_rest_frame(np.stack([self._beam_b(M), k], axis=1), X, mx)
                omc = _one_minus_cos_between(both[:, 0, :3], both[:, 1, :3])
                cc = 1 - omc
                d = self._delta(both[:, 0, 3])
                lg = np.log((2 + d) / d)
                rho = (1 / (d + omc) + 1 / (2 + d - omc)) / (2 * lg)
                g = g * 2 * rho * np.where(np.abs(cc) <= 1 + 1e-12, 1.0, 0.0)
        return np.where(np.isfinite(g), g, 0.0)


# ====================================================================== the process
class EEEEGamma(MEProcess):
    name = "ee_eegamma"
    doc = (
        "radiative Bhabha e+e- -> e+e- gamma, QED tree level (8 diagrams, electron mass kept), "
        "hard photon in acceptance; the single-photon background with the e+- down the beam pipe"
    )
    params: ClassVar[dict[str, Field]] = {
        "photon_energy_min": Field(
            float, 0.5, "minimum photon energy in the CM frame", unit="GeV", min=0.0, min_exclusive=True
        ),
        "photon_cos_theta_max": Field(
            float, 0.95, "photon |cos theta*| acceptance (CM frame)", min=0.0, max=1.0
        ),
        "photon_theta_min_deg": Field(
            float, 0.0, "minimum photon polar angle theta* (CM frame)", unit="deg", min=0.0, max=180.0
        ),
        "photon_theta_max_deg": Field(
            float, 180.0, "maximum photon polar angle theta* (CM frame)", unit="deg", min=0.0, max=180.0
        ),
        "electron_cos_theta_max": Field(
            float, 1.0, "both e+- at |cos theta*| below this (CM frame; 1: no cut)", min=0.0, max=1.0
        ),
        "electron_cos_theta_min": Field(
            float,
            0.0,
            "at least one e+- at |cos theta*| above this, i.e. lost along a beam (CM frame; 0: no cut)",
            min=0.0,
            max=1.0,
        ),
        "lost_electrons": Field(
            int,
            0,
            "minimum number of e+- outside the lab polar-angle acceptance (0: no cut, 2: both lost)",
            choices=(0, 1, 2),
        ),
        # Belle II ECL: forward endcap from 12.4 deg, backward endcap to 155.1 deg (TDR arXiv:1011.0352)
        "acceptance_theta_min_deg": Field(
            float,
            12.4,
            "lower edge of the lab acceptance (for lost_electrons)",
            unit="deg",
            min=0.0,
            max=180.0,
        ),
        "acceptance_theta_max_deg": Field(
            float,
            155.1,
            "upper edge of the lab acceptance (for lost_electrons)",
            unit="deg",
            min=0.0,
            max=180.0,
        ),
        **COMMON_PARAMS,
        "isr": Field(bool, False, "initial-state radiation (off: the hard photon is the radiation)"),
        "fsr": Field(bool, False, "final-state radiation off the e+ e- (PHOTOS-style, after unweighting)"),
    }
    TRAIN_POINTS = 40_000
    TRAIN_ITER = 5

    def setup(self) -> None:
        cfg = self.config
        self.final_ids = np.array([ELECTRON, -ELECTRON, PHOTON])
        self.final_masses = np.array([self.m_e, self.m_e, 0.0])
        sqrt_s = self.beams.sqrt_s
        emin = float(cfg["photon_energy_min"])
        cmax = self._photon_cmax()
        s_c = max(emin * sqrt_s * (1 - cmax), 1e-3 * emin * sqrt_s)
        d_floor = 0.5 * (1 - cmax)
        chans: list[Any] = []
        for spect in (0, 1):
            for power in (1, 2):
                for peaked in (False, True):
                    chans.append(PeripheralChannel(self.m_e, spect, power, s_c, emin, peaked, d_floor))
        # wide-angle annihilation: the photon against the pair, 1/E_gamma, peaked along the beams
        pair = Node(
            children=(Node(leaf=0), Node(leaf=1)),
            mass=Mass("above", 0.5 * sqrt_s * emin, cap=1.9 * sqrt_s * emin),
        )
        chans.append(Channel(Node(children=(Node(leaf=2), pair), angle="coll"), self.final_masses, self.m_e))
        self.phase_space = MultiChannel(chans)
        her, ler = self.beams.nominal()
        self._her, self._ler = np.ascontiguousarray(her), np.ascontiguousarray(ler)

    def _photon_cmax(self) -> float:
        cfg = self.config
        c = float(cfg["photon_cos_theta_max"])
        lo = math.cos(math.radians(cfg["photon_theta_min_deg"]))
        hi = -math.cos(math.radians(cfg["photon_theta_max_deg"]))
        return min(c, max(lo, hi))

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        cfg = self.config
        if cfg["photon_theta_min_deg"] >= cfg["photon_theta_max_deg"]:
            out.append(("photon_theta_min_deg", "must be below photon_theta_max_deg"))
        if cfg["acceptance_theta_min_deg"] >= cfg["acceptance_theta_max_deg"]:
            out.append(("acceptance_theta_min_deg", "must be below acceptance_theta_max_deg"))
        if cfg["photon_energy_min"] >= 0.5 * self.beams.sqrt_s:
            out.append(("photon_energy_min", "above the kinematic limit sqrt(s)/2"))
        return out

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        from fastsim.constants import ALPHA_EM

        e = math.sqrt(4 * math.pi * ALPHA_EM)
        return me2_eegamma(np.ascontiguousarray(p), M, self.m_e, -e)

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        cfg = self.config
        ok = np.all(np.isfinite(p_cm), axis=(1, 2))
        p_cm = np.where(ok[:, None, None], p_cm, 1.0)
        g = p_cm[:, 2]
        cg = g[:, 2] / np.maximum(kinematics.momentum(g), 1e-300)
        ok &= (g[:, 3] > cfg["photon_energy_min"]) & (np.abs(cg) < cfg["photon_cos_theta_max"])
        if cfg["photon_theta_min_deg"] > 0.0 or cfg["photon_theta_max_deg"] < 180.0:
            th = np.degrees(np.arccos(np.clip(cg, -1.0, 1.0)))
            ok &= (th > cfg["photon_theta_min_deg"]) & (th < cfg["photon_theta_max_deg"])
        ce = np.abs(p_cm[:, :2, 2]) / np.maximum(kinematics.momentum(p_cm[:, :2]), 1e-300)
        if cfg["electron_cos_theta_max"] < 1.0:
            ok &= np.all(ce < cfg["electron_cos_theta_max"], axis=1)
        if cfg["electron_cos_theta_min"] > 0.0:
            ok &= np.any(ce > cfg["electron_cos_theta_min"], axis=1)
        if cfg["lost_electrons"] > 0:
            n = len(p_cm)
            lab = cm_to_lab_fast(
                np.ascontiguousarray(p_cm[:, :2]),
                np.ascontiguousarray(np.broadcast_to(self._her, (n, 4))),
                np.ascontiguousarray(np.broadcast_to(self._ler, (n, 4))),
            )
            th = np.degrees(np.arctan2(np.hypot(lab[..., 0], lab[..., 1]), lab[..., 2]))
            lost = (th < cfg["acceptance_theta_min_deg"]) | (th > cfg["acceptance_theta_max_deg"])
            ok &= lost.sum(axis=1) >= cfg["lost_electrons"]
        return ok

    def describe(self) -> dict[str, Any]:
        return {**self.describe_common(), "diagrams": 8, "z_exchange": False}
