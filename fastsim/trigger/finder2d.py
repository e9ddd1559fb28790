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
_BLOCK = 64  # tracks fitted together


@njit(cache=True, inline="always", fastmath=_FM)
def measured_phi(wire: int, t: float, lr: int, n_wires: int, v_drift: float, R: float) -> float:
    """TS azimuth at z = 0 from the wire, drift time (ns) and LR flag (rad)."""
    return wrap(wire * (_TWO_PI / n_wires) + lr * t * v_drift / R)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _fit2d_kernel(hit, wire, tdr, lr, radius, axial, n_wires, v_drift, tol, min_axial, min_pt, bz):  # fmt: skip
    """The circle fits, ``_BLOCK`` tracks at a time: one track's Gauss-Newton steps depend on
    each other (a chain of latencies), so the loops over the axial superlayers run over the
    block's tracks innermost -- independent, vectorised.  A superlayer without TS enters
    the sums with weight 0 (adds exact zeros: the sums are those of the TS alone)."""
    n = hit.shape[0]
    found = np.zeros(n, np.bool_)
    w_out = np.zeros(n)
    phi0_out = np.zeros(n)
    n_peak = np.zeros(n, np.int8)
    w_min = KAPPA * bz / 50.0  # avoid division by zero for straight tracks (pT 50 GeV)
    ax = np.flatnonzero(axial)
    na = len(ax)
    rr = radius[ax]
    pm = np.zeros((na, _BLOCK))  # measured azimuth, unwrapped around the track's first TS
    wt = np.zeros((na, _BLOCK))  # 1 with a TS, 0 without
    m = np.zeros(_BLOCK)  # number of axial TS
    phi0 = np.zeros(_BLOCK)
    w = np.zeros(_BLOCK)
    active = np.zeros(_BLOCK, np.bool_)  # fit running
    j01 = np.zeros(_BLOCK)
    j11 = np.zeros(_BLOCK)
    g0 = np.zeros(_BLOCK)
    g1 = np.zeros(_BLOCK)
    cnt = np.zeros(_BLOCK)
    for b0 in range(0, n, _BLOCK):
        nb = min(_BLOCK, n - b0)
        # TS azimuths and the linearised start, phi ~ a + (w/2) R, per track
        for t in range(_BLOCK):
            i = b0 + t
            k = 0
            ref = s_r = s_rr = s_p = s_rp = 0.0
            for a in range(na):
                j = ax[a]
                pm[a, t] = 0.0
                wt[a, t] = 0.0
                if t >= nb or not hit[i, j]:
                    continue
                phi = measured_phi(wire[i, j], tdr[i, j], lr[i, j], n_wires[j], v_drift, radius[j])
                if k == 0:
                    ref = phi
                d = wrap(phi - ref)
                pm[a, t] = ref + d
                wt[a, t] = 1.0
                k += 1
                s_r += rr[a]
                s_rr += rr[a] * rr[a]
                s_p += d
                s_rp += rr[a] * d
            m[t] = k
            det = k * s_rr - s_r * s_r
            active[t] = k >= 2 and k >= min_axial and det > 0.0
            if active[t]:
                bb = (k * s_rp - s_r * s_p) / det
                phi0[t] = ref + (s_p - bb * s_r) / k
                w[t] = 2.0 * bb
            else:
                phi0[t] = 0.0
                w[t] = 0.0
        valid = active.copy()
        # Gauss-Newton on phi = phi0 + asin(w R / 2); a track whose normal matrix is singular
        # stops there
        for _it in range(4):
            j01[:] = 0.0
            j11[:] = 0.0
            g0[:] = 0.0
            g1[:] = 0.0
            for a in range(na):
                R = rr[a]
                for t in range(_BLOCK):
                    h = min(max(0.5 * w[t] * R, -0.99), 0.99)
                    dfdw = 0.5 * R / math.sqrt(1.0 - h * h)
                    res = pm[a, t] - phi0[t] - asin(h)
                    c = wt[a, t]
                    j01[t] += c * dfdw
                    j11[t] += (c * dfdw) * dfdw
                    g0[t] += c * res
                    g1[t] += (c * dfdw) * res
            for t in range(_BLOCK):
                det = m[t] * j11[t] - j01[t] * j01[t]
                if det <= 0.0:
                    active[t] = False
                if active[t]:
                    phi0[t] += (j11[t] * g0[t] - j01[t] * g1[t]) / det
                    w[t] += (m[t] * g1[t] - j01[t] * g0[t]) / det
        # the peak's TS: those within the tolerance of the fitted circle
        cnt[:] = 0.0
        for a in range(na):
            R = rr[a]
            for t in range(_BLOCK):
                h = min(max(0.5 * w[t] * R, -0.99), 0.99)
                near = abs(wrap(pm[a, t] - phi0[t] - asin(h))) < tol
                cnt[t] += wt[a, t] if near else 0.0
        for t in range(nb):
            if not valid[t]:
                continue
            i = b0 + t
            wi = w[t]
            if abs(wi) < w_min:
                wi = w_min if wi >= 0 else -w_min
            c = int(cnt[t])
            n_peak[i] = c
            w_out[i] = wi
            phi0_out[i] = wrap(phi0[t])
            found[i] = c >= min_axial and KAPPA * bz / abs(wi) >= min_pt
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


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
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
