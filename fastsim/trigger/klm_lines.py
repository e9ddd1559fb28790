"""KLM trigger lines: single muon (``klm_mu``) and back-to-back muons (``klm_b2b``).

Units: rad.

Input: the detector stage's ``klm`` objects (layers reached by the range model, theta,
phi).  A KLM trigger track is an object with at least ``min_layers`` layers (hits in
consecutive layers of one sector in the real system [M]), kept with the card's per-track
efficiency [M] (detector.md 4.3: KLM bits about 90% efficient for muons above about 1 GeV).
``klm_mu``: at least one KLM trigger track; ``klm_b2b``: two whose azimuths differ by more
than ``b2b_angle_deg`` (opposite sectors).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fastsim.events import Collection
from fastsim.trigger.finder2d import event_pairs

__all__ = ["klm_lines"]


def klm_lines(klm: Collection, cfg: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-event KLM bits (bool) and the number of KLM trigger tracks.  ``cfg`` is the card's
    ``trigger.klm`` section."""
    ok = (klm["n_layers"] >= cfg["min_layers"]) & (rng.random(klm.n_items) < cfg["efficiency"])
    n, open_max = event_pairs(klm.offsets, ok, np.ascontiguousarray(klm["phi"], np.float64))
    return {
        "klm_mu": n >= 1,
        "klm_b2b": (n >= 2) & (open_max > math.radians(cfg["b2b_angle_deg"])),
        "n_tracks": n,
    }
