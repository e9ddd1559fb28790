"""Columnar event model: collections of flat arrays plus per-event offsets.

A :class:`Collection` holds one flat numpy array per field (all the same length, one
entry per item: a particle, a track, a cluster ...) and ``offsets`` of length
``n_events + 1``: the items of event ``i`` are ``offsets[i]:offsets[i+1]``.  This is the
layout of awkward's ``ListOffsetArray`` and of the LHEH5 ``start``/``nparticles``
index, and it is what numba kernels take directly (pass the arrays, not the object).

An :class:`EventBatch` is a number of events, a dict of per-event scalar arrays
(``events``: weight, process id, trigger bits ...) and a dict of named collections.

Units everywhere in fastsim: GeV, cm, ns; angles in radians.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MC_FIELDS",
    "MC_UNITS",
    "STATUS_BEAM",
    "STATUS_DECAYED",
    "STATUS_FINAL",
    "VETO_CONVERSION",
    "VETO_K0S",
    "VETO_LAMBDA",
    "VETO_MATERIAL",
    "Collection",
    "EventBatch",
    "covariances_from_fields",
]

# HepMC3 status codes (HepMC3 manual, "status codes"): 1 undecayed final state,
# 2 decayed, 4 incoming beam.
STATUS_FINAL = 1
STATUS_DECAYED = 2
STATUS_BEAM = 4

# Bits of the ``veto`` field of the ``vertices`` collection (the displaced-vertex finder,
# fastsim.reco.displaced): the vertex is at a material layer, its pi pi mass in the K0S
# window, its p pi mass in the Lambda window, or it looks like a photon conversion.
VETO_MATERIAL = 1
VETO_K0S = 2
VETO_LAMBDA = 4
VETO_CONVERSION = 8

# Generator-level particle record.  Names follow the LHEH5 particle table
# (arXiv:1905.05120; pylhe.lheh5): id, status, mother1, mother2, px, py, pz, e, m, lifetime,
# with fastsim's units (cm, not mm, for ``lifetime``) and additions for the production
# vertex and the daughter range.  Indices (mother*, daughter*) are local to the event,
# -1 when absent.  ``lifetime`` is the proper decay distance c*t (cm) drawn for a particle
# that decayed (0 otherwise), so that lifetimes can be reweighted later.
MC_FIELDS: dict[str, np.dtype] = {
    "id": np.dtype(np.int32),  # PDG id
    "status": np.dtype(np.int32),  # 1 final, 2 decayed, 4 beam
    "mother1": np.dtype(np.int32),
    "mother2": np.dtype(np.int32),
    "daughter1": np.dtype(np.int32),
    "daughter2": np.dtype(np.int32),
    "px": np.dtype(np.float64),  # GeV, lab frame
    "py": np.dtype(np.float64),
    "pz": np.dtype(np.float64),
    "e": np.dtype(np.float64),
    "m": np.dtype(np.float64),  # GeV (generated mass; off-shell for resonances)
    "vx": np.dtype(np.float64),  # production vertex, cm
    "vy": np.dtype(np.float64),
    "vz": np.dtype(np.float64),
    "vt": np.dtype(np.float64),  # production time, ns
    "lifetime": np.dtype(np.float64),  # proper decay distance c*t, cm
}

#: units of the MC fields (stored as dataset attributes in the HDF5 file)
MC_UNITS: dict[str, str] = {
    **{k: "GeV" for k in ("px", "py", "pz", "e", "m")},
    **{k: "cm" for k in ("vx", "vy", "vz", "lifetime")},
    "vt": "ns",
}


def offsets_from_counts(counts: np.ndarray) -> np.ndarray:
    """Offsets (length n+1, int64) from per-event item counts."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


