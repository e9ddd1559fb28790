"""A small helicity-amplitude toolkit for tree-level amplitudes, compiled with numba.

Amplitudes are built from external wave functions (Dirac spinors, polarisation
vectors), vertices (fermion-fermion-vector, fermion-fermion-scalar) and propagators,
in the spirit of HELAS (Murayama, Watanabe, Hagiwara, KEK-91-11), re-derived here in
the chiral (Weyl) representation of Peskin & Schroeder (eqs. 3.25, 3.40):

    gamma^mu = [[0, sigma^mu], [sigmabar^mu, 0]],  sigma^mu = (1, sigma),
    sigmabar^mu = (1, -sigma),  gamma5 = diag(-1, -1, 1, 1),  psi = (psi_L, psi_R).

Metric (+,-,-,-).  Inside this module four-vectors are 4-tuples (E, px, py, pz) of
floats (momenta) or complex numbers (currents, polarisations), contravariant
components.  Spinors are 4-tuples of complex numbers; a *barred* (row) spinor is
stored already multiplied by gamma^0.  Every function is ``@njit`` and works on one
event; process kernels loop over arrays of events inside numba (see e.g.
:mod:`fastsim.generators.ee_mumu`), so that a process is a few lines adding diagrams.

Feynman rules (Peskin & Schroeder appendix A.1), all factors of i kept so that
diagrams interfere with the right phases:
  * fermion-fermion-vector vertex  -i gamma^mu (cL P_L + cR P_R)
    (photon: cL = cR = e Q_f with e > 0; Z: (e / s_W c_W)(T3 - Q s_W^2, -Q s_W^2);
    L_mu - L_tau Z': g' x_f);
  * fermion-fermion-scalar vertex  -i c_S;
  * fermion propagator  i (qslash + m) / (q^2 - m^2 + i m Gamma);
  * vector propagator  -i (g^{mu nu} - q^mu q^nu / M^2) / (q^2 - M^2 + i M Gamma)
    (unitary gauge; M = 0 gives the Feynman-gauge photon -i g^{mu nu} / q^2);
  * scalar propagator  i / (q^2 - M^2 + i M Gamma).
The product of all factors is i*M; |M|^2 is what the generators use.

Helicity spinors (Peskin & Schroeder eq. 3.53 for u; v from charge conjugation):
u(p, l) = (sqrt(E - l|p|) chi_l, sqrt(E + l|p|) chi_l) and
v(p, l) = (-l sqrt(E + l|p|) chi_{-l}, l sqrt(E - l|p|) chi_{-l}), with chi_l the
two-component helicity eigenstate along p, l = +-1 (twice the helicity).
Polarisation vectors of a massless vector of momentum k (theta, phi):
eps(k, +-1) = (-+ e1 - i e2) / sqrt 2 with e1 = (0, cos th cos ph, cos th sin ph, -sin th),
e2 = (0, -sin ph, cos ph, 0) (Hagiwara-Zeppenfeld conventions); outgoing photons use
the complex conjugate.

Units: GeV.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "bar",
    "bfprop",
    "bslash",
    "current",
    "dot",
    "fprop",
    "polvec",
    "sbil",
    "slash",
    "sprop",
    "uspinor",
    "vprop",
    "vspinor",
]

_MI = -1j  # -i of the vertices


@njit(cache=True, nogil=True)
def _chi_from(px: float, py: float, pp: float, a: float, lam: int) -> tuple[complex, complex]:
    """chi_lam from p_x, p_y, |p| and a = |p| + p_z (> 0): the normalised eigenvector shared by
    :func:`_chi` and :func:`chi_collinear`, which differ only in how they get ``a``."""
    norm = 1.0 / math.sqrt(2.0 * pp * a)
    if lam > 0:
        return (a * norm + 0j, complex(px, py) * norm)
    return (complex(-px, py) * norm, a * norm + 0j)


@njit(cache=True, nogil=True)
def _chi(px: float, py: float, pz: float, lam: int) -> tuple[complex, complex]:
    """Two-component helicity eigenstate chi_lam of sigma.p/|p| (eigenvalue lam)."""
    pp = math.sqrt(px * px + py * py + pz * pz)
    if pp == 0.0:
        # at rest: quantise along +z
        return (1.0 + 0j, 0j) if lam > 0 else (0j, 1.0 + 0j)
    a = pp + pz
    if a <= 1e-14 * pp:
        # along -z (the limit up to a phase)
        return (0j, 1.0 + 0j) if lam > 0 else (-1.0 + 0j, 0j)
    return _chi_from(px, py, pp, a, lam)


@njit(cache=True, nogil=True)
def chi_collinear(px: float, py: float, pz: float, lam: int) -> tuple:
    """Two-component helicity eigenstate chi_lam along p (the phases of :func:`_chi`), with
    p + p_z = p_T^2 / (p - p_z) for p_z < 0: no cancellation near the -z axis, for particles
    collinear with a beam (ee_eell, ee_eegamma).  :func:`_chi` itself is kept as it is, so that
    the other generators' samples stay bit-identical."""
    pt2 = px * px + py * py
    pp = math.sqrt(pt2 + pz * pz)
    if pp == 0.0:
        return (1.0 + 0j, 0j) if lam > 0 else (0j, 1.0 + 0j)
    a = pp + pz if pz >= 0.0 else pt2 / (pp - pz)
    if a <= 1e-300:
        return (0j, 1.0 + 0j) if lam > 0 else (-1.0 + 0j, 0j)
    return _chi_from(px, py, pp, a, lam)


