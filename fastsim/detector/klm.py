"""KLM: muon penetration by range, hadron punch-through, K_L detection.

Units: GeV, cm, rad.

Range model: a particle of kinetic energy T at the ECL face first loses the energy needed
before the first KLM layer, fixed by the card's ``muon_threshold_p`` (a muon of that
momentum at normal incidence just reaches the first layer; Belle muon ID, NIM A 491 (2002)
69: 0.6 GeV), scaled by the path length through the material (1/sin(theta) in the barrel,
1/|cos(theta)| in the endcaps).  Each further layer costs ``iron_dedx * iron_thickness`` times
the same path factor; the available energy fluctuates by ``range_straggling``.  Hadrons
also stop where they interact (iron lambda_I = 16.77 cm, PDG atomic and nuclear properties).
K_L reaching the ECL face inside the KLM acceptance are detected with ``kl_efficiency``.

Computed per particle in one numba kernel (:func:`klm_response`); random numbers from a
splitmix64 stream per particle (:mod:`fastsim.detector.propagation`), seeded from one draw of
the stage's generator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from fastsim.detector.propagation import _FM, _gauss2, _next, _seed

__all__ = ["IRON_LAMBDA_I", "KL_PDG", "klm_region", "klm_response"]

#: nuclear interaction length of iron (cm), PDG atomic and nuclear properties
IRON_LAMBDA_I = 16.77
KL_PDG = 130


def klm_region(klm: dict[str, Any], theta: np.ndarray) -> np.ndarray:
    """0 outside, 1 barrel, 2 endcap."""
    deg = np.degrees(theta)
    lo, hi = klm["theta_deg"]
    blo, bhi = klm["barrel_theta_deg"]
    inside = (deg >= lo) & (deg <= hi)
    barrel = (deg >= blo) & (deg <= bhi)
    return np.where(inside, np.where(barrel, 1, 2), 0).astype(np.int8)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _klm_kernel(end, end_code, code_ecl, mass, q, pdg, mu_mass, par, seed):  # fmt: skip
    """Per particle: polar angle at the ECL face (rad), layers reached (muon-like range and
    with hadronic interactions; range model of the module doc) for charged particles at the ECL
    face (0 otherwise; e+- give no hadron-range layers), and whether a K_L at the face is
    detected.  ``par``: theta range, barrel theta range (deg), muon threshold p (GeV), iron
    dE/dx (GeV/cm), thickness (cm), straggling, barrel and endcap layers, K_L efficiency.
    Random numbers from a splitmix64 stream per particle."""
    n = len(end_code)
    theta = np.empty(n)
    n_mu = np.zeros(n, np.int32)
    n_had = np.zeros(n, np.int32)
    kl_det = np.zeros(n, np.bool_)
    lo, hi, blo, bhi, p_thr, dedx, thick, strag, n_bar, n_end, kl_eff = (
        par[0], par[1], par[2], par[3], par[4], par[5], par[6], par[7], par[8], par[9], par[10],
    )  # fmt: skip
    t_thr = math.sqrt(p_thr * p_thr + mu_mass * mu_mass) - mu_mass
    per_layer = dedx * thick
    for i in range(n):
        xx, yy, zz = end[i, 0], end[i, 1], end[i, 2]
        rho = math.sqrt(xx * xx + yy * yy)
        th = math.atan2(rho, zz)
        theta[i] = th
        if end_code[i] != code_ecl:
            continue
        apdg = abs(pdg[i])
        deg = math.degrees(th)
        region = 0
        if lo <= deg <= hi:
            region = 1 if blo <= deg <= bhi else 2
        if q[i] == 0:
            if apdg == KL_PDG and region > 0:
                st = _seed(seed, i)
                st, u = _next(st)
                kl_det[i] = u < kl_eff
            continue
        if region == 0:
            continue
        # path through the iron: 1/sin(theta) in the barrel, 1/|cos(theta)| in the endcaps
        # (sin theta, |cos theta| = rho/r, |z|/r at the face)
        r3 = math.sqrt(rho * rho + zz * zz)
        path_factor = r3 / max(rho if region == 1 else abs(zz), 0.3 * r3)
        px, py, pz = end[i, 3], end[i, 4], end[i, 5]
        t_face = max(math.sqrt(px * px + py * py + pz * pz + mass[i] * mass[i]) - mass[i], 0.0)
        st = _seed(seed, i)
        st, g, _ = _gauss2(st)
        st, u = _next(st)
        t_after = t_face * (1.0 + strag * g) - t_thr * path_factor
        nl = 0
        if t_after > 0:
            nl = int(
                min(1.0 + math.floor(t_after / (per_layer * path_factor)), n_bar if region == 1 else n_end)
            )
        n_mu[i] = nl
        if apdg == 11:
            continue
        if apdg == 13:
            n_had[i] = nl
        else:
            plates = -IRON_LAMBDA_I * math.log(1.0 - u) / (thick * path_factor)
            n_had[i] = min(nl, math.floor(plates) + 1)
    return theta, n_mu, n_had, kl_det


def klm_response(
    klm: dict[str, Any],
    end: np.ndarray,
    end_code: np.ndarray,
    code_ecl: int,
    mass: np.ndarray,
    q: np.ndarray,
    pdg: np.ndarray,
    mu_mass: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For all particles (``end``: x, y, z, px, py, pz at the end point, ``end_code``; those
    with ``code_ecl`` reached the ECL face): polar angle at the end point (rad), layers
    reached by charged particles (muon-like range; with hadronic interactions, 0 for e+-;
    module doc), and the detected K_L mask."""
    par = np.array(
        [
            *klm["theta_deg"][:2], *klm["barrel_theta_deg"][:2], klm["muon_threshold_p"], klm["iron_dedx"],
            klm["iron_thickness"], klm["range_straggling"], klm["n_barrel_layers"], klm["n_endcap_layers"],
            klm["kl_efficiency"],
        ],
        dtype=np.float64,
    )  # fmt: skip
    return _klm_kernel(
        end, np.asarray(end_code, dtype=np.int8), code_ecl, np.asarray(mass, dtype=np.float64),
        np.asarray(q, dtype=np.float64), np.asarray(pdg, dtype=np.int64), float(mu_mass), par,
        np.uint64(rng.integers(0, 2**63)),
    )  # fmt: skip
