"""Track finding (hit-pattern rule), helix parameters, covariance and smearing.

Units: cm, GeV, rad.  Helix parameters at the POCA to the z axis, in this order:
d0 (cm), phi0 (rad), omega (1/cm, positive for positive charge), z0 (cm), tanLambda.
Conventions in :mod:`fastsim.detector.propagation` and docs/detector.md.

Finder rule (docs/detector.md, "Track finding"): a CDC *segment* is a superlayer with at
least ``segment_min_hits`` hits; a CDC track needs ``cdc_min_segments`` segments of which
``cdc_min_axial_segments`` axial; a VXD-standalone track needs hits in ``vxd_min_layers``
SVD layers and pT > ``vxd_min_pt``; no track below ``min_pt``.

Covariance: the card's parametrisations (sigma_pT/pT = a pT (+) b/beta; d0, z0, phi0,
tanLambda = a (+) b/(p beta sin^k theta) with k = 3/2, 5/2, 3/2, 5/2) hold for a prompt track
with the full hit pattern.  They are scaled with the hits actually used: the curvature
term as a Gluckstern fit, (L_ref/L)^2 sqrt((N_ref+4)/(N+4)) with L the radial lever arm
between the first and last hit (Gluckstern, NIM 24 (1963) 381; PDG eq. 35.x), its
multiple-scattering term by sqrt(L_ref/L); the impact-parameter terms by the
extrapolation distance r_first/r_ref (and the first hit's resolution relative to the
innermost silicon layer); the angle terms like the curvature.  The multiple-scattering
parts of (d0, phi0) and (z0, tanLambda) are correlated (+0.9 and -0.9: one effective
scatter at the beam pipe moves d0 by +r dphi and z0 by -r dtanLambda).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from fastsim.detector.arena import blocks, copy_into, fill
from fastsim.detector.geometry import KAPPA, KIND_CDC, KIND_PXD, KIND_SVD, Geometry
from fastsim.detector.propagation import _FM, _next, _seed
from fastsim.detector.vmath import normal_pair, vatan2, vsincos

__all__ = [
    "COV_FIELDS",
    "HELIX_FIELDS",
    "find_tracks",
    "helix_params",
    "smear",
    "track_covariance",
    "track_response",
]

HELIX_FIELDS = ("d0", "phi0", "omega", "z0", "tanl")
#: upper triangle of the 5x5 covariance, row-major over HELIX_FIELDS
COV_FIELDS = tuple(f"cov_{HELIX_FIELDS[i]}_{HELIX_FIELDS[j]}" for i in range(5) for j in range(i, 5))
_MS_CORRELATION = 0.9
_TWO_PI = 2.0 * math.pi
_CHUNK = 128  # tracks per pass of the track kernel (the work array stays in L1 / L2)


def helix_params(x, y, z, px, py, pz, q, bz: float) -> tuple[np.ndarray, ...]:
    """Vectorised helix parameters (d0, phi0, omega, z0, tanl) of particles at their vertex."""
    pt = np.hypot(px, py)
    w = -q * KAPPA * bz / pt
    cx = x - py / pt / w
    cy = y + px / pt / w
    cn = np.hypot(cx, cy)
    sg = np.sign(w)
    phi0 = np.arctan2(-sg * cx, sg * cy)
    d0 = sg * (1.0 / np.abs(w) - cn)
    dphi = np.arctan2(py, px) - phi0
    dphi = dphi - 2 * np.pi * np.floor((dphi + np.pi) / (2 * np.pi))
    s = dphi / w
    tanl = pz / pt
    return d0, phi0, -w, z - tanl * s, tanl


@njit(cache=True, nogil=True, fastmath={"contract"})
def _find_kernel(px, py, q, sl_hits, vxd_mask, axial, seg_min, n_seg_min, n_ax_min, n_svd_min, vxd_pt_min, pt_min):  # fmt: skip
    """Finder rule (module doc) per particle; neutral particles are never found."""
    n = len(px)
    found = np.zeros(n, np.bool_)
    n_sl = len(axial)
    for i in range(n):
        if q[i] == 0:
            continue
        pt = math.sqrt(px[i] * px[i] + py[i] * py[i])
        if pt < pt_min:
            continue
        n_seg = 0
        n_ax = 0
        for s in range(n_sl):
            if sl_hits[i, s] >= seg_min:
                n_seg += 1
                n_ax += axial[s]
        if n_seg >= n_seg_min and n_ax >= n_ax_min:
            found[i] = True
            continue
        svd_bits = (vxd_mask[i] >> 8) & 0xFF
        n_svd = 0
        for b in range(8):
            n_svd += (svd_bits >> b) & 1
        found[i] = n_svd >= n_svd_min and pt >= vxd_pt_min
    return found


def find_tracks(
    geom: Geometry,
    finder: dict[str, Any],
    px: np.ndarray,
    py: np.ndarray,
    q: np.ndarray,
    sl_hits: np.ndarray,
    vxd_mask: np.ndarray,
) -> np.ndarray:
    """Boolean mask of found tracks among the particles (transverse momentum components
    px, py (GeV), charge, CDC hits per superlayer, VXD hit mask) from the hit pattern (see the
    module doc)."""
    return _find_kernel(
        np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64), np.asarray(q, dtype=np.float64),
        sl_hits, vxd_mask, geom.sl_axial.astype(np.int64), finder["segment_min_hits"],
        finder["cdc_min_segments"], finder["cdc_min_axial_segments"], finder["vxd_min_layers"],
        float(finder["vxd_min_pt"]), float(finder["min_pt"]),
    )  # fmt: skip


def _reference(geom: Geometry) -> tuple[float, float, float, float]:
    """Lever arm, hit count, first radius and first-hit resolution of a full prompt track."""
    meas = (geom.kind == KIND_PXD) | (geom.kind == KIND_SVD) | (geom.kind == KIND_CDC)
    r = geom.radius[meas]
    n_ref = float(np.sum(geom.efficiency[meas]))
    return float(r[-1] - r[0]), n_ref, float(r[0]), float(geom.sigma_rphi[meas][0])


def track_covariance(
    geom: Geometry,
    p: np.ndarray,
    pt: np.ndarray,
    beta: np.ndarray,
    sin_theta: np.ndarray,
    omega: np.ndarray,
    n_hits: np.ndarray,
    r_first: np.ndarray,
    r_last: np.ndarray,
) -> np.ndarray:
    """(n, 5, 5) covariance of (d0, phi0, omega, z0, tanl) from the card and the hits used."""
    trk = geom.card["tracker"]
    l_ref, n_ref, r_ref, s_ref = _reference(geom)
    lever = np.maximum(r_last - r_first, 1.0)
    nh = np.maximum(n_hits, 3)
    f_meas = (l_ref / lever) ** 2 * np.sqrt((n_ref + 4.0) / (nh + 4.0))
    f_ms = np.sqrt(l_ref / lever)
    idx = np.clip(np.searchsorted(geom.radius, r_first - 1e-6), 0, geom.n_layers - 1)
    sig_first = np.where(geom.sigma_rphi[idx] > 0, geom.sigma_rphi[idx], s_ref)
    h_b = np.maximum(r_first / r_ref, 1.0)
    h_a = h_b * np.maximum(sig_first / s_ref, 1.0)
    f_ang = (l_ref / lever) * np.sqrt((n_ref + 4.0) / (nh + 4.0))

    pr = trk["pt_resolution"]
    rel_pt = np.hypot(pr["a"] * pt * f_meas, pr["b"] / beta * f_ms)
    s_om = np.abs(omega) * rel_pt

    def form(key: str, k: float, fa: np.ndarray, fb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = trk[key]["a"], trk[key]["b"]
        ms = b * fb / (p * beta * sin_theta**k)
        return np.hypot(a * fa, ms), ms

    s_d0, ms_d0 = form("d0_resolution", 1.5, h_a, h_b)
    s_z0, ms_z0 = form("z0_resolution", 2.5, h_a, h_b)
    s_ph, ms_ph = form("phi0_resolution", 1.5, f_ang, np.ones_like(p))
    s_tl, ms_tl = form("tanl_resolution", 2.5, f_ang, np.ones_like(p))
    cov = np.zeros((len(p), 5, 5))
    cov[:, 0, 0] = s_d0**2
    cov[:, 1, 1] = s_ph**2
    cov[:, 2, 2] = s_om**2
    cov[:, 3, 3] = s_z0**2
    cov[:, 4, 4] = s_tl**2
    cov[:, 0, 1] = cov[:, 1, 0] = _MS_CORRELATION * ms_d0 * ms_ph
    cov[:, 3, 4] = cov[:, 4, 3] = -_MS_CORRELATION * ms_z0 * ms_tl
    return cov


def smear(cov: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 5) Gaussian deviations with covariance ``cov`` (block Cholesky: (d0, phi0), omega, (z0, tanl))."""
    n = len(cov)
    g = rng.standard_normal((n, 5))
    out = np.empty((n, 5))
    for a, b in ((0, 1), (3, 4)):
        l11 = np.sqrt(cov[:, a, a])
        l21 = cov[:, a, b] / l11
        l22 = np.sqrt(np.maximum(cov[:, b, b] - l21**2, 0.0))
        out[:, a] = l11 * g[:, a]
        out[:, b] = l21 * g[:, a] + l22 * g[:, b]
    out[:, 2] = np.sqrt(cov[:, 2, 2]) * g[:, 2]
    return out


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _hyp(a: float, b: float) -> float:
    return math.sqrt(a * a + b * b)


