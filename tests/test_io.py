"""HDF5 files: round trip, atomic finalisation, resume truncation, refusal of bad files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from fastsim.events import Collection, EventBatch
from fastsim.io import EventFileWriter, FileFormatError, open_events


def batch(rng: np.random.Generator, n: int) -> EventBatch:
    counts = rng.integers(0, 5, n)
    m = int(counts.sum())
    col = Collection.from_counts(
        counts, {"px": rng.normal(size=m), "id": rng.integers(-20, 20, m).astype(np.int32)}
    )
    return EventBatch(n, {"weight": rng.random(n)}, {"mc": col})


def write(path: Path, batches: list[EventBatch]) -> None:
    w = EventFileWriter(path, identity="card-text")
    for b in batches:
        w.append(b, [b.n_events])
    w.finalize(
        {
            "seed": 1,
            "processes": [
                {
                    "id": 0,
                    "name": "x",
                    "generator": "ee_mumu",
                    "sigma_nb": 1.5,
                    "sigma_err_nb": 0.1,
                    "n_events": 3,
                }
            ],
        }
    )


def test_round_trip_and_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    batches = [batch(rng, n) for n in (100, 37, 250)]
    path = tmp_path / "f.h5"
    write(path, batches)
    assert not (tmp_path / "f.h5.part").exists()
    whole = EventBatch.concatenate(batches)
    with open_events(path) as f:
        assert f.n_events == 387
        assert f.meta["processes"][0]["sigma_nb"] == 1.5
        assert f.read_events().equals(whole)
        assert f.read("mc", 50, 200).equals(whole["mc"].slice_events(50, 200))
        parts = list(f.iter_chunks(100))
        assert [p.n_events for p in parts] == [100, 100, 100, 87]
        assert EventBatch.concatenate(parts).equals(whole)
        info = f.summary()
        assert info["collections"]["mc"]["n_items"] == whole["mc"].n_items


def test_part_file_until_finalised_and_resume_truncates(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    b = [batch(rng, 50) for _ in range(3)]
    path = tmp_path / "f.h5"
    w = EventFileWriter(path, identity="card")
    w.append(b[0], [1])
    w.append(b[1], [2])
    w.close()
    assert not path.exists() and (tmp_path / "f.h5.part").exists()
    # Simulate a kill in the middle of a third append: data extended, progress not updated.
    with h5py.File(tmp_path / "f.h5.part", "r+") as f:
        f["mc/px"].resize((f["mc/px"].shape[0] + 7,))
        f["events/weight"].resize((f["events/weight"].shape[0] + 3,))
    w = EventFileWriter(path, identity="card", resume=True)
    assert w.chunks_done == 2 and w.chunk_records == [[1], [2]]
    w.append(b[2], [3])
    w.finalize({})
    with open_events(path) as f:
        assert f.read_events().equals(EventBatch.concatenate(b))


def test_resume_with_other_card_starts_over(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    w = EventFileWriter(tmp_path / "f.h5", identity="card A")
    w.append(batch(rng, 10))
    w.close()
    w = EventFileWriter(tmp_path / "f.h5", identity="card B", resume=True)
    assert w.chunks_done == 0
    w.close()


def test_refuses_unknown_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    write(path, [batch(np.random.default_rng(4), 5)])
    with h5py.File(path, "r+") as f:
        f["meta"].attrs["schema_version"] = "9.0"
    with pytest.raises(FileFormatError, match=r"schema version 9\.0"):
        open_events(path)


def test_refuses_foreign_truncated_and_inconsistent_files(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(FileFormatError, match="not a fastsim event file"):
        open_events(foreign)
    path = tmp_path / "f.h5"
    write(path, [batch(np.random.default_rng(5), 2000)])
    data = path.read_bytes()
    truncated = tmp_path / "trunc.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError):
        open_events(truncated)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all" * 100)
    with pytest.raises(FileFormatError, match="not a readable HDF5 file"):
        open_events(garbage)
    with h5py.File(path, "r+") as f:
        f["mc/px"].resize((3,))
    with pytest.raises(FileFormatError, match="/mc/px has 3 entries"):
        open_events(path)


def test_meta_json_and_units(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    rng = np.random.default_rng(6)
    counts = np.array([1, 2])
    col = Collection.from_counts(counts, {"px": rng.normal(size=3), "vt": rng.normal(size=3)})
    w = EventFileWriter(path, identity="c")
    w.append(EventBatch(2, {}, {"mc": col}))
    w.finalize({"beams": {"sqrt_s_gev": 10.58}})
    with h5py.File(path) as f:
        assert f["mc/px"].attrs["unit"] == "GeV"
        assert f["mc/vt"].attrs["unit"] == "ns"
        assert json.loads(f["meta"].attrs["beams"])["sqrt_s_gev"] == 10.58


def test_filters_chosen_per_dataset_from_the_first_chunk(tmp_path: Path) -> None:
    """lzf where a trial on the first chunk saves >= 20 % (integers in a small range, mostly
    zero vertices), raw where it cannot (random doubles: lzf saves ~5 %); every dataset keeps
    its Fletcher-32 checksum; the values read back exactly."""
    rng = np.random.default_rng(7)
    n = 5000
    counts = np.full(n, 4)
    m = int(counts.sum())
    vx = np.where(rng.random(m) < 0.9, 0.0, rng.normal(size=m))
    fields = {"px": rng.normal(size=m), "id": rng.integers(-20, 20, m).astype(np.int32), "vx": vx}
    b = EventBatch(n, {"weight": np.ones(n)}, {"mc": Collection.from_counts(counts, fields)})
    write(tmp_path / "f.h5", [b, b])
    with h5py.File(tmp_path / "f.h5") as f:
        assert f["mc/px"].compression is None
        assert f["mc/id"].compression == "lzf" and f["mc/vx"].compression == "lzf"
        assert f["events/weight"].compression == "lzf"
        assert all(f[k].fletcher32 for k in ("mc/px", "mc/id", "mc/vx", "mc/offsets", "events/weight"))
        np.testing.assert_array_equal(f["mc/px"][:m], fields["px"])
        np.testing.assert_array_equal(f["mc/vx"][m:], vx)
