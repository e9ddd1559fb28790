"""ECL clusters: deposits by species, crystal-size merging, resolution, gaps, threshold.

Units: GeV, cm, ns, rad.

* Photons and e+-: the full energy at the crystal face.
* Muons: minimum-ionising loss ``mip_dedx * path`` over the crystal length (path grows
  with the incidence angle; CsI 5.61 MeV/cm, PDG), at most the kinetic energy (~0.17-0.2 GeV).
* Hadrons: interaction within the crystal path with probability 1 - exp(-path/lambda_I)
  (CsI lambda_I, PDG); if it interacts at depth t, MIP loss up to t plus a uniform fraction
  of the remaining kinetic energy (a partial, fluctuating hadronic containment model);
  otherwise MIP loss (charged) or nothing (neutral).
* Deposits of one event closer than one crystal width at the face merge into one cluster
  (energy sum, energy-weighted position), so a fast pi0 can give one cluster.
* Energy resolution sigma_E/E = a/E (+) b/E^(1/4) (+) c, position sigma = pos/sqrt(E) on the
  face, time sigma = a_t/E (+) b_t; clusters in the polar gaps or outside the ECL, or below
  the threshold, are dropped.

Face quantities and deposits come from one numba kernel (:func:`face_deposits`; hadron
interaction depth and fraction from a splitmix64 stream per particle), merging and energy
sums from another (:func:`_sums`), the smearing (normals by Box-Muller from a splitmix64
stream per cluster), gaps and threshold from a third (:func:`_smear_kernel`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from fastsim.constants import C_CM_PER_NS
from fastsim.detector.arena import blocks, copy_into
from fastsim.detector.propagation import _next, _seed
from fastsim.detector.vmath import normal_pair, vatan2, vlog, vsincos

__all__ = ["ecl_region", "energy_resolution", "face_deposits", "make_clusters"]


def energy_resolution(ecl: dict[str, Any], e: np.ndarray) -> np.ndarray:
    """Relative resolution sigma_E/E at energy e (GeV), card's three-term form."""
    r = ecl["energy_resolution"]
    e = np.maximum(e, 1e-6)
    return np.sqrt((r["a"] / e) ** 2 + (r["b"] / e**0.25) ** 2 + r["c"] ** 2)


def ecl_region(ecl: dict[str, Any], theta: np.ndarray) -> np.ndarray:
    """0 outside or in a gap, 1 forward endcap, 2 barrel, 3 backward endcap."""
    deg = np.degrees(theta)
    out = np.zeros(len(theta), np.int8)
    for code, key in ((1, "forward_theta_deg"), (2, "barrel_theta_deg"), (3, "backward_theta_deg")):
        lo, hi = ecl[key][0], ecl[key][1]
        out[(deg >= lo) & (deg <= hi)] = code
    return out


@njit(cache=True, nogil=True, fastmath={"contract"})
def _merge(ev, pos, order, dist, seed_of, seeds):  # fmt: skip
    """Greedy merging in decreasing energy: each deposit joins the first seed of its event
    within ``dist`` (cm).  Writes the seed index of every deposit into ``seed_of`` (-1 for
    deposits not in ``order``); ``seeds`` is work space."""
    for i in range(len(seed_of)):
        seed_of[i] = -1
    ns = 0
    ev_start = 0
    cur_ev = -1
    for k in range(len(order)):  # only the deposits in ``order`` (those above zero)
        i = order[k]
        if ev[i] != cur_ev:
            cur_ev = ev[i]
            ev_start = ns
        found = -1
        for j in range(ev_start, ns):
            s = seeds[j]
            d2 = (pos[i, 0] - pos[s, 0]) ** 2 + (pos[i, 1] - pos[s, 1]) ** 2 + (pos[i, 2] - pos[s, 2]) ** 2
            if d2 < dist * dist:
                found = s
                break
        if found < 0:
            seeds[ns] = i
            ns += 1
            seed_of[i] = i
        else:
            seed_of[i] = found


