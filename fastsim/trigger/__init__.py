"""Level-1 trigger emulation (Belle II): CDC track lines, the neural z trigger, ECL and KLM lines.

Units: GeV, cm, ns, rad.  Entry point for the run loop: :func:`build_stage`.  Card
section: :data:`fastsim.trigger.card.TRIGGER_SCHEMA`; documentation: docs/trigger.md.
Modules: ``segments`` (CDC track segments), ``finder2d`` (2D finder, counting lines),
``neuro`` (the 27-81-2 network), ``train_neuro`` (its training script), ``ecl_lines``,
``klm_lines``, ``menu`` (the stage and the menu).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["build_stage"]


def build_stage(card: dict[str, Any], particles: Any) -> Callable | None:
    """The trigger stage ``stage(batch, rng) -> batch`` for a validated card, or None when the
    card's ``trigger.enabled`` is false (a card without a ``trigger`` section gets the
    defaults of ``TRIGGER_SCHEMA``: enabled)."""
    from fastsim.trigger.card import TRIGGER_SCHEMA

    cfg = TRIGGER_SCHEMA.validate(card.get("trigger") or {}, ("trigger",), lambda _p: None)
    if not cfg["enabled"]:
        return None
    from fastsim.trigger.menu import TriggerStage

    return TriggerStage({**card, "trigger": cfg}, particles)
