"""Reconstruction: particle lists, vertex fits, displaced vertices, CM-frame kinematics.

Units: GeV, cm, ns, rad.  Entry point for the run loop: :func:`build_stage`.  Output:
``vertices`` (:data:`fastsim.reco.displaced.VERTEX_FIELDS`), ``candidates``
(:data:`fastsim.reco.lists.CANDIDATE_FIELDS`) and per-event ``reco_*`` fields
(:data:`fastsim.reco.kinematics_cm.EVENT_FIELDS`); documented in docs/reco.md.
Card section: :data:`fastsim.reco.card.RECO_SCHEMA`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["build_stage"]


def build_stage(card: dict[str, Any], particles: Any) -> Callable | None:
    """The reconstruction stage ``stage(batch, rng) -> batch``, or None when ``reco.enabled``
    is false or the detector stage is switched off (reconstruction needs its tracks)."""
    from fastsim.reco.stage import RecoStage, reco_config

    if not reco_config(card)["enabled"] or not card["detector"].get("enabled", True):
        return None
    return RecoStage(card, particles)