@njit(cache=True, nogil=True, fastmath={"contract"})
def _event_order(ev, dep, out):  # fmt: skip
    """Indices of the positive deposits by event, then by decreasing energy (stable): the
    order of ``np.lexsort((-dep, ev))`` for ``ev`` non-decreasing (insertion sort within an
    event, events being small), written into ``out``; returns their number."""
    n = len(ev)
    k = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and ev[b] == ev[a]:
            b += 1
        k0 = k
        for j in range(a, b):
            if dep[j] > 0:
                # insert after the last entry of larger or equal energy
                m = k
                while m > k0 and dep[out[m - 1]] < dep[j]:
                    out[m] = out[m - 1]
                    m -= 1
                out[m] = j
                k += 1
        a = b
    return k


@njit(cache=True, nogil=True, fastmath={"contract"})
def _sums(ev, dep, pos, order, dist, seed_of, work, seeds, e_sum, cxyz, cnt):  # fmt: skip
    """Merging (:func:`_merge`; ``seed_of`` per deposit, ``work`` work space) and per cluster
    (seeds in deposit order): seed index, energy sum, energy-weighted x, y, z (rows of
    ``cxyz``) and number of merged deposits, written into the arrays given.  Returns the
    number of clusters."""
    n = len(dep)
    _merge(ev, pos, order, dist, seed_of, work)
    slot = work
    ns = 0
    for i in range(n):
        if seed_of[i] == i:
            slot[i] = ns
            seeds[ns] = i
            e_sum[ns] = 0.0
            cxyz[0, ns] = 0.0
            cxyz[1, ns] = 0.0
            cxyz[2, ns] = 0.0
            cnt[ns] = 0
            ns += 1
    for i in range(n):
        s = seed_of[i]
        if s < 0:
            continue
        j = slot[s]
        e_sum[j] += dep[i]
        cxyz[0, j] += dep[i] * pos[i, 0]
        cxyz[1, j] += dep[i] * pos[i, 1]
        cxyz[2, j] += dep[i] * pos[i, 2]
        cnt[j] += 1
    for j in range(ns):
        d = max(e_sum[j], 1e-12)
        cxyz[0, j] /= d
        cxyz[1, j] /= d
        cxyz[2, j] /= d
    return ns


@njit(cache=True, inline="always", error_model="numpy", fastmath={"contract"})
def _deposit(apdg, e, mass, charged, cos_inc, length, mip_dedx, depth, frac):  # fmt: skip
    """True energy (GeV) deposited by a particle of total energy e entering the crystals at
    incidence cosine cos_inc (module doc); ``depth`` (cm) and ``frac`` are the hadron's
    Exp(lambda_I) interaction depth and uniform containment fraction.  Branch-free (all
    species' values computed, one selected), so that loops calling it vectorise."""
    ke = max(e - mass, 0.0)
    path = length / max(cos_inc, 0.5)
    mip_part = mip_dedx * min(depth, path) if charged else 0.0
    dep = mip_part + frac * max(ke - mip_part, 0.0) if depth < path else mip_part
    dep = min(dep, ke)
    dep = min(mip_dedx * path, ke) if apdg == 13 else dep
    return e if (apdg == 22 or apdg == 11) else dep  # noqa: PLR1714 (plain comparisons vectorise)


