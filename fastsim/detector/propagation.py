"""Numba kernels: helix propagation of charged particles and straight lines for neutrals.

Units: cm, GeV, T, ns.

Helix convention (documented in docs/detector.md):  with the geometric curvature
``w = -q * KAPPA * Bz / pT`` (1/cm; d(phi)/ds = w, ``s`` the transverse arc length), the
point of closest approach (POCA) to the z axis is ``d0 * (sin phi0, -cos phi0)``, the
direction there is ``phi0``, and the circle centre is ``(1/w - d0) * (-sin phi0, cos phi0)``.
Along the track ``r(s)^2 = d0^2 + 4 (1 - w d0) sin^2(w s / 2) / w^2`` (derived from the
circle equation), so the transverse arc to radius R is
``s(R) = 2/w * asin(w/2 * sqrt((R^2 - d0^2) / (1 - w d0)))`` and ``z(s) = z0 + tanLambda * s``.
The published ``omega`` is ``-w`` (positive for positive charge).

Material at a crossing: mean energy loss ``dedx_x0 * x/X0 * max(1, 0.9245/beta^2)`` (Bethe
1/beta^2 rise below the minimum at beta*gamma ~ 3.5, PDG eq. 34.5; the relativistic rise is
neglected) and a multiple-scattering kick with the Highland width
``theta0 = 13.6 MeV/(beta c p) * sqrt(x/X0) * (1 + 0.038 ln(x/(X0 beta^2)))`` (PDG 2024,
eq. 34.16), ``x/X0`` divided by the cosine of the incidence angle.  Photons convert in a
layer with probability ``1 - exp(-7/9 x/X0)`` (PDG eq. 34.31) into an e+e- pair whose
energy split follows the complete-screening Bethe-Heitler form
``dsigma/dx ~ 1 - 4/3 x (1 - x)`` (PDG eq. 34.29).

Randomness: a splitmix64 stream per particle, seeded from one 64-bit draw of the stage's
``numpy.random.Generator`` and the particle's index, so results are bit-reproducible.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fastsim.detector.geometry import KAPPA, KIND_CDC, KIND_MATERIAL, KIND_PXD

__all__ = [
    "END_CONVERTED",
    "END_DECAYED",
    "END_ECL",
    "END_ESCAPED",
    "END_LOOPER",
    "END_STOPPED",
    "arc_at_radius",
    "helix_from_state",
    "propagate_charged",
    "propagate_neutral",
]

END_ECL = 0  # reached the ECL front face
END_LOOPER = 1  # curled up inside the tracker
END_DECAYED = 2  # decayed in flight
END_STOPPED = 3  # ranged out in material
END_CONVERTED = 4  # photon converted
END_ESCAPED = 5  # left along the beam pipe

# fast-math without the no-inf/no-nan assumptions (path budgets are +inf for stable particles)
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_PI = 2.0 * math.pi
# Highland constant (GeV), PDG 2024 eq. 34.16
_HIGHLAND = 0.0136
# beta^2 at the Bethe minimum (beta*gamma = 3.5): 3.5^2/(1+3.5^2)
_BETA2_MIN = 0.9245283018867925


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _next(state: np.uint64) -> tuple:
    """splitmix64 step: (new state, uniform in [0, 1))."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return state, (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _seed(seed: np.uint64, i: int) -> np.uint64:
    s = seed ^ (np.uint64(i) * _M2)
    s, _ = _next(s)
    return s


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _gauss2(state: np.uint64) -> tuple:
    """Two independent standard normals (Box-Muller)."""
    state, u1 = _next(state)
    state, u2 = _next(state)
    r = math.sqrt(-2.0 * math.log(1.0 - u1))
    return state, r * math.cos(_TWO_PI * u2), r * math.sin(_TWO_PI * u2)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def helix_from_state(
    x: float, y: float, z: float, px: float, py: float, pz: float, q: float, bz: float
) -> tuple:
    """(w, phi0, d0, z0, tanl, s) of the helix through a point; ``s`` is the point's
    transverse arc length from the POCA (negative before it)."""
    pt = math.sqrt(px * px + py * py)
    w = -q * KAPPA * bz / pt
    nx = -py / pt
    ny = px / pt
    cx = x + nx / w
    cy = y + ny / w
    cn = math.sqrt(cx * cx + cy * cy)
    sg = 1.0 if w > 0 else -1.0
    phi0 = math.atan2(-sg * cx, sg * cy)
    d0 = sg * (1.0 / abs(w) - cn)
    dphi = math.atan2(py, px) - phi0
    dphi = dphi - _TWO_PI * math.floor((dphi + math.pi) / _TWO_PI)
    s = dphi / w
    tanl = pz / pt
    return w, phi0, d0, z - tanl * s, tanl, s


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def arc_at_radius(w: float, d0: float, r: float) -> float:
    """Transverse arc length from the POCA to radius r on the outgoing half turn; -1 if unreachable."""
    num = (r * r - d0 * d0) / (1.0 - w * d0)
    if num < 0.0:
        return -1.0
    a = 0.5 * w * math.sqrt(num)
    if abs(a) > 1.0:
        return -1.0
    return 2.0 * math.asin(a) / w


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _point(w: float, phi0: float, d0: float, z0: float, tanl: float, s: float, pt: float) -> tuple:
    phi = phi0 + w * s
    f = 1.0 / w - d0
    x = -math.sin(phi0) * f + math.sin(phi) / w
    y = math.cos(phi0) * f - math.cos(phi) / w
    return x, y, z0 + tanl * s, pt * math.cos(phi), pt * math.sin(phi), pt * tanl


