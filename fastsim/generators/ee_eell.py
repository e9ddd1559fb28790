"""QED e+e- -> e+ e- l+ l- (l = mu or e) at tree level: the two-photon four-lepton background.

Final state (``final_ids`` order): e-(p1) e+(p2) l-(p3) l+(p4); beams e-(k1) along +z, e+(k2).

Diagrams (photon exchange only).  The six external fermions form three fermion lines, read
as a row spinor times a column spinor: rows ubar(p1), ubar(p3), vbar(k2); columns u(k1), v(p2),
v(p4).  A *pairing* sigma joins row i to column sigma(i) (same flavour); two of the three lines
emit one photon each, the third ("central") line absorbs both photons in either order, so
every pairing gives 3 x 2 = 6 diagrams:
  * l = mu, 2 pairings, 12 diagrams:
      - scattering pairing (e- -> e-, e+ -> e+, mu pair): multiperipheral / two-photon
        (central line: the muon, 2 diagrams) and bremsstrahlung (central: the e- or the e+
        line, the muon pair radiated by a virtual photon, 4 diagrams);
      - annihilation pairing (e- e+ -> gamma*, produced e+ e- pair, muon pair): conversion
        (central: the beam line, e+e- -> gamma* gamma*, 2) and annihilation (central: the
        produced e or mu line radiating the other pair, 4);
  * l = e, all 3! = 6 pairings of the identical e-(p1, p3) and e+(p2, p4): 36 diagrams
    (the "DIAG36" set of Berends, Daverveldt, Kleiss, Nucl. Phys. B253 (1985) 441).
The pairings enter with the sign of the permutation sigma (Fermi statistics: the relative
minus sign between the t- and s-channel Bhabha amplitudes is the two-line case).

Identical particles (l = e).  |M|^2 is symmetric under p1 <-> p3 and p2 <-> p4, and the phase
space is integrated over *all* labellings of the two e- and the two e+ (the two-photon
channels exist for each of the four choices of the beam-like e-, e+), so the weight carries
the factor 1/(2! 2!) = 1/4.  Dropping it would only be right if the integration were restricted
to one ordering (say the e- nearest the e- beam called p1), which is not what is done here.
Cuts are symmetric: the beam-like e- (e+) is the one with the largest (smallest) p_z in the CM
frame, the other e+ e- pair is "the pair" the cuts act on.

Electron mass.  In the untagged region the photon virtualities reach down to
Q^2_min = m_e^2 x^2 / (1 - x) (x: photon energy fraction; Budnev et al., Phys. Rep. 15 (1975)
181, eq. 6.14), and the scattered e+- leave at angles ~ m_e/E, where the mass terms of the
lepton tensor, among them the helicity-flip amplitudes, are not suppressed: the O(m_e^2/Q^2)
term of the photon flux (the -(1-x)/x part of the equivalent-photon spectrum) is 15 % of the
anti-tagged cross section of tests/test_ee_eell.py, and the exact amplitude reproduces it
(< 1 %).  So all 2^6 = 64 helicity configurations are summed, no beam-helicity skipping (``helicity.E_HEL_SKIP`` of ``ee_4mu`` drops flips suppressed by (m_e/E)^2 in pure
annihilation, which is wrong here), the electron mass is kept in spinors, propagators and
kinematics, and the spinors of particles within ~ m_e/E of the -z axis are built from a
cancellation-free form (``helicity.chi_collinear``: p + p_z = p_T^2 / (p - p_z)).

Z exchange is neglected: in the s-channel pairings it is O(s / M_Z^2) ~ 1.3 % of diagrams that
are themselves < 1e-3 of the cross section, and in the t-channel photons O(Q^2 / M_Z^2) < 1e-5.

Phase space: dedicated two-photon channels (``TwoPhotonChannel``: photon energy fractions
from tau = x1 x2 with density 1/tau^2 or 1/tau and the rapidity y = ln(x1/x2)/2 uniform,
log(|t|) uniform for each scattered beam lepton, the pair decay peaked along the photon axis
in the pair frame or isotropic) plus s-channel trees of ``phase_space.Channel`` for the
bremsstrahlung, conversion and annihilation diagrams, combined in a Kleiss-Pittau
``MultiChannel`` (hep-ph/9405257).  ISR and FSR are off by default: the Kuraev-Fadin
s-channel radiator (large log ln(s/m_e^2)) is not the radiative correction of a peripheral
process, and the published reference cross sections (AAFH) are tree level.

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
    sdot,
    slash,
    spinor_collinear,
    tadd,
    tneg,
    vprop,
)
from fastsim.generators.peripheral import one_minus_cos, orthonormal_basis, t_range
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess, cm_to_lab_fast
from fastsim.schema import Field

__all__ = ["EEEELL", "TwoPhotonChannel", "me2_eell", "me2_eell_direct", "pairings"]

ELECTRON, MUON = 11, 13


# ====================================================================== amplitudes
@njit(cache=True, nogil=True)
def _line2(
    row: tuple, col: tuple, ea: tuple, eb: tuple, prow: tuple, pcol: tuple, qa: tuple, m: float, c: float
):
    """row [Ea S(prow + qa) Eb + Eb S(-(pcol + qa)) Ea] col: a fermion line (mass m) absorbing
    two photons; ``prow``/``pcol``: momenta flowing out through the row/column ends, ``qa``:
    momentum flowing out of the line through photon a (the same as ``ee_4mu._line2``)."""
    x = fprop(tadd(prow, qa), m, 0.0, slash(eb, c, c, col))
    y = fprop(tneg(tadd(pcol, qa)), m, 0.0, slash(ea, c, c, col))
    return sdot(bslash(row, ea, c, c), x) + sdot(bslash(row, eb, c, c), y)


def pairings(identical: bool) -> tuple[np.ndarray, np.ndarray]:
    """Allowed pairings sigma (row i -> column sigma[i]) and their signs (permutation parity).

    Rows: ubar(p1) [e-], ubar(p3) [l-], vbar(k2) [e+ beam]; columns: u(k1) [e- beam], v(p2)
    [e+], v(p4) [l+].  For l = mu only the flavour-conserving ones: (0, 2, 1) (scattering
    lines e- -> e-, e+ -> e+) and (1, 2, 0) (annihilation line, produced e+ e- pair)."""
    perms = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    if not identical:
        perms = [(0, 2, 1), (1, 2, 0)]
    signs = []
    for s in perms:
        inv = sum(1 for i in range(3) for j in range(i + 1, 3) if s[i] > s[j])
        signs.append(-1.0 if inv % 2 else 1.0)
    return np.array(perms, np.int64), np.array(signs)


@njit(cache=True, nogil=True)
def _externals(p: np.ndarray, M: float, m_e: float, m_l: float) -> tuple:
    """Row/column spinors [end][helicity], end momenta (outgoing) and the row flavour masses."""
    e = 0.5 * M
    pz = math.sqrt(max(e * e - m_e * m_e, 0.0))
    k1 = (e, 0.0, 0.0, pz)
    k2 = (e, 0.0, 0.0, -pz)
    p1 = (p[0, 3], p[0, 0], p[0, 1], p[0, 2])
    p2 = (p[1, 3], p[1, 0], p[1, 1], p[1, 2])
    p3 = (p[2, 3], p[2, 0], p[2, 1], p[2, 2])
    p4 = (p[3, 3], p[3, 0], p[3, 1], p[3, 2])
    rows = []
    cols = []
    for h in range(2):
        rows.append(bar(spinor_collinear(p1, m_e, 2 * h - 1, False)))
    for h in range(2):
        rows.append(bar(spinor_collinear(p3, m_l, 2 * h - 1, False)))
    for h in range(2):
        rows.append(bar(spinor_collinear(k2, m_e, 2 * h - 1, True)))
    for h in range(2):
        cols.append(spinor_collinear(k1, m_e, 2 * h - 1, False))
    for h in range(2):
        cols.append(spinor_collinear(p2, m_e, 2 * h - 1, True))
    for h in range(2):
        cols.append(spinor_collinear(p4, m_l, 2 * h - 1, True))
    prow = (p1, p3, tneg(k2))
    pcol = (tneg(k1), p2, p4)
    mrow = (m_e, m_l, m_e)
    return rows, cols, prow, pcol, mrow


@njit(cache=True, nogil=True)
def me2_eell_direct(
    p: np.ndarray,
    M: np.ndarray,
    m_e: float,
    m_l: float,
    ce: float,
    perms: np.ndarray,
    signs: np.ndarray,
    only_pairing: int,
    only_central: int,
    gauge_line: int,
) -> np.ndarray:
    """Reference kernel: spin-averaged |M|^2 of e-(k1) e+(k2) -> e-(p0) e+(p1) l-(p2) l+(p3)
    with every diagram evaluated for each of the 64 helicity configurations.

    ``only_pairing``/``only_central`` >= 0 keep one pairing (index into ``perms``) and/or
    one central line (row index): e.g. pairing 0, central 1 is the multiperipheral set for
    l = mu.  ``gauge_line`` >= 0 replaces the effective polarisation D J of that line's
    photon by its momentum (Ward identity test: the sum over the places the photon attaches
    to then vanishes).  ``p`` (n, 4, 4) (px, py, pz, E) in the rest frame of mass ``M``."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        rows, cols, prow, pcol, mrow = _externals(p[i], M[i], m_e, m_l)
        tot = 0.0
        for hh in range(64):
            hr = (hh >> 5 & 1, hh >> 4 & 1, hh >> 3 & 1)
            hc = (hh >> 2 & 1, hh >> 1 & 1, hh & 1)
            amp = 0j
            for ip in range(perms.shape[0]):
                if only_pairing >= 0 and ip != only_pairing:
                    continue
                sg = perms[ip]
                qs = []
                es = []
                for li in range(3):
                    q = tadd(prow[li], pcol[sg[li]])
                    qs.append(q)
                    j = current(rows[2 * li + hr[li]], cols[2 * sg[li] + hc[sg[li]]], ce, ce)
                    if li == gauge_line:
                        es.append((q[0] + 0j, q[1] + 0j, q[2] + 0j, q[3] + 0j))
                    else:
                        es.append(vprop(j, q, 0.0, 0.0))
                sub = 0j
                for c in range(3):
                    if only_central >= 0 and c != only_central:
                        continue
                    a = (c + 1) % 3
                    b = (c + 2) % 3
                    row = rows[2 * c + hr[c]]
                    col = cols[2 * sg[c] + hc[sg[c]]]
                    sub += _line2(row, col, es[a], es[b], prow[c], pcol[sg[c]], qs[a], mrow[c], ce)
                amp += signs[ip] * sub
            tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def me2_eell(
    p: np.ndarray, M: np.ndarray, m_e: float, m_l: float, ce: float, perms: np.ndarray, signs: np.ndarray
) -> np.ndarray:
    """Spin-averaged |M|^2 (the diagram sum of ``me2_eell_direct``) with cached sub-amplitudes.

    For each pairing and central line c (other lines a, b with effective polarisations
    E_a, E_b, each depending on the two helicities of its line: 4 values), the pieces
    row_c E_a (2 x 4), S E_b col_c (2 x 4), row_c E_b and S E_a col_c are computed once and
    contracted for the 64 external helicities: 32 spinor products instead of 128."""
    n = p.shape[0]
    out = np.empty(n)
    npair = perms.shape[0]
    bea = np.empty((npair, 3, 2, 4, 4), np.complex128)  # [pair, c, h_row, h_a, spinor]
    xb = np.empty((npair, 3, 2, 4, 4), np.complex128)  # [pair, c, h_col, h_b, spinor]
    beb = np.empty((npair, 3, 2, 4, 4), np.complex128)
    xa = np.empty((npair, 3, 2, 4, 4), np.complex128)
    for i in range(n):
        rows, cols, prow, pcol, mrow = _externals(p[i], M[i], m_e, m_l)
        for ip in range(npair):
            sg = perms[ip]
            qs = []
            es = []  # es[4 * line + 2 h_row + h_col]
            for li in range(3):
                q = tadd(prow[li], pcol[sg[li]])
                qs.append(q)
                for hr in range(2):
                    for hc in range(2):
                        j = current(rows[2 * li + hr], cols[2 * sg[li] + hc], ce, ce)
                        es.append(vprop(j, q, 0.0, 0.0))
            for c in range(3):
                a = (c + 1) % 3
                b = (c + 2) % 3
                m = mrow[c]
                pr = tadd(prow[c], qs[a])
                pc = tneg(tadd(pcol[sg[c]], qs[a]))
                for h in range(2):
                    row = rows[2 * c + h]
                    col = cols[2 * sg[c] + h]
                    for hl in range(4):
                        v1 = bslash(row, es[4 * a + hl], ce, ce)
                        v2 = fprop(pr, m, 0.0, slash(es[4 * b + hl], ce, ce, col))
                        v3 = bslash(row, es[4 * b + hl], ce, ce)
                        v4 = fprop(pc, m, 0.0, slash(es[4 * a + hl], ce, ce, col))
                        for k in range(4):
                            bea[ip, c, h, hl, k] = v1[k]
                            xb[ip, c, h, hl, k] = v2[k]
                            beb[ip, c, h, hl, k] = v3[k]
                            xa[ip, c, h, hl, k] = v4[k]
        tot = 0.0
        for hh in range(64):
            hr = (hh >> 5 & 1, hh >> 4 & 1, hh >> 3 & 1)
            hc = (hh >> 2 & 1, hh >> 1 & 1, hh & 1)
            amp = 0j
            for ip in range(npair):
                sg = perms[ip]
                sub = 0j
                for c in range(3):
                    a = (c + 1) % 3
                    b = (c + 2) % 3
                    ha = 2 * hr[a] + hc[sg[a]]
                    hb = 2 * hr[b] + hc[sg[b]]
                    h_r = hr[c]
                    h_c = hc[sg[c]]
                    for k in range(4):
                        sub += bea[ip, c, h_r, ha, k] * xb[ip, c, h_c, hb, k]
                        sub += beb[ip, c, h_r, hb, k] * xa[ip, c, h_c, ha, k]
                amp += signs[ip] * sub
            tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


