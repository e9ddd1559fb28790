"""The columnar event model: building, slicing, selecting, concatenating."""

from __future__ import annotations

import numpy as np
import pytest

from fastsim.events import Collection, EventBatch


def make(counts: list[int]) -> Collection:
    n = sum(counts)
    return Collection.from_counts(
        np.array(counts), {"a": np.arange(n, dtype=np.float64), "b": np.arange(n) * 10}
    )


def test_offsets_and_counts() -> None:
    c = make([2, 0, 3])
    assert c.offsets.tolist() == [0, 2, 2, 5]
    assert c.counts().tolist() == [2, 0, 3]
    assert c.event_index().tolist() == [0, 0, 2, 2, 2]
    assert c.local_index().tolist() == [0, 1, 0, 1, 2]
    assert c.event(2)["a"].tolist() == [2, 3, 4]


def test_slice_and_concatenate_roundtrip() -> None:
    c = make([1, 2, 0, 4, 1])
    parts = [c.slice_events(0, 2), c.slice_events(2, 4), c.slice_events(4, 5)]
    assert parts[1].offsets.tolist() == [0, 0, 4]
    assert Collection.concatenate(parts).equals(c)


def test_select_events_and_items() -> None:
    c = make([1, 2, 0, 4])
    s = c.select_events(np.array([True, False, True, True]))
    assert s.counts().tolist() == [1, 0, 4]
    assert s["a"].tolist() == [0, 3, 4, 5, 6]
    t = c.select_items(c["a"] % 2 == 0)
    assert t.counts().tolist() == [1, 1, 0, 2]
    assert t["a"].tolist() == [0, 2, 4, 6]


def test_validation_of_shapes() -> None:
    with pytest.raises(ValueError, match="expected"):
        Collection({"a": np.zeros(3)}, np.array([0, 2]))
    with pytest.raises(ValueError, match="starting at 0"):
        Collection({"a": np.zeros(3)}, np.array([1, 3]))
    with pytest.raises(ValueError, match="collection"):
        EventBatch(3, {}, {"x": make([1, 1])})


def test_from_regular_and_equality() -> None:
    c = Collection.from_regular({"x": np.arange(6.0).reshape(3, 2)})
    assert c.offsets.tolist() == [0, 2, 4, 6]
    d = c.with_fields(x=c["x"].copy())
    assert c.equals(d)
    d["x"][0] = -0.0  # bitwise comparison tells 0.0 from -0.0
    assert not c.equals(d)


def test_batch_concatenate() -> None:
    b1 = EventBatch(2, {"w": np.ones(2)}, {"c": make([1, 2])})
    b2 = EventBatch(1, {"w": np.zeros(1)}, {"c": make([3])})
    b = EventBatch.concatenate([b1, b2])
    assert b.n_events == 3
    assert b["c"].counts().tolist() == [1, 2, 3]
    assert b.slice_events(2, 3)["c"].equals(b2["c"])