@njit(cache=True, error_model="numpy", fastmath=_FM)
def propagate_charged(
    x, y, z, px, py, pz, q, mass, s3_max, seed,
    radius, z_min, z_max, x0, dedx_x0, eff, kind, superlayer, pxd_index, svd_index,
    bz, ecl_r, ecl_zf, ecl_zb, n_sl,
):  # fmt: skip
    """Propagate charged particles through the layers (see the module doc).

    Hits are recorded on the first outgoing arc (up to the point of largest radius),
    including the inward crossings of a displaced track that starts moving inwards.
    Returns per particle: end code, end state (x, y, z, px, py, pz at the ECL face or the
    decay point), 3-D path length, VXD hit bit mask (PXD bits 0-7, SVD bits 8-15), hit
    counts (PXD, SVD, CDC), CDC hits per superlayer (n, n_sl), radii of the first and
    last measured hit, and the energy lost in material (GeV).
    """
    n = len(x)
    n_layers = len(radius)
    end_code = np.zeros(n, np.int8)
    end = np.zeros((n, 6))
    path = np.zeros(n)
    vxd_mask = np.zeros(n, np.int32)
    n_hits = np.zeros((n, 3), np.int16)
    sl_hits = np.zeros((n, max(n_sl, 1)), np.int16)
    r_first = np.full(n, -1.0)
    r_last = np.full(n, -1.0)
    e_lost = np.zeros(n)
    for i in range(n):
        st = _seed(seed, i)
        X, Y, Z, PX, PY, PZ = x[i], y[i], z[i], px[i], py[i], pz[i]
        pt = math.sqrt(PX * PX + PY * PY)
        m = mass[i]
        if pt < 1e-6:
            end_code[i] = END_ESCAPED
            continue
        s3_left = s3_max[i]
        travelled = 0.0
        w, phi0, d0, z0, tanl, s_cur = helix_from_state(X, Y, Z, PX, PY, PZ, q[i], bz)
        sec = math.sqrt(1.0 + tanl * tanl)
        code = -1
        # two passes: 0 = inward crossings (only if the track starts before its POCA), 1 = outward
        for phase in range(2):
            if code >= 0:
                break
            if phase == 0 and s_cur >= 0.0:
                continue
            for jj in range(n_layers):
                L = n_layers - 1 - jj if phase == 0 else jj
                R = radius[L]
                if abs(d0) >= R:
                    continue
                sT = arc_at_radius(w, d0, R)
                if sT < 0.0:
                    if phase == 1:
                        break  # beyond the largest radius: the track turns here
                    continue
                s_target = -sT if phase == 0 else sT
                if s_target <= s_cur:
                    continue
                ds3 = (s_target - s_cur) * sec
                if ds3 > s3_left:
                    code = END_DECAYED
                    break
                zc = z0 + tanl * s_target
                if zc < z_min[L] or zc > z_max[L]:
                    continue
                k = kind[L]
                if k != KIND_MATERIAL:
                    st, u = _next(st)
                    if u < eff[L]:
                        if k == KIND_CDC:
                            n_hits[i, 2] += 1
                            sl_hits[i, superlayer[L]] += 1
                        elif k == KIND_PXD:
                            n_hits[i, 0] += 1
                            vxd_mask[i] |= 1 << pxd_index[L]
                        else:
                            n_hits[i, 1] += 1
                            vxd_mask[i] |= 1 << (8 + svd_index[L])
                        if r_first[i] < 0:
                            r_first[i] = R
                        r_last[i] = R
                if k == KIND_CDC or x0[L] <= 0.0:
                    continue
                # material: move to the crossing, lose energy, scatter, restart the helix
                X, Y, Z, PX, PY, PZ = _point(w, phi0, d0, z0, tanl, s_target, pt)
                s3_left -= ds3
                travelled += ds3
                p2 = PX * PX + PY * PY + PZ * PZ
                p = math.sqrt(p2)
                cos_inc = abs(X * PX + Y * PY) / (R * p)
                xx = x0[L] / max(cos_inc, 0.05)
                e = math.sqrt(p2 + m * m)
                beta2 = p2 / (e * e)
                de = dedx_x0[L] * xx * max(1.0, _BETA2_MIN / beta2)
                e_lost[i] += de
                e_new = e - de
                if e_new <= m * 1.0001:
                    code = END_STOPPED
                    break
                p_new = math.sqrt(e_new * e_new - m * m)
                beta = p_new / e_new
                theta0 = (
                    _HIGHLAND / (beta * p_new) * math.sqrt(xx) * (1.0 + 0.038 * math.log(xx / (beta * beta)))
                )
                st, g1, g2 = _gauss2(st)
                # orthonormal basis perpendicular to the direction
                dx, dy, dz = PX / p, PY / p, PZ / p
                ptd = math.sqrt(dx * dx + dy * dy)
                ux, uy, uz = -dy / ptd, dx / ptd, 0.0
                vx, vy, vz = -dz * dx / ptd, -dz * dy / ptd, ptd
                nx = dx + theta0 * (g1 * ux + g2 * vx)
                ny = dy + theta0 * (g1 * uy + g2 * vy)
                nz = dz + theta0 * (g1 * uz + g2 * vz)
                nn = math.sqrt(nx * nx + ny * ny + nz * nz)
                PX, PY, PZ = p_new * nx / nn, p_new * ny / nn, p_new * nz / nn
                pt = math.sqrt(PX * PX + PY * PY)
                if pt < 1e-6:
                    code = END_ESCAPED
                    break
                w, phi0, d0, z0, tanl, s_cur = helix_from_state(X, Y, Z, PX, PY, PZ, q[i], bz)
                sec = math.sqrt(1.0 + tanl * tanl)
        # ---------------------------------------------------------------- ECL face
        s_end = 0.0
        if code < 0:
            r_max = abs(2.0 / w - d0)
            s_barrel = -1.0
            if r_max >= ecl_r:
                s_barrel = arc_at_radius(w, d0, ecl_r)
            s_plane = -1.0
            if tanl > 1e-12:
                s_plane = (ecl_zf - z0) / tanl
            elif tanl < -1e-12:
                s_plane = (ecl_zb - z0) / tanl
            if s_barrel > s_cur and (s_plane < 0.0 or s_barrel <= s_plane):
                s_end = s_barrel
                code = END_ECL
            elif s_plane > s_cur:
                if s_barrel < 0.0 and (s_plane - s_cur) * abs(w) > 2.0 * _TWO_PI:
                    code = END_LOOPER  # more than two turns before the endcap: curls up
                    s_end = s_cur
                else:
                    s_end = s_plane
                    code = END_ECL
            else:
                code = END_LOOPER
                s_end = s_cur
            if code == END_ECL and (s_end - s_cur) * sec > s3_left:
                code = END_DECAYED
        if code == END_DECAYED:
            s_end = s_cur + s3_left / sec
        if code in (END_ECL, END_DECAYED):
            X, Y, Z, PX, PY, PZ = _point(w, phi0, d0, z0, tanl, s_end, pt)
            travelled += (s_end - s_cur) * sec
        end_code[i] = code
        end[i, 0], end[i, 1], end[i, 2] = X, Y, Z
        end[i, 3], end[i, 4], end[i, 5] = PX, PY, PZ
        path[i] = travelled
    return end_code, end, path, vxd_mask, n_hits, sl_hits, r_first, r_last, e_lost


