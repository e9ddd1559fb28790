"""HDF5 event files: a streaming writer with atomic finalisation and resume, and a reader.

Layout (schema version :data:`SCHEMA_VERSION`)::

    /meta                      attributes: schema_version, fastsim_version, card (resolved
                               YAML), seed, chunk_size, beams (JSON), luminosity_fb,
                               processes (JSON list: name, generator, id, sigma_nb,
                               sigma_err_nb, n_events, ...), n_events, created, complete
    /events/<field>            one entry per event (weight, process_id, ...)
    /<collection>/<field>      one entry per item, 1-D, chunked, Fletcher-32 checksums, compressed
                               where a trial on the first chunk says it pays (``_choose_filters``)
    /<collection>/offsets      n_events + 1 entries; items of event i are offsets[i]:offsets[i+1]

Schema 2.0 stores the measured quantities (:func:`stored_as_float32`) as float32 (their
resolution is far coarser than float32's relative precision of 6e-8; the reason per field is
in docs/file_format.md), marked by the dataset attribute ``read_as = "float64"``; the reader
returns them as float64, their type in memory, so a search computes the same way on a file as
on a live batch.  Schema 1.0 files (everything float64) read as before.  ``run.drop`` leaves
collections or fields out of the file.

Every dataset carries ``unit`` (and ``doc`` where known) attributes.  A file is written
under ``<name>.part`` and renamed when complete, so a file under the final name is always
complete; a killed run leaves the ``.part`` file, from which ``--resume`` continues.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np

from fastsim.events import MC_UNITS, Collection, EventBatch

__all__ = [
    "FLOAT32_FIELDS",
    "SCHEMA_VERSION",
    "EventFile",
    "EventFileWriter",
    "FileFormatError",
    "OutputError",
    "open_events",
    "probe_hdf5",
    "stored_as_float32",
]

SCHEMA_VERSION = "2.0"
_READABLE_MAJOR = {"1", "2"}
_ITEM_CHUNK = 1 << 14  # HDF5 chunk length (items) of the 1-D datasets (128 kB of float64: cheaper to
# compress than 2^16, measured: docs/hadronic.md, "The writer")
_UNITS = {"mc": MC_UNITS}

_TRACK_HELIX = ("d0", "phi0", "omega", "z0", "tanl")
_TRACK_COV = tuple(f"cov_{a}_{b}" for i, a in enumerate(_TRACK_HELIX) for b in _TRACK_HELIX[i:])

#: float64 fields stored as float32 (schema 2.0), by group (and every float64 ``events/reco_*``
#: field: the event-level quantities fastsim.reco computes from tracks and clusters):
#: detector-level measurements and quantities derived from them, whose resolution
#: (docs/file_format.md, per field) is at least
#: 1e3 times float32's relative rounding (2^-24 = 6e-8), and the truth record's mass, vertex,
#: time and proper decay length (rounding <= 2e-5 cm at 3 m, 6 fs at 100 ns).  Kept float64:
#: ``events/weight`` (sums over 1e9 events), the truth momenta and energies (``mc`` px, py, pz,
#: e: a truth invariant mass of a collimated pair is a difference of large numbers), and every
#: field not listed (a new field stays float64 until it is added here with its reason).
FLOAT32_FIELDS: dict[str, frozenset[str]] = {
    "mc": frozenset({"m", "vx", "vy", "vz", "vt", "lifetime"}),
    "tracks": frozenset({*_TRACK_HELIX, *_TRACK_COV, "px", "py", "pz"}),
    "clusters": frozenset({"energy", "theta", "phi", "x", "y", "z", "time"}),
    "klm": frozenset({"theta", "phi"}),
    "vertices": frozenset(
        [
            "x",
            "y",
            "z",
            "cov_xx",
            "cov_xy",
            "cov_xz",
            "cov_yy",
            "cov_yz",
            "cov_zz",
            "chi2",
            "r",
            "sigma_r",
            "dca",
            "cos_pointing",
            "px",
            "py",
            "pz",
            "p1x",
            "p1y",
            "p1z",
            "p2x",
            "p2y",
            "p2z",
            "m_pipi",
            "m_ppi",
            "m_ee",
            "m_mumu",
            "opening_angle",
            "mc_vx",
            "mc_vy",
            "mc_vz",
        ]
    ),
    "candidates": frozenset({"px", "py", "pz", "e", "m", "m_recoil", "e_extra"}),
}


def stored_as_float32(group: str, name: str) -> bool:
    """Whether schema 2.0 stores the float64 field ``group/name`` as float32."""
    return name in FLOAT32_FIELDS.get(group, ()) or (group == "events" and name.startswith("reco_"))


class OutputError(Exception):
    """The output cannot be written: another run holds it, or the disk refuses (full, read-only).
    The finished chunks stay in the ``.part`` file for ``--resume``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class FileFormatError(Exception):
    """A file that is not a (complete, readable) fastsim event file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class _Damaged(Exception):
    """A ``.part`` file whose progress does not match its data (``--resume`` starts again)."""


def _compression(name: str) -> dict[str, Any]:
    """HDF5 filters of a dataset that compresses: the compression, and a Fletcher-32 checksum
    per chunk (lzf has none: a flipped bit in a finished chunk of a ``.part`` file would
    otherwise be resumed silently, found by the fuzz tests; HDF5 checks it on every read).
    lzf without the byte shuffle: on the truth record and the detector collections the
    shuffle made lzf slower and the file larger (measured: docs/hadronic.md, "The writer")."""
    if name == "none":
        return {"fletcher32": True}
    if name == "gzip":
        return {"compression": "gzip", "compression_opts": 4, "shuffle": True, "fletcher32": True}
    return {"compression": "lzf", "fletcher32": True}


#: a dataset is stored compressed when a trial on its first values saves at least this fraction
_MIN_SAVING = 0.2
_TRIAL_ITEMS = 1 << 14


def _stored_size(filters: dict[str, Any], v: np.ndarray) -> int:
    """Bytes that ``filters`` store ``v`` in (a trial in an in-memory HDF5 file: the same filter
    code that writes)."""
    with h5py.File(f"trial-{id(v)}", "w", driver="core", backing_store=False) as f:
        ds = f.create_dataset("x", data=v, chunks=(len(v),), **filters)
        f.flush()
        return int(ds.id.get_storage_size())


#: HDF5's scale-offset filter on integers with the minimum bits chosen per chunk (lossless:
#: ``scaleoffset=0``); built into libhdf5 like lzf, so plain h5py reads it
_INTEGER_PACKING = {"scaleoffset": 0}


def _create_packed_integers(group: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
    """A resizable integer dataset with lossless scale-offset packing and the Fletcher-32
    checksum.  h5py's high-level ``create_dataset`` refuses the pair (it guards the lossy
    float mode); for integers with the minimum bits HDF5 finds, the packing is exact and the
    checksum covers the packed chunk as it does an lzf one, so the property list is built here."""
    from h5py import h5d, h5p, h5s, h5t, h5z

    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk((_ITEM_CHUNK,))
    dcpl.set_scaleoffset(h5z.SO_INT, 0)
    dcpl.set_fletcher32()
    space = h5s.create_simple((len(data),), (h5s.UNLIMITED,))
    tid = h5t.py_create(data.dtype, logical=True)
    ds = h5py.Dataset(h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl))
    if len(data):
        ds[...] = data
    return ds


def _choose_filters(filters: dict[str, Any], values: np.ndarray) -> dict[str, Any]:
    """The filters of a new dataset, from a trial on its first :data:`_TRIAL_ITEMS` values: the
    run's compression where it saves at least :data:`_MIN_SAVING`, the checksum alone
    otherwise.  Momenta, helix parameters and PID likelihoods barely compress with lzf (3-9 %)
    and cost most of the writer's time; zeros, integers and indices compress 3-100x.  For
    integers with lzf, HDF5's scale-offset packing is tried too and the smaller kept: it packs
    status codes and mother/daughter indices 1.5-3x tighter than lzf at a third of the time
    (measured on continuum events, docs/file_format.md)."""
    plain = {"fletcher32": True}
    if "compression" not in filters:
        return filters
    v = np.ascontiguousarray(values[:_TRIAL_ITEMS])
    if len(v) < 1024:  # too few to judge: compress (small either way)
        return filters
    best, best_size = plain, (1.0 - _MIN_SAVING) * v.nbytes
    candidates = [filters]
    if v.dtype.kind in "iu" and filters.get("compression") == "lzf":
        candidates.append({**_INTEGER_PACKING, "fletcher32": True})
    for cand in candidates:
        # the trial without the checksum (4 bytes a chunk; h5py refuses it beside scale-offset)
        size = _stored_size({k: x for k, x in cand.items() if k != "fletcher32"}, v)
        if size <= best_size:
            best, best_size = cand, size
    return best


#: run chunks of fewer bytes than half this are held by the writer and appended together, up
#: to this many bytes: HDF5 rewrites the last, partly filled chunk of each of the ~190 datasets
#: on every append (read back, decompressed, compressed again, moved), which with 200-event
#: run chunks cost 130 ms per append and left the file 4.3x larger (measured;
#: docs/file_format.md).  The bound keeps the writer's memory small beside a chunk's.
COALESCE_BYTES = 64 << 20
#: ... and at most this many chunks (a skim keeps few events of each chunk)
COALESCE_CHUNKS = 256


def _nbytes(batch: EventBatch) -> int:
    """The batch's bytes in memory (every field and offset array)."""
    n = sum(a.nbytes for a in batch.events.values())
    return n + sum(a.nbytes for c in batch.collections.values() for a in (*c.fields.values(), c.offsets))


