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
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from fastsim.constants import C_CM_PER_NS

__all__ = ["ecl_region", "energy_resolution", "make_clusters"]


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


@njit(cache=True)
def _merge(ev, e, x, y, z, order, dist):  # fmt: skip
    """Greedy merging in decreasing energy: each deposit joins the first seed of its event
    within ``dist`` (cm).  Returns the seed index of every deposit."""
    n = len(e)
    seed_of = np.full(n, -1, np.int64)
    seeds = np.empty(n, np.int64)
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
            d2 = (x[i] - x[s]) ** 2 + (y[i] - y[s]) ** 2 + (z[i] - z[s]) ** 2
            if d2 < dist * dist:
                found = s
                break
        if found < 0:
            seeds[ns] = i
            ns += 1
            seed_of[i] = i
        else:
            seed_of[i] = found
    return seed_of


@njit(cache=True)
def _event_order(ev, dep):  # fmt: skip
    """Indices of the positive deposits by event, then by decreasing energy (stable): the
    order of ``np.lexsort((-dep, ev))`` for ``ev`` non-decreasing."""
    n = len(ev)
    out = np.empty(n, np.int64)
    k = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and ev[b] == ev[a]:
            b += 1
        idx = a + np.argsort(-dep[a:b], kind="mergesort")
        for j in idx:
            if dep[j] > 0:
                out[k] = j
                k += 1
        a = b
    return out[:k]


def deposits(
    ecl: dict[str, Any],
    pdg: np.ndarray,
    e: np.ndarray,
    mass: np.ndarray,
    q: np.ndarray,
    cos_inc: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """True energy deposited by particles entering the ECL (GeV)."""
    apdg = np.abs(pdg)
    ke = np.maximum(e - mass, 0.0)
    path = ecl["crystal_length"] / np.maximum(cos_inc, 0.5)
    mip = ecl["mip_dedx"] * path
    dep = np.zeros(len(e))
    em = (apdg == 22) | (apdg == 11)
    dep[em] = e[em]
    mu = apdg == 13
    dep[mu] = np.minimum(mip[mu], ke[mu])
    had = ~(em | mu)
    depth = rng.exponential(ecl["interaction_length"], len(e))
    frac = rng.random(len(e))
    interacts = depth < path
    charged = q != 0
    mip_part = np.where(charged, ecl["mip_dedx"] * np.minimum(depth, path), 0.0)
    had_dep = np.where(interacts, mip_part + frac * np.maximum(ke - mip_part, 0.0), mip_part)
    dep[had] = np.minimum(had_dep[had], ke[had])
    return dep


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
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    keep = dep > 0
    if len(ev) and np.all(ev[1:] >= ev[:-1]):
        order = _event_order(ev, dep)  # events already grouped: sort within each event
    else:
        order = np.lexsort((-dep, ev))
        order = order[keep[order]]
    seed_of = np.full(len(dep), -1, np.int64)
    if len(order):
        seed_of = _merge(ev, dep, x, y, z, order, ecl["crystal_size"])
        seed_of[~keep] = -1
    seeds = np.flatnonzero(seed_of == np.arange(len(dep)))
    # energy sums and energy-weighted positions per seed
    inv = np.searchsorted(seeds, seed_of[keep])
    e_sum = np.bincount(inv, dep[keep], len(seeds))
    cx = np.bincount(inv, dep[keep] * x[keep], len(seeds)) / np.maximum(e_sum, 1e-12)
    cy = np.bincount(inv, dep[keep] * y[keep], len(seeds)) / np.maximum(e_sum, 1e-12)
    cz = np.bincount(inv, dep[keep] * z[keep], len(seeds)) / np.maximum(e_sum, 1e-12)
    n_merged = np.bincount(inv, None, len(seeds)).astype(np.int32)
    # smearing
    n = len(seeds)
    g = rng.standard_normal((n, 4))
    e_meas = e_sum * (1.0 + energy_resolution(ecl, e_sum) * g[:, 0])
    s_pos = ecl["position_resolution"] / np.sqrt(np.maximum(e_sum, 1e-3))
    # displace on the face: two directions perpendicular to the radial (barrel) or z (endcap)
    r = np.hypot(cx, cy)
    barrel = np.abs(cz) < 0.999 * np.where(cz > 0, ecl["forward_z"], -ecl["backward_z"])
    phi = np.arctan2(cy, cx)
    # barrel: r*phi and z; endcaps: x and y
    dphi = np.where(barrel, s_pos * g[:, 1] / np.maximum(r, 1.0), 0.0)
    dz = np.where(barrel, s_pos * g[:, 2], 0.0)
    dx = np.where(barrel, 0.0, s_pos * g[:, 1])
    dy = np.where(barrel, 0.0, s_pos * g[:, 2])
    phi_new = phi + dphi
    sx = np.where(barrel, r * np.cos(phi_new), cx + dx)
    sy = np.where(barrel, r * np.sin(phi_new), cy + dy)
    sz = cz + dz
    tr = ecl["time_resolution"]
    s_t = np.hypot(tr["a"] / np.maximum(e_sum, 1e-3), tr["b"])
    t = t_arrival[seeds] + s_t * g[:, 3]
    theta = np.arctan2(np.hypot(sx, sy), sz)
    region = ecl_region(ecl, np.arctan2(np.hypot(cx, cy), cz))
    ok = (e_meas > ecl["cluster_threshold"]) & (region > 0)
    return {
        "seed": seeds[ok],
        "seed_of": seed_of,
        "energy": e_meas[ok],
        "theta": theta[ok],
        "phi": np.arctan2(sy, sx)[ok],
        "x": sx[ok],
        "y": sy[ok],
        "z": sz[ok],
        "time": t[ok],
        "region": region[ok],
        "n_merged": n_merged[ok],
        "e_true": e_sum[ok],
    }


def arrival_time(vt: np.ndarray, path: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Production time plus flight time (ns) for a path (cm) at speed beta."""
    return vt + path / (np.maximum(beta, 1e-6) * C_CM_PER_NS)