# ====================================================================== phase space
class TwoPhotonChannel:
    """Phase-space channel of the multiperipheral diagrams: e-(k1) -> e-(p_a) + gamma*(q1),
    e+(k2) -> e+(p_b) + gamma*(q2), gamma* gamma* -> l-(p_c) l+(p_d).

    Variables: tau = x1 x2 (x = photon energy fraction) with density tau^-power on
    [tau_lo, x_max^2], y = ln(x1/x2)/2 uniform (dx1 dx2 = dtau dy); |t_i| log-uniform in its
    kinematic range at fixed x_i (the 1/|t| photon propagator squared times the |t| of the
    numerator; Budnev et al. 1975 eq. 6.14 for |t|_min); azimuths uniform; the l- direction
    in the pair rest frame relative to q1 with density 1/(a - c) + 1/(a + c), a = 1/beta
    (t/u-channel lepton exchange in gamma gamma -> l l), or isotropic.

    Density with respect to dPhi_4 (PDG "Kinematics" 49.4.3): with
    d^3p/((2 pi)^3 2E) = dE dt dphi / (4 p_beam (2 pi)^3) for a beam lepton and
    dPhi_2 = p*/(4 pi W) dOmega*/(4 pi) for the pair,
    g = g(tau) g(y) / E^2 * g(t1) g(t2) / (2 pi)^2 * (4 p_beam (2 pi)^3)^2 * 4 pi W / p* * rho_Omega.
    Same interface as :class:`phase_space.Channel` (``generate``, ``density``, ``n_random``, ``k``).
    """

    n_random = 8
    k = 4

    def __init__(
        self,
        masses: np.ndarray,
        m_beam: float,
        idx: tuple[int, int, int, int],
        w_lo: float,
        tau_power: int,
        peaked: bool,
    ) -> None:
        self.masses = np.asarray(masses, np.float64)
        self.m = m_beam
        self.ia, self.ib, self.ic, self.id = idx  # scattered e-, scattered e+, l-, l+
        self.ml = float(self.masses[self.ic])
        self.w_lo = max(w_lo, 2 * self.ml * (1 + 1e-9))
        self.power = tau_power
        self.peaked = peaked

    # ------------------------------------------------------------------ helpers
    def _ranges(self, M: np.ndarray) -> tuple:
        e = 0.5 * M
        pb = np.sqrt(np.maximum((e - self.m) * (e + self.m), 0.0))
        xmax = 1.0 - self.m / e
        tau_lo = (self.w_lo / M) ** 2 * (1 - 1e-6)
        tau_hi = np.maximum(xmax * xmax, tau_lo * (1 + 1e-12))
        return e, pb, xmax, tau_lo, tau_hi

    def _g_tau(self, tau: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        if self.power == 2:
            return tau**-2 / (1 / lo - 1 / hi)
        return 1.0 / (tau * np.log(hi / lo))

    def _a(self, W: np.ndarray) -> np.ndarray:
        beta = np.sqrt(np.maximum(1 - 4 * self.ml**2 / np.maximum(W * W, 1e-300), 0.0))
        with np.errstate(divide="ignore"):
            return np.maximum(1.0 / beta, 1 + 1e-12)

    # ------------------------------------------------------------------ generation
    def generate(self, u: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Momenta (n, 4, 4) in the rest frame of mass M (e- beam along +z) from uniforms u."""
        n = len(M)
        e, pb, xmax, lo, hi = self._ranges(M)
        with np.errstate(all="ignore"):
            if self.power == 2:
                tau = 1.0 / (1 / lo - u[:, 0] * (1 / lo - 1 / hi))
            else:
                tau = lo * (hi / lo) ** u[:, 0]
            ymax = np.log(xmax / np.sqrt(tau))
            y = ymax * (2 * u[:, 1] - 1)
            xs = (np.sqrt(tau) * np.exp(y), np.sqrt(tau) * np.exp(-y))
            out = np.zeros((n, 4, 4))
            for side, (x, ut, uphi, ia) in enumerate(
                ((xs[0], u[:, 2], u[:, 3], self.ia), (xs[1], u[:, 4], u[:, 5], self.ib))
            ):
                e1 = np.clip(e * (1 - x), self.m, None)
                p1 = np.sqrt(np.maximum((e1 - self.m) * (e1 + self.m), 0.0))
                tmin, tmax = t_range(e, pb, e1, self.m)
                t = tmin * (tmax / tmin) ** ut
                omc = np.clip((t - tmin) / (2 * pb * p1), 0.0, 2.0)  # 1 - cos(theta)
                st = np.sqrt(omc * (2 - omc))
                phi = 2 * np.pi * uphi
                sgn = 1.0 if side == 0 else -1.0
                out[:, ia, 0] = p1 * st * np.cos(phi)
                out[:, ia, 1] = p1 * st * np.sin(phi)
                out[:, ia, 2] = sgn * p1 * (1 - omc)
                out[:, ia, 3] = e1
            P = -out[:, self.ia] - out[:, self.ib]
            P[:, 3] += M
            W2 = kinematics.invariant_mass2(P)
            ok = ((2 * self.ml) ** 2 < W2) & (P[:, 3] > 0) & np.isfinite(W2)
            W = np.sqrt(np.where(ok, W2, 1.0))
            P = np.where(ok[:, None], P, np.array([0.0, 0.0, 0.0, 1.0]))
            # photon axis: q1 = k1 - p_a in the pair rest frame
            q1 = -out[:, self.ia].copy()
            q1[:, 2] += pb
            q1[:, 3] += e
            q1s = kinematics.boost_to_rest_frame(q1, P, W)
            axis = q1s[:, :3] / np.maximum(np.linalg.norm(q1s[:, :3], axis=1), 1e-300)[:, None]
            pst = kinematics.two_body_momentum(W, self.ml, self.ml)
            uc = u[:, 6]
            if self.peaked:
                a = self._a(W)
                lg = np.log((a + 1) / (a - 1))
                first = uc < 0.5
                v = np.where(first, 2 * uc, 2 * uc - 1)
                c = a - (a + 1) * np.exp(-v * lg)
                c = np.clip(np.where(first, c, -c), -1.0, 1.0)
            else:
                c = 2 * uc - 1
            s = np.sqrt(np.maximum(1 - c * c, 0.0))
            ph = 2 * np.pi * u[:, 7]
            b1, b2 = orthonormal_basis(axis)
            d = c[:, None] * axis + s[:, None] * (np.cos(ph)[:, None] * b1 + np.sin(ph)[:, None] * b2)
            rest = np.empty((n, 2, 4))
            rest[:, 0, :3] = pst[:, None] * d
            rest[:, 1, :3] = -pst[:, None] * d
            rest[:, :, 3] = np.sqrt(pst * pst + self.ml**2)[:, None]
            lab = kinematics.boost_to_frame_of(rest, P, W)
            out[:, self.ic] = lab[:, 0]
            out[:, self.id] = lab[:, 1]
            out[~ok] = np.nan
        return out

    # ------------------------------------------------------------------ density
    def density(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Density (n,) of momenta p (n, 4, 4) (rest frame of mass M) w.r.t. dPhi_4."""
        e, pb, xmax, lo, hi = self._ranges(M)
        with np.errstate(all="ignore"):
            g = np.ones(len(M))
            xs = []
            for side, ia in enumerate((self.ia, self.ib)):
                v = p[:, ia]
                e1 = v[:, 3]
                x = 1 - e1 / e
                xs.append(x)
                p1 = np.sqrt(np.maximum((e1 - self.m) * (e1 + self.m), 0.0))
                tmin, tmax = t_range(e, pb, e1, self.m)
                t = tmin + 2 * pb * p1 * one_minus_cos(v[:, :3], 1.0 if side == 0 else -1.0)
                inside = (t >= tmin * (1 - 1e-9)) & (t <= tmax * (1 + 1e-9)) & (x > 0) & (x <= xmax)
                g = g * np.where(inside, 1.0 / (np.maximum(t, tmin) * np.log(tmax / tmin)), 0.0)
            tau = xs[0] * xs[1]
            y = 0.5 * np.log(xs[0] / xs[1])
            ymax = np.log(xmax / np.sqrt(tau))
            inside = (tau >= lo) & (tau <= hi) & (np.abs(y) <= ymax * (1 + 1e-12))
            g = g * np.where(inside, self._g_tau(tau, lo, hi) / (2 * ymax), 0.0) / (e * e)
            # the pair
            P = p[:, self.ic] + p[:, self.id]
            W2 = kinematics.invariant_mass2(P)
            ok = (2 * self.ml) ** 2 < W2
            W = np.sqrt(np.where(ok, W2, 1.0))
            P = np.where(ok[:, None], P, np.array([0.0, 0.0, 0.0, 1.0]))
            pst = kinematics.two_body_momentum(W, self.ml, self.ml)
            if self.peaked:
                q1 = -p[:, self.ia].copy()
                q1[:, 2] += pb
                q1[:, 3] += e
                both = kinematics.boost_to_rest_frame(np.stack([q1, p[:, self.ic]], axis=1), P, W)
                n1 = both[:, 0, :3] / np.linalg.norm(both[:, 0, :3], axis=1)[:, None]
                n2 = both[:, 1, :3] / np.linalg.norm(both[:, 1, :3], axis=1)[:, None]
                c = np.clip(np.sum(n1 * n2, axis=1), -1.0, 1.0)
                a = self._a(W)
                lg = np.log((a + 1) / (a - 1))
                rho = 2 * (1 / (a - c) + 1 / (a + c)) / (2 * lg)
            else:
                rho = np.ones(len(M))
            jac = (4 * pb * (2 * np.pi) ** 3) ** 2 / (2 * np.pi) ** 2 * 4 * np.pi * W / pst
            g = np.where(ok & np.isfinite(g), g * jac * rho, 0.0)
        return np.where(np.isfinite(g), g, 0.0)


# ====================================================================== the process
class EEEELL(MEProcess):
    name = "ee_eell"
    doc = (
        "e+e- -> e+e- l+l- (l = mu or e), QED tree level with all diagrams (two-photon, "
        "bremsstrahlung, conversion, annihilation; 12 for mu, 36 for e); electron mass kept"
    )
    params: ClassVar[dict[str, Field]] = {
        "lepton": Field(str, "mu", "flavour of the produced pair", choices=("mu", "e")),
        # basf2 add_aafh_generator(minmass=0.5): the AAFH default for e+e-mu+mu- and e+e-e+e-
        "w_min": Field(float, 0.5, "minimum invariant mass W of the l+ l- pair", unit="GeV", min=0.0),
        # basf2 generators.py add_aafh_generator preselection: MinChargedPt = 0.1 GeV,
        # 17 deg < theta < 150 deg (the CDC acceptance, Belle II TDR arXiv:1011.0352)
        "pt_min": Field(
            float, 0.1, "minimum lab transverse momentum of the tracked pair leptons", unit="GeV", min=0.0
        ),
        "theta_min_deg": Field(
            float, 17.0, "minimum lab polar angle of the tracked pair leptons", unit="deg", min=0.0, max=180.0
        ),
        "theta_max_deg": Field(
            float,
            150.0,
            "maximum lab polar angle of the tracked pair leptons",
            unit="deg",
            min=0.0,
            max=180.0,
        ),
        "min_tracks": Field(
            int,
            2,
            "how many of the two pair leptons must pass pt_min and the polar-angle window "
            "(2: two-track or four-track analyses; 0: no acceptance cut)",
            choices=(0, 1, 2),
        ),
        "beam_theta_max_deg": Field(
            float,
            180.0,
            "maximum angle of each scattered beam lepton to its own beam direction, CM frame "
            "(anti-tag; 180: no cut, untagged)",
            unit="deg",
            min=0.0,
            max=180.0,
        ),
        **COMMON_PARAMS,
        "isr": Field(
            bool, False, "initial-state radiation (off: not the correction of a peripheral process)"
        ),
        "fsr": Field(
            bool, False, "final-state radiation off the lepton pairs (PHOTOS-style, after unweighting)"
        ),
    }
    TRAIN_POINTS = 30_000
    TRAIN_ITER = 5

    def setup(self) -> None:
        cfg = self.config
        self.identical = cfg["lepton"] == "e"
        self.m_l = self.m_e if self.identical else self.m_mu
        lid = ELECTRON if self.identical else MUON
        self.final_ids = np.array([ELECTRON, -ELECTRON, lid, -lid])
        self.final_masses = np.array([self.m_e, self.m_e, self.m_l, self.m_l])
        # identical e-(0, 2) and e+(1, 3): |M|^2 symmetric, full phase space -> 1/(2! 2!)
        self.symmetry = 0.25 if self.identical else 1.0
        self._perms, self._signs = pairings(self.identical)
        w_lo = float(cfg["w_min"])
        labels = [(0, 1, 2, 3)]
        if self.identical:
            labels += [(2, 1, 0, 3), (0, 3, 2, 1), (2, 3, 0, 1)]
        chans: list[Any] = []
        for lab in labels:
            for power, peaked in ((2, True), (2, False), (1, True)):
                chans.append(TwoPhotonChannel(self.final_masses, self.m_e, lab, w_lo, power, peaked))
        trees = []
        me2 = self.m_e**2
        for ea, eb, lm, lp in labels:
            # bremsstrahlung: the pair radiated off the e- (e+) line, the other beam lepton the
            # t-channel spectator (root polar angle peaked: "tu")
            for spect, rad in ((eb, ea), (ea, eb)):
                pair = Node(children=(Node(leaf=lm), Node(leaf=lp)), mass=Mass("pole", 0.0))
                x = Node(children=(Node(leaf=rad), pair), mass=Mass("pole", 0.98 * me2))
                trees.append(Node(children=(Node(leaf=spect), x), angle="tu"))
        for (a, b), (c, d) in (((0, 1), (2, 3)), ((0, 3), (2, 1))) if self.identical else (((0, 1), (2, 3)),):
            ya = Node(children=(Node(leaf=a), Node(leaf=b)), mass=Mass("pole", 0.0))
            yb = Node(children=(Node(leaf=c), Node(leaf=d)), mass=Mass("pole", 0.0))
            trees.append(Node(children=(ya, yb), angle="tu"))  # conversion e+e- -> gamma* gamma*
            for soft, hard in (((a, b), (c, d)), ((c, d), (a, b))):  # annihilation, soft pair
                ys = Node(children=(Node(leaf=soft[0]), Node(leaf=soft[1])), mass=Mass("pole", 0.0))
                yh = Node(children=(Node(leaf=hard[0]), Node(leaf=hard[1])), mass=Mass("above", 0.0))
                trees.append(Node(children=(ys, yh)))
        chans += [Channel(t, self.final_masses, self.m_e) for t in trees]
        self.phase_space = MultiChannel(chans)
        her, ler = self.beams.nominal()
        self._her, self._ler = np.ascontiguousarray(her), np.ascontiguousarray(ler)

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.config["theta_min_deg"] >= self.config["theta_max_deg"]:
            out.append(("theta_min_deg", "must be below theta_max_deg"))
        if max(self.config["w_min"], 2 * self.m_l) >= self.beams.sqrt_s - 2 * self.m_e:
            out.append(("w_min", "above the kinematic limit"))
        return out

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        from fastsim.constants import ALPHA_EM

        e = math.sqrt(4 * math.pi * ALPHA_EM)
        return me2_eell(np.ascontiguousarray(p), M, self.m_e, self.m_l, -e, self._perms, self._signs)

    # ------------------------------------------------------------------ cuts and record
    def order(self, p_cm: np.ndarray) -> np.ndarray:
        """Indices (n, 4) of (beam-like e-, beam-like e+, pair l-, pair l+) in each event: for
        l = e the e- with the largest p_z (CM, e- beam along +z) and the e+ with the smallest."""
        n = len(p_cm)
        idx = np.tile(np.arange(4), (n, 1))
        if self.identical:
            swap_m = p_cm[:, 2, 2] > p_cm[:, 0, 2]
            swap_p = p_cm[:, 3, 2] < p_cm[:, 1, 2]
            idx[swap_m, 0], idx[swap_m, 2] = 2, 0
            idx[swap_p, 1], idx[swap_p, 3] = 3, 1
        return idx

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        cfg = self.config
        ok = np.all(np.isfinite(p_cm), axis=(1, 2))
        p_cm = np.where(ok[:, None, None], p_cm, 1.0)
        q = np.take_along_axis(p_cm, self.order(p_cm)[:, :, None], axis=1)
        ok &= kinematics.invariant_mass2(q[:, 2] + q[:, 3]) > cfg["w_min"] ** 2
        if cfg["beam_theta_max_deg"] < 180.0:
            cmin = math.cos(math.radians(cfg["beam_theta_max_deg"]))
            for j, sgn in ((0, 1.0), (1, -1.0)):
                ok &= sgn * q[:, j, 2] > cmin * kinematics.momentum(q[:, j])
        if cfg["min_tracks"] > 0:
            n = len(q)
            lab = cm_to_lab_fast(
                np.ascontiguousarray(q[:, 2:]),
                np.ascontiguousarray(np.broadcast_to(self._her, (n, 4))),
                np.ascontiguousarray(np.broadcast_to(self._ler, (n, 4))),
            )
            pt = np.hypot(lab[..., 0], lab[..., 1])
            th = np.degrees(np.arctan2(pt, lab[..., 2]))
            good = (pt > cfg["pt_min"]) & (th > cfg["theta_min_deg"]) & (th < cfg["theta_max_deg"])
            ok &= good.sum(axis=1) >= cfg["min_tracks"]
        return ok

    def record_entries_of(self, p_lab: np.ndarray, pts: dict[str, np.ndarray]) -> list[tuple]:
        """Record order e-, e+ (the beam-like ones), l-, l+ (the pair), as in ``order``."""
        idx = self.order(pts["p_cm"])
        return self.record_entries(np.take_along_axis(p_lab, idx[:, :, None], axis=1))

    def describe(self) -> dict[str, Any]:
        return {
            **self.describe_common(),
            "lepton": self.config["lepton"],
            "diagrams": 36 if self.identical else 12,
            "z_exchange": False,
            "symmetry_factor": self.symmetry,
        }