@njit(cache=True, nogil=True)
def spinor_collinear(p: tuple, m: float, lam: int, anti: bool) -> tuple:
    """u(p, lam) or v(p, lam) (Peskin & Schroeder eq. 3.53, v by charge conjugation, as in
    ``helicity.uspinor``/``vspinor``) for p = (E, px, py, pz) of mass m, with
    E - |p| = m^2 / (E + |p|) instead of the difference of two nearly equal numbers."""
    e = p[0]
    pp = math.sqrt(p[1] * p[1] + p[2] * p[2] + p[3] * p[3])
    big = math.sqrt(e + pp)
    small = m / big if big > 0.0 else 0.0  # sqrt(E - |p|)
    if anti:
        c0, c1 = chi_collinear(p[1], p[2], p[3], -lam)
        a = -lam * (big if lam > 0 else small)
        b = lam * (small if lam > 0 else big)
        return (a * c0, a * c1, b * c0, b * c1)
    c0, c1 = chi_collinear(p[1], p[2], p[3], lam)
    a = small if lam > 0 else big
    b = big if lam > 0 else small
    return (a * c0, a * c1, b * c0, b * c1)


@njit(cache=True, nogil=True)
def uspinor(e: float, px: float, py: float, pz: float, lam: int) -> tuple:
    """Dirac spinor u(p, lam) of an incoming fermion / outgoing (before barring)."""
    pp = math.sqrt(px * px + py * py + pz * pz)
    c0, c1 = _chi(px, py, pz, lam)
    a = math.sqrt(max(e - lam * pp, 0.0))
    b = math.sqrt(max(e + lam * pp, 0.0))
    return (a * c0, a * c1, b * c0, b * c1)


@njit(cache=True, nogil=True)
def vspinor(e: float, px: float, py: float, pz: float, lam: int) -> tuple:
    """Dirac spinor v(p, lam) of an antifermion of helicity lam/2."""
    pp = math.sqrt(px * px + py * py + pz * pz)
    c0, c1 = _chi(px, py, pz, -lam)
    a = -lam * math.sqrt(max(e + lam * pp, 0.0))
    b = lam * math.sqrt(max(e - lam * pp, 0.0))
    return (a * c0, a * c1, b * c0, b * c1)


@njit(cache=True, nogil=True)
def bar(s: tuple) -> tuple:
    """psi-bar = psi^dagger gamma^0 (a row spinor)."""
    return (s[2].conjugate(), s[3].conjugate(), s[0].conjugate(), s[1].conjugate())


@njit(cache=True, nogil=True)
def dot(a: tuple, b: tuple) -> complex:
    """Minkowski product a.b of two (contravariant) four-vectors."""
    return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]


