"""Track-pair helpers shared by the searches: the reconstructed vertex of a track pair and
whether it sits at a material layer (a photon conversion).

Units: cm.
"""

from __future__ import annotations

import numpy as np

from fastsim.events import VETO_MATERIAL, EventBatch

__all__ = ["material_conversion", "pair_vertex"]


def pair_vertex(batch: EventBatch, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Index of the reconstructed vertex of each track pair (global track indices), -1: none."""
    tr, vx = batch["tracks"], batch["vertices"]
    v_ev = vx.event_index()
    g1 = tr.offsets[v_ev] + vx["track1"]
    g2 = tr.offsets[v_ev] + vx["track2"]
    n = len(tr["charge"]) + 1
    codes = np.minimum(g1, g2) * n + np.maximum(g1, g2)
    order = np.argsort(codes, kind="stable")
    want = np.minimum(a, b) * n + np.maximum(a, b)
    out = np.full(want.shape, -1, np.int64)
    if len(codes):
        k = np.clip(np.searchsorted(codes[order], want), 0, len(codes) - 1)
        hit = codes[order][k] == want
        out[hit] = order[k][hit]
    return out


def material_conversion(batch: EventBatch, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where the track pair (global indices) made a reconstructed vertex at a material layer."""
    v = pair_vertex(batch, a, b)
    veto = batch["vertices"]["veto"].astype(np.int64)
    if len(veto) == 0:
        return np.zeros(v.shape, bool)
    return (v >= 0) & ((veto[np.maximum(v, 0)] & VETO_MATERIAL) != 0)
