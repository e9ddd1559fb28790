"""Particle lists: charged e, mu, pi, K, p; photons; pi0 -> gamma gamma; K0S and Lambda from
the displaced-vertex finder; displaced two-track candidates.  All lists go into one
``candidates`` collection with a ``list`` code.

Units: GeV, cm, rad.  Four-momenta in the lab frame.

* Charged: every track enters the list of hypothesis h when ``pid_h >= pid_min[h]``, with the
  PDG mass of h (``ParticleTable.mass``) and the helix momentum at the POCA.
* Photons: clusters with no matched track, above the card's energy threshold of their ECL
  region (1 forward, 2 barrel, 3 backward); massless, direction from the IP (beam-spot
  centre) to the cluster position.
* pi0: pairs of unmatched clusters above ``pi0.min_photon_energy`` with m(gamma gamma) in
  the window.
* K0S / Lambda: vertices of the finder with m(pi pi) / m(p pi) in the ``v0`` windows (the
  vetoes of the displaced search are flags, not removals); momenta at the fitted vertex.
* Displaced: the finder's ``selected`` vertices; each daughter with its track's best mass
  hypothesis (:func:`best_hypothesis`).

Truth matching: ``mc_index`` (event-local MC index of the matched particle, -1 none),
``mc_pdg`` and ``mc_match`` (the candidate's species equals the truth).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from fastsim.events import Collection

__all__ = [
    "CANDIDATE_FIELDS",
    "HYPOTHESES",
    "LIST_CODES",
    "best_hypothesis",
    "charged_lists",
    "photon_list",
    "pi0_list",
    "v0_lists",
]

#: hypothesis name -> PDG id of the positive (or neutral) particle
HYPOTHESES = {"e": -11, "mu": -13, "pi": 211, "K": 321, "p": 2212}
LIST_CODES = {
    "e": 1,
    "mu": 2,
    "pi": 3,
    "K": 4,
    "p": 5,
    "gamma": 6,
    "pi0": 7,
    "K0S": 8,
    "Lambda": 9,
    "displaced": 10,
}

_F8 = np.dtype(np.float64)
_I4 = np.dtype(np.int32)
CANDIDATE_FIELDS: dict[str, np.dtype] = {
    "list": np.dtype(np.int8),
    "pdg": _I4,
    "px": _F8,
    "py": _F8,
    "pz": _F8,
    "e": _F8,
    "m": _F8,
    "charge": np.dtype(np.int8),
    "track1": _I4,
    "track2": _I4,
    "cluster1": _I4,
    "cluster2": _I4,
    "vertex": _I4,
    "pid": np.dtype(np.float32),
    "m_recoil": _F8,
    "e_extra": _F8,
    "mc_index": _I4,
    "mc_pdg": _I4,
    "mc_match": np.dtype(np.bool_),
}
UNITS = {k: "GeV" for k in ("px", "py", "pz", "e", "m", "m_recoil", "e_extra")}


def _blank(n: int) -> dict[str, np.ndarray]:
    out = {k: np.zeros(n, dt) for k, dt in CANDIDATE_FIELDS.items()}
    for k in ("track1", "track2", "cluster1", "cluster2", "vertex", "mc_index"):
        out[k][:] = -1
    return out


def best_hypothesis(tracks: Collection, pid_min: dict[str, float]) -> np.ndarray:
    """Per track, the index into ``HYPOTHESES`` order (e, mu, pi, K, p) of its mass hypothesis:
    the first of e, mu, p, K whose score passes its cut (rarest species first), else pi."""
    names = list(HYPOTHESES)
    out = np.full(tracks.n_items, names.index("pi"), np.int8)
    for h in ("K", "p", "mu", "e"):  # later assignments win: e has priority
        cut = max(pid_min[h], 0.5)
        out[tracks[f"pid_{h}"] > cut] = names.index(h)
    return out


def charged_lists(
    tracks: Collection, cfg: dict[str, Any], masses: dict[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Candidates of the five charged lists.  Returns (event index, fields)."""
    pid_min = cfg["pid_min"]
    pt = np.hypot(tracks["px"], tracks["py"])
    ev_all = tracks.event_index()
    local = tracks.local_index()
    evs, parts = [], []
    for h, pdg in HYPOTHESES.items():
        sel = np.flatnonzero((tracks[f"pid_{h}"] >= pid_min[h]) & (pt >= cfg["min_pt"]))
        f = _blank(len(sel))
        q = tracks["charge"][sel].astype(np.int64)
        f["list"][:] = LIST_CODES[h]
        f["pdg"] = pdg * q
        m = masses[h]
        for k in ("px", "py", "pz"):
            f[k] = tracks[k][sel]
        f["m"][:] = m
        f["e"] = np.sqrt(f["px"] ** 2 + f["py"] ** 2 + f["pz"] ** 2 + m * m)
        f["charge"] = q
        f["track1"] = local[sel]
        f["cluster1"] = tracks["cluster_index"][sel]
        f["pid"] = tracks[f"pid_{h}"][sel]
        primary = tracks["origin"][sel] == 0
        f["mc_index"] = np.where(primary, tracks["mc_index"][sel], -1)
        f["mc_pdg"] = tracks["true_pdg"][sel]
        f["mc_match"] = primary & (tracks["true_pdg"][sel] == f["pdg"])
        evs.append(ev_all[sel])
        parts.append(f)
    return np.concatenate(evs), {k: np.concatenate([p[k] for p in parts]) for k in CANDIDATE_FIELDS}