# rows of the track kernel's work array (each _CHUNK long): inputs, uniforms, outputs
_X, _Y, _Z, _PX, _PY, _PZ, _Q, _M, _NH, _RF, _RL, _FAC = range(12)
_U = 12  # six uniforms: first of the three pairs, then second; normals in place
_O = 18  # outputs: 5 helix, 7 covariance entries, px, py, pz, charge, true p and theta
_N_ROWS = _O + 18


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _track_kernel(
    idx, x, y, z, px, py, pz, q, m, n_hits, r_first, r_last, seed,
    radius, sigma_rphi, l_ref, n_ref, r_ref, s_ref, res, bz, f8, charge, truth,
):  # fmt: skip
    """Fused :func:`helix_params`, :func:`track_covariance` and :func:`smear` for the
    particles ``idx`` (same formulas; ``res`` rows: (a, b) of pT, d0, z0, phi0, tanLambda;
    ``n_hits`` (n, 3) per detector; standard normals by Box-Muller from a splitmix64 stream
    per track).  Writes the smeared helix, the covariance's upper triangle in COV_FIELDS
    order and px, py, pz into the rows of ``f8`` (23, n), the charge into ``charge`` (n,) and
    the true momentum (GeV) and polar angle (rad) into the rows of ``truth`` (2, n).

    Tracks go in chunks: a scalar pass gathers their inputs (and looks up the first-hit
    layer) into the rows of a 1-D work array, a branch-free pass over the work array that
    LLVM vectorises computes everything (:mod:`fastsim.detector.vmath` for atan2, log, sin
    and cos), and copies move the results into the output rows."""
    n = len(idx)
    n_layers = len(radius)
    a_pt, b_pt = res[0, 0], res[0, 1]
    a_d0, b_d0 = res[1, 0], res[1, 1]
    a_z0, b_z0 = res[2, 0], res[2, 1]
    a_ph, b_ph = res[3, 0], res[3, 1]
    a_tl, b_tl = res[4, 0], res[4, 1]
    wk = np.zeros(_N_ROWS * _CHUNK)  # rows beyond a short last chunk keep finite values
    for c0 in range(0, n, _CHUNK):
        nc = min(n - c0, _CHUNK)
        # ------------------------------------------------ gather (scalar)
        for k in range(nc):
            i = idx[c0 + k]
            wk[_X * _CHUNK + k] = x[i]
            wk[_Y * _CHUNK + k] = y[i]
            wk[_Z * _CHUNK + k] = z[i]
            wk[_PX * _CHUNK + k] = px[i]
            wk[_PY * _CHUNK + k] = py[i]
            wk[_PZ * _CHUNK + k] = pz[i]
            wk[_Q * _CHUNK + k] = q[i]
            wk[_M * _CHUNK + k] = m[i]
            wk[_NH * _CHUNK + k] = n_hits[i, 0] + n_hits[i, 1] + n_hits[i, 2]
            wk[_RF * _CHUNK + k] = r_first[i]
            wk[_RL * _CHUNK + k] = r_last[i]
            lf = np.searchsorted(radius, r_first[i] - 1e-6)
            lf = min(max(lf, 0), n_layers - 1)
            sig_first = sigma_rphi[lf] if sigma_rphi[lf] > 0 else s_ref
            wk[_FAC * _CHUNK + k] = max(sig_first / s_ref, 1.0)
        # ------------------------------------------------ uniforms (splitmix64 per track)
        for k in range(nc):
            st = _seed(seed, c0 + k)
            st, wk[_U * _CHUNK + k] = _next(st)
            st, wk[(_U + 3) * _CHUNK + k] = _next(st)
            st, wk[(_U + 1) * _CHUNK + k] = _next(st)
            st, wk[(_U + 4) * _CHUNK + k] = _next(st)
            st, wk[(_U + 2) * _CHUNK + k] = _next(st)
            st, wk[(_U + 5) * _CHUNK + k] = _next(st)
        # the three normal pairs in one loop (one copy of the code: faster compilation)
        for k in range(3 * _CHUNK):
            wk[_U * _CHUNK + k], wk[(_U + 3) * _CHUNK + k] = normal_pair(
                wk[_U * _CHUNK + k], wk[(_U + 3) * _CHUNK + k]
            )
        # ------------------------------------------------ everything else (vectorised)
        for k in range(nc):
            xi, yi, zi = wk[_X * _CHUNK + k], wk[_Y * _CHUNK + k], wk[_Z * _CHUNK + k]
            pxi, pyi, pzi = wk[_PX * _CHUNK + k], wk[_PY * _CHUNK + k], wk[_PZ * _CHUNK + k]
            # true helix (helix_params)
            pt = math.sqrt(pxi * pxi + pyi * pyi)
            w = -wk[_Q * _CHUNK + k] * KAPPA * bz / pt
            cx = xi - pyi / pt / w
            cy = yi + pxi / pt / w
            cn = math.sqrt(cx * cx + cy * cy)
            sg = 1.0 if w > 0 else (-1.0 if w < 0 else 0.0)
            phi0 = vatan2(-sg * cx, sg * cy)
            d0 = sg * (1.0 / abs(w) - cn)
            # turning angle from the POCA direction (sg cy, -sg cx) / cn to the momentum
            dphi = vatan2(sg * (cy * pyi + cx * pxi), sg * (cy * pxi - cx * pyi))
            tanl = pzi / pt
            z0 = zi - tanl * dphi / w
            omega = -w
            # covariance (track_covariance)
            mi = wk[_M * _CHUNK + k]
            rf, rl = wk[_RF * _CHUNK + k], wk[_RL * _CHUNK + k]
            p = math.sqrt(pt * pt + pzi * pzi)
            beta = p / math.sqrt(p * p + mi * mi)
            sin_t = pt / p
            lever = max(rl - rf, 1.0)
            nh = max(wk[_NH * _CHUNK + k], 3.0)
            hf = math.sqrt((n_ref + 4.0) / (nh + 4.0))
            lr = l_ref / lever
            f_meas = lr * lr * hf
            f_ms = math.sqrt(lr)
            f_ang = lr * hf
            h_b = max(rf / r_ref, 1.0)
            h_a = h_b * wk[_FAC * _CHUNK + k]
            s_om = abs(omega) * _hyp(a_pt * pt * f_meas, b_pt / beta * f_ms)
            pb = p * beta
            sq = math.sqrt(sin_t)
            ik15 = 1.0 / (pb * sin_t * sq)  # 1 / (p beta sin^(3/2) theta)
            ik25 = ik15 / sin_t
            ms_d0 = b_d0 * h_b * ik15
            ms_z0 = b_z0 * h_b * ik25
            ms_ph = b_ph * ik15
            ms_tl = b_tl * ik25
            s_d0 = _hyp(a_d0 * h_a, ms_d0)
            s_z0 = _hyp(a_z0 * h_a, ms_z0)
            # variances as sums of squares (the widths of d0 and z0 are the Cholesky diagonals)
            c00, c22, c33 = s_d0 * s_d0, s_om * s_om, s_z0 * s_z0
            c11 = (a_ph * f_ang) ** 2 + ms_ph * ms_ph
            c44 = (a_tl * f_ang) ** 2 + ms_tl * ms_tl
            c01 = _MS_CORRELATION * ms_d0 * ms_ph
            c34 = -_MS_CORRELATION * ms_z0 * ms_tl
            # smearing (block Cholesky, smear)
            g0, g1 = wk[_U * _CHUNK + k], wk[(_U + 3) * _CHUNK + k]
            g2, g3 = wk[(_U + 1) * _CHUNK + k], wk[(_U + 4) * _CHUNK + k]
            g4 = wk[(_U + 2) * _CHUNK + k]
            l11 = s_d0
            l21 = c01 / l11
            l22 = math.sqrt(max(c11 - l21 * l21, 0.0))
            m11 = s_z0
            m21 = c34 / m11
            m22 = math.sqrt(max(c44 - m21 * m21, 0.0))
            r_d0 = d0 + l11 * g0
            r_ph = phi0 + l21 * g0 + l22 * g1
            # wrapped to [-pi, pi): r - 2 pi floor((r + pi) / (2 pi))
            r_ph = r_ph - _TWO_PI * math.floor((r_ph + math.pi) * (1.0 / _TWO_PI))
            r_om = omega + s_om * g2
            r_z0 = z0 + m11 * g3
            r_tl = tanl + m21 * g3 + m22 * g4
            pt_r = KAPPA * bz / abs(r_om)
            sph, cph = vsincos(r_ph)
            wk[_O * _CHUNK + k] = r_d0
            wk[(_O + 1) * _CHUNK + k] = r_ph
            wk[(_O + 2) * _CHUNK + k] = r_om
            wk[(_O + 3) * _CHUNK + k] = r_z0
            wk[(_O + 4) * _CHUNK + k] = r_tl
            wk[(_O + 5) * _CHUNK + k] = c00
            wk[(_O + 6) * _CHUNK + k] = c01
            wk[(_O + 7) * _CHUNK + k] = c11
            wk[(_O + 8) * _CHUNK + k] = c22
            wk[(_O + 9) * _CHUNK + k] = c33
            wk[(_O + 10) * _CHUNK + k] = c34
            wk[(_O + 11) * _CHUNK + k] = c44
            wk[(_O + 12) * _CHUNK + k] = pt_r * cph
            wk[(_O + 13) * _CHUNK + k] = pt_r * sph
            wk[(_O + 14) * _CHUNK + k] = pt_r * r_tl
            wk[(_O + 15) * _CHUNK + k] = 1.0 if r_om > 0 else (-1.0 if r_om < 0 else 0.0)
            wk[(_O + 16) * _CHUNK + k] = p
            wk[(_O + 17) * _CHUNK + k] = vatan2(pt, pzi)
        # ------------------------------------------------ results into the output rows
        # helix rows 0-4, covariance rows 5 + (0, 1, ..., 14) (zero outside the two 2x2
        # blocks), px, py, pz rows 20-22
        for r_out, r_wk in ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (10, 7), (14, 8),
                            (17, 9), (18, 10), (19, 11), (20, 12), (21, 13), (22, 14)):  # fmt: skip
            copy_into(f8[r_out], c0, wk, (_O + r_wk) * _CHUNK, nc)
        for r_out in (7, 8, 9, 11, 12, 13, 15, 16):
            fill(f8[r_out], c0, 0.0, nc)
        copy_into(truth[0], c0, wk, (_O + 16) * _CHUNK, nc)
        copy_into(truth[1], c0, wk, (_O + 17) * _CHUNK, nc)
        for k in range(nc):
            charge[c0 + k] = np.int8(wk[(_O + 15) * _CHUNK + k])