_FACE_CHUNK = 256  # particles per pass of the face kernel
# rows of its work array: x, y, z, px, py, pz, mass, charge, |pdg|, t0, path, two uniforms,
# then deposit and arrival time
_N_FACE_ROWS = 15


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _face_kernel(idx, end, mass, q, pdg, t0, path, ecl_r, length, mip_dedx, lam, seed, out):  # fmt: skip
    """Deposit (GeV), face position (n, 3; cm) and arrival time (ns) of the particles ``idx``
    at the ECL face (``end``: x, y, z, px, py, pz there), written into the arrays of ``out``.
    The incidence angle is taken to the cylinder normal on the barrel face
    (r >= 0.999 ecl_r), to the z axis on the endcaps; interaction depth and fraction from a
    splitmix64 stream per particle.

    Particles go in chunks: a scalar pass gathers their inputs into the rows of a 1-D work
    array, a branch-free loop over it (vectorised by LLVM; :func:`vlog`) computes the
    results."""
    n = len(idx)
    dep, pos, t_arr = out
    c = _FACE_CHUNK
    wk = np.empty(_N_FACE_ROWS * c)
    for c0 in range(0, n, c):
        nc = min(n - c0, c)
        for k in range(nc):
            i = idx[c0 + k]
            for r in range(6):
                wk[r * c + k] = end[i, r]
            wk[6 * c + k] = mass[i]
            wk[7 * c + k] = q[i]
            wk[8 * c + k] = abs(pdg[i])
            wk[9 * c + k] = t0[i]
            wk[10 * c + k] = path[i]
            pos[c0 + k, 0], pos[c0 + k, 1], pos[c0 + k, 2] = end[i, 0], end[i, 1], end[i, 2]
        for k in range(nc):
            st = _seed(seed, c0 + k)
            st, wk[11 * c + k] = _next(st)
            st, wk[12 * c + k] = _next(st)
        for k in range(nc):
            xx, yy = wk[k], wk[c + k]
            px, py, pz = wk[3 * c + k], wk[4 * c + k], wk[5 * c + k]
            mi = wk[6 * c + k]
            pf = math.sqrt(px * px + py * py + pz * pz)
            e = math.sqrt(pf * pf + mi * mi)
            r = math.sqrt(xx * xx + yy * yy)
            cos_inc = (
                abs(xx * px + yy * py) / max(r * pf, 1e-12)
                if r >= ecl_r * 0.999
                else abs(pz) / max(pf, 1e-12)
            )
            depth = -lam * vlog(1.0 - wk[11 * c + k])
            wk[13 * c + k] = _deposit(
                wk[8 * c + k], e, mi, wk[7 * c + k] != 0, cos_inc, length, mip_dedx, depth, wk[12 * c + k]
            )
            beta = pf / max(e, 1e-12)
            wk[14 * c + k] = wk[9 * c + k] + wk[10 * c + k] / (max(beta, 1e-6) * C_CM_PER_NS)
        copy_into(dep, c0, wk, 13 * c, nc)
        copy_into(t_arr, c0, wk, 14 * c, nc)


