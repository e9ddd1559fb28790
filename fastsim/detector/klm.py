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

from fastsim.detector.arena import blocks, copy_into
from fastsim.detector.propagation import _next, _seed
from fastsim.detector.vmath import normal_pair, vatan2, vlog

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


_CHUNK = 256  # particles per pass of the KLM kernel
# rows of its work array: inputs, then results
_XX, _YY, _ZZ, _PX, _PY, _PZ, _CODE, _M, _Q, _PDG, _U1, _U2, _U3 = range(13)
_R = 13  # theta, phi, layers (muon-like), layers (hadron), K_L detected
_N_ROWS = _R + 5


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _klm_kernel(end, end_code, code_ecl, mass, q, pdg, mu_mass, par, seed, theta, phi, n_mu, n_had, kl_det):  # fmt: skip
    """Per particle: polar angle and azimuth at the end point (rad), layers reached (muon-like
    range and with hadronic interactions; range model of the module doc) for charged
    particles at the ECL face (0 otherwise; e+- give no hadron-range layers), and whether a
    K_L at the face is detected, written into ``theta``, ``phi``, ``n_mu``, ``n_had`` and
    ``kl_det``.  ``par``: theta range, barrel theta range (deg), muon threshold p (GeV), iron
    dE/dx (GeV/cm), thickness (cm), straggling, barrel and endcap layers, K_L efficiency.
    Random numbers from a splitmix64 stream per particle (range straggling by Box-Muller).

    Particles go in chunks: inputs copied into the rows of a 1-D work array, one branch-free
    loop over it (vectorised by LLVM; :mod:`fastsim.detector.vmath`), results copied out."""
    n = len(end_code)
    lo, hi, blo, bhi, p_thr, dedx, thick, strag, n_bar, n_end, kl_eff = (
        par[0], par[1], par[2], par[3], par[4], par[5], par[6], par[7], par[8], par[9], par[10],
    )  # fmt: skip
    t_thr = math.sqrt(p_thr * p_thr + mu_mass * mu_mass) - mu_mass
    per_layer = dedx * thick
    wk = np.empty(_N_ROWS * _CHUNK)
    for c0 in range(0, n, _CHUNK):
        nc = min(n - c0, _CHUNK)
        for k in range(nc):
            i = c0 + k
            for r in range(6):
                wk[r * _CHUNK + k] = end[i, r]
            wk[_CODE * _CHUNK + k] = end_code[i]
            wk[_M * _CHUNK + k] = mass[i]
            wk[_Q * _CHUNK + k] = q[i]
            wk[_PDG * _CHUNK + k] = abs(pdg[i])
        for k in range(nc):
            st = _seed(seed, c0 + k)
            st, wk[_U1 * _CHUNK + k] = _next(st)
            st, wk[_U2 * _CHUNK + k] = _next(st)
            st, wk[_U3 * _CHUNK + k] = _next(st)
        for k in range(nc):
            xx, yy, zz = wk[_XX * _CHUNK + k], wk[_YY * _CHUNK + k], wk[_ZZ * _CHUNK + k]
            px, py, pz = wk[_PX * _CHUNK + k], wk[_PY * _CHUNK + k], wk[_PZ * _CHUNK + k]
            mi = wk[_M * _CHUNK + k]
            apdg = wk[_PDG * _CHUNK + k]
            u1, u2, u3 = wk[_U1 * _CHUNK + k], wk[_U2 * _CHUNK + k], wk[_U3 * _CHUNK + k]
            at_face = wk[_CODE * _CHUNK + k] == code_ecl
            charged = wk[_Q * _CHUNK + k] != 0
            rho = math.sqrt(xx * xx + yy * yy)
            th = vatan2(rho, zz)
            deg = th * (180.0 / math.pi)
            region = (1.0 if blo <= deg <= bhi else 2.0) if lo <= deg <= hi else 0.0
            kl = at_face and not charged and apdg == KL_PDG and region > 0 and u1 < kl_eff
            # path through the iron: 1/sin(theta) in the barrel, 1/|cos(theta)| in the endcaps
            # (sin theta, |cos theta| = rho/r, |z|/r at the face)
            r3 = math.sqrt(rho * rho + zz * zz)
            path_factor = r3 / max(rho if region == 1.0 else abs(zz), 0.3 * r3)
            t_face = max(math.sqrt(px * px + py * py + pz * pz + mi * mi) - mi, 0.0)
            g, _ = normal_pair(u1, u2)
            t_after = t_face * (1.0 + strag * g) - t_thr * path_factor
            nl_max = n_bar if region == 1.0 else n_end
            nl = min(1.0 + math.floor(t_after / (per_layer * path_factor)), nl_max) if t_after > 0 else 0.0
            nl = nl if (at_face and charged and region > 0) else 0.0
            plates = -IRON_LAMBDA_I * vlog(1.0 - u3) / (thick * path_factor)
            nh = min(nl, math.floor(plates) + 1.0)
            nh = nh if nh >= 0.0 else 0.0  # noqa: FURB136 (also maps a NaN, from an end point at the origin, to 0)
            nh = 0.0 if apdg == 11 else (nl if apdg == 13 else nh)
            wk[_R * _CHUNK + k] = th
            wk[(_R + 1) * _CHUNK + k] = vatan2(yy, xx)
            wk[(_R + 2) * _CHUNK + k] = nl
            wk[(_R + 3) * _CHUNK + k] = nh
            wk[(_R + 4) * _CHUNK + k] = 1.0 if kl else 0.0
        copy_into(theta, c0, wk, _R * _CHUNK, nc)
        copy_into(phi, c0, wk, (_R + 1) * _CHUNK, nc)
        for k in range(nc):
            n_mu[c0 + k] = np.int32(wk[(_R + 2) * _CHUNK + k])
            n_had[c0 + k] = np.int32(wk[(_R + 3) * _CHUNK + k])
            kl_det[c0 + k] = wk[(_R + 4) * _CHUNK + k] != 0.0


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
    with_phi: bool = False,
) -> tuple[np.ndarray, ...]:
    """For all particles (``end``: x, y, z, px, py, pz at the end point, ``end_code``; those
    with ``code_ecl`` reached the ECL face): polar angle at the end point (rad), layers
    reached by charged particles (muon-like range; with hadronic interactions, 0 for e+-;
    module doc), and the detected K_L mask; with ``with_phi`` also the azimuth of the end
    point (rad)."""
    par = np.array(
        [
            *klm["theta_deg"][:2], *klm["barrel_theta_deg"][:2], klm["muon_threshold_p"], klm["iron_dedx"],
            klm["iron_thickness"], klm["range_straggling"], klm["n_barrel_layers"], klm["n_endcap_layers"],
            klm["kl_efficiency"],
        ],
        dtype=np.float64,
    )  # fmt: skip
    n = len(end_code)
    (theta, phi), (n_mu, n_had), kl_det = blocks([(np.float64, (2, n)), (np.int32, (2, n)), (np.bool_, (n,))])
    _klm_kernel(
        end, np.asarray(end_code, dtype=np.int8), code_ecl, np.asarray(mass, dtype=np.float64),
        np.asarray(q, dtype=np.float64), np.asarray(pdg, dtype=np.int64), float(mu_mass), par,
        np.uint64(rng.integers(0, 2**63)), theta, phi, n_mu, n_had, kl_det,
    )  # fmt: skip
    return (theta, n_mu, n_had, kl_det, phi) if with_phi else (theta, n_mu, n_had, kl_det)
