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

from fastsim.detector import vmath
from fastsim.detector.geometry import KAPPA, KIND_CDC, KIND_MATERIAL, KIND_PXD, KIND_SVD
from fastsim.detector.vmath import _M2
from fastsim.trigger.fmath import asin

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
# and without reassociation: with it, a kernel compiled in the running process and the same
# kernel loaded from numba's cache round differently (results would depend on a warm cache)
_FM = {"nsz", "arcp", "contract", "afn"}
_TWO_PI = 2.0 * math.pi
# Highland constant (GeV), PDG 2024 eq. 34.16
_HIGHLAND = 0.0136
# beta^2 at the Bethe minimum (beta*gamma = 3.5): 3.5^2/(1+3.5^2)
_BETA2_MIN = 0.9245283018867925
# tracks stepped together through the layers before the CDC
_CHUNK = 128
# rows of the chunk state holding integers (as floats): end code, VXD bit mask, PXD and SVD
# hit counts, stepping mode
_ROW_CODE, _ROW_MASK, _ROW_NH0, _ROW_NH1, _ROW_MODE = 31, 32, 33, 34, 35
# and: CDC hits, hits in the current superlayer, z test of the current run (1 all layers, -1 some,
# pass, 0 none), the layer the scalar stepping resumes at
_ROW_NH2, _ROW_NSL, _ROW_ZALL, _ROW_RESUME = 36, 37, 38, 39
# and the end state from _end_block: whether it applies, end code, x, y, z, px, py, pz, path
_ROW_ENDED, _ROW_END = 40, 41
# and the largest radius^2 (cm^2) of the current run at which a track's crossings give hits
_ROW_HITLIM = 49
_N_ROWS = 50
# asin a lies in [a + a^3/6 + 3 a^5/40, that + _ASIN_REST a^7] for 0 <= a <= 1 (all terms of
# its Taylor series are positive and sum to pi/2 at a = 1)
_ASIN_REST = math.pi / 2.0 - (1.0 + 1.0 / 6.0 + 3.0 / 40.0)
# stepping modes: escaped at the start, inward pass first, outward, ended, outward in the
# per-track loop from layer _ROW_RESUME
_MODE_NONE, _MODE_INWARD, _MODE_OUT, _MODE_DONE, _MODE_RESUME = 0, 1, 2, 3, 4


