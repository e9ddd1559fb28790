"""Detector response (Belle II and Belle): geometry and parametrisations from the detector cards.

Units: GeV, cm, ns, rad.  Entry point for the run loop: :func:`build_stage`.
Output collections: ``tracks``, ``clusters``, ``klm`` (fields in
:mod:`fastsim.detector.simulate`, documented in docs/detector.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["build_stage"]


def build_stage(card: dict[str, Any], particles: Any) -> Callable | None:
    """The detector stage ``stage(batch, rng) -> batch`` for a validated card, or None when
    the card's ``detector.enabled`` is false."""
    det = card["detector"]
    if not det.get("enabled", True):
        return None
    from fastsim.detector.simulate import DetectorStage

    return DetectorStage(det, particles)
