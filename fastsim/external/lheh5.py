"""LHEH5 (HDF5 Les Houches events) files as a fastsim process: ``generator: lheh5``.

Format: S. Hoeche, S. Prestel, H. Schulz, arXiv:1905.05120 (sec. "event format"), as
read and written by ``pylhe.lheh5``:

* version 2 (pylhe, Pythia's ``LHAupH5v2``): 2-D datasets ``events`` (one row per event:
  pid, nparticles, start, trials, scale, fscale, rscale, aqed, aqcd, then the weights,
  the first being the nominal one) and ``particles`` (one row per particle: id, status,
  mother1, mother2, color1, color2, px, py, pz, e, m, lifetime, spin), column names in the
  datasets' ``properties`` attribute; ``init`` and ``procInfo`` as in LHE.
* version 1: groups ``/event`` and ``/particle`` of 1-D datasets with the same names.

Particle columns mean what they mean in LHE (momenta in GeV, 1-based mothers, ISTUP
status codes, lifetime c*tau in mm), so the conversion is shared with
:mod:`fastsim.external.lhe`.  ``init`` / ``procInfo`` are read with
``pylhe.lheh5.read_init``.  Indexing reads the ``events`` table in blocks of rows (event
count, sum of the weights, bounds checks; nothing per event is kept); a chunk reads its
rows of ``events`` and one contiguous block of ``particles`` (the access pattern the
format was designed for): streaming, memory bounded by the chunk.

Units: GeV, cm, ns; cross sections in pb in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import h5py
import numpy as np

from fastsim.external.common import (
    COMMON_PARAMS,
    ExternalGenerator,
    FileSample,
    RawRecord,
    file_key,
    input_error,
)
from fastsim.external.lhe import raw_from_lhe_columns, sample_from_init
from fastsim.io import FileFormatError, probe_hdf5
from fastsim.schema import Field

__all__ = ["LHEH5Generator", "index_lheh5", "read_lheh5_range"]

PARTICLE_COLUMNS = (
    "id",
    "status",
    "mother1",
    "mother2",
    "color1",
    "color2",
    "px",
    "py",
    "pz",
    "e",
    "m",
    "lifetime",
    "spin",
)
EVENT_COLUMNS = ("pid", "nparticles", "start", "trials", "scale", "fscale", "rscale", "aqed", "aqcd")

_INDEX: dict[tuple[str, int, int], FileSample] = {}
_INDEX_ROWS = 1 << 18  # event rows per read while indexing


def _names(ds: h5py.Dataset, default: tuple[str, ...]) -> list[str]:
    for attr in ("properties", ds.name.rsplit("/", 1)[-1]):
        if attr in ds.attrs:
            return [v.decode() if isinstance(v, bytes) else str(v) for v in ds.attrs[attr]]
    return list(default)


class _Table:
    """Column access to a v2 2-D dataset or a v1 group of 1-D datasets."""

    def __init__(self, f: h5py.File, v2: str, v1: str, default: tuple[str, ...]) -> None:
        if v2 in f and isinstance(f[v2], h5py.Dataset):
            self.ds = f[v2]
            self.cols = {n: i for i, n in enumerate(_names(self.ds, default))}
            if self.ds.ndim != 2 or self.ds.shape[1] < len(self.cols):
                msg = f"/{v2} has shape {self.ds.shape}, not (rows, {len(self.cols)} named columns)"
                raise KeyError(msg)
            self.n = self.ds.shape[0]
            self.group = None
        elif v1 in f and isinstance(f[v1], h5py.Group):
            self.ds = None
            self.group = f[v1]
            self.cols = {n: i for i, n in enumerate(self.group)}
            members = list(self.group.values())
            lengths = {m.shape[0] if isinstance(m, h5py.Dataset) and m.ndim == 1 else -1 for m in members}
            if len(lengths) != 1 or -1 in lengths:
                msg = f"/{v1} is not a group of one-dimensional datasets of one length"
                raise KeyError(msg)
            self.n = lengths.pop()
        else:
            msg = f"no /{v2} dataset (LHEH5 v2) or /{v1} group (v1)"
            raise KeyError(msg)

    def rows(self, a: int, b: int, names: tuple[str, ...]) -> np.ndarray:
        """Columns ``names`` of rows a:b as a float64 array (b - a, len(names))."""
        if self.ds is not None:
            block = self.ds[a:b]
            return np.stack([block[:, self.cols[k]] for k in names], axis=1).astype(np.float64)
        assert self.group is not None
        return np.stack([self.group[k][a:b] for k in names], axis=1).astype(np.float64)

    def column(self, name: str, a: int = 0, b: int | None = None) -> np.ndarray:
        """Column ``name`` of rows a:b (default: all) as float64."""
        if self.ds is not None:
            return np.asarray(self.ds[a:b, self.cols[name]], np.float64)
        assert self.group is not None
        return np.asarray(self.group[name][a:b], np.float64)


def _whole(x: np.ndarray) -> np.ndarray:
    """Mask of entries that are finite integers of at most 62 bits (row indices and counts)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < 2.0**62)


def _weight_name(ev: _Table) -> str:
    for name in ("NOMINAL", "weight"):
        if name in ev.cols:
            return name
    extra = [k for k in ev.cols if k not in EVENT_COLUMNS]
    if not extra:
        msg = "no event weight column"
        raise KeyError(msg)
    return extra[0]