@njit(cache=True, nogil=True)
def current(sb: tuple, s: tuple, cl: complex, cr: complex) -> tuple:
    """psibar (-i gamma^mu (cL P_L + cR P_R)) psi: a contravariant vector (4-tuple)."""
    a0, a1, b0, b1 = sb[0], sb[1], sb[2], sb[3]
    l0, l1, r0, r1 = cl * s[0], cl * s[1], cr * s[2], cr * s[3]
    # a sigma^mu r + b sigmabar^mu l
    A0 = a0 * r0 + a1 * r1
    A1 = a0 * r1 + a1 * r0
    A2 = 1j * (a1 * r0 - a0 * r1)
    A3 = a0 * r0 - a1 * r1
    B0 = b0 * l0 + b1 * l1
    B1 = b0 * l1 + b1 * l0
    B2 = 1j * (b1 * l0 - b0 * l1)
    B3 = b0 * l0 - b1 * l1
    return (_MI * (A0 + B0), _MI * (A1 - B1), _MI * (A2 - B2), _MI * (A3 - B3))


@njit(cache=True, nogil=True)
def _vs(
    v0: complex, v1: complex, v2: complex, v3: complex, x0: complex, x1: complex
) -> tuple[complex, complex]:
    # (V.sigma) x with V.sigma = V^0 - sigma.V
    return ((v0 - v3) * x0 - (v1 - 1j * v2) * x1, -(v1 + 1j * v2) * x0 + (v0 + v3) * x1)


@njit(cache=True, nogil=True)
def _vsb(
    v0: complex, v1: complex, v2: complex, v3: complex, x0: complex, x1: complex
) -> tuple[complex, complex]:
    # (V.sigmabar) x with V.sigmabar = V^0 + sigma.V
    return ((v0 + v3) * x0 + (v1 - 1j * v2) * x1, (v1 + 1j * v2) * x0 + (v0 - v3) * x1)


@njit(cache=True, nogil=True)
def _row_vs(
    v0: complex, v1: complex, v2: complex, v3: complex, a0: complex, a1: complex
) -> tuple[complex, complex]:
    # a (V.sigma) for a row a
    return (a0 * (v0 - v3) - a1 * (v1 + 1j * v2), -a0 * (v1 - 1j * v2) + a1 * (v0 + v3))


@njit(cache=True, nogil=True)
def _row_vsb(
    v0: complex, v1: complex, v2: complex, v3: complex, a0: complex, a1: complex
) -> tuple[complex, complex]:
    # a (V.sigmabar) for a row a
    return (a0 * (v0 + v3) + a1 * (v1 + 1j * v2), a0 * (v1 - 1j * v2) + a1 * (v0 - v3))


@njit(cache=True, nogil=True)
def slash(v: tuple, cl: complex, cr: complex, s: tuple) -> tuple:
    """(-i gamma^mu V_mu (cL P_L + cR P_R)) psi for a column spinor psi."""
    u0, u1 = _vs(v[0], v[1], v[2], v[3], cr * s[2], cr * s[3])
    d0, d1 = _vsb(v[0], v[1], v[2], v[3], cl * s[0], cl * s[1])
    return (_MI * u0, _MI * u1, _MI * d0, _MI * d1)


@njit(cache=True, nogil=True)
def bslash(sb: tuple, v: tuple, cl: complex, cr: complex) -> tuple:
    """psibar (-i gamma^mu V_mu (cL P_L + cR P_R)) for a row spinor psibar."""
    l0, l1 = _row_vsb(v[0], v[1], v[2], v[3], sb[2], sb[3])
    r0, r1 = _row_vs(v[0], v[1], v[2], v[3], sb[0], sb[1])
    return (_MI * cl * l0, _MI * cl * l1, _MI * cr * r0, _MI * cr * r1)


@njit(cache=True, nogil=True)
def sbil(sb: tuple, s: tuple, c: complex) -> complex:
    """psibar (-i c) psi: the scalar vertex closed between two spinors."""
    return _MI * c * (sb[0] * s[0] + sb[1] * s[1] + sb[2] * s[2] + sb[3] * s[3])