def face_deposits(
    ecl: dict[str, Any],
    idx: np.ndarray,
    end: np.ndarray,
    mass: np.ndarray,
    q: np.ndarray,
    pdg: np.ndarray,
    t0: np.ndarray,
    path: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True deposits (GeV), face positions (n, 3; cm) and arrival times (ns) of the particles
    ``idx`` reaching the ECL face (per-particle arrays: ``end`` (x, y, z, px, py, pz) at the
    face, mass, charge, PDG id, production time (ns), path length (cm))."""
    n = len(idx)
    out = tuple(blocks([(np.float64, (n,)), (np.float64, (n, 3)), (np.float64, (n,))]))
    _face_kernel(
        np.asarray(idx, dtype=np.int64), end, np.asarray(mass, dtype=np.float64),
        np.asarray(q, dtype=np.float64), np.asarray(pdg, dtype=np.int64),
        np.asarray(t0, dtype=np.float64), np.asarray(path, dtype=np.float64),
        float(ecl["inner_radius"]), float(ecl["crystal_length"]), float(ecl["mip_dedx"]),
        float(ecl["interaction_length"]), np.uint64(rng.integers(0, 2**63)), out,
    )  # fmt: skip
    return out


_CHUNK = 256  # clusters per pass of the smearing kernel
# rows of its work array: inputs (energy sum, x, y, z, four uniforms: the first and second of
# two pairs), atan2 arguments (y of the polar angle before smearing, polar angle and azimuth
# after, then x), results (measured energy, x, y, z, time shift)
_E, _CX, _CY, _CZ, _G, _A, _R = 0, 1, 2, 3, 4, 8, 14
_N_ROWS = _R + 5


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _smear_kernel(e_sum, cxyz, cnt, seeds, t_arrival, seed, ra, rb, rc, pos_res, ta, tb, z_fwd, z_bwd, thr, th_lo, th_hi, f8, seed_o, cnt_o, reg_o):  # fmt: skip
    """Smearing of the merged deposits (energy sums e_sum (GeV), face positions (rows of
    ``cxyz``, columns beyond len(e_sum) unused; cm), arrival times ``t_arrival[seeds]`` (ns)) with four standard normals per
    cluster (Box-Muller from a splitmix64 stream per cluster), as in :func:`make_clusters`
    (:func:`energy_resolution`, :func:`ecl_region` with the regions' polar ranges th_lo/th_hi
    in degrees, codes 1-3).  Writes per kept cluster the rows of ``f8`` (energy, theta, phi,
    x, y, z, time, true energy), the seed deposit, the number of merged deposits and the
    region; returns the number kept.

    Clusters go in chunks: their inputs and uniforms are put into the rows of a 1-D work
    array; branch-free loops over it (vectorised by LLVM; :mod:`fastsim.detector.vmath`) give
    the normals, the smeared quantities and the angles (one loop per function, which keeps
    the compiled code small), and a scalar pass keeps the clusters that pass."""
    n = len(e_sum)
    lo1, lo2, lo3 = th_lo[0], th_lo[1], th_lo[2]
    hi1, hi2, hi3 = th_hi[0], th_hi[1], th_hi[2]
    wk = np.zeros(_N_ROWS * _CHUNK)  # rows beyond a short last chunk keep finite values
    k = 0
    for c0 in range(0, n, _CHUNK):
        nc = min(n - c0, _CHUNK)
        copy_into(wk, _E * _CHUNK, e_sum, c0, nc)
        for r in range(3):
            copy_into(wk, (_CX + r) * _CHUNK, cxyz[r], c0, nc)
        for j in range(nc):
            st = _seed(seed, c0 + j)
            st, wk[_G * _CHUNK + j] = _next(st)
            st, wk[(_G + 2) * _CHUNK + j] = _next(st)
            st, wk[(_G + 1) * _CHUNK + j] = _next(st)
            st, wk[(_G + 3) * _CHUNK + j] = _next(st)
        for j in range(2 * _CHUNK):
            wk[_G * _CHUNK + j], wk[(_G + 2) * _CHUNK + j] = normal_pair(
                wk[_G * _CHUNK + j], wk[(_G + 2) * _CHUNK + j]
            )
        for j in range(nc):
            e = wk[_E * _CHUNK + j]
            e6 = max(e, 1e-6)
            res = math.sqrt((ra / e6) ** 2 + (rb / math.sqrt(math.sqrt(e6))) ** 2 + rc**2)  # e^(1/4)
            g0, g1 = wk[_G * _CHUNK + j], wk[(_G + 2) * _CHUNK + j]
            g2, g3 = wk[(_G + 1) * _CHUNK + j], wk[(_G + 3) * _CHUNK + j]
            x, y, z = wk[_CX * _CHUNK + j], wk[_CY * _CHUNK + j], wk[_CZ * _CHUNK + j]
            r = math.sqrt(x * x + y * y)
            s_pos = pos_res / math.sqrt(max(e, 1e-3))
            # displace on the face: r*phi and z (barrel), x and y (endcaps)
            barrel = abs(z) < 0.999 * (z_fwd if z > 0 else -z_bwd)
            # rotation by dphi about the axis (r > 0 at the barrel face)
            dphi = s_pos * g1 / max(r, 1.0)
            sd, cd = vsincos(dphi)
            sx = x * cd - y * sd if barrel else x + s_pos * g1
            sy = y * cd + x * sd if barrel else y + s_pos * g2
            sz = z + s_pos * g2 if barrel else z
            wk[_A * _CHUNK + j], wk[(_A + 3) * _CHUNK + j] = r, z
            wk[(_A + 1) * _CHUNK + j], wk[(_A + 4) * _CHUNK + j] = math.sqrt(sx * sx + sy * sy), sz
            wk[(_A + 2) * _CHUNK + j], wk[(_A + 5) * _CHUNK + j] = sy, sx
            wk[_R * _CHUNK + j] = e * (1.0 + res * g0)
            wk[(_R + 1) * _CHUNK + j] = sx
            wk[(_R + 2) * _CHUNK + j] = sy
            wk[(_R + 3) * _CHUNK + j] = sz
            wk[(_R + 4) * _CHUNK + j] = math.sqrt((ta / max(e, 1e-3)) ** 2 + tb**2) * g3
        for j in range(3 * _CHUNK):
            wk[_A * _CHUNK + j] = vatan2(wk[_A * _CHUNK + j], wk[(_A + 3) * _CHUNK + j])
        for j in range(nc):
            e_meas = wk[_R * _CHUNK + j]
            deg = wk[_A * _CHUNK + j] * (180.0 / math.pi)
            region = 0
            if lo1 <= deg <= hi1:
                region = 1
            if lo2 <= deg <= hi2:
                region = 2
            if lo3 <= deg <= hi3:
                region = 3
            if not (e_meas > thr and region > 0):
                continue
            i = c0 + j
            f8[0, k] = e_meas
            f8[1, k] = wk[(_A + 1) * _CHUNK + j]
            f8[2, k] = wk[(_A + 2) * _CHUNK + j]
            f8[3, k] = wk[(_R + 1) * _CHUNK + j]
            f8[4, k] = wk[(_R + 2) * _CHUNK + j]
            f8[5, k] = wk[(_R + 3) * _CHUNK + j]
            f8[6, k] = t_arrival[seeds[i]] + wk[(_R + 4) * _CHUNK + j]
            f8[7, k] = e_sum[i]
            seed_o[k] = seeds[i]
            cnt_o[k] = cnt[i]
            reg_o[k] = region
            k += 1
    return k


def make_clusters(
    ecl: dict[str, Any],
    ev: np.ndarray,
    dep: np.ndarray,
    pos: np.ndarray,
    t_arrival: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Merge, smear and threshold deposits.  Returns per cluster its fields and the index of
    the deposit that seeded it (``seed``) and, per deposit, its cluster seed (``seed_of``)."""
    n = len(dep)
    pos = np.ascontiguousarray(pos, dtype=np.float64)
    dep = np.ascontiguousarray(dep, dtype=np.float64)
    ev = np.ascontiguousarray(ev, dtype=np.int64)
    # outputs (at most one cluster per deposit) and work space, each from one block
    f8, seed_o, cnt_o, reg_o = blocks(
        [(np.float64, (8, n)), (np.int64, (n,)), (np.int32, (n,)), (np.int8, (n,))]
    )
    i8, w8, cnt = blocks([(np.int64, (4, n)), (np.float64, (4, n)), (np.int32, (n,))])
    order, seed_of, work, seeds = i8
    e_sum, cxyz = w8[0], w8[1:4]
    if len(ev) and np.all(ev[1:] >= ev[:-1]):
        order = order[: _event_order(ev, dep, order)]  # events already grouped: sort within each event
    else:
        order = np.lexsort((-dep, ev))
        order = order[dep[order] > 0]
    ns = _sums(ev, dep, pos, order, float(ecl["crystal_size"]), seed_of, work, seeds, e_sum, cxyz, cnt)
    # smearing, gaps and threshold
    r, tr = ecl["energy_resolution"], ecl["time_resolution"]
    keys = ("forward_theta_deg", "barrel_theta_deg", "backward_theta_deg")
    th_lo = np.array([ecl[key][0] for key in keys], dtype=np.float64)
    th_hi = np.array([ecl[key][1] for key in keys], dtype=np.float64)
    k = _smear_kernel(
        e_sum[:ns], cxyz, cnt[:ns], seeds[:ns], np.asarray(t_arrival, dtype=np.float64),
        np.uint64(rng.integers(0, 2**63)),
        float(r["a"]), float(r["b"]), float(r["c"]), float(ecl["position_resolution"]),
        float(tr["a"]), float(tr["b"]), float(ecl["forward_z"]), float(ecl["backward_z"]),
        float(ecl["cluster_threshold"]), th_lo, th_hi, f8, seed_o, cnt_o, reg_o,
    )  # fmt: skip
    return {
        "seed": seed_o[:k],
        "seed_of": seed_of,
        "energy": f8[0, :k],
        "theta": f8[1, :k],
        "phi": f8[2, :k],
        "x": f8[3, :k],
        "y": f8[4, :k],
        "z": f8[5, :k],
        "time": f8[6, :k],
        "region": reg_o[:k],
        "n_merged": cnt_o[:k],
        "e_true": f8[7, :k],
    }


def arrival_time(vt: np.ndarray, path: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Production time plus flight time (ns) for a path (cm) at speed beta."""
    return vt + path / (np.maximum(beta, 1e-6) * C_CM_PER_NS)