_next = vmath.next_uniform  # splitmix64 step: (new state, uniform in [0, 1))


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _seed(seed: np.uint64, i: int) -> np.uint64:
    s = seed ^ (np.uint64(i) * _M2)
    s, _ = _next(s)
    return s


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
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


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def arc_at_radius(w: float, d0: float, r: float) -> float:
    """Transverse arc length from the POCA to radius r on the outgoing half turn; -1 if unreachable."""
    num = (r * r - d0 * d0) / (1.0 - w * d0)
    if num < 0.0:
        return -1.0
    a = 0.5 * w * math.sqrt(num)
    if abs(a) > 1.0:
        return -1.0
    return 2.0 * math.asin(a) / w


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _helix(x: float, y: float, z: float, px: float, py: float, pz: float, q: float, bz: float) -> tuple:
    """As :func:`helix_from_state`, with the POCA direction as (cos phi0, sin phi0) and one
    atan2: (w, cos phi0, sin phi0, d0, z0, tanl, s)."""
    pt = math.sqrt(px * px + py * py)
    w = -q * KAPPA * bz / pt
    cx = x - py / pt / w
    cy = y + px / pt / w
    cn = math.sqrt(cx * cx + cy * cy)
    sg = 1.0 if w > 0 else -1.0
    c0, s0 = 1.0, 0.0
    if cn > 0.0:
        c0, s0 = sg * cy / cn, -sg * cx / cn
    d0 = sg * (1.0 / abs(w) - cn)
    # turning angle from the POCA direction to the momentum direction
    s = math.atan2(c0 * py - s0 * px, c0 * px + s0 * py) / w
    tanl = pz / pt
    return w, c0, s0, d0, z - tanl * s, tanl, s


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _pos(w: float, c0: float, s0: float, d0: float, ha: float, hc: float) -> tuple:
    """Transverse point and unit direction at arc s of the helix, from ha = sin(w s/2) and
    hc = cos(w s/2) (no trigonometric call; 1 - cos(w s) = 2 ha^2 avoids the cancellation
    of 1/w - d0 against sin(phi)/w at small curvature).  Returns (x, y, cos phi, sin phi)."""
    sw = 2.0 * ha * hc
    omc = 2.0 * ha * ha
    x = s0 * d0 + (c0 * sw - s0 * omc) / w
    y = -c0 * d0 + (s0 * sw + c0 * omc) / w
    return x, y, c0 * (1.0 - omc) - s0 * sw, s0 * (1.0 - omc) + c0 * sw


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _geometric(state: np.uint64, log_eff: float) -> tuple:
    """Number of successes before the first failure of Bernoulli(eff) trials,
    floor(ln u / ln eff) with u uniform in (0, 1] (inversion of P(K >= k) = eff^k; Devroye,
    Non-Uniform Random Variate Generation (1986), ch. X.2)."""
    state, u = _next(state)
    if log_eff >= 0.0:
        return state, 1 << 30
    g = math.log(1.0 - u) / log_eff
    return state, int(min(g, 1073741824.0))


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _record_hit(k, R, pxd_i, svd_i, mask, nh0, nh1, nh2, rf, rl):  # fmt: skip
    """Count a hit in a layer of kind k at radius R (cm): (mask, nh0, nh1, nh2, rf, rl) updated."""
    if k == KIND_CDC:
        nh2 += 1
    elif k == KIND_PXD:
        nh0 += 1
        mask |= 1 << pxd_i
    else:
        nh1 += 1
        mask |= 1 << (8 + svd_i)
    if rf < 0:
        rf = R
    return mask, nh0, nh1, nh2, rf, R


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _scatter(st, X, Y, cph, sph, tanl, sec, pt, m, R, x0_l, dedx_l):  # fmt: skip
    """Energy loss and multiple scattering in a layer (x/X0 = x0_l at normal incidence, radius
    R cm) crossed at (X, Y) with transverse direction (cph, sph), tanLambda, sec = 1/cos(lambda)
    and pT (GeV).  Returns (random state, energy lost (GeV), momentum after the layer (GeV,
    0 if the particle stops) and the new direction (nx, ny, nz) with its norm nn)."""
    p = pt * sec
    p2 = p * p
    # x/X0 over the cosine of the incidence angle |P.d| / (R sec), at least 0.05
    rs = R * sec
    xx = x0_l * rs / max(abs(X * cph + Y * sph), 0.05 * rs)
    m2 = m * m
    e = math.sqrt(p2 + m2)
    de = dedx_l * xx
    if p2 < _BETA2_MIN * (p2 + m2):  # below the minimum: times 1/beta^2 = E^2/p^2
        de *= _BETA2_MIN * (p2 + m2) / p2
    e_new = e - de
    if e_new <= m * 1.0001:
        return st, de, 0.0, 0.0, 0.0, 0.0, 1.0
    # Highland with beta p = p^2/E and beta^2 = p^2/E^2 after the loss (no sqrt on the way)
    p2_new = e_new * e_new - m * m
    ip2 = 1.0 / p2_new
    theta0 = _HIGHLAND * e_new * ip2 * math.sqrt(xx) * (1.0 + 0.038 * math.log(xx * e_new * e_new * ip2))
    p_new = math.sqrt(p2_new)
    st, g1, g2 = vmath.gauss2(st)
    # kick d + theta0 (g1 u + g2 v) in the orthonormal basis u = (-sin phi, cos phi, 0),
    # v = (-sin(lambda) cos phi, -sin(lambda) sin phi, cos lambda) perpendicular to the unit
    # direction d, all times sec = 1/cos(lambda) (the direction is what counts: no division)
    ts, tg = theta0 * sec * g1, theta0 * g2
    nx = cph - ts * sph - tg * tanl * cph
    ny = sph + ts * cph - tg * tanl * sph
    nz = tanl + tg
    nn = math.sqrt(nx * nx + ny * ny + nz * nz)
    return st, de, p_new, nx, ny, nz, nn


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _end_state(code, w, c0, s0, d0, z0, tanl, s_cur, sec, s3_left, pt, X, Y, Z, PX, PY, PZ, ecl_r, ecl_zf, ecl_zb):  # fmt: skip
    """End of the stepping: the ECL front face (barrel cylinder or endcap plane), a looper or
    the decay point, on the helix (w, c0, s0, d0, z0, tanl) from arc ``s_cur``.  Returns
    (end code, x, y, z, px, py, pz there, 3-D path added (cm))."""
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
    dpath = 0.0
    if code in (END_ECL, END_DECAYED):
        h = 0.5 * w * s_end
        X, Y, cph, sph = _pos(w, c0, s0, d0, math.sin(h), math.cos(h))
        Z = z0 + tanl * s_end
        PX, PY, PZ = pt * cph, pt * sph, pt * tanl
        dpath = (s_end - s_cur) * sec
    return code, X, Y, Z, PX, PY, PZ, dpath


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _cross_out(X, Y, cph, sph, rw, sg, dr2):  # fmt: skip
    """Outward crossing of the radius R with dr2 = R^2 - X^2 - Y^2 > 0 (cm^2) from the point
    (X, Y) with transverse direction (cph, sph) on a circle of radius rw = 1/(2 k) (cm) turning
    to the side sg (+1 counter-clockwise), by the quadratic in t = tan(psi/2) of
    :func:`propagate_charged` (:func:`_cross_out_simd`).  Returns (t, transverse arc to the
    crossing (cm)); t is NaN when the track turns before R."""
    t, ds, real = _cross_out_simd(X, Y, cph, sph, rw, sg, dr2)
    return (t if real else np.nan), ds


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _turn(X, Y, cph, sph, t, sg, rw):  # fmt: skip
    """Point (cm) and transverse direction after the turning angle psi, t = tan(psi/2), on
    the circle of radius rw (cm) turning to the side sg (rational in t)."""
    it2 = 1.0 / (1.0 + t * t)
    sn = 2.0 * t * it2  # sin psi
    omc = 2.0 * t * t * it2  # 1 - cos psi
    X = X + (sn * cph - omc * sg * sph) * rw
    Y = Y + (sn * sph + omc * sg * cph) * rw
    return X, Y, (1.0 - omc) * cph - sn * sg * sph, (1.0 - omc) * sph + sn * sg * cph


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _redirect(p_new, nx, ny, nz, nn):  # fmt: skip
    """pT (GeV), transverse direction, tanLambda and 1/cos(lambda) of momentum p_new along
    (nx, ny, nz) / nn."""
    nt = math.sqrt(nx * nx + ny * ny)
    int_ = 1.0 / nt
    return p_new * nt / nn, nx * int_, ny * int_, nz * int_, nn * int_


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _end_local(code, X, Y, Z, cph, sph, tanl, sec, pt, cq, s3_left, ecl_r, ecl_zf, ecl_zb):  # fmt: skip
    """:func:`_end_state` from the local state of a track moving away from the axis inside the
    ECL volume (X^2 + Y^2 < ecl_r^2, ecl_zb < Z < ecl_zf; cm): the barrel crossing from the
    quadratic of :func:`_cross_out`, the endcap plane from z; same outcome.  Returns (end
    code, x, y, z, px, py, pz there, 3-D path added (cm))."""
    aw = abs(cq) / pt  # |w|
    sg = 1.0 if cq > 0.0 else -1.0
    ds = 0.0
    t = np.nan  # tan(psi/2) at the barrel crossing
    if code < 0:
        t, ds_b = _cross_out(X, Y, cph, sph, 1.0 / aw, sg, ecl_r * ecl_r - X * X - Y * Y)
        ds_p = -1.0
        if tanl > 1e-12:
            ds_p = (ecl_zf - Z) / tanl
        elif tanl < -1e-12:
            ds_p = (ecl_zb - Z) / tanl
        if not math.isnan(t) and (ds_p < 0.0 or ds_b <= ds_p):
            ds = ds_b
            code = END_ECL
        elif ds_p > 0.0:
            if math.isnan(t) and ds_p * aw > 2.0 * _TWO_PI:
                code = END_LOOPER  # more than two turns before the endcap: curls up
            else:
                ds = ds_p
                code = END_ECL
                t = np.nan
        else:
            code = END_LOOPER
        if code == END_ECL and ds * sec > s3_left:
            code = END_DECAYED
            t = np.nan
    if code == END_DECAYED:
        ds = s3_left / sec
    if code not in (END_ECL, END_DECAYED):
        return code, X, Y, Z, pt * cph, pt * sph, pt * tanl, 0.0
    if math.isnan(t):
        h = 0.5 * aw * ds
        sh, ch = math.sin(h), math.cos(h)
        sn, omc = 2.0 * sh * ch, 2.0 * sh * sh  # sin psi, 1 - cos psi
    else:
        it2 = 1.0 / (1.0 + t * t)
        sn, omc = 2.0 * t * it2, 2.0 * t * t * it2
    rw = 1.0 / aw
    xe = X + (sn * cph - omc * sg * sph) * rw
    ye = Y + (sn * sph + omc * sg * cph) * rw
    ce, se = (1.0 - omc) * cph - sn * sg * sph, (1.0 - omc) * sph + sn * sg * cph
    return code, xe, ye, Z + tanl * ds, pt * ce, pt * se, pt * tanl, ds * sec


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _run_consts(w, d0, z0, tanl, s_cur, sec, s3_left):  # fmt: skip
    """Per-helix constants of the CDC runs (:func:`propagate_charged`): d0^2, q4 (reachable iff (R^2 - d0^2) q4 <= 1), the largest radius^2, the decay point's radius^2,
    a_scale (a = sin(w s/2) = a_scale sqrt(R^2 - d0^2)), z_arc (z = z0 + z_arc asin a) and z of
    the current point (arc s_cur)."""
    d02 = d0 * d0
    omwd = 1.0 - w * d0
    q4 = 0.25 * w * w / omwd
    rmax2 = d02 + 1.0 / q4
    rdec2 = np.inf
    if s3_left < np.inf:
        s_dec = s_cur + s3_left / sec
        if s_dec <= 0.0:
            rdec2 = -1.0
        elif abs(w * s_dec) < math.pi:
            sn = math.sin(0.5 * w * s_dec)
            rdec2 = d02 + sn * sn / q4
    return d02, q4, rmax2, rdec2, 0.5 * abs(w) / math.sqrt(omwd), 2.0 * tanl / abs(w), z0 + tanl * s_cur


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _cross_out_simd(X, Y, cph, sph, rw, sg, dr2):  # fmt: skip
    """:func:`_cross_out` without branches (for the SIMD loops): (t = tan(psi/2), transverse
    arc to the crossing (cm), whether the track reaches the radius)."""
    pu = X * cph + Y * sph
    pn = sg * (Y * cph - X * sph)
    cc = 0.25 * dr2
    aq = cc - rw * (pn + rw)
    bq = -pu * rw
    disc = bq * bq - 4.0 * aq * cc
    qq = -0.5 * (bq + math.copysign(math.sqrt(max(disc, 0.0)), bq))
    # the root of _cross_out with one division, qq/aq or cc/qq; for aq >= 0 the smaller one
    # (qq/aq < cc/qq iff (qq^2 - cc aq) qq < 0)
    first = ((aq >= 0.0) & ((qq * qq - cc * aq) * qq < 0.0)) | ((aq < 0.0) & (qq <= 0.0))
    t = (qq if first else cc) / (aq if first else qq)
    half = vmath.vatan(t)
    half = half + math.pi if t < 0.0 else half
    return t, 2.0 * half * rw, disc >= 0.0


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _init_block(fb, sta, nb, base, x, y, z, px, py, pz, q, mass, s3_max, seed, bz, r_inner, l_in):  # fmt: skip
    """Local state of the particles ``base`` to ``base + nb - 1`` at their production point
    (rows of :func:`propagate_charged`), in SIMD lanes: no stepping without transverse
    momentum (pT < 1e-6 GeV), an inward pass first for a particle moving towards the axis
    from outside the innermost layer (radius ``r_inner``, cm), else outward from layer
    ``l_in`` on."""
    for j in range(nb):
        i = base + j
        X, Y, PX, PY, PZ = x[i], y[i], px[i], py[i], pz[i]
        pt = math.sqrt(PX * PX + PY * PY)
        ipt = 1.0 / pt
        sta[j] = _seed(seed, i)
        cq = -q[i] * KAPPA * bz  # w = cq / pT
        tanl = PZ * ipt
        fb[0 * _CHUNK + j], fb[1 * _CHUNK + j], fb[2 * _CHUNK + j] = X, Y, z[i]
        fb[3 * _CHUNK + j], fb[4 * _CHUNK + j], fb[5 * _CHUNK + j] = PX * ipt, PY * ipt, tanl
        fb[6 * _CHUNK + j], fb[7 * _CHUNK + j] = math.sqrt(1.0 + tanl * tanl), pt
        fb[8 * _CHUNK + j], fb[9 * _CHUNK + j], fb[10 * _CHUNK + j] = s3_max[i], 0.0, 0.0
        fb[11 * _CHUNK + j], fb[12 * _CHUNK + j] = -1.0, -1.0
        fb[13 * _CHUNK + j], fb[14 * _CHUNK + j] = cq, 1.0 if cq > 0.0 else -1.0
        fb[29 * _CHUNK + j], fb[30 * _CHUNK + j] = 1.0 / abs(cq), mass[i]
        fb[_ROW_CODE * _CHUNK + j], fb[_ROW_MASK * _CHUNK + j] = -1.0, 0.0
        fb[_ROW_NH0 * _CHUNK + j], fb[_ROW_NH1 * _CHUNK + j], fb[_ROW_NH2 * _CHUNK + j] = 0.0, 0.0, 0.0
        fb[_ROW_RESUME * _CHUNK + j] = l_in
        r_start = math.sqrt(X * X + Y * Y) * (1.0 + 1e-9) + 1e-9
        inward = (X * PX + Y * PY < 0.0) & (r_start >= r_inner)
        mode = _MODE_INWARD if inward else _MODE_OUT
        fb[_ROW_MODE * _CHUNK + j] = _MODE_NONE if pt < 1e-6 else mode


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _step_block(fb, sta, nb, R, z_lo, z_hi, x0_l, dedx_l, eff_l, detector, pxd, bit):  # fmt: skip
    """One layer before the CDC (radius R, z extent [z_lo, z_hi], x/X0 = x0_l, cm) for the
    tracks of a chunk (rows of the chunk buffer of :func:`propagate_charged`), without a
    branch per track: every quantity is computed for every track and kept by a select, so
    the loop runs in SIMD lanes.  Same steps as the layer loop of :func:`propagate_charged`:
    the outward crossing from the quadratic of :func:`_cross_out`, decay, z extent, a hit
    with probability ``eff_l`` in a ``detector`` layer (VXD bit ``bit``, counted as PXD if
    ``pxd``, else SVD), then at a material layer the energy loss and Highland
    scattering of :func:`_scatter` with Box-Muller normals (:mod:`.vmath`)."""
    for j in range(nb):
        X, Y, Z = fb[0 * _CHUNK + j], fb[1 * _CHUNK + j], fb[2 * _CHUNK + j]
        cph, sph, tanl, sec, pt = (
            fb[3 * _CHUNK + j],
            fb[4 * _CHUNK + j],
            fb[5 * _CHUNK + j],
            fb[6 * _CHUNK + j],
            fb[7 * _CHUNK + j],
        )
        s3l, sg, m = fb[8 * _CHUNK + j], fb[14 * _CHUNK + j], fb[30 * _CHUNK + j]
        r2 = X * X + Y * Y
        dr2 = R * R - r2
        go = (fb[_ROW_MODE * _CHUNK + j] == _MODE_OUT) & (dr2 > 2e-9 * (r2 + R))
        rw = pt * fb[29 * _CHUNK + j]  # radius of curvature (cm)
        t, ds, real = _cross_out_simd(X, Y, cph, sph, rw, sg, dr2)
        ds3 = ds * sec
        turns = go & (not real)
        decays = go & real & (ds3 > s3l)
        zc = Z + tanl * ds
        inz = go & real & (ds3 <= s3l) & (zc >= z_lo) & (zc <= z_hi)
        st = sta[j]
        if detector:
            st1, u = vmath.next_uniform(st)
            hit = inz & (u < eff_l)
            st = st1 if inz else st
            fb[_ROW_MASK * _CHUNK + j] = (
                fb[_ROW_MASK * _CHUNK + j] + bit if hit else fb[_ROW_MASK * _CHUNK + j]
            )
            fb[_ROW_NH0 * _CHUNK + j] += 1.0 if hit & pxd else 0.0
            fb[_ROW_NH1 * _CHUNK + j] += 1.0 if hit & (not pxd) else 0.0
            rf = fb[11 * _CHUNK + j]
            fb[11 * _CHUNK + j] = R if hit & (rf < 0.0) else rf
            fb[12 * _CHUNK + j] = R if hit else fb[12 * _CHUNK + j]
        code = fb[_ROW_CODE * _CHUNK + j]
        code = END_DECAYED if decays else code
        ended = turns | decays
        if x0_l > 0.0:
            # move to the crossing (rational in t, _turn)
            it2 = 1.0 / (1.0 + t * t)
            sn = 2.0 * t * it2
            omc = 2.0 * t * t * it2
            Xn = X + (sn * cph - omc * sg * sph) * rw
            Yn = Y + (sn * sph + omc * sg * cph) * rw
            cn = (1.0 - omc) * cph - sn * sg * sph
            sn_ = (1.0 - omc) * sph + sn * sg * cph
            # energy loss and Highland width (_scatter)
            p = pt * sec
            p2 = p * p
            rs = R * sec
            xx = x0_l * rs / max(abs(Xn * cn + Yn * sn_), 0.05 * rs)
            m2 = m * m
            e2 = p2 + m2
            de = dedx_l * xx
            de = de * (_BETA2_MIN * e2 / p2) if p2 < _BETA2_MIN * e2 else de
            e_new = math.sqrt(e2) - de
            stops = inz & (e_new <= m * 1.0001)
            p2n = e_new * e_new - m2
            ip2 = 1.0 / p2n
            theta0 = (
                _HIGHLAND * e_new * ip2 * math.sqrt(xx) * (1.0 + 0.038 * vmath.vlog(xx * e_new * e_new * ip2))
            )
            p_new = math.sqrt(p2n)
            st2, g1, g2 = vmath.gauss2(st)
            ts = theta0 * sec * g1
            tg = theta0 * g2
            nx = cn - ts * sn_ - tg * tanl * cn
            ny = sn_ + ts * cn - tg * tanl * sn_
            nz = tanl + tg
            nn = math.sqrt(nx * nx + ny * ny + nz * nz)
            nt = math.sqrt(nx * nx + ny * ny)
            ptn = p_new * nt / nn
            escapes = inz & (not stops) & (ptn < 1e-6)
            moves = inz & (not stops) & (not escapes)
            int_ = 1.0 / nt
            fb[0 * _CHUNK + j] = Xn if inz else X
            fb[1 * _CHUNK + j] = Yn if inz else Y
            fb[2 * _CHUNK + j] = zc if inz else Z
            fb[8 * _CHUNK + j] = s3l - ds3 if inz else s3l
            fb[9 * _CHUNK + j] = fb[9 * _CHUNK + j] + ds3 if inz else fb[9 * _CHUNK + j]
            fb[10 * _CHUNK + j] = fb[10 * _CHUNK + j] + de if inz else fb[10 * _CHUNK + j]
            st = st2 if moves | escapes else st
            fb[3 * _CHUNK + j] = nx * int_ if moves else (nx if escapes else (cn if inz else cph))
            fb[4 * _CHUNK + j] = ny * int_ if moves else (ny if escapes else (sn_ if inz else sph))
            fb[5 * _CHUNK + j] = nz * int_ if moves else (nz if escapes else tanl)
            fb[6 * _CHUNK + j] = nn * int_ if moves else sec
            fb[7 * _CHUNK + j] = ptn if moves else (p_new / nn if escapes else pt)
            code = END_STOPPED if stops else (END_ESCAPED if escapes else code)
            ended = ended | stops | escapes
        sta[j] = st
        fb[_ROW_CODE * _CHUNK + j] = code
        fb[_ROW_MODE * _CHUNK + j] = _MODE_DONE if ended else fb[_ROW_MODE * _CHUNK + j]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _end_block(fb, nb, ecl_r, ecl_zf, ecl_zb):  # fmt: skip
    """:func:`_end_local` in SIMD lanes for the tracks of a chunk whose stepping ended
    (``_MODE_DONE``) without stopping or escaping, moving away from the axis inside the ECL
    volume (cm): the barrel crossing from the quadratic, the endcap plane from z, a looper
    after two turns, the decay point if it comes first.  Writes ``_ROW_ENDED`` (1 where it
    applies) and the end code, point, momentum and added path in the rows from ``_ROW_END``."""
    for j in range(nb):
        X, Y, Z = fb[0 * _CHUNK + j], fb[1 * _CHUNK + j], fb[2 * _CHUNK + j]
        cph, sph, tanl, sec, pt = fb[3 * _CHUNK + j], fb[4 * _CHUNK + j], fb[5 * _CHUNK + j], fb[6 * _CHUNK + j], fb[7 * _CHUNK + j]  # fmt: skip
        s3l, sg, rw = fb[8 * _CHUNK + j], fb[14 * _CHUNK + j], pt * fb[29 * _CHUNK + j]
        code_in = fb[_ROW_CODE * _CHUNK + j]
        r2 = X * X + Y * Y
        here = (
            (fb[_ROW_MODE * _CHUNK + j] == _MODE_DONE)
            & ((code_in < 0.0) | (code_in == END_DECAYED))
            & (X * cph + Y * sph >= 0.0)
            & (ecl_r * ecl_r > r2)
            & (ecl_zb < Z)
            & (ecl_zf > Z)
        )
        t, ds_b, real = _cross_out_simd(X, Y, cph, sph, rw, sg, ecl_r * ecl_r - r2)
        ds_p = (ecl_zf - Z if tanl > 0.0 else ecl_zb - Z) / tanl
        ds_p = ds_p if abs(tanl) > 1e-12 else -1.0
        barrel = real & ((ds_p < 0.0) | (ds_b <= ds_p))
        plane = (not barrel) & (ds_p > 0.0) & (real | (ds_p <= 2.0 * _TWO_PI * rw))
        ds = ds_b if barrel else (ds_p if plane else 0.0)
        decays = (code_in == END_DECAYED) | ((barrel | plane) & (ds * sec > s3l))
        code = END_DECAYED if decays else (END_ECL if barrel | plane else END_LOOPER)
        ds = s3l / sec if decays else ds
        # turning angle psi = ds / rw: rational in t at the barrel, else from sin/cos(psi/2)
        sh, ch = vmath.vsincos(0.5 * ds / rw)
        it2 = 1.0 / (1.0 + t * t)
        use_t = barrel & (not decays)
        sn = 2.0 * t * it2 if use_t else 2.0 * sh * ch  # sin psi
        omc = 2.0 * t * t * it2 if use_t else 2.0 * sh * sh  # 1 - cos psi
        moves = code != END_LOOPER
        sn = sn if moves else 0.0
        omc = omc if moves else 0.0
        fb[_ROW_ENDED * _CHUNK + j] = 1.0 if here else 0.0
        fb[_ROW_END * _CHUNK + j] = code
        fb[(_ROW_END + 1) * _CHUNK + j] = X + (sn * cph - omc * sg * sph) * rw
        fb[(_ROW_END + 2) * _CHUNK + j] = Y + (sn * sph + omc * sg * cph) * rw
        fb[(_ROW_END + 3) * _CHUNK + j] = Z + tanl * ds if moves else Z
        fb[(_ROW_END + 4) * _CHUNK + j] = pt * ((1.0 - omc) * cph - sn * sg * sph)
        fb[(_ROW_END + 5) * _CHUNK + j] = pt * ((1.0 - omc) * sph + sn * sg * cph)
        fb[(_ROW_END + 6) * _CHUNK + j] = pt * tanl
        fb[(_ROW_END + 7) * _CHUNK + j] = ds * sec if moves else 0.0


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _block_helices(fb, nb, bz):  # fmt: skip
    """POCA helix (rows 15-21) and CDC run constants (rows 22-28) of the outgoing tracks of a
    chunk from their local state, in SIMD lanes: the formulas of :func:`_helix` and
    :func:`_run_consts` with the branch-free atan2 and sine of :mod:`.vmath`."""
    for j in range(nb):
        X, Y, Z = fb[0 * _CHUNK + j], fb[1 * _CHUNK + j], fb[2 * _CHUNK + j]
        cph, sph, tanl, sec, pt = fb[3 * _CHUNK + j], fb[4 * _CHUNK + j], fb[5 * _CHUNK + j], fb[6 * _CHUNK + j], fb[7 * _CHUNK + j]  # fmt: skip
        s3l, sg, iacq = fb[8 * _CHUNK + j], fb[14 * _CHUNK + j], fb[29 * _CHUNK + j]
        here = fb[_ROW_MODE * _CHUNK + j] == _MODE_OUT
        # _helix: w = cq / pT, centre (cx, cy), POCA direction (c0, s0)
        rw_s = sg * pt * iacq  # 1 / w (cm)
        w = 1.0 / rw_s
        cx = X - sph * rw_s
        cy = Y + cph * rw_s
        cn = math.sqrt(cx * cx + cy * cy)
        icn = 1.0 / cn
        c0 = sg * cy * icn if cn > 0.0 else 1.0
        s0 = -sg * cx * icn if cn > 0.0 else 0.0
        d0 = sg * (abs(rw_s) - cn)
        s_cur = vmath.vatan2(c0 * sph - s0 * cph, c0 * cph + s0 * sph) * rw_s
        z0 = Z - tanl * s_cur
        # _run_consts
        d02 = d0 * d0
        omwd = 1.0 - w * d0
        q4 = 0.25 * w * w / omwd
        s_dec = s_cur + s3l / sec
        sn, _ = vmath.vsincos(0.5 * w * s_dec)
        rdec2 = d02 + sn * sn / q4 if abs(w * s_dec) < math.pi else np.inf
        rdec2 = -1.0 if s_dec <= 0.0 else rdec2
        rdec2 = rdec2 if s3l < np.inf else np.inf
        fb[15 * _CHUNK + j] = w if here else fb[15 * _CHUNK + j]
        fb[16 * _CHUNK + j] = c0 if here else fb[16 * _CHUNK + j]
        fb[17 * _CHUNK + j] = s0 if here else fb[17 * _CHUNK + j]
        fb[18 * _CHUNK + j] = d0 if here else fb[18 * _CHUNK + j]
        fb[19 * _CHUNK + j] = z0 if here else fb[19 * _CHUNK + j]
        fb[20 * _CHUNK + j] = tanl if here else fb[20 * _CHUNK + j]
        fb[21 * _CHUNK + j] = s_cur if here else fb[21 * _CHUNK + j]
        fb[22 * _CHUNK + j] = d02 if here else fb[22 * _CHUNK + j]
        fb[23 * _CHUNK + j] = q4 if here else fb[23 * _CHUNK + j]
        fb[24 * _CHUNK + j] = d02 + 1.0 / q4 if here else fb[24 * _CHUNK + j]
        fb[25 * _CHUNK + j] = rdec2 if here else fb[25 * _CHUNK + j]
        fb[26 * _CHUNK + j] = 0.5 * abs(w) / math.sqrt(omwd) if here else fb[26 * _CHUNK + j]
        fb[27 * _CHUNK + j] = 2.0 * tanl * abs(rw_s) if here else fb[27 * _CHUNK + j]
        fb[28 * _CHUNK + j] = z0 + tanl * s_cur if here else fb[28 * _CHUNK + j]


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _z_inside(aa: float, z0: float, z_arc: float, z_lo: float, z_hi: float) -> bool:
    """Whether the crossing at z = z0 + z_arc asin(aa) lies in [z_lo, z_hi] (cm): from the
    asin bounds of ``_ASIN_REST``, the exact asin only when they straddle an edge."""
    a2 = aa * aa
    lo5 = aa * (1.0 + a2 * (1.0 / 6.0 + a2 * 0.075))
    z_b1 = z0 + z_arc * lo5
    z_b2 = z0 + z_arc * (lo5 + _ASIN_REST * a2 * a2 * a2 * aa)
    if max(z_b1, z_b2) < z_lo or min(z_b1, z_b2) > z_hi:
        return False
    if min(z_b1, z_b2) >= z_lo and max(z_b1, z_b2) <= z_hi:
        return True
    zc = z0 + z_arc * math.asin(aa)
    return z_lo <= zc <= z_hi


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _run_block(fb, sta, nb, cur, bend, radius, z_min, z_max, eff_l, zlo_all, zhi_all, zlo_any, zhi_any):  # fmt: skip
    """The CDC layers ``cur`` to ``bend - 1`` (one superlayer's run, no material, cm) for the
    outgoing tracks of a chunk, in SIMD lanes like :func:`_step_block`, with the radius cuts
    of :func:`propagate_charged` from the POCA helix (rows 15-28): a layer is reached iff
    ``(R^2 - d0^2) q4 <= 1`` (else the track turns there and its stepping ends), beyond the
    decay point iff ``R^2 > r_decay^2``.  The z test holds for all the run's crossings or for
    none for most tracks (from the asin bounds of the z range, exact asin if they straddle
    an edge); the others (crossing an end of the layers' z extent inside the run) are tested
    layer by layer after the SIMD pass, each on its own (bounds first, asin if needed).  A
    track that starts inside the run's inner radius or comes closer to the axis than it
    (|d0|) is left to the per-track loop (``_MODE_RESUME`` from layer ``cur``).  Hits: one
    uniform per crossed layer against the layer efficiency ``eff_l`` (common to the CDC)."""
    r_in = radius[cur]
    r_in2 = r_in * r_in
    r_top = radius[bend - 1]
    n_exact = 0
    for j in range(nb):
        d02, rmax2, rdec2 = fb[22 * _CHUNK + j], fb[24 * _CHUNK + j], fb[25 * _CHUNK + j]
        a_scale, z_arc, z_a = fb[26 * _CHUNK + j], fb[27 * _CHUNK + j], fb[28 * _CHUNK + j]
        z0, d0, s_cur = fb[19 * _CHUNK + j], fb[18 * _CHUNK + j], fb[21 * _CHUNK + j]
        X, Y = fb[0 * _CHUNK + j], fb[1 * _CHUNK + j]
        r_top2 = min(r_top * r_top, rmax2, rdec2)
        # z range of the run's crossings: from the current point to the outermost one, with
        # the outermost z between the asin bounds
        inside = r_top2 > d02
        aa = min(a_scale * math.sqrt(max(r_top2 - d02, 0.0)), 1.0)
        a2 = aa * aa
        lo5 = aa * (1.0 + a2 * (1.0 / 6.0 + a2 * 0.075))
        z_b1 = z0 + z_arc * lo5
        z_b2 = z0 + z_arc * (lo5 + _ASIN_REST * a2 * a2 * a2 * aa)
        z_lo = min(z_a, z_b1, z_b2) if inside else z_a
        z_hi = max(z_a, z_b1, z_b2) if inside else z_a
        z_all = (z_lo >= zlo_all) & (z_hi <= zhi_all)
        z_none = (z_hi < zlo_any) | (z_lo > zhi_any)
        mode = fb[_ROW_MODE * _CHUNK + j]
        n_exact += 1 if (mode == _MODE_OUT) & (not (z_all | z_none)) & (aa > 0.0) else 0
        r_cur2 = (X * X + Y * Y) * (1.0 + 1e-9) + 1e-9 if s_cur >= 0.0 else -1.0
        resume = (mode == _MODE_OUT) & ((r_cur2 >= r_in2) | (abs(d0) >= r_in))
        fb[_ROW_MODE * _CHUNK + j] = _MODE_RESUME if resume else mode
        fb[_ROW_RESUME * _CHUNK + j] = cur if resume else fb[_ROW_RESUME * _CHUNK + j]
        fb[_ROW_ZALL * _CHUNK + j] = 1.0 if z_all else (0.0 if z_none else -1.0)
        fb[_ROW_NSL * _CHUNK + j] = 0.0
    if n_exact > 0:  # exact asin (branch-free rational form) where the bounds straddle an edge
        for j in range(nb):
            zf = fb[_ROW_ZALL * _CHUNK + j]
            d02, rmax2, rdec2 = fb[22 * _CHUNK + j], fb[24 * _CHUNK + j], fb[25 * _CHUNK + j]
            a_scale, z_arc, z_a, z0 = fb[26 * _CHUNK + j], fb[27 * _CHUNK + j], fb[28 * _CHUNK + j], fb[19 * _CHUNK + j]  # fmt: skip
            aa = min(a_scale * math.sqrt(max(min(r_top * r_top, rmax2, rdec2) - d02, 0.0)), 1.0)
            z_b = z0 + z_arc * asin(aa)
            z_lo = min(z_a, z_b)
            z_hi = max(z_a, z_b)
            redo = (zf < 0.0) & (aa > 0.0)
            z_all = (z_lo >= zlo_all) & (z_hi <= zhi_all)
            z_none = (z_hi < zlo_any) | (z_lo > zhi_any)
            fb[_ROW_ZALL * _CHUNK + j] = (1.0 if z_all else (0.0 if z_none else -1.0)) if redo else zf
    for j in range(nb):
        rlim2 = min(fb[24 * _CHUNK + j], fb[25 * _CHUNK + j])  # reached up to min(r_max^2, r_decay^2)
        hits = (fb[_ROW_MODE * _CHUNK + j] == _MODE_OUT) & (fb[_ROW_ZALL * _CHUNK + j] > 0.0)
        fb[_ROW_HITLIM * _CHUNK + j] = rlim2 if hits else -1.0
    for LL in range(cur, bend):
        R = radius[LL]
        R2 = R * R
        for j in range(nb):
            reached = fb[_ROW_HITLIM * _CHUNK + j] >= R2
            st = sta[j]
            st1, u = vmath.next_uniform(st)
            sta[j] = st1 if reached else st
            hit = reached & (u < eff_l)
            fb[_ROW_NSL * _CHUNK + j] += 1.0 if hit else 0.0
            rf = fb[11 * _CHUNK + j]
            fb[11 * _CHUNK + j] = R if hit & (rf < 0.0) else rf
            fb[12 * _CHUNK + j] = R if hit else fb[12 * _CHUNK + j]
    # per track: where a track turns or decays inside the run (it turns if the first layer
    # beyond min(r_max^2, r_decay^2) is beyond r_max); tracks crossing an end of the z extent
    # inside the run, layer by layer
    r_top2 = r_top * r_top
    for j in range(nb):
        if fb[_ROW_MODE * _CHUNK + j] != _MODE_OUT:
            continue
        d02, rmax2, rdec2 = fb[22 * _CHUNK + j], fb[24 * _CHUNK + j], fb[25 * _CHUNK + j]
        if fb[_ROW_ZALL * _CHUNK + j] >= 0.0:
            if min(rmax2, rdec2) < r_top2:
                for LL in range(cur, bend):
                    R2 = radius[LL] * radius[LL]
                    if rmax2 < R2 or rdec2 < R2:
                        fb[_ROW_CODE * _CHUNK + j] = fb[_ROW_CODE * _CHUNK + j] if rmax2 < R2 else END_DECAYED  # fmt: skip
                        fb[_ROW_MODE * _CHUNK + j] = _MODE_DONE
                        break
            continue
        a_scale, z_arc, z0 = fb[26 * _CHUNK + j], fb[27 * _CHUNK + j], fb[19 * _CHUNK + j]
        st = sta[j]
        nsl = 0.0
        rf, rl = fb[11 * _CHUNK + j], fb[12 * _CHUNK + j]
        for LL in range(cur, bend):
            R = radius[LL]
            R2 = R * R
            if rmax2 < R2:
                fb[_ROW_MODE * _CHUNK + j] = _MODE_DONE  # the track turns here
                break
            if rdec2 < R2:
                fb[_ROW_CODE * _CHUNK + j] = END_DECAYED
                fb[_ROW_MODE * _CHUNK + j] = _MODE_DONE
                break
            if not _z_inside(a_scale * math.sqrt(R2 - d02), z0, z_arc, z_min[LL], z_max[LL]):
                continue
            st, u = vmath.next_uniform(st)
            if u < eff_l:
                nsl += 1.0
                if rf < 0.0:
                    rf = R
                rl = R
        sta[j] = st
        fb[_ROW_NSL * _CHUNK + j] = nsl
        fb[11 * _CHUNK + j], fb[12 * _CHUNK + j] = rf, rl


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def propagate_charged(
    x, y, z, px, py, pz, q, mass, s3_max, seed,
    radius, z_min, z_max, x0, dedx_x0, eff, kind, superlayer, pxd_index, svd_index,
    blk_end, blk_zlo, blk_zhi, blk_zlo_min, blk_zhi_max,
    bz, ecl_r, ecl_zf, ecl_zb, n_sl,
):  # fmt: skip
    """Propagate charged particles through the layers (see the module doc).

    Hits are recorded on the first outgoing arc (up to the point of largest radius),
    including the inward crossings of a displaced track that starts moving inwards.
    Returns per particle: end code, end state (x, y, z, px, py, pz at the ECL face or the
    decay point), 3-D path length, VXD hit bit mask (PXD bits 0-7, SVD bits 8-15), hit
    counts (PXD, SVD, CDC), CDC hits per superlayer (n, n_sl), radii of the first and
    last measured hit, and the energy lost in material (GeV).

    Two passes over the layers: inward crossings (only for a track starting before its POCA,
    i.e. moving towards the axis), then outward ones up to the largest radius.  Speed (the
    outcome is that of stepping layer by layer):

    * the state is the point P (cm), transverse direction u, pT and tanLambda at the last
      material crossing.  An outward crossing of radius R > |P| follows from a quadratic in
      t = tan(psi/2), psi = |w| s the turning angle (s the transverse arc, cm): with
      k = |w|/2, n the unit normal towards the circle centre and D = R^2 - |P|^2 > 0,
      ``(D k^2 - 2k P.n - 1) t^2 - 2k (P.u) t + D k^2 = 0`` (from r^2(psi) = |P|^2 +
      (sin psi P.u + (1 - cos psi)(P.n + 1/(2k))) / k); from inside R the first crossing (the
      root of smallest psi in (0, 2 pi)) is the outgoing one, no real root means the track
      turns before R.  Position and direction there are rational in t; one atan gives the
      arc for z and the path: one sqrt and one atan per layer, no atan2;
    * tracks are stepped in chunks of ``_CHUNK``, layer by layer, by loops without a branch per
      track that run in SIMD lanes (docs/detector.md): :func:`_init_block`, :func:`_step_block`
      for the layers with material or VXD hits, :func:`_block_helices` and :func:`_run_block`
      for the runs of CDC layers, :func:`_end_block` for the ECL face; every track keeps its
      own random stream, so the outcome is that of stepping it alone.  Tracks starting
      inwards, or inside a CDC run, continue in the per-track loop below, which follows the
      remaining points;
    * POCA helix parameters (:func:`_helix`, one atan2) are formed only where needed: for
      inward crossings and for outward crossings below the current radius (a track starting
      before its POCA), where a crossing at radius R has sin(w s/2) = a =
      w/2 sqrt((R^2 - d0^2)/(1 - w d0)) (one asin, position and direction from a and
      sqrt(1 - a^2), :func:`_pos`); for a run of CDC layers; for the end point of a track
      outside the ECL volume or moving towards the axis (otherwise :func:`_end_local`);
    * the CDC layers carry no material, so the helix is the same across a run of them
      (``blk_end[L] > 0`` at the first layer L of a superlayer's run marks where it ends,
      :meth:`Geometry.cdc_blocks`).  Over a run the per-layer conditions become radius cuts
      without transcendental calls: reachable iff ``(R^2 - d0^2) w^2 / (4 (1 - w d0)) <= 1``
      (``|a| <= 1``), beyond the decay point iff ``R^2 > r^2(s_decay)`` (``r(s)`` of the
      module doc); the z test passes for the whole run when the z range between the current
      point and the run's outermost reachable crossing (z is monotonic along the arc, asin
      between the bounds of ``_ASIN_REST``) lies inside every layer's z extent, or fails for
      all when it lies outside all of them; only a run straddling a z edge is tested layer by
      layer (:func:`_z_inside`);
    * in the per-track loop, CDC hits with the common layer efficiency eff come from
      geometric gaps between misses (:func:`_geometric`, about (1 - eff) draws per layer), an
      exact way to draw independent Bernoulli(eff) hits; the SIMD runs draw one uniform per
      layer.
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
    # the layers before the first run of CDC layers
    l_in = 0
    while l_in < n_layers and blk_end[l_in] <= 0:
        l_in += 1
    # per track of a chunk: X, Y, Z, cph, sph, tanl, sec, pT, s3_left, path, energy lost, r_first,
    # r_last, cq, sg (rows 0-14); POCA helix w, c0, s0, d0, z0, tanl, s (15-21) and the run
    # constants (22-28) at the first CDC run; 1/|cq| (29); mass (30); the integer rows _ROW_*
    # with the stepping mode 0: escaped at the start, 1: inward pass first, 2: outward,
    # 3: stepping ended
    fb = np.empty(_N_ROWS * _CHUNK)  # one buffer (fixed row stride: the block loops vectorise)
    fa = fb.reshape((_N_ROWS, _CHUNK))
    sta = np.empty(_CHUNK, np.uint64)
    r_inner = radius[0] if n_layers > 0 else np.inf
    for base in range(0, n, _CHUNK):
        nb = min(_CHUNK, n - base)
        _init_block(fb, sta, nb, base, x, y, z, px, py, pz, q, mass, s3_max, seed, bz, r_inner, l_in)
        for L in range(l_in):
            k = kind[L]
            bit = float(1 << pxd_index[L]) if k == KIND_PXD else float(1 << (8 + svd_index[L]))
            detector = k in (KIND_PXD, KIND_SVD)
            _step_block(fb, sta, nb, radius[L], z_min[L], z_max[L], x0[L], dedx_x0[L], eff[L], detector, k == KIND_PXD, bit)  # fmt: skip
        # the layers from the first CDC run on, in SIMD lanes (runs of CDC layers from the POCA
        # helix, other layers from the local state); tracks that need the general treatment
        # continue in the per-track loop below (_MODE_RESUME)
        helices = False  # POCA helix and run constants of the outgoing tracks up to date
        lay = l_in
        while lay < n_layers:
            bend = blk_end[lay]
            if bend > 0:
                if not helices:
                    _block_helices(fb, nb, bz)
                    helices = True
                _run_block(fb, sta, nb, lay, bend, radius, z_min, z_max, eff[lay], blk_zlo[lay], blk_zhi[lay], blk_zlo_min[lay], blk_zhi_max[lay])  # fmt: skip
                sl = superlayer[lay]
                for j in range(nb):
                    nsl = fa[_ROW_NSL, j]
                    sl_hits[base + j, sl] += np.int16(nsl)
                    fa[_ROW_NH2, j] += nsl
                lay = bend
            elif kind[lay] == KIND_CDC:  # a CDC layer outside a run: per track
                for j in range(nb):
                    if fa[_ROW_MODE, j] == _MODE_OUT:
                        fa[_ROW_MODE, j] = _MODE_RESUME
                        fa[_ROW_RESUME, j] = lay
                break
            else:
                bit = (
                    float(1 << pxd_index[lay]) if kind[lay] == KIND_PXD else float(1 << (8 + svd_index[lay]))
                )
                detector = kind[lay] in (KIND_PXD, KIND_SVD)
                _step_block(fb, sta, nb, radius[lay], z_min[lay], z_max[lay], x0[lay], dedx_x0[lay], eff[lay], detector, kind[lay] == KIND_PXD, bit)  # fmt: skip
                helices = helices and x0[lay] <= 0.0
                lay += 1
        for j in range(nb):
            if fa[_ROW_MODE, j] == _MODE_OUT:
                fa[_ROW_MODE, j] = _MODE_DONE  # stepped through every layer
        _end_block(fb, nb, ecl_r, ecl_zf, ecl_zb)
        for j in range(nb):
            i = base + j
            if fa[_ROW_MODE, j] == _MODE_NONE:
                end_code[i] = END_ESCAPED
                continue
            if fa[_ROW_ENDED, j] > 0.0:  # end state from _end_block
                end_code[i] = int(fa[_ROW_END, j])
                for c in range(6):
                    end[i, c] = fa[_ROW_END + 1 + c, j]
                path[i] = fa[9, j] + fa[_ROW_END + 7, j]
                vxd_mask[i] = int(fa[_ROW_MASK, j])
                n_hits[i, 0], n_hits[i, 1], n_hits[i, 2] = int(fa[_ROW_NH0, j]), int(fa[_ROW_NH1, j]), int(fa[_ROW_NH2, j])  # fmt: skip
                r_first[i] = fa[11, j]
                r_last[i] = fa[12, j]
                e_lost[i] = fa[10, j]
                continue
            st = sta[j]
            X, Y, Z, cph, sph, tanl, sec, pt = fa[0, j], fa[1, j], fa[2, j], fa[3, j], fa[4, j], fa[5, j], fa[6, j], fa[7, j]  # fmt: skip
            s3_left, travelled, el, rf, rl, cq, sg = fa[8, j], fa[9, j], fa[10, j], fa[11, j], fa[12, j], fa[13, j], fa[14, j]  # fmt: skip
            iacq = fa[29, j]
            code, mask = int(fa[_ROW_CODE, j]), int(fa[_ROW_MASK, j])
            nh0, nh1 = int(fa[_ROW_NH0, j]), int(fa[_ROW_NH1, j])
            mode_j = fa[_ROW_MODE, j]
            m = mass[i]
            qi = q[i]
            nh2 = int(fa[_ROW_NH2, j])
            gap = 0  # CDC hits left before the next miss
            gap_eff = -1.0  # efficiency the gap was drawn with
            log_eff = 0.0
            # POCA helix of the current state (valid while ``helix``)
            w, c0, s0, d0, z0, s_cur = cq / pt, 1.0, 0.0, 0.0, Z, 0.0
            helix = False
            run_consts = False  # d02 ... z_a below are those of the current helix
            d02, q4, rmax2, rdec2, a_scale, z_arc, z_a = 0.0, 0.0, 0.0, np.inf, 0.0, 0.0, 0.0
            if mode_j == _MODE_RESUME:
                w, c0, s0, d0, z0, tanl, s_cur = fa[15, j], fa[16, j], fa[17, j], fa[18, j], fa[19, j], fa[20, j], fa[21, j]  # fmt: skip
                d02, q4, rmax2, rdec2, a_scale, z_arc, z_a = fa[22, j], fa[23, j], fa[24, j], fa[25, j], fa[26, j], fa[27, j], fa[28, j]  # fmt: skip
                helix = True
                run_consts = True
            inward = mode_j == _MODE_INWARD
            r_start = math.sqrt(X * X + Y * Y) * (1.0 + 1e-9) + 1e-9 if inward else 0.0
            # outward tracks continue where the chunk's stepping left them
            l_start = 0 if inward else int(fa[_ROW_RESUME, j])
            PX, PY, PZ = pt * cph, pt * sph, pt * tanl
            for phase in range(2 if mode_j == _MODE_DONE else (0 if inward else 1), 2):
                if code >= 0:
                    break
                if phase == 0:
                    w, c0, s0, d0, z0, tanl, s_cur = _helix(X, Y, Z, PX, PY, PZ, qi, bz)
                    helix = True
                    if s_cur >= 0.0:
                        continue
                L = n_layers - 1 if phase == 0 else l_start
                while 0 <= L < n_layers:
                    cur = L
                    L = L - 1 if phase == 0 else L + 1
                    R = radius[cur]
                    if phase == 0 and r_start < R:
                        continue
                    bend = blk_end[cur]
                    if phase == 1 and bend > 0:
                        # ------------------------------------------- a run of CDC layers
                        if not helix:
                            w, c0, s0, d0, z0, tanl, s_cur = _helix(
                                X, Y, Z, pt * cph, pt * sph, pt * tanl, qi, bz
                            )
                            helix = True
                        if not run_consts:  # per helix: radius cuts and z constants of the runs
                            d02, q4, rmax2, rdec2, a_scale, z_arc, z_a = _run_consts(
                                w, d0, z0, tanl, s_cur, sec, s3_left
                            )
                            run_consts = True
                        L = bend
                        r_top2 = min(radius[bend - 1] ** 2, rmax2, rdec2)
                        # z range of the run's crossings: from the current point to the outermost one
                        z_lo = z_a
                        z_hi = z_a
                        aa = 0.0
                        if r_top2 > d02:
                            aa = min(a_scale * math.sqrt(r_top2 - d02), 1.0)
                            a3 = aa * aa * aa
                            z_b1 = z0 + z_arc * (aa + a3 / 6.0)
                            z_b2 = z0 + z_arc * (aa + 0.5707963267948966 * a3)
                            z_lo = min(z_a, z_b1, z_b2)
                            z_hi = max(z_a, z_b1, z_b2)
                        z_all = z_lo >= blk_zlo[cur] and z_hi <= blk_zhi[cur]
                        z_none = z_hi < blk_zlo_min[cur] or z_lo > blk_zhi_max[cur]
                        if not (z_all or z_none) and aa > 0.0:
                            z_b = z0 + z_arc * math.asin(aa)
                            z_lo, z_hi = min(z_a, z_b), max(z_a, z_b)
                            z_all = z_lo >= blk_zlo[cur] and z_hi <= blk_zhi[cur]
                            z_none = z_hi < blk_zlo_min[cur] or z_lo > blk_zhi_max[cur]
                        r_cur2 = -1.0
                        if s_cur >= 0.0:
                            r_cur2 = (X * X + Y * Y) * (1.0 + 1e-9) + 1e-9
                        e_c = eff[cur]
                        if e_c != gap_eff:
                            log_eff = math.log(e_c) if e_c > 0.0 else -np.inf
                            st, gap = _geometric(st, log_eff)
                            gap_eff = e_c
                        nsl = 0
                        r_in2 = radius[cur] * radius[cur]
                        if z_all and r_cur2 < r_in2 and abs(d0) < radius[cur]:
                            # every layer is crossed up to the first unreachable or beyond-decay one;
                            # hits in gap-sized steps (same outcome as the layer loop below)
                            top = bend
                            R2 = radius[bend - 1] * radius[bend - 1]
                            if (R2 - d02) * q4 > 1.0 or rdec2 < R2:
                                # not all of them (both tests are monotonic in R, q4 >= 0): the first
                                top = cur
                                while top < bend:
                                    R2 = radius[top] * radius[top]
                                    if (R2 - d02) * q4 > 1.0:
                                        L = n_layers  # the track turns here
                                        break
                                    if rdec2 < R2:
                                        code = END_DECAYED
                                        break
                                    top += 1
                            at = cur
                            while at < top:
                                take = min(gap, top - at)
                                if take > 0:
                                    if rf < 0:
                                        rf = radius[at]
                                    rl = radius[at + take - 1]
                                    nsl += take
                                    gap -= take
                                    at += take
                                if at < top:  # a miss, then the next gap
                                    st, gap = _geometric(st, log_eff)
                                    at += 1
                            nh2 += nsl
                            sl_hits[i, superlayer[cur]] += nsl
                            if code >= 0:
                                break
                            continue
                        for LL in range(cur, bend):
                            R = radius[LL]
                            R2 = R * R
                            if abs(d0) >= R:
                                continue
                            if (R2 - d02) * q4 > 1.0:
                                L = n_layers  # beyond the largest radius: the track turns here
                                break
                            # near or before the current point: exact test
                            if r_cur2 >= R2 and arc_at_radius(w, d0, R) <= s_cur:
                                continue
                            if rdec2 < R2:
                                code = END_DECAYED
                                break
                            if z_none:
                                continue
                            if not z_all:
                                aa = a_scale * math.sqrt(R2 - d02)
                                if not _z_inside(aa, z0, z_arc, z_min[LL], z_max[LL]):
                                    continue
                            if gap > 0:
                                gap -= 1
                                nsl += 1
                                if rf < 0:
                                    rf = R
                                rl = R
                            else:
                                st, gap = _geometric(st, log_eff)
                        nh2 += nsl
                        sl_hits[i, superlayer[cur]] += nsl
                        if code >= 0:
                            break
                        continue
                    # ----------------------------------------------- one layer
                    r2 = X * X + Y * Y
                    dr2 = R * R - r2
                    near = dr2 <= 2e-9 * (r2 + R)  # at or inside the current radius
                    if phase == 0 or (near and helix and s_cur < 0.0):
                        # inward, or outward below the current radius: POCA parameters
                        if abs(d0) >= R:
                            continue
                        num = (R * R - d0 * d0) / (1.0 - w * d0)
                        a = 0.5 * w * math.sqrt(max(num, 0.0))
                        if num < 0.0 or abs(a) > 1.0:
                            if phase == 1:
                                break  # beyond the largest radius: the track turns here
                            continue
                        sT = 2.0 * math.asin(a) / w
                        s_target = -sT if phase == 0 else sT
                        if s_target <= s_cur:
                            continue
                        ds = s_target - s_cur
                        t = 0.0
                    else:
                        # outward above the current radius: local quadratic in t = tan(psi/2)
                        if near:
                            continue  # crossed before (or here)
                        rw = pt * iacq  # radius of curvature (cm)
                        t, ds = _cross_out(X, Y, cph, sph, rw, sg, dr2)
                        if math.isnan(t):
                            break  # beyond the largest radius: the track turns here
                        a = 2.0  # marks the local form
                    ds3 = ds * sec
                    if ds3 > s3_left:
                        code = END_DECAYED
                        break
                    zc = Z + tanl * ds
                    if zc < z_min[cur] or zc > z_max[cur]:
                        continue
                    k = kind[cur]
                    if k != KIND_MATERIAL:
                        st, u = _next(st)
                        if u < eff[cur]:
                            mask, nh0, nh1, nh2, rf, rl = _record_hit(
                                k, R, pxd_index[cur], svd_index[cur], mask, nh0, nh1, nh2, rf, rl
                            )
                            if k == KIND_CDC:
                                sl_hits[i, superlayer[cur]] += 1
                    if k == KIND_CDC or x0[cur] <= 0.0:
                        continue
                    # material: move to the crossing, lose energy, scatter
                    if a > 1.0:
                        X, Y, cph, sph = _turn(X, Y, cph, sph, t, sg, rw)
                    else:
                        ha = -a if phase == 0 else a
                        X, Y, cph, sph = _pos(w, c0, s0, d0, ha, math.sqrt(max(1.0 - a * a, 0.0)))
                    Z = zc
                    s3_left -= ds3
                    travelled += ds3
                    helix = False
                    run_consts = False
                    st, de, p_new, nx, ny, nz, nn = _scatter(st, X, Y, cph, sph, tanl, sec, pt, m, R, x0[cur], dedx_x0[cur])  # fmt: skip
                    el += de
                    if p_new <= 0.0:
                        code = END_STOPPED
                        break
                    if p_new * math.sqrt(nx * nx + ny * ny) / nn < 1e-6:
                        code = END_ESCAPED
                        cph, sph, tanl, pt = nx, ny, nz, p_new / nn  # end momentum p_new n / nn
                        break
                    pt, cph, sph, tanl, sec = _redirect(p_new, nx, ny, nz, nn)
                    if phase == 0:
                        w, c0, s0, d0, z0, tanl, s_cur = _helix(
                            X, Y, Z, pt * cph, pt * sph, pt * tanl, qi, bz
                        )
                        helix = True
            PX, PY, PZ = pt * cph, pt * sph, pt * tanl
            if code in (END_STOPPED, END_ESCAPED):
                dpath = 0.0
            elif X * cph + Y * sph >= 0.0 and ecl_r * ecl_r > X * X + Y * Y and ecl_zb < Z < ecl_zf:
                code, X, Y, Z, PX, PY, PZ, dpath = _end_local(
                    code, X, Y, Z, cph, sph, tanl, sec, pt, cq, s3_left, ecl_r, ecl_zf, ecl_zb
                )  # fmt: skip
            else:
                if not helix:
                    w, c0, s0, d0, z0, tanl, s_cur = _helix(X, Y, Z, PX, PY, PZ, qi, bz)
                code, X, Y, Z, PX, PY, PZ, dpath = _end_state(
                    code, w, c0, s0, d0, z0, tanl, s_cur, sec, s3_left, pt, X, Y, Z, PX, PY, PZ, ecl_r, ecl_zf, ecl_zb
                )  # fmt: skip
            end_code[i] = code
            end[i, 0], end[i, 1], end[i, 2] = X, Y, Z
            end[i, 3], end[i, 4], end[i, 5] = PX, PY, PZ
            path[i] = travelled + dpath
            vxd_mask[i] = mask
            n_hits[i, 0], n_hits[i, 1], n_hits[i, 2] = nh0, nh1, nh2
            r_first[i] = rf
            r_last[i] = rl
            e_lost[i] = el
    return end_code, end, path, vxd_mask, n_hits, sl_hits, r_first, r_last, e_lost


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
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