@dataclass
class Collection:
    """Struct of flat arrays plus per-event offsets.

    ``fields[name][offsets[i]:offsets[i+1]]`` are the values of field ``name`` for
    the items of event ``i``.
    """

    fields: dict[str, np.ndarray]
    offsets: np.ndarray

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        if self.offsets.ndim != 1 or len(self.offsets) == 0 or self.offsets[0] != 0:
            msg = "offsets must be a 1-D array starting at 0"
            raise ValueError(msg)
        n = int(self.offsets[-1])
        for name, arr in self.fields.items():
            if arr.ndim != 1 or len(arr) != n:
                msg = f"field {name!r} has shape {arr.shape}, expected ({n},)"
                raise ValueError(msg)

    # ------------------------------------------------------------------ building
    @classmethod
    def empty(cls, schema: Mapping[str, np.dtype], n_events: int = 0) -> Collection:
        """A collection with no items in ``n_events`` events."""
        return cls({k: np.empty(0, dtype=dt) for k, dt in schema.items()}, np.zeros(n_events + 1, np.int64))

    @classmethod
    def from_counts(cls, counts: np.ndarray, fields: Mapping[str, np.ndarray]) -> Collection:
        """Build from per-event item counts and flat field arrays."""
        return cls(dict(fields), offsets_from_counts(np.asarray(counts)))

    @classmethod
    def from_regular(cls, fields: Mapping[str, np.ndarray]) -> Collection:
        """Build from 2-D arrays of shape (n_events, k): k items in every event."""
        arrays = {k: np.ascontiguousarray(v) for k, v in fields.items()}
        n_events, k = next(iter(arrays.values())).shape
        flat = {name: a.reshape(-1) for name, a in arrays.items()}
        return cls(flat, np.arange(n_events + 1, dtype=np.int64) * k)

    # ------------------------------------------------------------------ views
    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_items(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.fields[name]

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def counts(self) -> np.ndarray:
        """Number of items per event."""
        return np.diff(self.offsets)

    def event_index(self) -> np.ndarray:
        """For every item, the index of its event."""
        return np.repeat(np.arange(self.n_events, dtype=np.int64), self.counts())

    def local_index(self) -> np.ndarray:
        """For every item, its index within its event."""
        return np.arange(self.n_items, dtype=np.int64) - np.repeat(self.offsets[:-1], self.counts())

    def event(self, i: int) -> dict[str, np.ndarray]:
        """The items of event ``i`` as a dict of arrays (for inspection and tests)."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return {k: v[a:b] for k, v in self.fields.items()}

    def slice_events(self, start: int, stop: int) -> Collection:
        """Events ``start:stop`` (copies the offsets, views the fields)."""
        a, b = self.offsets[start], self.offsets[stop]
        return Collection({k: v[a:b] for k, v in self.fields.items()}, self.offsets[start : stop + 1] - a)

    def select_items(self, mask: np.ndarray) -> Collection:
        """Keep the items where ``mask`` is true; events are kept (possibly empty).

        Local indices stored in fields (mothers, daughters) are *not* remapped.
        """
        kept_per_event = np.add.reduceat(mask.astype(np.int64), self.offsets[:-1]) if self.n_items else None
        if kept_per_event is None:
            return Collection({k: v[mask] for k, v in self.fields.items()}, self.offsets.copy())
        # reduceat gives garbage for empty segments: fix them
        kept_per_event[self.counts() == 0] = 0
        return Collection.from_counts(kept_per_event, {k: v[mask] for k, v in self.fields.items()})

    def select_events(self, mask_or_index: np.ndarray) -> Collection:
        """Keep whole events, given a boolean mask or an index array."""
        idx = np.flatnonzero(mask_or_index) if mask_or_index.dtype == bool else np.asarray(mask_or_index)
        counts = self.counts()[idx]
        starts = self.offsets[idx]
        item = np.repeat(starts - offsets_from_counts(counts)[:-1], counts) + np.arange(counts.sum())
        return Collection.from_counts(counts, {k: v[item] for k, v in self.fields.items()})

    def with_fields(self, **new: np.ndarray) -> Collection:
        """A collection with fields added or replaced (same offsets)."""
        return Collection({**self.fields, **new}, self.offsets)

    @staticmethod
    def concatenate(parts: Iterable[Collection]) -> Collection:
        """Concatenate collections event-wise (same field names required)."""
        parts = list(parts)
        if not parts:
            msg = "nothing to concatenate"
            raise ValueError(msg)
        names = list(parts[0].fields)
        for p in parts[1:]:
            if list(p.fields) != names:
                msg = f"field mismatch in concatenate: {list(p.fields)} vs {names}"
                raise ValueError(msg)
        counts = np.concatenate([p.counts() for p in parts])
        fields = {k: np.concatenate([p.fields[k] for p in parts]) for k in names}
        return Collection.from_counts(counts, fields)

    def equals(self, other: Collection) -> bool:
        """Exact equality of offsets and every field (bitwise for floats, NaN-aware)."""
        if list(self.fields) != list(other.fields) or not np.array_equal(self.offsets, other.offsets):
            return False
        return all(
            self.fields[k].dtype == other.fields[k].dtype
            and np.array_equal(self.fields[k].view(np.uint8), other.fields[k].view(np.uint8))
            for k in self.fields
        )


@dataclass
class EventBatch:
    """A block of events: per-event scalars plus named collections."""

    n_events: int
    events: dict[str, np.ndarray] = field(default_factory=dict)
    collections: dict[str, Collection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, arr in self.events.items():
            if len(arr) != self.n_events:
                msg = f"per-event field {name!r} has length {len(arr)}, expected {self.n_events}"
                raise ValueError(msg)
        for name, col in self.collections.items():
            if col.n_events != self.n_events:
                msg = f"collection {name!r} has {col.n_events} events, expected {self.n_events}"
                raise ValueError(msg)

    def __getitem__(self, name: str) -> Collection:
        return self.collections[name]

    def slice_events(self, start: int, stop: int) -> EventBatch:
        return EventBatch(
            stop - start,
            {k: v[start:stop] for k, v in self.events.items()},
            {k: c.slice_events(start, stop) for k, c in self.collections.items()},
        )

    def select_events(self, mask_or_index: np.ndarray) -> EventBatch:
        idx = np.flatnonzero(mask_or_index) if mask_or_index.dtype == bool else np.asarray(mask_or_index)
        return EventBatch(
            len(idx),
            {k: v[idx] for k, v in self.events.items()},
            {k: c.select_events(idx) for k, c in self.collections.items()},
        )

    @staticmethod
    def concatenate(parts: Iterable[EventBatch]) -> EventBatch:
        parts = list(parts)
        if not parts:
            msg = "nothing to concatenate"
            raise ValueError(msg)
        ev_names = list(parts[0].events)
        col_names = list(parts[0].collections)
        return EventBatch(
            sum(p.n_events for p in parts),
            {k: np.concatenate([p.events[k] for p in parts]) for k in ev_names},
            {k: Collection.concatenate([p.collections[k] for p in parts]) for k in col_names},
        )

    def equals(self, other: EventBatch) -> bool:
        if self.n_events != other.n_events or list(self.events) != list(other.events):
            return False
        if list(self.collections) != list(other.collections):
            return False
        same_events = all(
            self.events[k].dtype == other.events[k].dtype
            and np.array_equal(self.events[k].view(np.uint8), other.events[k].view(np.uint8))
            for k in self.events
        )
        return same_events and all(self.collections[k].equals(other.collections[k]) for k in self.collections)


def covariances_from_fields(fields: Mapping[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """(n, k, k) symmetric covariance of the k parameters ``names`` from the file's
    upper-triangle fields ``cov_<a>_<b>`` (a before b in the writer's parameter order, e.g. the
    helix's d0, phi0, omega, z0, tanl): the whole helix or any ordered subset of it."""
    k = len(names)
    n = len(fields[f"cov_{names[0]}_{names[0]}"])
    out = np.empty((n, k, k))
    for i in range(k):
        for j in range(i, k):
            v = fields[f"cov_{names[i]}_{names[j]}"]
            out[:, i, j] = v
            out[:, j, i] = v
    return out
