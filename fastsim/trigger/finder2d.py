"""2D track finder emulation (Hough finder + 2D fitter) and the CDC counting lines.

Units: GeV, cm, ns, rad.

The Belle II 2D finder votes, in a Hough plane of (phi0, 1/pT) of circles through the
interaction point, with the axial TS; a track is a peak fed by TS of at least 4 of the 5
axial superlayers (arXiv:1410.1395 and the basf2 trg/cdc documentation, [M] numbers in
the card).  Emulation per charged particle:

* each axial TS is measured at ``phi_m = phi_wire + lr * t_drift * v_drift / R`` (the wire
  position when the LR flag is unknown);
* the best circle through the origin, ``phi_m(R) = phi0 + asin(w R / 2)``, is fitted by
  least squares (linearised start, then Gauss-Newton);
* the TS within the card's phi tolerance (about two Hough phi bins) of that circle are the
  peak's TS; the track is found if there are at least ``min_axial_segments`` of them and
  the fitted pT is above ``min_pt`` (the Hough plane's curvature range).

So the 2D efficiency depends on pT (low-pT tracks curl before the outer superlayers, the
Hough range) and on the axial superlayers crossed (the TS efficiency, the z extent of the
layers at large dip angles, and displaced origins: a track born at radius r misses the
superlayers inside r and does not lie on a circle through the IP).

The 2D track's ``phi0`` (direction at the IP) and ``w`` (curvature, 1/cm, the detector
code's sign convention: pT = KAPPA * Bz / |w|, charge = -sign(w)) feed the neural trigger.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fastsim.detector.geometry import KAPPA
from fastsim.trigger.fmath import asin, wrap
from fastsim.trigger.segments import SegmentGeometry, Segments

__all__ = ["event_pairs", "find_2d", "measured_phi"]

_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
_TWO_PI = 2.0 * math.pi


@njit(cache=True, inline="always", fastmath=_FM)
def measured_phi(wire: int, t: float, lr: int, n_wires: int, v_drift: float, R: float) -> float:
    """TS azimuth at z = 0 from the wire, drift time (ns) and LR flag (rad)."""
    return wrap(wire * (_TWO_PI / n_wires) + lr * t * v_drift / R)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _fit2d_kernel(hit, wire, tdr, lr, radius, axial, n_wires, v_drift, tol, min_axial, min_pt, bz):  # fmt: skip
    n = hit.shape[0]
    found = np.zeros(n, np.bool_)
    w_out = np.zeros(n)
    phi0_out = np.zeros(n)
    n_peak = np.zeros(n, np.int8)
    rr = np.empty(9)
    pm = np.empty(9)
    w_min = KAPPA * bz / 50.0  # avoid division by zero for straight tracks (pT 50 GeV)
    for i in range(n):
        m = 0
        for j in range(9):
            if axial[j] and hit[i, j]:
                rr[m] = radius[j]
                pm[m] = measured_phi(wire[i, j], tdr[i, j], lr[i, j], n_wires[j], v_drift, radius[j])
                m += 1
        if m < 2 or m < min_axial:
            continue
        ref = pm[0]
        # linearised start: phi ~ a + (w/2) R
        s1 = s_r = s_rr = s_p = s_rp = 0.0
        for k in range(m):
            d = wrap(pm[k] - ref)
            pm[k] = ref + d  # unwrapped around the first TS
            s1 += 1.0
            s_r += rr[k]
            s_rr += rr[k] * rr[k]
            s_p += d
            s_rp += rr[k] * d
        det = s1 * s_rr - s_r * s_r
        if det <= 0.0:
            continue
        b = (s1 * s_rp - s_r * s_p) / det
        a = (s_p - b * s_r) / s1
        phi0 = ref + a
        w = 2.0 * b
        # Gauss-Newton on phi = phi0 + asin(w R / 2)
        for _it in range(4):
            j00 = j01 = j11 = g0 = g1 = 0.0
            for k in range(m):
                h = min(max(0.5 * w * rr[k], -0.99), 0.99)
                dfdw = 0.5 * rr[k] / math.sqrt(1.0 - h * h)
                res = pm[k] - phi0 - asin(h)
                j00 += 1.0
                j01 += dfdw
                j11 += dfdw * dfdw
                g0 += res
                g1 += dfdw * res
            det = j00 * j11 - j01 * j01
            if det <= 0.0:
                break
            phi0 += (j11 * g0 - j01 * g1) / det
            w += (j00 * g1 - j01 * g0) / det
        c = 0
        for k in range(m):
            h = min(max(0.5 * w * rr[k], -0.99), 0.99)
            if abs(wrap(pm[k] - phi0 - asin(h))) < tol:
                c += 1
        if abs(w) < w_min:
            w = w_min if w >= 0 else -w_min
        pt = KAPPA * bz / abs(w)
        n_peak[i] = c
        w_out[i] = w
        phi0_out[i] = wrap(phi0)
        found[i] = c >= min_axial and pt >= min_pt
    return found, w_out, phi0_out, n_peak


def find_2d(seg: Segments, sg: SegmentGeometry, cfg: dict) -> dict[str, np.ndarray]:
    """2D tracks from the axial TS.  ``cfg`` is the card's ``trigger.finder2d`` section.

    Returns per particle ``found`` (bool), ``w`` (1/cm), ``phi0`` (rad), ``pt`` (GeV),
    ``charge`` and ``n_axial`` (TS on the circle)."""
    found, w, phi0, n_peak = _fit2d_kernel(
        seg.hit, seg.wire, seg.t_drift, seg.lr, sg.radius, sg.axial, sg.n_wires, sg.drift_velocity,
        math.radians(cfg["phi_tolerance_deg"]), cfg["min_axial_segments"], cfg["min_pt"], sg.bz,
    )  # fmt: skip
    pt = KAPPA * sg.bz / np.maximum(np.abs(w), 1e-12)
    return {
        "found": found,
        "w": w,
        "phi0": phi0,
        "pt": pt,
        "charge": -np.sign(w).astype(np.int8),
        "n_axial": n_peak,
    }


@njit(cache=True, error_model="numpy", fastmath=_FM)
def event_pairs(offsets: np.ndarray, flag: np.ndarray, phi: np.ndarray) -> tuple:
    """Per event: the number of flagged items and the largest azimuthal opening angle
    (rad, in [0, pi]) between two flagged items (0 with fewer than two)."""
    n_ev = len(offsets) - 1
    count = np.zeros(n_ev, np.int32)
    open_max = np.zeros(n_ev)
    for e in range(n_ev):
        a, b = offsets[e], offsets[e + 1]
        best = 0.0
        c = 0
        for i in range(a, b):
            if not flag[i]:
                continue
            c += 1
            for k in range(i + 1, b):
                if flag[k]:
                    d = abs(wrap(phi[i] - phi[k]))
                    best = max(best, d)
        count[e] = c
        open_max[e] = best
    return count, open_max
