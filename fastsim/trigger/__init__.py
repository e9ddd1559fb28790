"""Level-1 trigger emulation: Belle II's (CDC track lines, the neural z trigger, ECL and KLM lines)
and Belle's (``belle``: CDC short/full tracks, TOF, ECL, KLM; ``trigger.emulation: belle``).

Units: GeV, cm, ns, rad.  Entry point for the run loop: :func:`build_stage`.  Card
section: :data:`fastsim.trigger.card.TRIGGER_SCHEMA`; documentation: docs/trigger.md.
Modules: ``segments`` (CDC track segments), ``finder2d`` (2D finder, counting lines),
``neuro`` (the 27-81-2 network), ``train_neuro`` (its training script), ``ecl_lines``,
``klm_lines``, ``menu`` (the stage and the menu); ``belle`` (Belle's stage); ``common``
(what both stages share: the callable stage, the boost, the detector collections, the menu).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["build_stage", "check_card"]


def build_stage(card: dict[str, Any], particles: Any) -> Callable | None:
    """The trigger stage ``stage(batch, rng) -> batch`` for a validated card, or None when the
    card's ``trigger.enabled`` is false (a card without a ``trigger`` section gets the
    defaults of ``TRIGGER_SCHEMA``: enabled)."""
    from fastsim.trigger.card import TRIGGER_SCHEMA

    cfg = TRIGGER_SCHEMA.validate(card.get("trigger") or {}, ("trigger",), lambda _p: None)
    if not cfg["enabled"]:
        return None
    if cfg["emulation"] == "belle":
        from fastsim.trigger.belle import BelleTriggerStage

        return BelleTriggerStage(card, cfg, particles)
    from fastsim.trigger.menu import TriggerStage

    return TriggerStage({**card, "trigger": cfg}, particles)


def check_card(card: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Inconsistencies between the ``trigger`` section and the rest of a validated card, as
    (key path, reason): the emulation is Belle II's and needs the nine-superlayer CDC of
    ``cards/detectors/belle2.yaml`` (called at validation, so that a card pairing it with
    another detector fails in one line instead of deep in the trigger stage)."""
    from fastsim.trigger.card import TRIGGER_SCHEMA

    cfg = TRIGGER_SCHEMA.validate(card.get("trigger") or {}, ("trigger",), lambda _p: None)
    if not cfg["enabled"] or "detector" not in card:
        return []
    from fastsim.detector.geometry import Geometry
    from fastsim.trigger.segments import N_SL

    geom = Geometry.from_card(card["detector"])
    if cfg["emulation"] == "belle":
        n_axial = int(geom.sl_axial.sum())
        for key in ("short_superlayers", "full_superlayers"):
            if cfg["belle"][key] > n_axial:
                reason = f"{cfg['belle'][key]} axial superlayers asked, the detector has {n_axial}"
                return [(("trigger", "belle", key), reason)]
        return []
    n = geom.n_superlayers
    if n != N_SL:
        name = card["detector"].get("name", "the card's detector")
        return [
            (
                ("trigger", "enabled"),
                (
                    f"the trigger emulation is Belle II's ({N_SL} CDC superlayers) but {name} has {n}: "
                    "set trigger.emulation: belle for Belle, or trigger.enabled: false"
                ),
            )
        ]
    return []
