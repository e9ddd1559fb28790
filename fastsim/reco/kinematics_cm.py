"""Event kinematics in the centre-of-mass (CM) frame: visible and missing four-momentum,
missing mass, recoil mass, event-shape variables.

Units: GeV.  The CM frame is fastsim's (:mod:`fastsim.beams`: boost along the total
nominal beam momentum, crossing angle included, then rotate the e- beam onto +z), reached
with :func:`fastsim.beams.lab_to_cm` and the nominal beams ``BeamSetup.nominal()``.

Definitions:
- missing four-momentum ``p_miss = (0, 0, 0, sqrt(s)) - sum p_vis`` (CM); missing mass squared
  ``m2_miss = p_miss^2``; ``m_miss = sqrt(max(m2_miss, 0))``.
- recoil mass against a candidate: ``m_recoil^2 = (p_her + p_ler - p_cand)^2`` (Lorentz
  invariant; evaluated in the lab).
- thrust ``T = max_n sum |p_i . n| / sum |p_i|`` (S. Brandt et al., Phys. Lett. 12 (1964) 57;
  E. Farhi, PRL 39 (1977) 1587).  Exact: the optimal axis is the sum of the momenta on one
  side of a plane through the origin, and the partitions can be enumerated from the planes
  spanned by pairs of momenta (S. Brandt, H.D. Dahmen, Z. Phys. C 1 (1979) 61) -- O(N^3).
- sphericity ``S = 3/2 (l2 + l3)`` and aplanarity ``A = 3/2 l3`` from the eigenvalues
  l1 >= l2 >= l3 of ``S^ab = sum p^a p^b / sum |p|^2`` (J.D. Bjorken, S.J. Brodsky, PRD 1
  (1970) 1416).
- Fox-Wolfram ratio ``R2 = H2 / H0``, ``H_l = sum_ij |p_i||p_j| P_l(cos theta_ij)``
  (G.C. Fox, S. Wolfram, PRL 41 (1978) 1581).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fastsim.beams import lab_to_cm

__all__ = ["EVENT_FIELDS", "event_kinematics", "event_shapes", "recoil_mass", "to_cm"]

EVENT_FIELDS = (
    "reco_n_tracks",
    "reco_n_photons",
    "reco_e_vis_cm",
    "reco_p_miss_x_cm",
    "reco_p_miss_y_cm",
    "reco_p_miss_z_cm",
    "reco_e_miss_cm",
    "reco_m2_miss",
    "reco_m_miss",
    "reco_cos_theta_miss_cm",
    "reco_thrust",
    "reco_cos_theta_thrust_cm",
    "reco_sphericity",
    "reco_aplanarity",
    "reco_fw_r2",
    "reco_e_extra",
)


def to_cm(p4_lab: np.ndarray, her: np.ndarray, ler: np.ndarray) -> np.ndarray:
    """(n, 4) lab four-momenta -> CM frame, with the nominal beams ``her``, ``ler`` (1, 4)."""
    if len(p4_lab) == 0:
        return np.zeros((0, 4))
    return lab_to_cm(np.asarray(p4_lab, np.float64)[None, :, :], her, ler)[0]


def recoil_mass(p4_lab: np.ndarray, her: np.ndarray, ler: np.ndarray) -> np.ndarray:
    """Recoil mass (GeV) against (n, 4) lab four-momenta, nominal beams (1, 4); negative
    m^2 gives -sqrt(-m^2) so that resolution tails stay visible."""
    r = (her + ler)[0] - p4_lab
    m2 = r[:, 3] ** 2 - np.sum(r[:, :3] ** 2, axis=1)
    return np.sign(m2) * np.sqrt(np.abs(m2))


@njit(cache=True, nogil=True)
def _thrust_event(p: np.ndarray, axis: np.ndarray) -> float:
    """Thrust of one event's three-momenta (n, 3) and its axis (written into ``axis``): the
    exact maximum over the partitions fixed by the planes through pairs of momenta."""
    n = p.shape[0]
    tot = 0.0
    px_tot = 0.0
    py_tot = 0.0
    pz_tot = 0.0
    for i in range(n):
        tot += math.sqrt(p[i, 0] ** 2 + p[i, 1] ** 2 + p[i, 2] ** 2)
        px_tot += p[i, 0]
        py_tot += p[i, 1]
        pz_tot += p[i, 2]
    if n == 0 or tot <= 0.0:
        axis[:] = 0.0
        return 0.0
    if n == 1:
        for c in range(3):
            axis[c] = p[0, c] / tot
        return 1.0
    best = -1.0
    for i in range(n):
        for j in range(i + 1, n):
            nx = p[i, 1] * p[j, 2] - p[i, 2] * p[j, 1]
            ny = p[i, 2] * p[j, 0] - p[i, 0] * p[j, 2]
            nz = p[i, 0] * p[j, 1] - p[i, 1] * p[j, 0]
            sx = 0.0
            sy = 0.0
            sz = 0.0
            for k in range(n):
                if k in (i, j):
                    continue
                if p[k, 0] * nx + p[k, 1] * ny + p[k, 2] * nz > 0.0:
                    sx += p[k, 0]
                    sy += p[k, 1]
                    sz += p[k, 2]
            for si in (0.0, 1.0):
                for sj in (0.0, 1.0):
                    # partition (A, B): sum |p . n| = (S_A - S_B) . n, maximal along
                    # S_A - S_B = 2 S_A - P_tot (P_tot = 0 for a complete CM event)
                    tx = 2.0 * (sx + si * p[i, 0] + sj * p[j, 0]) - px_tot
                    ty = 2.0 * (sy + si * p[i, 1] + sj * p[j, 1]) - py_tot
                    tz = 2.0 * (sz + si * p[i, 2] + sj * p[j, 2]) - pz_tot
                    mag = math.sqrt(tx * tx + ty * ty + tz * tz)
                    if mag > best:
                        best = mag
                        axis[0] = tx / max(mag, 1e-300)
                        axis[1] = ty / max(mag, 1e-300)
                        axis[2] = tz / max(mag, 1e-300)
    return best / tot


@njit(cache=True, nogil=True)
def symmetric_eigenvalues_3x3(w: np.ndarray) -> tuple[float, float, float]:
    """Eigenvalues (ascending) of the real symmetric 3x3 matrix ``w`` (overwritten): cyclic
    Jacobi rotations (Golub and Van Loan, Matrix Computations, 4th ed., sec. 8.5) until the
    off-diagonal part is below 1e-32 of the whole -- absolute errors of ~1e-16 of the norm also
    for the small eigenvalues of flat or collinear events, where the closed-form cubic loses
    half the digits; and no LAPACK call per event."""
    total = 0.0
    for r in range(3):
        for c in range(3):
            total += w[r, c] * w[r, c]
    for _sweep in range(12):
        off = w[0, 1] * w[0, 1] + w[0, 2] * w[0, 2] + w[1, 2] * w[1, 2]
        if off <= 1e-32 * total:
            break
        for pq in range(3):
            i = 0 if pq < 2 else 1
            j = 1 if pq == 0 else 2
            apq = w[i, j]
            if apq == 0.0:
                continue
            theta = (w[j, j] - w[i, i]) / (2.0 * apq)
            t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
            if theta < 0.0:
                t = -t
            c = 1.0 / math.sqrt(t * t + 1.0)
            s = t * c
            w[i, i] -= t * apq
            w[j, j] += t * apq
            w[i, j] = 0.0
            w[j, i] = 0.0
            k = 3 - i - j
            aki = w[k, i]
            akj = w[k, j]
            w[k, i] = w[i, k] = c * aki - s * akj
            w[k, j] = w[j, k] = s * aki + c * akj
    a = w[0, 0]
    b = w[1, 1]
    d = w[2, 2]
    if a > b:
        a, b = b, a
    if b > d:
        b, d = d, b
    if a > b:
        a, b = b, a
    return a, b, d


@njit(cache=True, nogil=True)
def _shapes_kernel(p: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
    axis = np.empty(3)
    w = np.empty((3, 3))
    for e in range(len(offsets) - 1):
        a = offsets[e]
        b = offsets[e + 1]
        q = p[a:b]
        out[e, 0] = _thrust_event(q, axis)
        out[e, 1] = axis[2]
        # sphericity tensor sum p_a p_b / sum p^2 (JADE / Bjorken-Brodsky), and the linear
        # tensor sum p_a p_b / |p| whose squared Frobenius norm gives Fox-Wolfram's H2:
        # sum_ij |p_i||p_j| P2(cos_ij) = 3/2 |sum_i p_i p_i^T / |p_i||_F^2 - 1/2 (sum |p_i|)^2
        # (Fox and Wolfram, PRL 41 (1978) 1581; O(n) instead of the pair sum)
        sxx = sxy = sxz = syy = syz = szz = 0.0
        lxx = lxy = lxz = lyy = lyz = lzz = 0.0
        norm2 = 0.0
        psum = 0.0
        for i in range(b - a):
            x = q[i, 0]
            y = q[i, 1]
            z = q[i, 2]
            pp = x * x + y * y + z * z
            sxx += x * x
            sxy += x * y
            sxz += x * z
            syy += y * y
            syz += y * z
            szz += z * z
            norm2 += pp
            if pp > 0.0:
                mag = math.sqrt(pp)
                psum += mag
                lxx += x * x / mag
                lxy += x * y / mag
                lxz += x * z / mag
                lyy += y * y / mag
                lyz += y * z / mag
                lzz += z * z / mag
        if norm2 > 0.0:
            w[0, 0] = sxx / norm2
            w[1, 1] = syy / norm2
            w[2, 2] = szz / norm2
            w[0, 1] = w[1, 0] = sxy / norm2
            w[0, 2] = w[2, 0] = sxz / norm2
            w[1, 2] = w[2, 1] = syz / norm2
            lam0, lam1, _ = symmetric_eigenvalues_3x3(w)
            out[e, 2] = 1.5 * (lam0 + lam1)
            out[e, 3] = 1.5 * lam0
        else:
            out[e, 2] = 0.0
            out[e, 3] = 0.0
        if psum > 0.0:
            frob2 = lxx * lxx + lyy * lyy + lzz * lzz + 2.0 * (lxy * lxy + lxz * lxz + lyz * lyz)
            h0 = psum * psum
            out[e, 4] = (1.5 * frob2 - 0.5 * h0) / h0
        else:
            out[e, 4] = 0.0


def event_shapes(p3_cm: np.ndarray, offsets: np.ndarray) -> dict[str, np.ndarray]:
    """Thrust, cos(theta) of the thrust axis, sphericity, aplanarity and Fox-Wolfram R2 per
    event from CM three-momenta (n, 3) grouped by ``offsets``."""
    out = np.zeros((len(offsets) - 1, 5))
    _shapes_kernel(np.ascontiguousarray(p3_cm, np.float64), np.asarray(offsets, np.int64), out)
    return {
        "reco_thrust": out[:, 0],
        # the thrust axis is defined up to its sign: report |cos|
        "reco_cos_theta_thrust_cm": np.abs(out[:, 1]),
        "reco_sphericity": out[:, 2],
        "reco_aplanarity": out[:, 3],
        "reco_fw_r2": out[:, 4],
    }


def event_kinematics(
    p4_cm: np.ndarray, ev: np.ndarray, n_events: int, sqrt_s: float
) -> dict[str, np.ndarray]:
    """Visible energy, missing four-momentum and mass, and shapes from visible CM
    four-momenta (n, 4) with their event indices ``ev`` (sorted)."""
    order = np.argsort(ev, kind="stable")
    p4_cm, ev = p4_cm[order], ev[order]
    counts = np.bincount(ev, minlength=n_events)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    vis = np.zeros((n_events, 4))
    for c in range(4):
        vis[:, c] = np.bincount(ev, weights=p4_cm[:, c], minlength=n_events)
    miss = -vis
    miss[:, 3] += sqrt_s
    m2 = miss[:, 3] ** 2 - np.sum(miss[:, :3] ** 2, axis=1)
    pm = np.linalg.norm(miss[:, :3], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_miss = np.where(pm > 0, miss[:, 2] / pm, 0.0)
    out = {
        "reco_e_vis_cm": vis[:, 3],
        "reco_p_miss_x_cm": miss[:, 0],
        "reco_p_miss_y_cm": miss[:, 1],
        "reco_p_miss_z_cm": miss[:, 2],
        "reco_e_miss_cm": miss[:, 3],
        "reco_m2_miss": m2,
        "reco_m_miss": np.sign(m2) * np.sqrt(np.abs(m2)),
        "reco_cos_theta_miss_cm": cos_miss,
    }
    out.update(event_shapes(p4_cm[:, :3], offsets))
    return out