@njit(cache=True, error_model="numpy", fastmath=_FM)
def propagate_neutral(x, y, z, px, py, pz, convert, seed, radius, z_min, z_max, x0, kind, ecl_r, ecl_zf, ecl_zb):  # fmt: skip
    """Straight lines to the ECL face; photons (``convert``) may convert in material layers.

    Returns end code (END_ECL, END_CONVERTED, END_ESCAPED), the end point (ECL face or
    conversion point), the path length (cm) and, for conversions, the electron's energy
    fraction x.
    """
    n = len(x)
    n_layers = len(radius)
    end_code = np.zeros(n, np.int8)
    end = np.zeros((n, 3))
    path = np.zeros(n)
    frac = np.zeros(n)
    ts = np.empty(2 * n_layers)
    ls = np.empty(2 * n_layers, np.int64)
    for i in range(n):
        st = _seed(seed, i)
        p = math.sqrt(px[i] ** 2 + py[i] ** 2 + pz[i] ** 2)
        if p <= 0.0:
            end_code[i] = END_ESCAPED
            continue
        dx, dy, dz = px[i] / p, py[i] / p, pz[i] / p
        X, Y, Z = x[i], y[i], z[i]
        a = dx * dx + dy * dy
        b = 2.0 * (X * dx + Y * dy)
        r0sq = X * X + Y * Y
        code = -1
        if convert[i] and a > 1e-14:
            nc = 0
            for L in range(n_layers):
                if kind[L] == KIND_CDC or x0[L] <= 0.0:
                    continue
                R = radius[L]
                c = r0sq - R * R
                disc = b * b - 4.0 * a * c
                if disc < 0.0:
                    continue
                sq = math.sqrt(disc)
                for t in ((-b - sq) / (2.0 * a), (-b + sq) / (2.0 * a)):
                    if t > 1e-9:
                        zc = Z + t * dz
                        if z_min[L] <= zc <= z_max[L]:
                            # insertion in path order
                            j = nc
                            while j > 0 and ts[j - 1] > t:
                                ts[j] = ts[j - 1]
                                ls[j] = ls[j - 1]
                                j -= 1
                            ts[j] = t
                            ls[j] = L
                            nc += 1
            for j in range(nc):
                L = ls[j]
                t = ts[j]
                cx, cy = X + t * dx, Y + t * dy
                cos_inc = abs(cx * dx + cy * dy) / radius[L]
                xx = x0[L] / max(cos_inc, 0.05)
                st, u = _next(st)
                if u < 1.0 - math.exp(-7.0 / 9.0 * xx):
                    code = END_CONVERTED
                    end[i, 0], end[i, 1], end[i, 2] = cx, cy, Z + t * dz
                    path[i] = t
                    # energy fraction of the electron: dsigma/dx ~ 1 - 4/3 x (1-x), by rejection
                    while True:
                        st, u1 = _next(st)
                        st, u2 = _next(st)
                        if u2 < 1.0 - 4.0 / 3.0 * u1 * (1.0 - u1):
                            frac[i] = u1
                            break
                    break
        if code < 0:
            t_bar = -1.0
            if a > 1e-14:
                c = r0sq - ecl_r * ecl_r
                disc = b * b - 4.0 * a * c
                if disc >= 0.0:
                    t_bar = (-b + math.sqrt(disc)) / (2.0 * a)
            t_pl = -1.0
            if dz > 1e-12:
                t_pl = (ecl_zf - Z) / dz
            elif dz < -1e-12:
                t_pl = (ecl_zb - Z) / dz
            t = -1.0
            if t_bar > 0.0 and (t_pl < 0.0 or t_bar <= t_pl):
                t = t_bar
            elif t_pl > 0.0:
                t = t_pl
            if t > 0.0:
                code = END_ECL
                end[i, 0], end[i, 1], end[i, 2] = X + t * dx, Y + t * dy, Z + t * dz
                path[i] = t
            else:
                code = END_ESCAPED
        end_code[i] = code
    return end_code, end, path, frac