def _schema(batch: EventBatch) -> tuple:
    """The layout of a batch (field names per group): batches of one layout concatenate."""
    return (tuple(batch.events), tuple((c, tuple(col.fields)) for c, col in batch.collections.items()))


class EventFileWriter:
    """Append event batches chunk by chunk; finalise atomically.

    ``identity`` (the resolved card text) is stored at creation; ``resume=True`` reopens a
    ``.part`` file left by a killed run with the same identity and reports how many chunks
    it holds (``chunks_done``), truncating anything written after the last complete chunk.
    """

    def __init__(
        self,
        path: str | Path,
        identity: str,
        compression: str = "lzf",
        resume: bool = False,
        float32: bool = True,
        drop: Iterable[str] = (),
    ) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self.identity = identity
        self.filters = _compression(compression)
        #: narrow the fields of :data:`FLOAT32_FIELDS` (``run.float32``)
        self.float32 = float32
        #: collections (``"klm"``) and fields (``"mc.vt"``, ``"events.reco_thrust"``) left out
        self.drop = frozenset(drop)
        self.chunks_done = 0
        self.n_events = 0
        self.resumed = False
        #: chunks given to :meth:`append`, not yet written (with their records)
        self._pending: list[tuple[EventBatch, Any]] = []
        self._pending_bytes = 0
        self._file: h5py.File | None = None
        self._lock_fd: int | None = None
        self.lock = self.path.with_name(self.path.name + ".lock")
        try:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self._acquire_lock()
            if resume and self.tmp.exists() and self._reopen():
                return
            self._file = h5py.File(self.tmp, "w", libver=("v110", "latest"), track_order=True)
            self._file.attrs["identity"] = identity
            self._file.attrs["progress"] = json.dumps({"chunks_done": 0, "n_events": 0, "items": {}})
        except OSError as exc:
            self._release_lock()
            raise OutputError(self.path, f"cannot write the output ({_os_reason(exc)})") from None

    # ------------------------------------------------------------------ lock
    def _acquire_lock(self) -> None:
        """An exclusive advisory lock on ``OUT.lock`` (flock): a second run writing the same
        output refuses instead of clobbering the first's ``.part`` file.  The kernel drops the
        lock when the process ends, however it ends."""
        import fcntl

        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                self.path, f"another fastsim run is writing it (lock {self.lock.name} is held)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                self.lock.unlink()
            os.close(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------------ resume
    def _reopen(self) -> bool:
        """Reopen the ``.part`` file for ``--resume``: True when it belongs to this run and is
        whole up to its last finished chunk (then cut back to it), False when it must be
        written again (another card, or damage: unreadable objects, progress that does not
        match the data)."""
        try:
            probe_hdf5(self.tmp)  # a .part whose metadata HDF5 cannot read: start again
        except FileFormatError:
            return False
        try:
            f = h5py.File(self.tmp, "r+")
        except _CORRUPT:
            return False
        try:
            if f.attrs.get("identity") != self.identity:
                f.close()
                return False
            progress = json.loads(f.attrs["progress"])
            self._cut_to(f, progress)
            self._verify_data(f)
        except (*_CORRUPT, _Damaged):
            with contextlib.suppress(*_CORRUPT):
                f.close()
            return False
        self._file = f
        self.resumed = True
        self.chunks_done = progress["chunks_done"]
        self.n_events = progress["n_events"]
        return True

    @staticmethod
    def _verify_data(f: h5py.File) -> None:
        """Read every finished chunk back (HDF5 checks each chunk's checksum and decompresses
        it): damage raises, and the run starts again.  Slices of 2^20 items bound the memory."""
        step = 1 << 20
        for name in list(f):
            for ds in f[name].values():
                for a in range(0, ds.shape[0], step):
                    ds[a : a + step]

    @staticmethod
    def _cut_to(f: h5py.File, progress: Any) -> None:
        """Check ``progress`` against the file's objects and cut every dataset back to it
        (anything after the last finished chunk); raises on a mismatch or an unreadable
        object (every object is opened by name: ``items()`` would skip those)."""

        def count(x: object) -> bool:
            return isinstance(x, int) and not isinstance(x, bool) and x >= 0

        def number(x: object) -> bool:
            return isinstance(x, int | float) and not isinstance(x, bool)

        def record(r: object) -> bool:
            return (
                isinstance(r, dict)
                and isinstance(r.get("tally"), list)
                and len(r["tally"]) == 3
                and all(number(x) for x in r["tally"])
                and number(r.get("sum_weight"))
                and isinstance(r.get("flags"), dict)
                and all(number(x) for x in r["flags"].values())
            )

        if not (
            isinstance(progress, dict)
            and count(progress.get("n_events"))
            and count(progress.get("chunks_done"))
            and isinstance(progress.get("items"), dict)
            and all(count(v) for v in progress["items"].values())
            and isinstance(progress.get("records", []), list)
            and len(progress.get("records", [])) == progress["chunks_done"]
            # the run's records (dicts: tally, weight sum, flags) are checked; other callers'
            # records are theirs
            and all(record(r) for r in progress.get("records", []) if isinstance(r, dict))
        ):
            raise _Damaged
        n_events = progress["n_events"]
        for name in list(f):
            group = f[name]
            if not isinstance(group, h5py.Group):
                raise _Damaged
            n_items = progress["items"].get(name, 0)
            for dname in list(group):
                ds = group[dname]
                if dname == "offsets":
                    n = n_events + 1
                elif name == "events":
                    n = n_events
                else:
                    n = n_items
                if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.shape[0] < n:
                    raise _Damaged  # progress is written after the data: never more than the data
                ds.resize((n,))
                if dname == "offsets" and (int(ds[0]) != 0 or int(ds[n - 1]) != n_items):
                    raise _Damaged

    # ------------------------------------------------------------------ writing
    def _dataset(
        self,
        group: str,
        name: str,
        values: np.ndarray,
        dtype: np.dtype | None = None,
        initial: np.ndarray | None = None,
        narrowed: bool = False,
    ) -> h5py.Dataset:
        """The dataset ``group/name``, created on first use with the filters its first
        ``values`` call for: the run's compression where a trial says it pays
        (:func:`_choose_filters`), the checksum alone otherwise.  The choice depends on the data of
        the first write only (the first chunk, or the first small chunks held together by
        :meth:`append`), so files stay identical whatever the number of workers."""
        assert self._file is not None
        g = self._file[group] if group in self._file else self._file.create_group(group, track_order=True)
        if name in g:
            return g[name]
        dtype = values.dtype if dtype is None else dtype
        data = initial if initial is not None else np.empty(0, dtype)
        filters = _choose_filters(self.filters, values.astype(dtype, copy=False))
        if "scaleoffset" in filters:
            ds = _create_packed_integers(g, name, data)
        else:
            ds = g.create_dataset(name, data=data, maxshape=(None,), chunks=(_ITEM_CHUNK,), **filters)
        unit = _UNITS.get(group, {}).get(name)
        if unit:
            ds.attrs["unit"] = unit
        if narrowed:
            ds.attrs["read_as"] = "float64"
        return ds

    def _stored(self, group: str, name: str, values: np.ndarray) -> tuple[np.ndarray, bool]:
        """The values as stored, and whether they were narrowed to float32."""
        if self.float32 and values.dtype == np.float64 and stored_as_float32(group, name):
            return values.astype(np.float32), True
        return values, False

    @staticmethod
    def _append(ds: h5py.Dataset, values: np.ndarray) -> None:
        n = ds.shape[0]
        ds.resize((n + len(values),))
        ds[n:] = values

    @property
    def chunk_records(self) -> list[Any]:
        """The per-chunk records passed to :meth:`append` so far (kept across resume)."""
        assert self._file is not None
        return list(json.loads(self._file.attrs["progress"]).get("records", []))

    def append(self, batch: EventBatch, record: Any = None) -> None:
        """Write one chunk's events and record the progress (flushed to disk).

        ``record`` is any JSON-serialisable summary of the chunk (e.g. its cross-section
        tally); it survives a resume through :attr:`chunk_records`.  Chunks under half of
        :data:`COALESCE_BYTES` are held (copied) and written together, up to that many bytes or
        :data:`COALESCE_CHUNKS` chunks, and at :meth:`finalize` and :meth:`close`: a chunk
        counts in :attr:`chunks_done` once it is on disk.
        """
        assert self._file is not None
        size = _nbytes(batch)
        if size >= COALESCE_BYTES // 2:
            self.flush()
            self._write(batch, [record])
            return
        if self._pending and (
            self._pending_bytes + size > COALESCE_BYTES or _schema(self._pending[0][0]) != _schema(batch)
        ):
            self.flush()  # full, or another layout (e.g. another process's chunks): written apart
        self._pending.append((EventBatch.concatenate([batch]), record))  # a copy: buffers get reused
        self._pending_bytes += size
        if len(self._pending) >= COALESCE_CHUNKS:
            self.flush()

    def flush(self) -> None:
        """Write the chunks held by :meth:`append`."""
        if not self._pending:
            return
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        whole = pending[0][0] if len(pending) == 1 else EventBatch.concatenate([b for b, _ in pending])
        self._write(whole, [r for _, r in pending])

    def _write(self, batch: EventBatch, records: list[Any]) -> None:
        """Append ``batch`` (one or more whole chunks, one record each) and commit the progress."""
        assert self._file is not None
        self._check_space(batch)
        try:
            self._append_chunk(batch, records)
        except _CORRUPT as exc:
            self._raise_damaged(exc)
            if not isinstance(exc, OSError):
                raise
            raise OutputError(
                self.path,
                f"write failed ({_os_reason(exc)}); the {self.chunks_done} finished chunks are kept in "
                f"{self.tmp.name}: rerun with --resume",
            ) from None

    def _raise_damaged(self, exc: Exception) -> None:
        """A resumed ``.part`` file that HDF5 cannot extend (damage :meth:`_reopen` could not
        see, HDF5's own error rather than the system's): an input error naming it."""
        system = isinstance(exc, OSError) and (exc.errno is not None or "errno = " in str(exc))
        if self.resumed and not system:
            raise FileFormatError(
                self.tmp, f"damaged file, cannot resume ({_short(exc)}): delete it to start again"
            ) from None

    #: kept free beyond a chunk's uncompressed size (HDF5 metadata, /meta)
    SPACE_MARGIN = 4 << 20

    def _check_space(self, batch: EventBatch) -> None:
        """Refuse a chunk that might not fit on the disk, before HDF5 writes any of it: HDF5 can
        crash when a write hits a full disk, so the chunk's uncompressed size plus a margin must
        be free (conservative: compression only shrinks it).  The ``.part`` file then ends at the
        last complete chunk, ready for ``--resume``."""
        need = self.SPACE_MARGIN + _nbytes(batch)
        try:
            st = os.statvfs(self.tmp.parent)
        except OSError:
            return
        free = st.f_bavail * st.f_frsize
        if free < need:
            raise OutputError(
                self.path,
                f"write failed (No space left on device: {free / 1e6:.1f} MB free, a chunk needs up to "
                f"{need / 1e6:.1f} MB); the {self.chunks_done} finished chunks are kept in {self.tmp.name}: "
                "free space and rerun with --resume",
            )

    def _append_chunk(self, batch: EventBatch, records: list[Any]) -> None:
        assert self._file is not None
        progress = json.loads(self._file.attrs["progress"])
        progress.setdefault("records", []).extend(records)
        drop = self.drop
        for name, arr in batch.events.items():
            if f"events.{name}" not in drop:
                values, narrowed = self._stored("events", name, arr)
                self._append(self._dataset("events", name, values, narrowed=narrowed), values)
        for cname, col in batch.collections.items():
            if cname in drop:
                continue
            start = progress["items"].get(cname, 0)
            offsets = col.offsets[1:] + start
            off = self._dataset(cname, "offsets", offsets, np.dtype(np.int64), initial=np.zeros(1, np.int64))
            self._append(off, offsets)
            for fname, arr in col.fields.items():
                if f"{cname}.{fname}" not in drop:
                    values, narrowed = self._stored(cname, fname, arr)
                    self._append(self._dataset(cname, fname, values, narrowed=narrowed), values)
            progress["items"][cname] = start + col.n_items
        self.n_events += batch.n_events
        self.chunks_done += len(records)
        progress["n_events"] = self.n_events
        progress["chunks_done"] = self.chunks_done
        self._file.attrs["progress"] = json.dumps(progress)
        self._file.flush()

    def finalize(self, meta: dict[str, Any]) -> Path:
        """Write ``/meta``, close and rename to the final name.  Returns the final path."""
        try:
            return self._finalize(meta)
        except _CORRUPT as exc:
            self._raise_damaged(exc)
            if not isinstance(exc, OSError):
                raise
            raise OutputError(
                self.path, f"cannot finish the output ({_os_reason(exc)}); rerun with --resume"
            ) from None

    def _finalize(self, meta: dict[str, Any]) -> Path:
        assert self._file is not None
        self.flush()
        m = self._file.require_group("meta")
        for key, value in meta.items():
            m.attrs[key] = json.dumps(value) if isinstance(value, dict | list) else value
        m.attrs["schema_version"] = SCHEMA_VERSION
        m.attrs["n_events"] = self.n_events
        m.attrs["complete"] = True
        for attr in ("progress", "identity"):
            del self._file.attrs[attr]
        self._file.close()
        self._file = None
        self.tmp.replace(self.path)
        self._release_lock()
        return self.path

    def close(self) -> None:
        """Close without finalising (the ``.part`` file stays for ``--resume``); the chunks
        held by :meth:`append` are written first where the disk takes them (an interrupted
        run keeps every chunk it finished)."""
        if self._file is not None and self._pending:
            with contextlib.suppress(OutputError, FileFormatError, *_CORRUPT):
                self.flush()
            self._pending, self._pending_bytes = [], 0
        if self._file is not None:
            with contextlib.suppress(OSError, RuntimeError):  # a full disk may refuse the last flush
                self._file.close()
            self._file = None
        self._release_lock()


# ---------------------------------------------------------------------- reading
#: what h5py raises on damaged files (bad checksums, truncated objects, unreadable types)
_CORRUPT = (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError)

#: seconds the HDF5 metadata of an input file may take to read in :func:`probe_hdf5`
HDF5_PROBE_TIMEOUT_S = 20.0
_PROBED: dict[tuple[str, int, int, int], None] = {}


def _read_all_metadata(path: Path, names: tuple[str, ...]) -> None:
    """The groups, datasets and attributes of an HDF5 file (not the datasets' data): the
    objects ``names`` and everything a walk of the groups finds; errors are ignored (the
    reader meets them again and reports them), so a group that cannot be listed does not
    stop the walk (its objects may still be opened by name, as the readers do)."""
    budget = [10_000]  # objects (a damaged file may link a group into itself)

    def attrs(obj: h5py.HLObject) -> None:
        with contextlib.suppress(Exception):
            for key in list(obj.attrs):
                with contextlib.suppress(Exception):
                    obj.attrs[key]

    def walk(group: h5py.Group, depth: int) -> None:
        with contextlib.suppress(Exception):
            for key in list(group):
                budget[0] -= 1
                if budget[0] < 0:
                    return
                with contextlib.suppress(Exception):
                    obj = group[key]
                    attrs(obj)
                    if isinstance(obj, h5py.Group) and depth < 8:
                        walk(obj, depth + 1)

    with contextlib.suppress(Exception), h5py.File(path, "r") as f:
        attrs(f)
        for name in names:
            with contextlib.suppress(Exception):
                attrs(f[name])
        walk(f, 0)


def probe_hdf5(path: str | Path, names: tuple[str, ...] = ("meta", "events")) -> None:
    """Refuse an HDF5 file whose metadata the HDF5 library cannot read to the end.

    HDF5 (2.0 included) loops forever on some damaged files: a variable-length string
    attribute (fastsim's ``/meta``, LHEH5's column names) whose global heap collection holds
    an object of index 0 and size 0 (``H5HG__cache_heap_deserialize`` then never advances);
    no Python-level timeout can interrupt it.  So the file's groups, datasets and attributes
    (``names``: the objects the reader opens by name, and what a walk of the groups finds)
    are first read in a forked child with a time limit (:data:`HDF5_PROBE_TIMEOUT_S`): a
    child that does not finish, or dies of a signal, makes this raise
    :class:`FileFormatError`; errors h5py raises are left to the reader.  Costs a fork
    (milliseconds); done once per file version and process.
    """
    import signal
    import time
    import warnings

    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return  # the reader reports it
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _PROBED or not hasattr(os, "fork"):
        return
    phil = getattr(getattr(h5py, "_objects", None), "phil", None)  # h5py's global lock
    with phil if phil is not None else contextlib.nullcontext(), warnings.catch_warnings():
        # no other thread is inside HDF5 while forking (the child takes the lock again)
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a threaded process
        try:
            pid = os.fork()
        except OSError:  # no process to spare: read without the guard
            return
        if pid == 0:  # child: read, then leave without running any exit handler
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                _read_all_metadata(path, names)
            finally:
                os._exit(0)
    deadline = time.monotonic() + HDF5_PROBE_TIMEOUT_S
    delay = 0.0005
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                raise FileFormatError(
                    path,
                    f"corrupt file (reading its HDF5 metadata did not end within {HDF5_PROBE_TIMEOUT_S:g} s: "
                    "a damaged global heap?)",
                )
            time.sleep(delay)
            delay = min(2 * delay, 0.05)
    except BaseException:  # the time limit, or an interrupt while waiting: no child left behind
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    if os.WIFSIGNALED(status):
        raise FileFormatError(
            path, f"corrupt file (reading its HDF5 metadata crashed the reader: signal {os.WTERMSIG(status)})"
        )
    _PROBED[key] = None


def _os_reason(exc: OSError) -> str:
    """The system's reason for an OSError, also when h5py wraps it in its own message."""
    if exc.strerror:
        return exc.strerror
    text = str(exc)
    for errno_name, reason in ((28, "No space left on device"), (30, "Read-only file system"),
                               (13, "Permission denied"), (122, "Disk quota exceeded")):  # fmt: skip
        if f"errno = {errno_name}" in text or reason in text:
            return reason
    return _short(exc)


def _short(exc: BaseException) -> str:
    """An exception's message on one line, at most 160 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class EventFile:
    """Read a fastsim HDF5 file by collection, by event range or chunk by chunk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileFormatError(path, "no such file")
        probe_hdf5(self.path)
        try:
            self._file = h5py.File(self.path, "r")
        except (OSError, RuntimeError, ValueError) as exc:
            raise FileFormatError(path, f"not a readable HDF5 file ({_short(exc)})") from None
        try:
            self._open()
        except FileFormatError:
            self._file.close()
            raise
        except _CORRUPT as exc:  # h5py on damaged metadata: checksums, truncated objects, wrong types
            self._file.close()
            raise FileFormatError(path, f"corrupt file ({_short(exc)})") from None

    def _open(self) -> None:
        path = self.path
        meta_group = self._file.get("meta")
        if not isinstance(meta_group, h5py.Group) or "schema_version" not in meta_group.attrs:
            raise FileFormatError(path, "not a fastsim event file (no /meta schema_version)")
        meta = meta_group.attrs
        version = str(meta["schema_version"])
        if version.split(".", maxsplit=1)[0] not in _READABLE_MAJOR:
            raise FileFormatError(
                path, f"schema version {version} is not readable by this fastsim (reads {SCHEMA_VERSION})"
            )
        if not bool(meta.get("complete", False)):
            raise FileFormatError(path, "file is incomplete")
        self.meta: dict[str, Any] = {}
        for key, value in meta.items():
            v = value.item() if isinstance(value, np.generic) else value
            if isinstance(v, str) and v[:1] in "[{":
                with contextlib.suppress(ValueError):
                    v = json.loads(v)
            self.meta[key] = v
        try:
            self.n_events = int(self.meta["n_events"])
        except (KeyError, TypeError, ValueError):
            raise FileFormatError(path, "/meta n_events is missing or not an integer") from None
        if self.n_events < 0:
            raise FileFormatError(path, f"/meta n_events is negative ({self.n_events})")
        self._check_meta()
        self._check_consistency()

    def _check_meta(self) -> None:
        """The decoded ``/meta`` attributes have the types readers rely on."""

        def number(x: object) -> bool:
            return isinstance(x, int | float) and not isinstance(x, bool)

        procs = self.meta.get("processes", [])
        need = {"id": int, "name": str, "generator": str, "sigma_nb": float, "n_events": int}
        if not isinstance(procs, list) or not all(
            isinstance(q, dict)
            and all(
                k in q and (number(q[k]) if t is not str else isinstance(q[k], str)) for k, t in need.items()
            )
            for q in procs
        ):
            raise FileFormatError(self.path, "/meta processes is not a list of processes (id, name, generator, "
                                  "sigma_nb, n_events)")  # fmt: skip
        beams = self.meta.get("beams", {})
        if not isinstance(beams, dict) or not all(
            number(v) or (isinstance(v, list) and all(number(x) for x in v)) for v in beams.values()
        ):
            raise FileFormatError(self.path, "/meta beams is not a mapping of numbers")
        for key in ("luminosity_fb", "seed", "chunk_size"):
            if key in self.meta and not number(self.meta[key]):
                raise FileFormatError(self.path, f"/meta {key} is not a number")

    def _check_consistency(self) -> None:
        """Shapes, offsets and types agree with ``n_events``: offsets start at 0 and never
        decrease, every field of a collection has ``offsets[-1]`` entries, every per-event field
        ``n_events``, every dataset is one-dimensional and numeric."""

        #: datasets stored as float32 and read as float64 (schema 2.0, ``read_as``)
        self._widen: set[str] = set()

        def field(ds: object, where: str, length: int) -> None:
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.dtype.kind not in "biuf":
                raise FileFormatError(self.path, f"{where} is not a one-dimensional numeric dataset")
            if ds.shape[0] != length:
                raise FileFormatError(self.path, f"{where} has {ds.shape[0]} entries, expected {length}")
            if ds.dtype == np.float32 and ds.attrs.get("read_as") == "float64":
                self._widen.add(ds.name)

        events = self._file.get("events")
        if events is not None and not isinstance(events, h5py.Group):
            raise FileFormatError(self.path, "/events is not a group")
        for fname, ds in events.items() if events is not None else []:
            field(ds, f"/events/{fname}", self.n_events)
        for name in self.collections:
            g = self._file[name]
            off_ds = g["offsets"]
            field(off_ds, f"/{name}/offsets", self.n_events + 1)
            off = off_ds[()]
            if off.dtype.kind not in "iu" or off[0] != 0 or np.any(np.diff(off) < 0):
                raise FileFormatError(self.path, f"/{name}/offsets do not start at 0 and rise")
            n_items = int(off[-1])
            for fname, ds in g.items():
                if fname != "offsets":
                    field(ds, f"/{name}/{fname}", n_items)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    @property
    def collections(self) -> list[str]:
        return [k for k, v in self._file.items() if isinstance(v, h5py.Group) and "offsets" in v]

    @property
    def event_fields(self) -> list[str]:
        return list(self._file["events"]) if "events" in self._file else []

    def _read(self, ds: h5py.Dataset, a: int, b: int) -> np.ndarray:
        """Entries ``a:b`` of a dataset, narrowed fields widened back to float64."""
        try:
            values = ds[a:b]
        except _CORRUPT as exc:
            raise FileFormatError(self.path, f"corrupt dataset {ds.name} ({_short(exc)})") from None
        return values.astype(np.float64) if ds.name in self._widen else values

    def read(self, collection: str, start: int = 0, stop: int | None = None) -> Collection:
        """Events ``start:stop`` of one collection."""
        stop = self.n_events if stop is None else min(stop, self.n_events)
        g = self._file[collection]
        off = self._read(g["offsets"], start, stop + 1).astype(np.int64)
        a, b = int(off[0]), int(off[-1])
        fields = {k: self._read(ds, a, b) for k, ds in g.items() if k != "offsets"}
        return Collection(fields, off - a)

    def read_events(self, start: int = 0, stop: int | None = None) -> EventBatch:
        """All per-event fields and collections for events ``start:stop``."""
        stop = self.n_events if stop is None else min(stop, self.n_events)
        events = {k: self._read(ds, start, stop) for k, ds in self._file.get("events", {}).items()}
        cols = {c: self.read(c, start, stop) for c in self.collections}
        return EventBatch(stop - start, events, cols)

    def iter_chunks(self, size: int = 100_000) -> Iterator[EventBatch]:
        """Stream the file in blocks of ``size`` events (memory independent of the file size)."""
        for start in range(0, self.n_events, size):
            yield self.read_events(start, start + size)

    def _range(self, chunk: EventBatch | slice | tuple[int, int] | None) -> tuple[int, int]:
        if chunk is None:
            return 0, self.n_events
        if isinstance(chunk, slice):
            start, stop, step = chunk.indices(self.n_events)
            if step != 1:
                msg = "event ranges take no step"
                raise ValueError(msg)
            return start, max(start, stop)
        start, stop = chunk
        return int(start), min(int(stop), self.n_events)

    def arrays(self, collection: str, chunk: EventBatch | slice | tuple[int, int] | None = None) -> Any:
        """A collection as an awkward array: one list per event, one record per item.

        ``collection`` is a collection name (``mc``, ``tracks``, ``clusters``, ``candidates``
        ... see :attr:`collections`), or ``"events"`` for the per-event fields (one record per
        event, no lists).  ``chunk`` chooses the events: ``None`` the whole file, a ``slice``
        or ``(start, stop)`` pair an event range, or an :class:`~fastsim.events.EventBatch`
        from :meth:`iter_chunks` (converted as it is, without reading the file again), which
        is how to stream with awkward::

            for batch in f.iter_chunks(100_000):
                tracks = f.arrays("tracks", batch)
                muons = tracks[tracks.pid_mu > 0.5]

        Fields are the HDF5 datasets (units: GeV, cm, ns).  Needs ``awkward``.
        """
        import awkward as ak

        if isinstance(chunk, EventBatch):
            if collection == "events":
                return ak.zip(dict(chunk.events), depth_limit=1)
            col = chunk.collections[collection]
        else:
            start, stop = self._range(chunk)
            if collection == "events":
                return ak.zip(self._events(start, stop), depth_limit=1)
            if collection not in self.collections:
                raise KeyError(f"no collection {collection!r} in {self.path} (it has {self.collections})")
            col = self.read(collection, start, stop)
        content = ak.zip(dict(col.fields), depth_limit=1)
        return ak.unflatten(content, col.counts())

    def to_awkward(self, collection: str) -> Any:
        """Alias of :meth:`arrays` for the whole file (kept for older code)."""
        return self.arrays(collection)

    def _events(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return {k: self._read(ds, start, stop) for k, ds in self._file.get("events", {}).items()}

    def to_pandas(self, chunk: EventBatch | slice | tuple[int, int] | None = None) -> Any:
        """The per-event fields (``/events``) as a pandas DataFrame, one row per event.

        Columns: every per-event field (``weight``, ``process_id``, trigger bits, ``reco_*``
        ...) plus ``process``, the process name (categorical, from the ``/meta`` processes'
        ``id`` -> ``name``; missing for ids the metadata does not name).  The index is the
        event number in the file (``event``; counted from 0 within an
        :class:`~fastsim.events.EventBatch`).  ``chunk`` chooses the events as in :meth:`arrays`.
        Units: GeV, cm, ns.  Needs ``pandas``.
        """
        import pandas as pd

        if isinstance(chunk, EventBatch):
            events, start = dict(chunk.events), 0
        else:
            start, stop = self._range(chunk)
            events = self._events(start, stop)
        n = len(next(iter(events.values()))) if events else 0
        df = pd.DataFrame(events, index=pd.RangeIndex(start, start + n, name="event"))
        if "process_id" in events:
            procs = self.meta.get("processes", [])
            ids = np.array([int(p["id"]) for p in procs], dtype=np.int64)
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            names = [str(procs[i]["name"]) for i in order]
            pid = events["process_id"].astype(np.int64)
            pos = np.searchsorted(ids, pid) if len(ids) else np.zeros(n, np.int64)
            pos = np.minimum(pos, max(len(ids) - 1, 0))
            known = (ids[pos] == pid) if len(ids) else np.zeros(n, bool)
            codes = np.where(known, pos, -1)
            df["process"] = pd.Categorical.from_codes(codes, categories=names)
        return df

    def _dtype_name(self, ds: h5py.Dataset) -> str:
        return f"{ds.dtype} (read as float64)" if ds.name in self._widen else str(ds.dtype)

    def summary(self) -> dict[str, Any]:
        """What the file holds, as a JSON-friendly dict (used by ``fastsim info``)."""
        cols = {}
        for name in self.collections:
            g = self._file[name]
            cols[name] = {
                "n_items": int(g["offsets"][-1]),
                "fields": {k: self._dtype_name(ds) for k, ds in g.items() if k != "offsets"},
            }
        keep = (
            "schema_version",
            "fastsim_version",
            "seed",
            "chunk_size",
            "luminosity_fb",
            "dataset",
            "created",
            "beams",
            "processes",
        )
        out = {"path": str(self.path), "n_events": self.n_events}
        out.update({k: self.meta[k] for k in keep if k in self.meta})
        out["event_fields"] = {k: self._dtype_name(ds) for k, ds in self._file.get("events", {}).items()}
        out["collections"] = cols
        return out


def open_events(path: str | Path) -> EventFile:
    """Open a fastsim HDF5 event file for reading."""
    return EventFile(path)