@njit(cache=True, nogil=True)
def fprop(q: tuple, m: float, w: float, s: tuple) -> tuple:
    """i (qslash + m) / (q^2 - m^2 + i m w) psi (column) for momentum q along the fermion flow."""
    q2 = q[0] * q[0] - q[1] * q[1] - q[2] * q[2] - q[3] * q[3]
    f = 1j / complex(q2 - m * m, m * w)
    u0, u1 = _vs(q[0], q[1], q[2], q[3], s[2], s[3])
    d0, d1 = _vsb(q[0], q[1], q[2], q[3], s[0], s[1])
    return (f * (u0 + m * s[0]), f * (u1 + m * s[1]), f * (d0 + m * s[2]), f * (d1 + m * s[3]))


@njit(cache=True, nogil=True)
def bfprop(sb: tuple, q: tuple, m: float, w: float) -> tuple:
    """psibar i (qslash + m) / (q^2 - m^2 + i m w) (row) for momentum q along the fermion flow."""
    q2 = q[0] * q[0] - q[1] * q[1] - q[2] * q[2] - q[3] * q[3]
    f = 1j / complex(q2 - m * m, m * w)
    l0, l1 = _row_vsb(q[0], q[1], q[2], q[3], sb[2], sb[3])
    r0, r1 = _row_vs(q[0], q[1], q[2], q[3], sb[0], sb[1])
    return (f * (l0 + m * sb[0]), f * (l1 + m * sb[1]), f * (r0 + m * sb[2]), f * (r1 + m * sb[3]))


@njit(cache=True, nogil=True)
def vprop(j: tuple, q: tuple, m: float, w: float) -> tuple:
    """D^{mu nu} J_nu = -i (J^mu - q^mu (q.J)/M^2) / (q^2 - M^2 + i M w); M = 0: -i J^mu / q^2."""
    q2 = q[0] * q[0] - q[1] * q[1] - q[2] * q[2] - q[3] * q[3]
    f = -1j / complex(q2 - m * m, m * w)
    if m > 0.0:
        qj = (q[0] * j[0] - q[1] * j[1] - q[2] * j[2] - q[3] * j[3]) / (m * m)
        return (
            f * (j[0] - q[0] * qj),
            f * (j[1] - q[1] * qj),
            f * (j[2] - q[2] * qj),
            f * (j[3] - q[3] * qj),
        )
    return (f * j[0], f * j[1], f * j[2], f * j[3])


@njit(cache=True, nogil=True)
def sprop(q2: float, m: float, w: float) -> complex:
    """Scalar propagator i / (q^2 - M^2 + i M w)."""
    return 1j / complex(q2 - m * m, m * w)


@njit(cache=True, nogil=True)
def polvec(e: float, px: float, py: float, pz: float, lam: int, outgoing: bool) -> tuple:
    """Transverse polarisation vector eps^mu(k, lam) of a massless vector (conjugated if outgoing)."""
    pt = math.sqrt(px * px + py * py)
    pp = math.sqrt(pt * pt + pz * pz)
    ct = pz / pp
    st = pt / pp
    if pt > 0.0:
        cp, sp = px / pt, py / pt
    else:
        cp, sp = 1.0, 0.0
        if pz < 0:
            ct = -1.0
    # e1 = (0, ct cp, ct sp, -st), e2 = (0, -sp, cp, 0); eps = (-lam e1 - i e2)/sqrt2
    r = 1.0 / math.sqrt(2.0)
    e1 = complex(-lam * ct * cp * r, sp * r)
    e2 = complex(-lam * ct * sp * r, -cp * r)
    e3 = complex(lam * st * r, 0.0)
    if outgoing:
        return (0j, e1.conjugate(), e2.conjugate(), e3.conjugate())
    return (0j, e1, e2, e3)


@njit(cache=True, nogil=True)
def p4t(p: np.ndarray) -> tuple[float, float, float, float]:
    """Array row (px, py, pz, E) -> tuple (E, px, py, pz)."""
    return (p[3], p[0], p[1], p[2])


@njit(cache=True, nogil=True)
def tadd(a: tuple, b: tuple) -> tuple:
    """Sum of two four-vectors (tuples)."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


@njit(cache=True, nogil=True)
def tneg(a: tuple) -> tuple:
    """Minus a four-vector."""
    return (-a[0], -a[1], -a[2], -a[3])


@njit(cache=True, nogil=True)
def msq(a: tuple) -> float:
    """Invariant square of a real four-vector tuple."""
    return a[0] * a[0] - a[1] * a[1] - a[2] * a[2] - a[3] * a[3]


@njit(cache=True, nogil=True)
def vadd(a: tuple, b: tuple) -> tuple:
    """Sum of two complex four-vectors."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


