"""Least-squares fit of N helices to a common vertex (Billoir-Fruehwirth), optional beam spot.

Units: cm, GeV, T.

Model (P. Billoir, R. Fruehwirth, M. Regler, NIM A 241 (1985) 115; R. Fruehwirth, NIM A 262
(1987) 444): each track's measured helix ``m_i`` (5, covariance ``V_i``) is a function
``f(v, q_i)`` of the common vertex ``v = (x, y, z)`` and the track's parameters at the vertex
``q_i = (phi, omega, tanl)`` (:func:`fastsim.reco.helix.helix_and_jacobian`, exact).  Around
the current estimate ``f ~ f0 + A_i dv + B_i dq_i``.  Minimising
``chi2 = sum_i r_i^T G_i r_i (+ (v - b)^T S^-1 (v - b))``, ``G_i = V_i^-1``, over ``dq_i`` first
gives ``dq_i = W_i B_i^T G_i (delta_i - A_i dv)`` with ``W_i = (B_i^T G_i B_i)^-1`` and
leaves ``chi2 = sum (delta_i - A_i dv)^T G_i^B (delta_i - A_i dv)`` with
``G_i^B = G_i - G_i B_i W_i B_i^T G_i``; hence
``dv = (sum A^T G^B A + S^-1)^-1 (sum A^T G^B delta + S^-1 (b - v))`` and
``cov(v) = (sum A^T G^B A + S^-1)^-1``.  The model is re-linearised at the new estimate
until the vertex moves by less than ``tol`` (Newton iteration), so the fit stays exact for
vertices far from the beam line, where the helix is far from its POCA.

chi2 is evaluated with the exact model at the solution; ndf = 2N - 3 (+3 with the beam spot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from fastsim.events import covariances_from_fields
from fastsim.reco.helix import KAPPA, circle_seeds, helix_and_jacobian, phi_at_point

__all__ = [
    "FIT_FAILED",
    "FIT_NOT_CONVERGED",
    "FIT_OK",
    "VertexFit",
    "covariances_from_fields",
    "fit_vertices",
]

FIT_OK = 0
FIT_NOT_CONVERGED = 1
FIT_FAILED = 2
_R_MAX = 300.0  # cm: a vertex estimate beyond this is a failed fit (outside the detector)


@njit(cache=True, nogil=True)
def _cholesky_inverse(a: np.ndarray, n: int, out: np.ndarray, work: np.ndarray) -> bool:
    """Inverse of the symmetric positive-definite top-left n x n block of ``a`` (Cholesky)."""
    for i in range(n):
        for j in range(i + 1):
            s = a[i, j]
            for k in range(j):
                s -= work[i, k] * work[j, k]
            if i == j:
                if s <= 0.0:
                    return False
                work[i, i] = math.sqrt(s)
            else:
                work[i, j] = s / work[j, j]
    # inverse of L (lower), then L^-T L^-1
    for i in range(n):
        for j in range(i + 1, n):
            work[i, j] = 0.0
    # compute Linv in place into out's lower triangle via forward substitution
    for j in range(n):
        for i in range(n):
            s = 1.0 if i == j else 0.0
            for k in range(i):
                s -= work[i, k] * out[k, j]
            out[i, j] = s / work[i, i]
    # out now holds L^-1 (lower, with zeros above); inv = L^-T L^-1
    for i in range(n):
        for j in range(i, n):
            s = 0.0
            for k in range(j, n):
                s += out[k, i] * out[k, j]
            work[i, j] = s
    for i in range(n):
        for j in range(i, n):
            out[i, j] = work[i, j]
            out[j, i] = work[i, j]
    return True


@njit(cache=True, nogil=True)
def _fit_kernel(
    helix, cov, members, offsets, seeds, bz, use_bs, bs_pos, bs_cov, max_iter, tol,
    status, vtx, vcov, chi2, ndf, mom,
):  # fmt: skip
    n_groups = len(offsets) - 1
    max_n = 0
    for g in range(n_groups):
        max_n = max(max_n, offsets[g + 1] - offsets[g])
    G = np.empty((max_n, 5, 5))
    q = np.empty((max_n, 3))
    A = np.empty((max_n, 5, 3))
    B = np.empty((max_n, 5, 3))
    W = np.empty((max_n, 3, 3))
    GB = np.empty((max_n, 5, 3))
    d = np.empty((max_n, 5))
    h = np.empty(5)
    jac = np.empty((5, 6))
    work = np.empty((5, 5))
    tmp3 = np.empty((3, 3))
    M = np.empty((3, 3))
    Minv = np.empty((3, 3))
    b = np.empty(3)
    rr = np.empty(5)
    gbw = np.empty((5, 3))
    tA = np.empty((5, 3))
    u3 = np.empty(3)
    S_inv = np.zeros((3, 3))
    if use_bs:
        _cholesky_inverse(bs_cov, 3, S_inv, work)
    for g in range(n_groups):
        a0 = offsets[g]
        nt = offsets[g + 1] - a0
        st = FIT_NOT_CONVERGED
        x = seeds[g, 0]
        y = seeds[g, 1]
        z = seeds[g, 2]
        ok = True
        for i in range(nt):
            t = members[a0 + i]
            if not _cholesky_inverse(cov[t], 5, G[i], work):
                ok = False
                break
            q[i, 0] = phi_at_point(helix[t, 0], helix[t, 1], helix[t, 2], x, y)
            q[i, 1] = helix[t, 2]
            q[i, 2] = helix[t, 4]
        if not ok or nt < 1:
            status[g] = FIT_FAILED
            continue
        for _it in range(max_iter):
            for r in range(3):
                b[r] = 0.0
                for c in range(3):
                    M[r, c] = S_inv[r, c]
            if use_bs:
                for r in range(3):
                    b[r] += (
                        S_inv[r, 0] * (bs_pos[0] - x)
                        + S_inv[r, 1] * (bs_pos[1] - y)
                        + S_inv[r, 2] * (bs_pos[2] - z)
                    )
            for i in range(nt):
                t = members[a0 + i]
                helix_and_jacobian(x, y, z, q[i, 0], q[i, 1], q[i, 2], h, jac)
                for r in range(5):
                    d[i, r] = helix[t, r] - h[r]
                    for c in range(3):
                        A[i, r, c] = jac[r, c]
                        B[i, r, c] = jac[r, 3 + c]
                dp = d[i, 1]
                d[i, 1] = dp - 2.0 * math.pi * math.floor((dp + math.pi) / (2.0 * math.pi))
                # GB = G B (5x3); W = (B^T G B)^-1
                for r in range(5):
                    for c in range(3):
                        s = 0.0
                        for k in range(5):
                            s += G[i, r, k] * B[i, k, c]
                        GB[i, r, c] = s
                for r in range(3):
                    for c in range(3):
                        s = 0.0
                        for k in range(5):
                            s += B[i, k, r] * GB[i, k, c]
                        tmp3[r, c] = s
                if not _cholesky_inverse(tmp3, 3, W[i], work):
                    ok = False
                    break
                # G^B = G - (GB W) GB^T ; then T = G^B A, M += A^T T, b += T^T d
                for r in range(5):
                    for k in range(3):
                        gbw[r, k] = (
                            GB[i, r, 0] * W[i, 0, k] + GB[i, r, 1] * W[i, 1, k] + GB[i, r, 2] * W[i, 2, k]
                        )
                for r in range(5):
                    for c in range(r, 5):
                        s = G[i, r, c] - (
                            gbw[r, 0] * GB[i, c, 0] + gbw[r, 1] * GB[i, c, 1] + gbw[r, 2] * GB[i, c, 2]
                        )
                        work[r, c] = s
                        work[c, r] = s
                for r in range(5):
                    for c in range(3):
                        s = 0.0
                        for k in range(5):
                            s += work[r, k] * A[i, k, c]
                        tA[r, c] = s
                for r in range(3):
                    for c in range(3):
                        s = 0.0
                        for k in range(5):
                            s += A[i, k, r] * tA[k, c]
                        M[r, c] += s
                    s = 0.0
                    for k in range(5):
                        s += tA[k, r] * d[i, k]
                    b[r] += s
            if not ok:
                break
            if not _cholesky_inverse(M, 3, Minv, work):
                ok = False
                break
            dv0 = Minv[0, 0] * b[0] + Minv[0, 1] * b[1] + Minv[0, 2] * b[2]
            dv1 = Minv[1, 0] * b[0] + Minv[1, 1] * b[1] + Minv[1, 2] * b[2]
            dv2 = Minv[2, 0] * b[0] + Minv[2, 1] * b[1] + Minv[2, 2] * b[2]
            x += dv0
            y += dv1
            z += dv2
            for i in range(nt):
                # dq = W GB^T (d - A dv)
                for r in range(5):
                    rr[r] = d[i, r] - (A[i, r, 0] * dv0 + A[i, r, 1] * dv1 + A[i, r, 2] * dv2)
                for k in range(3):
                    s = 0.0
                    for l in range(5):
                        s += GB[i, l, k] * rr[l]
                    u3[k] = s
                for r in range(3):
                    q[i, r] += W[i, r, 0] * u3[0] + W[i, r, 1] * u3[1] + W[i, r, 2] * u3[2]
            if (
                not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z))
                or x * x + y * y > _R_MAX * _R_MAX
            ):
                ok = False
                break
            if dv0 * dv0 + dv1 * dv1 + dv2 * dv2 < tol * tol:
                st = FIT_OK
                break
        if not ok:
            status[g] = FIT_FAILED
            continue
        status[g] = st
        vtx[g, 0] = x
        vtx[g, 1] = y
        vtx[g, 2] = z
        for r in range(3):
            for c in range(3):
                vcov[g, r, c] = Minv[r, c]
        # exact chi2 at the solution
        c2 = 0.0
        for i in range(nt):
            t = members[a0 + i]
            helix_and_jacobian(x, y, z, q[i, 0], q[i, 1], q[i, 2], h, jac)
            for r in range(5):
                d[i, r] = helix[t, r] - h[r]
            dp = d[i, 1]
            d[i, 1] = dp - 2.0 * math.pi * math.floor((dp + math.pi) / (2.0 * math.pi))
            for r in range(5):
                for c in range(5):
                    c2 += d[i, r] * G[i, r, c] * d[i, c]
            pt = KAPPA * bz / abs(q[i, 1])
            mom[a0 + i, 0] = pt * math.cos(q[i, 0])
            mom[a0 + i, 1] = pt * math.sin(q[i, 0])
            mom[a0 + i, 2] = pt * q[i, 2]
        if use_bs:
            ex = (x - bs_pos[0], y - bs_pos[1], z - bs_pos[2])
            for r in range(3):
                for c in range(3):
                    c2 += ex[r] * S_inv[r, c] * ex[c]
        chi2[g] = c2
        ndf[g] = 2 * nt - 3 + (3 if use_bs else 0)


@dataclass
class VertexFit:
    """Result of :func:`fit_vertices` for ``g`` vertices with ``k`` track entries in total.

    ``status`` (g,) FIT_OK / FIT_NOT_CONVERGED / FIT_FAILED; ``vertex`` (g, 3) cm;
    ``cov`` (g, 3, 3) cm^2; ``chi2`` (g,); ``ndf`` (g,); ``momentum`` (k, 3) GeV: each
    track's momentum at the fitted vertex, in the order of ``members``.
    """

    status: np.ndarray
    vertex: np.ndarray
    cov: np.ndarray
    chi2: np.ndarray
    ndf: np.ndarray
    momentum: np.ndarray


def fit_vertices(
    helix: np.ndarray,
    cov: np.ndarray,
    members: np.ndarray,
    offsets: np.ndarray,
    bz: float,
    seeds: np.ndarray | None = None,
    beam_spot: tuple[np.ndarray, np.ndarray] | None = None,
    max_iter: int = 10,
    tol: float = 1e-4,
) -> VertexFit:
    """Fit groups of tracks to common vertices.

    ``helix`` (m, 5) and ``cov`` (m, 5, 5): track helices (cm, rad, 1/cm) and covariances;
    group ``g`` is the tracks ``members[offsets[g]:offsets[g+1]]``; ``bz`` field (T).
    ``seeds`` (g, 3) cm: starting vertices; by default the transverse-circle intersection of
    the first two tracks of each group (the origin for one-track groups).  ``beam_spot``:
    (position (3,) cm, covariance (3, 3) cm^2) added as a measurement of the vertex.
    ``tol`` (cm): convergence when the vertex moves less than this in an iteration.
    """
    helix = np.ascontiguousarray(helix, np.float64)
    cov = np.ascontiguousarray(cov, np.float64)
    members = np.ascontiguousarray(members, np.int64)
    offsets = np.ascontiguousarray(offsets, np.int64)
    n_groups = len(offsets) - 1
    if seeds is None:
        seeds = np.zeros((n_groups, 3))
        two = np.flatnonzero(np.diff(offsets) >= 2)
        if len(two):
            seeds[two], _ = circle_seeds(helix, members[offsets[two]], members[offsets[two] + 1])
    seeds = np.ascontiguousarray(seeds, np.float64)
    use_bs = beam_spot is not None
    bs_pos = np.asarray(beam_spot[0], np.float64) if use_bs else np.zeros(3)
    bs_cov = np.ascontiguousarray(beam_spot[1], np.float64) if use_bs else np.eye(3)
    status = np.full(n_groups, FIT_FAILED, np.int8)
    vtx = np.full((n_groups, 3), np.nan)
    vcov = np.full((n_groups, 3, 3), np.nan)
    chi2 = np.full(n_groups, np.nan)
    ndf = np.zeros(n_groups, np.int16)
    mom = np.full((len(members), 3), np.nan)
    _fit_kernel(
        helix, cov, members, offsets, seeds, float(bz), use_bs, bs_pos, bs_cov, int(max_iter), float(tol),
        status, vtx, vcov, chi2, ndf, mom,
    )  # fmt: skip
    return VertexFit(status, vtx, vcov, chi2, ndf, mom)