def track_response(
    geom: Geometry,
    idx, x, y, z, px, py, pz, q, m, n_hits, r_first, r_last,
    rng: np.random.Generator,
    out: tuple[np.ndarray, np.ndarray] | None = None,
    truth: np.ndarray | None = None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Smeared helix parameters, covariance (``COV_FIELDS``), momentum and charge of the
    found tracks ``idx`` (indices into the particle arrays: true production state, hits per
    detector (n, 3), first and last hit radius); see the module doc.  Gaussians from a
    splitmix64 stream per track, seeded from one draw of ``rng``.  ``out``: optional
    destination (float64 (23, n) for the helix, covariance, px, py, pz rows; int8 (n,) for
    the charge); the returned arrays are its rows.  ``truth``: optional float64 (2, n) array
    that receives the true momentum (GeV) and polar angle (rad) of the tracks."""
    trk = geom.card["tracker"]
    l_ref, n_ref, r_ref, s_ref = _reference(geom)
    res = np.array(
        [
            [trk[key]["a"], trk[key]["b"]]
            for key in (
                "pt_resolution",
                "d0_resolution",
                "z0_resolution",
                "phi0_resolution",
                "tanl_resolution",
            )
        ],
        dtype=np.float64,
    )
    idx = np.asarray(idx, dtype=np.int64)
    f8, charge = out if out is not None else blocks([(np.float64, (23, len(idx))), (np.int8, (len(idx),))])
    if truth is None:
        truth = np.empty((2, len(idx)))
    f = lambda a: np.asarray(a, dtype=np.float64)
    _track_kernel(
        idx, f(x), f(y), f(z), f(px), f(py), f(pz), f(q), f(m),
        n_hits, f(r_first), f(r_last), np.uint64(rng.integers(0, 2**63)),
        geom.radius, geom.sigma_rphi, l_ref, n_ref, r_ref, s_ref, res, geom.bz, f8, charge, truth,
    )  # fmt: skip
    result = dict(zip(HELIX_FIELDS, f8[0:5], strict=True))
    result.update(zip(COV_FIELDS, f8[5:20], strict=True))
    result.update(px=f8[20], py=f8[21], pz=f8[22], charge=charge)
    return result