@njit(cache=True, nogil=True)
def sadd(a: tuple, b: tuple) -> tuple:
    """Sum of two spinors."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


@njit(cache=True, nogil=True)
def vscale(a: tuple, c: complex) -> tuple:
    """c times a complex four-vector."""
    return (c * a[0], c * a[1], c * a[2], c * a[3])


@njit(cache=True, nogil=True)
def spinors(p: tuple, hel: int, anti: bool) -> tuple:
    """u(p, hel) or v(p, hel)."""
    if anti:
        return vspinor(p[0], p[1], p[2], p[3], hel)
    return uspinor(p[0], p[1], p[2], p[3], hel)


# ------------------------------------------------------------------ numpy-facing helpers
@njit(cache=True, nogil=True)
def _spinor_array(p: np.ndarray, lam: int, anti: bool) -> np.ndarray:
    n = p.shape[0]
    out = np.empty((n, 4), np.complex128)
    for i in range(n):
        s = spinors(p4t(p[i]), lam, anti)
        for k in range(4):
            out[i, k] = s[k]
    return out


def spinor_array(p4: np.ndarray, lam: int, anti: bool = False) -> np.ndarray:
    """u(p, lam) (or v if ``anti``) for momenta (n, 4) in (px, py, pz, E) order: (n, 4) complex."""
    return _spinor_array(np.ascontiguousarray(p4, dtype=np.float64), int(lam), bool(anti))


@njit(cache=True, nogil=True)
def sdot(sb: tuple, s: tuple) -> complex:
    """Row spinor times column spinor."""
    return sb[0] * s[0] + sb[1] * s[1] + sb[2] * s[2] + sb[3] * s[3]


@njit(cache=True, nogil=True)
def beams_cm(m_hat: float, m_e: float) -> tuple:
    """e- (along +z) and e+ momenta (tuples) in the hard rest frame of mass m_hat."""
    e = 0.5 * m_hat
    pz = math.sqrt(max(e * e - m_e * m_e, 0.0))
    return (e, 0.0, 0.0, pz), (e, 0.0, 0.0, -pz)


@njit(cache=True, nogil=True)
def schannel(
    vb2: tuple, u1: tuple, q: tuple, ce: float, zl: float, zr: float, mz: float, wz: float, z_on: bool
) -> tuple:
    """Effective photon and Z 'polarisations' D^{mu nu} J_nu of the e+e- annihilation current."""
    eg = vprop(current(vb2, u1, ce, ce), q, 0.0, 0.0)
    ez = vprop(current(vb2, u1, zl, zr), q, mz, wz) if z_on else (0j, 0j, 0j, 0j)
    return eg, ez


@njit(cache=True, nogil=True)
def sinsert(eg: tuple, ez: tuple, s: tuple, c: float, zl: float, zr: float, z_on: bool) -> tuple:
    """Insert the s-channel photon + Z on a charged-lepton column spinor."""
    a = slash(eg, c, c, s)
    if z_on:
        return sadd(a, slash(ez, zl, zr, s))
    return a


@njit(cache=True, nogil=True)
def bsinsert(sb: tuple, eg: tuple, ez: tuple, c: float, zl: float, zr: float, z_on: bool) -> tuple:
    """Insert the s-channel photon + Z on a charged-lepton row spinor."""
    a = bslash(sb, eg, c, c)
    if z_on:
        return sadd(a, bslash(sb, ez, zl, zr))
    return a


@njit(cache=True, nogil=True)
def vnorm2(v: tuple) -> float:
    """Euclidean norm squared of a complex four-vector (for skipping negligible helicities)."""
    return abs(v[0]) ** 2 + abs(v[1]) ** 2 + abs(v[2]) ** 2 + abs(v[3]) ** 2


#: Helicity configurations of the e+e- current with |J|^2 below this fraction of the
#: largest one are skipped in the 2 -> 3 and 2 -> 4 kernels: these are the helicity-flip
#: configurations, suppressed by (m_e / E_beam)^2 ~ 1e-8 in |M|^2.
E_HEL_SKIP = 1e-6
