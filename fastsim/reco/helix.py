"""Helix algebra for the vertex fit: helix parameters <-> (point, momentum direction), Jacobians,
circle centres and the transverse-circle intersection used as a vertex seed.

Units: cm, GeV, T, rad.

Convention (the detector's, :mod:`fastsim.detector.tracking` and docs/detector.md): helix
parameters at the point of closest approach (POCA) to the z axis are
``(d0, phi0, omega, z0, tanl)`` with ``omega = q * KAPPA * Bz / pT`` (1/cm, positive for
positive charge; a positive track turns clockwise seen from +z in a field along +z).
The POCA is ``d0 * (sin phi0, -cos phi0)`` and the circle centre is
``C = (d0 + 1/omega) * (sin phi0, -cos phi0)`` (Belle II convention, basf2 ``Helix``;
derived again from the Lorentz force in docs/reco.md).  Along the track the direction is
``phi(s) = phi0 - omega * s`` (``s`` the transverse arc length from the POCA), the position
``P(s) = C + (1/omega) * (-sin phi(s), cos phi(s))`` and ``z(s) = z0 + tanl * s``.

Inverse map used as the measurement model of the fit (exact, no small-angle expansion): a
point ``(x, y, z)`` with direction ``phi`` and curvature ``omega`` has centre
``C = (x + sin(phi)/omega, y - cos(phi)/omega)``, ``phi0 = atan2(sg Cx, -sg Cy)`` with
``sg = sign(omega)``, ``d0 = sg |C| - 1/omega``, ``z0 = z + tanl * dphi / omega`` with
``dphi = phi - phi0`` wrapped to [-pi, pi) (the same branch the detector uses).  Its
Jacobian is written out in :func:`helix_and_jacobian` (chain rule through ``C``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fastsim.constants import C_CM_PER_NS

__all__ = ["KAPPA", "circle_seeds", "helix_and_jacobian", "helix_center", "phi_at_point"]

#: curvature constant: 1/rho [1/cm] = KAPPA * B [T] / pT [GeV].  From the Lorentz force,
#: rho = pT / (q c B): with c in m/ns, pT in GeV and B in T, rho[m] = pT / (c[m/ns] B), i.e.
#: KAPPA = c[cm/ns] * 1e-4 per cm (PDG RPP 2024, "Passage of particles through matter").
KAPPA: float = C_CM_PER_NS * 1e-4

_TWO_PI = 2.0 * math.pi


@njit(cache=True, inline="always")
def _wrap(a: float) -> float:
    """Angle wrapped to [-pi, pi)."""
    return a - _TWO_PI * math.floor((a + math.pi) / _TWO_PI)


@njit(cache=True, inline="always")
def helix_center(d0: float, phi0: float, omega: float) -> tuple[float, float]:
    """Transverse circle centre (cm) of a helix."""
    rho = d0 + 1.0 / omega
    return rho * math.sin(phi0), -rho * math.cos(phi0)


@njit(cache=True, inline="always")
def phi_at_point(d0: float, phi0: float, omega: float, x: float, y: float) -> float:
    """Direction phi of the helix at its point transversally nearest to (x, y)."""
    cx, cy = helix_center(d0, phi0, omega)
    sg = 1.0 if omega > 0 else -1.0
    # P - C = (1/omega) (-sin phi, cos phi)  ->  sin phi ~ -sg (Px - Cx), cos phi ~ sg (Py - Cy)
    return math.atan2(-sg * (x - cx), sg * (y - cy))


@njit(cache=True, inline="always")
def z_at_phi(phi0: float, omega: float, z0: float, tanl: float, phi: float) -> float:
    """z (cm) of the helix where its direction is ``phi`` (branch |omega s| < pi)."""
    s = -_wrap(phi - phi0) / omega
    return z0 + tanl * s


@njit(cache=True, nogil=True)
def helix_and_jacobian(
    x: float, y: float, z: float, phi: float, om: float, tl: float, h: np.ndarray, jac: np.ndarray
) -> None:
    """Helix parameters ``h`` (5) of a track through (x, y, z) cm with direction ``phi``,
    curvature ``om`` (1/cm) and ``tl`` = tanLambda, and the Jacobian ``jac`` (5, 6) with
    respect to (x, y, z, phi, om, tl).  Formulas in the module docstring."""
    sp = math.sin(phi)
    cp = math.cos(phi)
    inv = 1.0 / om
    xc = x + sp * inv
    yc = y - cp * inv
    cn2 = xc * xc + yc * yc
    cn = math.sqrt(cn2)
    sg = 1.0 if om > 0 else -1.0
    phi0 = math.atan2(sg * xc, -sg * yc)
    dphi = _wrap(phi - phi0)
    h[0] = sg * cn - inv
    h[1] = phi0
    h[2] = om
    h[3] = z + tl * dphi * inv
    h[4] = tl
    # derivatives of the centre w.r.t. (x, y, phi, om): columns 0, 1, 3, 4 of jac
    dxc = (1.0, 0.0, cp * inv, -sp * inv * inv)
    dyc = (0.0, 1.0, sp * inv, cp * inv * inv)
    cols = (0, 1, 3, 4)
    for k in range(6):
        for r in range(5):
            jac[r, k] = 0.0
    for a in range(4):
        k = cols[a]
        dcn = (xc * dxc[a] + yc * dyc[a]) / cn
        dphi0 = (-yc * dxc[a] + xc * dyc[a]) / cn2
        jac[0, k] = sg * dcn
        jac[1, k] = dphi0
        jac[3, k] = -tl * inv * dphi0
    jac[0, 4] += inv * inv  # d(-1/om)/d om
    jac[3, 3] += tl * inv  # d dphi / d phi = 1 - d phi0/d phi
    jac[3, 4] += -tl * dphi * inv * inv
    jac[3, 2] = 1.0
    jac[3, 5] = dphi * inv
    jac[2, 4] = 1.0
    jac[4, 5] = 1.0


@njit(cache=True, nogil=True)
def _pair_seed(h1: np.ndarray, h2: np.ndarray) -> tuple[float, float, float, float, int]:
    """Seed (x, y, z) from the intersection of the two transverse circles, the
    transverse gap between the circles (0 when they intersect) and the number of
    intersections (0, 2).  Of two intersections the one where the helices' z agree best
    is taken (intersection of two circles: elementary geometry, e.g. Bronstein-Semendjajew)."""
    c1x, c1y = helix_center(h1[0], h1[1], h1[2])
    c2x, c2y = helix_center(h2[0], h2[1], h2[2])
    r1 = 1.0 / abs(h1[2])
    r2 = 1.0 / abs(h2[2])
    dx = c2x - c1x
    dy = c2y - c1y
    d = math.sqrt(dx * dx + dy * dy)
    ux = dx / d
    uy = dy / d
    if d >= r1 + r2:  # separate circles: midpoint of the gap
        gap = d - r1 - r2
        t = r1 + 0.5 * gap
        px = c1x + t * ux
        py = c1y + t * uy
        ph1 = phi_at_point(h1[0], h1[1], h1[2], px, py)
        ph2 = phi_at_point(h2[0], h2[1], h2[2], px, py)
        z = 0.5 * (z_at_phi(h1[1], h1[2], h1[3], h1[4], ph1) + z_at_phi(h2[1], h2[2], h2[3], h2[4], ph2))
        return px, py, z, gap, 0
    if d <= abs(r1 - r2):  # one circle inside the other: midpoint of the nearest points
        sgn = 1.0 if r1 >= r2 else -1.0
        ax = c1x + sgn * r1 * ux
        ay = c1y + sgn * r1 * uy
        bx = c2x + sgn * r2 * ux
        by = c2y + sgn * r2 * uy
        px = 0.5 * (ax + bx)
        py = 0.5 * (ay + by)
        gap = abs(r1 - r2) - d
        ph1 = phi_at_point(h1[0], h1[1], h1[2], px, py)
        ph2 = phi_at_point(h2[0], h2[1], h2[2], px, py)
        z = 0.5 * (z_at_phi(h1[1], h1[2], h1[3], h1[4], ph1) + z_at_phi(h2[1], h2[2], h2[3], h2[4], ph2))
        return px, py, z, gap, 0
    a = (d * d + r1 * r1 - r2 * r2) / (2.0 * d)
    hh = math.sqrt(max(r1 * r1 - a * a, 0.0))
    best_dz = 1e300
    bx = 0.0
    by = 0.0
    bz = 0.0
    for sgn in (1.0, -1.0):
        px = c1x + a * ux - sgn * hh * uy
        py = c1y + a * uy + sgn * hh * ux
        ph1 = phi_at_point(h1[0], h1[1], h1[2], px, py)
        ph2 = phi_at_point(h2[0], h2[1], h2[2], px, py)
        z1 = z_at_phi(h1[1], h1[2], h1[3], h1[4], ph1)
        z2 = z_at_phi(h2[1], h2[2], h2[3], h2[4], ph2)
        if abs(z1 - z2) < best_dz:
            best_dz = abs(z1 - z2)
            bx, by, bz = px, py, 0.5 * (z1 + z2)
    return bx, by, bz, 0.0, 2


@njit(cache=True, nogil=True)
def _circle_seeds_kernel(
    h: np.ndarray, i1: np.ndarray, i2: np.ndarray, out: np.ndarray, gap: np.ndarray
) -> None:
    for k in range(len(i1)):
        x, y, z, g, _n = _pair_seed(h[i1[k]], h[i2[k]])
        out[k, 0] = x
        out[k, 1] = y
        out[k, 2] = z
        gap[k] = g


def circle_seeds(helix: np.ndarray, i1: np.ndarray, i2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex seeds (n, 3) cm for track pairs (rows ``i1``, ``i2`` of ``helix`` (m, 5)) from
    the intersection of their transverse circles, and the transverse gap (cm) between the
    circles when they do not intersect (0 otherwise)."""
    out = np.empty((len(i1), 3))
    gap = np.empty(len(i1))
    _circle_seeds_kernel(
        np.ascontiguousarray(helix, np.float64), np.asarray(i1, np.int64), np.asarray(i2, np.int64), out, gap
    )
    return out, gap
