"""What Belle II's and Belle's trigger stages share: the callable stage, the beams' boost, the
detector collections the lines read, and the menu (prescales, the ``triggered`` flag).

Units: GeV, rad.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fastsim.events import Collection, EventBatch

__all__ = ["TriggerStageBase", "apply_menu", "beam_boost", "detector_collections"]


class TriggerStageBase:
    """Callable ``stage(batch, rng) -> batch``: adds the per-event fields and collections of
    the subclass's ``emulate(batch, rng) -> (events, collections)``."""

    def emulate(
        self, batch: EventBatch, rng: np.random.Generator
    ) -> tuple[dict[str, np.ndarray], dict[str, Collection]]:
        raise NotImplementedError

    def __call__(self, batch: EventBatch, rng: np.random.Generator) -> EventBatch:
        bits, cols = self.emulate(batch, rng)
        batch.events.update(bits)
        batch.collections.update(cols)
        return batch


def beam_boost(card: Mapping[str, Any]) -> np.ndarray:
    """The CM frame's beta*gamma vector (3,) from the card's beams (zero without a beam section)."""
    if "beam" not in card:
        return np.zeros(3)
    from fastsim.setup import build_beams

    return np.asarray(build_beams(dict(card)).boost_betagamma, np.float64)


def detector_collections(batch: EventBatch) -> tuple[Collection, Collection]:
    """The detector stage's ``clusters`` and ``klm`` (empty ones when the detector is off)."""
    n_ev = batch.n_events
    clusters = batch.collections.get("clusters")
    if clusters is None:
        clusters = Collection.empty(
            {"energy": np.float64, "theta": np.float64, "phi": np.float64, "region": np.int8}, n_ev
        )
    klm = batch.collections.get("klm")
    if klm is None:
        klm = Collection.empty({"n_layers": np.int16, "phi": np.float64}, n_ev)
    return clusters, klm


def apply_menu(
    bits: Mapping[str, np.ndarray], menu: Mapping[str, Mapping[str, Any]], rng: np.random.Generator, n_ev: int
) -> np.ndarray:
    """``triggered``: any line of ``menu`` with ``counts`` that fired, after its prescale (a
    passing event kept with probability 1/prescale, from the trigger's stream)."""
    triggered = np.zeros(n_ev, np.bool_)
    for name, line in menu.items():
        fired = bits[name]
        if line["prescale"] > 1:
            fired = fired & (rng.random(n_ev) < 1.0 / line["prescale"])
        if line["counts"]:
            triggered |= fired
    return triggered