def photon_threshold(clusters: Collection, cfg: dict[str, Any]) -> np.ndarray:
    """Per cluster, the photon-list energy threshold of its ECL region (GeV; inf outside)."""
    thr = np.array([np.inf, cfg["min_energy_forward"], cfg["min_energy_barrel"], cfg["min_energy_backward"]])
    return thr[np.clip(clusters["region"].astype(np.int64), 0, 3)]


def cluster_momenta(clusters: Collection, ip: np.ndarray) -> np.ndarray:
    """(n, 4) massless four-momenta of clusters, direction from ``ip`` (cm) to the cluster."""
    d = np.stack([clusters["x"] - ip[0], clusters["y"] - ip[1], clusters["z"] - ip[2]], axis=1)
    e = clusters["energy"]
    p = d * (e / np.maximum(np.linalg.norm(d, axis=1), 1e-12))[:, None]
    return np.concatenate([p, e[:, None]], axis=1)


def photon_list(
    clusters: Collection, cfg: dict[str, Any], p4: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Photon candidates.  Returns (mask of photon clusters, event index, fields)."""
    mask = (clusters["track_index"] < 0) & (clusters["energy"] >= photon_threshold(clusters, cfg))
    sel = np.flatnonzero(mask)
    f = _blank(len(sel))
    f["list"][:] = LIST_CODES["gamma"]
    f["pdg"][:] = 22
    f["px"], f["py"], f["pz"], f["e"] = p4[sel, 0], p4[sel, 1], p4[sel, 2], p4[sel, 3]
    f["cluster1"] = clusters.local_index()[sel]
    f["mc_index"] = clusters["mc_index"][sel]
    f["mc_pdg"] = clusters["true_pdg"][sel]
    f["mc_match"] = clusters["true_pdg"][sel] == 22
    return mask, clusters.event_index()[sel], f


@njit(cache=True, nogil=True)
def _pairs_in_events(offsets: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs i < j of masked items within each event (global indices)."""
    total = 0
    for e in range(len(offsets) - 1):
        c = 0
        for i in range(offsets[e], offsets[e + 1]):
            c += mask[i]
        total += c * (c - 1) // 2
    i1 = np.empty(total, np.int64)
    i2 = np.empty(total, np.int64)
    k = 0
    for e in range(len(offsets) - 1):
        for i in range(offsets[e], offsets[e + 1]):
            if not mask[i]:
                continue
            for j in range(i + 1, offsets[e + 1]):
                if mask[j]:
                    i1[k] = i
                    i2[k] = j
                    k += 1
    return i1, i2


def pi0_list(
    clusters: Collection, cfg: dict[str, Any], p4: np.ndarray, mc: Collection | None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """pi0 -> gamma gamma candidates.  Returns (event index, fields)."""
    mask = (clusters["track_index"] < 0) & (clusters["energy"] >= cfg["min_photon_energy"])
    i1, i2 = _pairs_in_events(clusters.offsets, mask)
    s = p4[i1] + p4[i2]
    m = np.sqrt(np.maximum(s[:, 3] ** 2 - np.sum(s[:, :3] ** 2, axis=1), 0.0))
    lo, hi = cfg["mass_window"]
    k = np.flatnonzero((m >= lo) & (m <= hi))
    i1, i2, s, m = i1[k], i2[k], s[k], m[k]
    f = _blank(len(k))
    f["list"][:] = LIST_CODES["pi0"]
    f["pdg"][:] = 111
    f["px"], f["py"], f["pz"], f["e"], f["m"] = s[:, 0], s[:, 1], s[:, 2], s[:, 3], m
    loc = clusters.local_index()
    f["cluster1"], f["cluster2"] = loc[i1], loc[i2]
    ev = clusters.event_index()[i1]
    if mc is not None and len(k):
        base = mc.offsets[ev]
        c1 = clusters["mc_index"][i1].astype(np.int64)
        c2 = clusters["mc_index"][i2].astype(np.int64)
        both = (clusters["true_pdg"][i1] == 22) & (clusters["true_pdg"][i2] == 22) & (c1 >= 0) & (c2 >= 0)
        mo1 = np.where(both, mc["mother1"][base + np.maximum(c1, 0)], -1)
        mo2 = np.where(both, mc["mother1"][base + np.maximum(c2, 0)], -1)
        same = both & (mo1 == mo2) & (mo1 >= 0) & (c1 != c2)
        f["mc_index"] = np.where(same, mo1, -1)
        f["mc_pdg"] = np.where(same, mc["id"][base + np.maximum(mo1, 0)], 0)
        f["mc_match"] = same & (f["mc_pdg"] == 111)
    return ev, f


def v0_lists(
    vertices: Collection, cfg: dict[str, Any], best: np.ndarray, tracks: Collection, masses: dict[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """K0S, Lambda and displaced candidates from the vertex finder.  Returns (event index, fields)."""
    ev_v = vertices.event_index()
    loc_v = vertices.local_index()
    p1 = np.stack([vertices["p1x"], vertices["p1y"], vertices["p1z"]], axis=1)
    p2 = np.stack([vertices["p2x"], vertices["p2y"], vertices["p2z"]], axis=1)
    names = list(HYPOTHESES)
    hyp_mass = np.array([masses[h] for h in names])
    g1 = tracks.offsets[ev_v] + vertices["track1"]
    g2 = tracks.offsets[ev_v] + vertices["track2"]
    first_is_p = np.sum(p1**2, axis=1) >= np.sum(p2**2, axis=1)
    specs = (
        ("K0S", vertices["m_pipi"], cfg["k0s_mass_window"], masses["pi"], masses["pi"], np.full(len(p1), 310)),
        ("Lambda", vertices["m_ppi"], cfg["lambda_mass_window"],
         np.where(first_is_p, masses["p"], masses["pi"]), np.where(first_is_p, masses["pi"], masses["p"]),
         np.where(first_is_p, 3122, -3122)),
        ("displaced", None, None, hyp_mass[best[g1]] if len(g1) else np.zeros(0),
         hyp_mass[best[g2]] if len(g2) else np.zeros(0), np.zeros(len(p1), np.int64)),
    )  # fmt: skip
    evs, parts = [], []
    for name, mass, window, m1, m2, pdg in specs:
        sel = vertices["selected"] if mass is None else (mass >= window[0]) & (mass <= window[1])
        k = np.flatnonzero(sel)
        f = _blank(len(k))
        m1k = np.broadcast_to(m1, (len(p1),))[k]
        m2k = np.broadcast_to(m2, (len(p1),))[k]
        e = np.sqrt(np.sum(p1[k] ** 2, axis=1) + m1k**2) + np.sqrt(np.sum(p2[k] ** 2, axis=1) + m2k**2)
        ps = p1[k] + p2[k]
        f["list"][:] = LIST_CODES[name]
        f["pdg"] = pdg[k]
        f["px"], f["py"], f["pz"], f["e"] = ps[:, 0], ps[:, 1], ps[:, 2], e
        f["m"] = np.sqrt(np.maximum(e**2 - np.sum(ps**2, axis=1), 0.0))
        f["track1"], f["track2"] = vertices["track1"][k], vertices["track2"][k]
        f["vertex"] = loc_v[k]
        f["mc_index"] = vertices["mc_index"][k]
        f["mc_pdg"] = vertices["mc_pdg"][k]
        f["mc_match"] = (f["mc_index"] >= 0) & ((f["mc_pdg"] == f["pdg"]) if mass is not None else True)
        evs.append(ev_v[k])
        parts.append(f)
    return np.concatenate(evs), {k: np.concatenate([p[k] for p in parts]) for k in CANDIDATE_FIELDS}