def _open(path: Path) -> tuple[h5py.File, _Table, _Table]:
    # a damaged global heap makes HDF5 loop forever on the column names: refused first
    probe_hdf5(path, ("events", "particles", "event", "particle", "init", "procInfo"))
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise input_error(path, "", f"not a readable HDF5 file ({exc})") from None
    try:
        ev = _Table(f, "events", "event", EVENT_COLUMNS)
        pa = _Table(f, "particles", "particle", PARTICLE_COLUMNS)
    except KeyError as exc:
        f.close()
        raise input_error(path, "", f"not an LHEH5 file: {exc.args[0]}") from None
    except (OSError, RuntimeError, ValueError, TypeError, IndexError) as exc:  # h5py on damaged metadata
        f.close()
        raise input_error(path, "", f"corrupt HDF5 metadata ({exc})") from None
    return f, ev, pa


def index_lheh5(path: str | Path) -> FileSample:
    """Events, cross section, beams and mean weight of an LHEH5 file (cached per process)."""
    from pylhe import lheh5

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such file")
    key = file_key(path)
    if key in _INDEX:
        return _INDEX[key]
    f, ev, pa = _open(path)
    with f:
        try:
            init = lheh5.read_init(f)
        except (KeyError, ValueError, IndexError, TypeError, OSError, RuntimeError) as exc:
            raise input_error(path, "init", f"unreadable init/procInfo ({exc})") from None
        sum_w = 0.0
        try:
            wname = _weight_name(ev)
            for a in range(0, ev.n, _INDEX_ROWS):  # in blocks: memory flat in the file size
                b = min(a + _INDEX_ROWS, ev.n)
                weights = ev.column(wname, a, b)
                start_f = ev.column("start", a, b)
                npart_f = ev.column("nparticles", a, b)
                bad_int = ~_whole(start_f) | ~_whole(npart_f)
                start = np.where(bad_int, -1, start_f).astype(np.int64)
                npart = np.where(bad_int, -1, npart_f).astype(np.int64)
                end = start + npart
                bad = (start < 0) | (npart < 0) | (end > pa.n) | ~np.isfinite(weights)
                if np.any(bad):
                    i = int(np.flatnonzero(bad)[0])
                    if not np.isfinite(weights[i]):
                        raise input_error(path, f"event {a + i}", f"non-finite event weight {weights[i]}")
                    raise input_error(
                        path,
                        f"event {a + i}",
                        f"particles {start[i]}..{end[i]} lie outside the particle table ({pa.n} rows): "
                        "truncated file",
                    )
                sum_w += float(np.sum(weights))
        except (KeyError, OSError, RuntimeError, ValueError, IndexError, TypeError) as exc:
            raise input_error(path, "events", f"unreadable event table ({exc})") from None
        n = ev.n
    sample = sample_from_init(path, init, n, sum_w / n if n else 1.0, {})
    _INDEX[key] = sample
    return sample


def read_lheh5_range(path: str | Path, start: int, stop: int) -> RawRecord:
    """Events ``start:stop`` of an LHEH5 file as a raw record (file frame, GeV, cm)."""
    path = Path(path)
    f, ev, pa = _open(path)
    with f:
        try:
            erows = ev.rows(start, stop, ("start", "nparticles"))
            weights = ev.rows(start, stop, (_weight_name(ev),))[:, 0]
            if not (_whole(erows).all() and (erows >= 0).all()):
                raise ValueError("event start or particle count not a non-negative integer")
            first = erows[:, 0].astype(np.int64)
            counts = erows[:, 1].astype(np.int64)
            a, b = int(first.min()), int((first + counts).max())
            if b > pa.n:
                raise ValueError(f"particles up to row {b} requested, the table has {pa.n}")
            block = pa.rows(a, b, PARTICLE_COLUMNS[:12])
        except (OSError, KeyError, ValueError, RuntimeError, IndexError, TypeError) as exc:
            raise input_error(path, f"events {start}..{stop - 1}", f"unreadable ({exc})") from None
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if not np.array_equal(first - a, offsets[:-1]):  # events not stored contiguously: gather
        rows = np.repeat(first - a - offsets[:-1], counts) + np.arange(offsets[-1])
        block = block[rows]
    if not np.all(np.isfinite(block)):
        j = int(np.flatnonzero(~np.all(np.isfinite(block), axis=1))[0])
        ev_i = int(np.searchsorted(offsets, j, side="right") - 1)
        raise input_error(path, f"event {start + ev_i}", f"non-finite value in particle row {a + j}")
    cols = np.zeros((len(block), 13))
    cols[:, :12] = block

    def fail(e: int, j: int, reason: str) -> FileFormatError:
        return input_error(
            path, f"event {start + e} (particle row {int(first[e]) + j - int(offsets[e])})", reason
        )

    return raw_from_lhe_columns(cols, offsets, weights, fail)


class LHEH5Generator(ExternalGenerator):
    name = "lheh5"
    doc = "events read from LHEH5 (HDF5 Les Houches) files, streamed by chunk, moved to the card's lab frame"
    params: ClassVar[dict[str, Field]] = dict(COMMON_PARAMS)

    @classmethod
    def index(cls, path: Path) -> FileSample:
        return index_lheh5(path)

    def read_raw(self, sample: FileSample, start: int, stop: int) -> RawRecord:
        return read_lheh5_range(sample.path, start, stop)
