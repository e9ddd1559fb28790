"""ECL trigger lines: total energy (``hie``), cluster count (``c4``), single photon, Bhabha veto.

Units: GeV, rad.

Input: the detector stage's ``clusters`` (measured energy, theta, phi, ECL region).  The
ECL trigger works on 4x4-crystal trigger cells; the emulation uses the reconstructed
clusters above the card's trigger-cluster threshold instead (same energy scale and
resolution) [M].  Bit logic (basf2 ``trg/doc``, detector.md 4.2 [V]; thresholds [M] in the
card, detector.md 4.3):

* ``bhabha`` (veto condition): two trigger clusters back to back in the CM frame, each with
  E* > ``bhabha_e_min``, E*1 + E*2 > ``bhabha_e_sum``, |theta1* + theta2* - 180 deg| and
  ||phi1* - phi2*| - 180 deg| within the card's windows;
* ``hie``: total cluster energy (lab) > ``hie_energy`` and not Bhabha;
* ``c4``: at least ``c4_clusters`` trigger clusters and not Bhabha;
* ``single_photon``: a cluster with E* above the barrel (ECL region 2) or endcap (regions 1,
  3) threshold, no other cluster above ``sp_other_max`` (lab), not Bhabha.

CM quantities: massless boost of each cluster with the beams' nominal beta*gamma vector.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from fastsim.events import Collection

__all__ = ["cluster_cm", "ecl_lines"]


def cluster_cm(
    energy: np.ndarray, theta: np.ndarray, phi: np.ndarray, betagamma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E*, theta*, phi*) of massless clusters (GeV, rad) boosted into the frame moving with
    ``betagamma`` (3,) relative to the lab."""
    bg = np.asarray(betagamma, np.float64)
    gamma = math.sqrt(1.0 + float(bg @ bg))
    beta = bg / gamma
    st = np.sin(theta)
    p = energy[:, None] * np.stack([st * np.cos(phi), st * np.sin(phi), np.cos(theta)], axis=1)
    b2 = float(beta @ beta)
    bp = p @ beta
    e_cm = gamma * (energy - bp)
    coef = ((gamma - 1.0) * bp / b2 - gamma * energy) if b2 > 0 else np.zeros_like(energy)
    p_cm = p + coef[:, None] * beta[None, :]
    th = np.arctan2(np.hypot(p_cm[:, 0], p_cm[:, 1]), p_cm[:, 2])
    return e_cm, th, np.arctan2(p_cm[:, 1], p_cm[:, 0])


@njit(cache=True, nogil=True, error_model="numpy")
def _bhabha_kernel(offsets, flag, e, th, ph, e_min, e_sum, dth, dph):  # fmt: skip
    n_ev = len(offsets) - 1
    out = np.zeros(n_ev, np.bool_)
    for ev in range(n_ev):
        a, b = offsets[ev], offsets[ev + 1]
        for i in range(a, b):
            if not flag[i] or e[i] < e_min:
                continue
            for k in range(i + 1, b):
                if not flag[k] or e[k] < e_min or e[i] + e[k] < e_sum:
                    continue
                if abs(th[i] + th[k] - math.pi) > dth:
                    continue
                d = abs(ph[i] - ph[k])
                d = min(d, 2.0 * math.pi - d)
                if abs(d - math.pi) <= dph:
                    out[ev] = True
    return out


def ecl_lines(clusters: Collection, cfg: dict[str, Any], betagamma: np.ndarray) -> dict[str, np.ndarray]:
    """Per-event ECL bits and sums.  ``cfg`` is the card's ``trigger.ecl`` section.

    Returns ``hie``, ``c4``, ``single_photon``, ``bhabha`` (bool) and ``energy`` (GeV, lab
    sum of all clusters), ``n_clusters`` (trigger clusters)."""
    n_ev = clusters.n_events
    ev = clusters.event_index()
    e = clusters["energy"]
    e_cm, th_cm, ph_cm = cluster_cm(e, clusters["theta"], clusters["phi"], betagamma)
    trig = e > cfg["cluster_threshold"]
    energy = np.bincount(ev, e, n_ev)
    n_cl = np.bincount(ev, trig, n_ev).astype(np.int32)
    bha = _bhabha_kernel(
        clusters.offsets, trig, e_cm, th_cm, ph_cm, cfg["bhabha_e_min"], cfg["bhabha_e_sum"],
        math.radians(cfg["bhabha_dtheta_deg"]), math.radians(cfg["bhabha_dphi_deg"]),
    )  # fmt: skip
    region = clusters["region"]
    thr = np.where(region == 2, cfg["sp_energy_barrel"], cfg["sp_energy_endcap"])
    sp_cand = (e_cm > thr) & (region > 0)
    n_sp = np.bincount(ev, sp_cand, n_ev)
    n_other = np.bincount(ev, e > cfg["sp_other_max"], n_ev)
    return {
        "hie": (energy > cfg["hie_energy"]) & ~bha,
        "c4": (n_cl >= cfg["c4_clusters"]) & ~bha,
        "single_photon": (n_sp >= 1) & (n_other == 1) & ~bha,
        "bhabha": bha,
        "energy": energy,
        "n_clusters": n_cl,
    }
