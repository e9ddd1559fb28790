"""Per-event selections named by cards (``run.selection``, ``grid.selection``) as
``module:function``: the default grid selection and the loader.

Imports only the event and schema modules, so that both the per-chunk pipeline
(:mod:`fastsim.pipeline`) and the grid runner (:mod:`fastsim.grid`) can use it.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from fastsim.events import EventBatch
from fastsim.schema import CardError

__all__ = ["load_selection", "two_tracks"]


def two_tracks(batch: EventBatch) -> np.ndarray:
    """Default grid selection: at least two reconstructed tracks of opposite charge."""
    if "tracks" not in batch.collections:
        msg = "the default grid selection needs the detector stage (tracks); set grid.selection"
        raise CardError(msg, ("grid", "selection"))
    tr = batch["tracks"]
    ev = tr.event_index()
    pos = np.bincount(ev, tr["charge"] > 0, batch.n_events)
    neg = np.bincount(ev, tr["charge"] < 0, batch.n_events)
    return (pos >= 1) & (neg >= 1)


def load_selection(spec: str) -> Callable[[EventBatch], np.ndarray]:
    """``module:function`` -> the function (``fastsim.selections:two_tracks`` by default)."""
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise CardError(
            f"cannot import selection {spec!r} (expected module:function)", ("grid", "selection")
        ) from None
