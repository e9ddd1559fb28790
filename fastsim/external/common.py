"""Shared machinery of the external-sample readers (LHE, LHEH5, HepMC3).

Every reader turns a range of a file's events into a *raw record*: flat arrays of the
particles (PDG id, fastsim status code, event-local mother range, four-momentum and
generated mass, production vertex, proper decay distance) plus per-event offsets and
weights, in the frame and units of fastsim (GeV, cm, ns) but still in the file's frame.
:class:`ExternalGenerator` then

* checks the file's centre-of-mass energy against the card's beams and moves the events
  to the card's lab frame (:func:`frame_matrix`),
* places events without vertices at an interaction point drawn from the luminous region,
* applies the rule for unknown PDG ids (:func:`apply_unknown_id_rule`),
* fills the daughter ranges from the mother ranges (:func:`daughters_from_mothers`),
* normalises the weights so that the mean per-event weight of a file is its cross section.

Frames: a file's frame is given by its two beams (LHE: the ``<init>`` block, beam 1 along
+z; HepMC3: the status-4 particles of each event).  The transformation is "beams' rest
frame with the electron along +z" (fastsim's CM convention, :mod:`fastsim.beams`) followed
by the card's CM -> lab transformation.  It is linear, so it is built once as a 4x4 matrix
per distinct frame and applied to four-momenta and to space-time displacements
(x, y, z, c*t) alike.

Rule for unknown PDG ids (also in docs/external.md): an id that the particle table (PDG
data from ``particle`` plus the card's ``particles:``) does not know is an error on a
final-state (status 1) particle, naming file, event and id, unless the process sets
``unknown_ids: invisible``; then the id is registered as a stable, neutral particle
with the mass found in the file, so that it reaches the detector as invisible.  Unknown
ids on particles of other statuses (documentation entries such as strings) pass through.

Streaming: readers keep per file an index of event byte offsets (or nothing, for LHEH5) and
a few sums (event count, sum of weights), never parsed events; a chunk reads only its
byte range.  :class:`QuietC` silences what C/C++ readers print on file descriptors 1 and 2
(the captured text becomes the reason of the error); :func:`line_number` finds the line
of a byte offset (error path only).

Units: GeV, cm, ns; cross sections in nb (files: pb).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, ClassVar, Self

import numpy as np

from fastsim.beams import BeamSetup, cm_to_lab, lab_to_cm
from fastsim.constants import C_CM_PER_NS
from fastsim.events import MC_FIELDS, STATUS_BEAM, STATUS_FINAL, Collection, EventBatch
from fastsim.generators.base import Generator, XsecTally
from fastsim.io import FileFormatError
from fastsim.particles import ParticleTable
from fastsim.schema import Field, ListOf, Section

__all__ = [
    "PB_TO_NB",
    "ExternalGenerator",
    "FileSample",
    "QuietC",
    "RawRecord",
    "apply_unknown_id_rule",
    "daughters_from_mothers",
    "frame_matrix",
    "input_error",
    "line_number",
    "read_file_range",
]

#: 1 pb = 1e-3 nb
PB_TO_NB = 1e-3
#: mm -> cm
MM_TO_CM = 0.1
ELECTRON = 11

#: raw-record particle fields (the MC fields without the daughters, which are derived)
RAW_FIELDS = [k for k in MC_FIELDS if k not in ("daughter1", "daughter2")]


def input_error(path: str | Path, where: str, reason: str) -> FileFormatError:
    """A :class:`~fastsim.io.FileFormatError` whose message names the place in the file."""
    return FileFormatError(path, f"{where}: {reason}" if where else reason)


#: bytes per read while counting lines
_LINE_BLOCK = 1 << 22


def line_number(path: Path, pos: int, opener: Callable[..., BinaryIO] | None = None) -> int:
    """1-based line number of byte ``pos`` of a (decompressed) file, counted by streaming
    reads (error path only: no copy of the file is kept)."""
    n = 0
    done = 0
    with (opener or open)(path, "rb") as f:
        while done < pos:
            block = f.read(min(_LINE_BLOCK, pos - done))
            if not block:
                break
            n += block.count(b"\n")
            done += len(block)
    return n + 1


_CACHES: list[dict[str, Any]] = []  # the readers' caches of open handles, closed at exit


@atexit.register
def _close_handles() -> None:
    for cache in _CACHES:
        for h in cache.values():
            with contextlib.suppress(Exception):
                h.close()
        cache.clear()


def read_file_range(
    cache: dict[str, Any], path: Path, a: int, b: int, opener: Callable[..., BinaryIO] | None = None
) -> bytes:
    """Bytes ``a:b`` of a (decompressed) file through a per-process cache of open handles.

    Plain files are read with ``os.pread`` (no memory map: the pages read stay in the
    kernel's page cache, not in the process's resident memory); compressed ones by seeking
    their stream (forward: decompress and skip; backward: rewind).
    """
    key = str(path)
    h = cache.get(key)
    if h is None or h.closed:
        h = cache[key] = (opener or open)(path, "rb")
        if not any(c is cache for c in _CACHES):
            _CACHES.append(cache)
    if opener is None:
        parts = []
        fd = h.fileno()
        while a < b:
            got = os.pread(fd, b - a, a)
            if not got:
                break
            parts.append(got)
            a += len(got)
        return b"".join(parts)
    h.seek(a)
    return h.read(b - a)


class QuietC:
    """Context manager sending file descriptors 1 and 2 (C/C++ ``stdout``/``stderr``, e.g.
    HepMC3's ``DEBUG(1)::Parsing failed at line`` messages) to a temporary file while a C
    reader runs; both are restored on exit, also when an exception propagates.
    :meth:`text` gives what was printed so far (for the reason of an error)."""

    def __init__(self) -> None:
        self._saved: list[int] = []
        self._tmp: Any = None

    def __enter__(self) -> Self:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, OSError, ValueError):
                stream.flush()
        self._tmp = tempfile.TemporaryFile()
        try:
            for fd in (1, 2):
                self._saved.append(os.dup(fd))
                os.dup2(self._tmp.fileno(), fd)
        except OSError:
            self._restore()
            raise
        return self

    def text(self) -> str:
        """What C code printed on fds 1 and 2 since entry (flushed first), as one line."""
        _c_flush()
        self._tmp.seek(0)
        raw = self._tmp.read().decode("utf-8", "replace")
        self._tmp.seek(0, os.SEEK_END)
        return " ".join("".join(c if c.isprintable() else " " for c in raw).split())

    def _restore(self) -> None:
        _c_flush()
        for fd, saved in zip((1, 2), self._saved, strict=False):
            os.dup2(saved, fd)
            os.close(saved)
        self._saved = []
        self._tmp.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._restore()


_LIBC: Any = None


def _c_flush() -> None:
    """``fflush(NULL)``: write out C stdio buffers (before fds 1 and 2 change)."""
    global _LIBC  # noqa: PLW0603 - loaded once
    try:
        if _LIBC is None:
            import ctypes

            _LIBC = ctypes.CDLL(None)
        _LIBC.fflush(None)
    except (OSError, AttributeError):
        pass


def file_key(path: Path) -> tuple[str, int, int]:
    """Identity of a file's current contents for per-process caches (path, size, mtime)."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


@dataclass
class RawRecord:
    """Particles of a block of events, in the file's frame, fastsim units.

    ``fields`` holds :data:`RAW_FIELDS` as flat arrays; ``offsets`` (n_events + 1);
    ``weights`` (n_events,) the nominal event weights as written in the file;
    ``has_vertices``: False when the format carries no positions (LHE).
    """

    fields: dict[str, np.ndarray]
    offsets: np.ndarray
    weights: np.ndarray
    has_vertices: bool

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    @staticmethod
    def concatenate(parts: list[RawRecord]) -> RawRecord:
        if len(parts) == 1:
            return parts[0]
        counts = np.concatenate([np.diff(p.offsets) for p in parts])
        offsets = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return RawRecord(
            {k: np.concatenate([p.fields[k] for p in parts]) for k in RAW_FIELDS},
            offsets,
            np.concatenate([p.weights for p in parts]),
            all(p.has_vertices for p in parts),
        )


@dataclass
class FileSample:
    """What a reader knows about one file after indexing it (cheap to keep per process).

    ``beams``: (2, 4) four-momenta of the file's e- and e+ beams when the format gives
    them once per file (LHE, LHEH5), else None (HepMC3: per event).  ``sigma_pb``: the
    file's cross section (None if the file gives none).  ``weight_mean``: mean nominal
    event weight over the whole file (normalisation of the per-event weights).
    ``sigma_err_pb``: the uncertainty the file gives on its cross section (None if none).
    """

    path: Path
    n_events: int
    sigma_pb: float | None
    weight_mean: float
    beams: np.ndarray | None = None
    widths: dict[int, float] = field(default_factory=dict)  # PDG id -> width (GeV) from the file
    sigma_err_pb: float | None = None  # the file's cross-section uncertainty (integration error)


# ---------------------------------------------------------------------- frames


def collinear_beams(id1: int, id2: int, e1: float, e2: float, path: Path) -> np.ndarray:
    """(2, 4) e- and e+ four-momenta from LHEF beams: beam 1 along +z, beam 2 along -z
    (LHEF, hep-ph/0609017, IDBMUP/EBMUP)."""
    if sorted((id1, id2)) != [-ELECTRON, ELECTRON]:
        raise input_error(path, "<init>", f"beams are {id1} and {id2}; fastsim needs an e- e+ pair (11, -11)")
    if not (np.isfinite(e1) and np.isfinite(e2) and e1 > 0 and e2 > 0):
        raise input_error(path, "<init>", f"beam energies {e1:g} and {e2:g} GeV are not finite and positive")
    from fastsim.particles import default_table

    m_e = float(default_table().mass(np.array([ELECTRON]))[0])
    out = np.zeros((2, 4))
    for pid, e, sign in ((id1, e1, 1.0), (id2, e2, -1.0)):
        slot = 0 if pid == ELECTRON else 1
        out[slot] = (0.0, 0.0, sign * np.sqrt(max(e * e - m_e * m_e, 0.0)), e)
    return out


def sqrt_s_of(beams: np.ndarray) -> np.ndarray:
    """CM energy (GeV) of beam pairs (n, 2, 4)."""
    tot = beams[:, 0] + beams[:, 1]
    return np.sqrt(np.maximum(tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1), 0.0))


def frame_matrix(file_beams: np.ndarray, card: BeamSetup) -> np.ndarray:
    """Lorentz matrices (n, 4, 4) taking (x, y, z, t)-like four-vectors from the frame of
    ``file_beams`` (n, 2, 4: e-, e+) to the card's lab frame (nominal beams).

    The map is linear, so its columns are the images of the four unit vectors:
    file frame -> beams' rest frame with e- along +z (:func:`fastsim.beams.lab_to_cm`)
    -> card lab (:func:`fastsim.beams.cm_to_lab`).
    """
    n = len(file_beams)
    basis = np.broadcast_to(np.eye(4), (n, 4, 4)).copy()  # basis[:, j] = unit vector j
    cm = lab_to_cm(basis, file_beams[:, 0], file_beams[:, 1])
    her, ler = card.nominal()
    lab = cm_to_lab(cm, np.repeat(her, n, axis=0), np.repeat(ler, n, axis=0))
    return np.transpose(lab, (0, 2, 1))  # column j = image of unit vector j


def apply_matrix(mat: np.ndarray, which: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``mat[which[i]] @ v[i]`` for vectors v (m, 4)."""
    # einsum rather than ``@``: no BLAS call (and its threads) for 4x4 products
    if len(mat) == 1:
        return np.einsum("ij,nj->ni", mat[0], v)
    if len(mat) <= 16:  # a few distinct frames: one product each
        out = np.empty_like(v)
        for k in range(len(mat)):
            sel = which == k
            out[sel] = np.einsum("ij,nj->ni", mat[k], v[sel])
        return out
    return np.matmul(mat[which], v[:, :, None])[:, :, 0]


# ---------------------------------------------------------------------- record helpers


def daughters_from_mothers(
    m1: np.ndarray, m2: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Daughter ranges (event-local, -1 if none) from event-local mother ranges.

    A particle with mothers (a, b), b >= a, is a daughter of every entry a..b (HEPEVT
    convention, as LHEF's MOTHUP); b = -1 means the single mother a.  Vectorised:
    every (mother, child) pair is expanded and reduced with ``minimum.at``/``maximum.at``.
    """
    n = len(m1)
    counts = np.diff(offsets)
    start = np.repeat(offsets[:-1], counts)
    lo = m1.astype(np.int64)
    hi = np.where(m2 >= lo, m2, lo).astype(np.int64)
    has = lo >= 0
    span = np.where(has, hi - lo + 1, 0)
    child = np.repeat(np.arange(n, dtype=np.int64), span)
    first = np.repeat(lo + start, span)
    step = np.arange(len(child), dtype=np.int64) - np.repeat(np.cumsum(span) - span, span)
    mother = first + step
    d1 = np.full(n, np.iinfo(np.int64).max, np.int64)
    d2 = np.full(n, -1, np.int64)
    np.minimum.at(d1, mother, child)
    np.maximum.at(d2, mother, child)
    none = d2 < 0
    d1 = np.where(none, -1, d1 - start)
    d2 = np.where(none, -1, d2 - start)
    return d1.astype(np.int32), d2.astype(np.int32)


def apply_unknown_id_rule(
    ids: np.ndarray,
    status: np.ndarray,
    mass: np.ndarray,
    offsets: np.ndarray,
    table: ParticleTable,
    rule: str,
    path: Path,
    first_event: int,
) -> None:
    """Enforce the documented rule for PDG ids the particle table does not know.

    ``rule == "error"``: raise naming the file, the event (0-based, within the file) and
    the id.  ``rule == "invisible"``: register each unknown final-state id as a stable
    neutral particle with the mass found in the file.  Only status-1 particles count.
    """
    final = status == STATUS_FINAL
    uniq = np.unique(ids[final])
    if len(uniq) == 0:
        return
    unknown = uniq[~table.knows(uniq)]
    if len(unknown) == 0:
        return
    bad = final & np.isin(ids, unknown)
    if rule == "error":
        i = int(np.flatnonzero(bad)[0])
        ev = int(np.searchsorted(offsets, i, side="right") - 1)
        raise input_error(
            path,
            f"event {first_event + ev}",
            f"unknown PDG id {int(ids[i])} in the final state (define it under the card's "
            "'particles:' or set the process key 'unknown_ids: invisible')",
        )
    for pdg in unknown.tolist():
        m = float(np.median(mass[bad & (ids == pdg)]))
        table.register(int(pdg), f"unknown_{pdg}", mass=max(m, 0.0), charge=0.0, antiparticle=False)


# ---------------------------------------------------------------------- generator base

COMMON_PARAMS: dict[str, Any] = {
    "files": ListOf(
        Field(str, doc="path"), doc="input files (relative paths: from the working directory)", min_len=1
    ),
    "cross_section_pb": Field(
        float,
        None,
        "cross section of the sample; default: the one written in the file(s)",
        unit="pb",
        min=0.0,
        min_exclusive=True,
        nullable=True,
    ),
    "frame": Field(
        str,
        "auto",
        "file frame: 'boost' moves events from the frame of the file's beams to the card's lab; "
        "'keep' takes them as they are; 'auto' keeps them when the file's beams are the card's beams",
        choices=("auto", "boost", "keep"),
    ),
    "sqrt_s_tolerance": Field(
        float,
        2e-3,
        "largest relative difference between the file's and the card's CM energies",
        min=0.0,
    ),
    "unknown_ids": Field(
        str,
        "error",
        "final-state PDG ids unknown to the particle table: 'error', or 'invisible' (stable, neutral)",
        choices=("error", "invisible"),
    ),
    "signal": Section(
        {
            "model": Field(
                str,
                None,
                "model (fastsim models) the sample is a signal point of, e.g. 'zprime'; "
                "null: a background sample",
                nullable=True,
            ),
            "pdg": Field(int, None, "PDG id of the new particle X in the file", nullable=True),
            "mass_gev": Field(
                float,
                None,
                "X mass; default: the particle table's mass of 'pdg'",
                unit="GeV",
                min=0.0,
                min_exclusive=True,
                nullable=True,
            ),
            "coupling": Field(
                float,
                None,
                "coupling the sample was generated with (limits scale sigma as coupling^2)",
                min=0.0,
                min_exclusive=True,
                nullable=True,
            ),
            "decay": Field(str, "mumu", "X decay channel the file's cross section includes"),
        },
        doc="what the sample is for the analysis modules (stored in /meta); the file's cross "
        "section is then sigma x BR(X -> decay)",
        optional=True,
    ),
}


class ExternalGenerator(Generator):
    """Base class of the file readers (``reads_files = True``: the run loop calls
    :meth:`events_available` and :meth:`read_events` instead of ``generate``)."""

    reads_files: ClassVar[bool] = True

    def __init__(self, params: dict[str, Any], beams: BeamSetup | None, particles: ParticleTable) -> None:
        super().__init__(params, beams, particles)
        self.paths = [Path(f).expanduser() for f in params["files"]]
        self.samples = [self.index(p) for p in self.paths]
        self._register_file_widths()

    # ---- implemented by each format
    @classmethod
    def index(cls, path: Path) -> FileSample:
        """Count the events of a file, read its cross section, beams and mean weight (cached)."""
        raise NotImplementedError

    def read_raw(self, sample: FileSample, start: int, stop: int) -> RawRecord:
        """Events ``start:stop`` of one file as a raw record (file frame, fastsim units)."""
        raise NotImplementedError

    def event_beams(self, raw: RawRecord, sample: FileSample, first: int = 0) -> np.ndarray:
        """(n_events, 2, 4) e- and e+ beams defining the frame of each event.

        The event's own incoming e- e+ pair (its first two entries, status 4) when it
        carries the full CM energy of the file's beams or of the card (no initial-state
        radiation in the file), else the file's beams.  (Pythia's LHEF writer, for one, writes the CM beam
        energies in ``<init>`` while its events are in the frame of the beams it was given.)
        """
        f = raw.fields
        n = raw.n_events
        counts = np.diff(raw.offsets)
        out = np.empty((n, 2, 4))
        ok = counts >= 2
        i0 = np.where(ok, raw.offsets[:-1], 0)
        i1 = np.where(ok, raw.offsets[:-1] + 1, 0)
        if len(f["id"]):
            ids0, ids1 = f["id"][i0], f["id"][i1]
            ok &= (f["status"][i0] == STATUS_BEAM) & (f["status"][i1] == STATUS_BEAM) & (ids0 == -ids1)
            ok &= np.abs(ids0) == ELECTRON
            p = np.stack([f["px"], f["py"], f["pz"], f["e"]], axis=1)
            first_is_electron = ids0 == ELECTRON
            out[:, 0] = np.where(first_is_electron[:, None], p[i0], p[i1])
            out[:, 1] = np.where(first_is_electron[:, None], p[i1], p[i0])
        if sample.beams is None:
            if not np.all(ok):
                i = int(np.flatnonzero(~ok)[0])
                raise input_error(
                    sample.path, f"event {first + i}", "no incoming e- e+ beam pair (status 4) found"
                )
            return out
        file_sqrt_s = sqrt_s_of(sample.beams[None])[0]
        pair = sqrt_s_of(out)
        full = np.abs(pair - file_sqrt_s) <= 1e-4 * file_sqrt_s
        if self.beams is not None:  # or the card's energy (a crossing angle is not in <init>)
            full |= np.abs(pair - self.beams.sqrt_s) <= self.config["sqrt_s_tolerance"] * self.beams.sqrt_s
        ok &= full
        out[~ok] = sample.beams
        return out

    # ---- shared
    @classmethod
    def events_available(cls, params: dict[str, Any]) -> int:
        paths = [Path(f).expanduser() for f in params["files"]]
        return sum(cls.index(p).n_events for p in paths)

    def check(self) -> list[tuple[str, str]]:
        problems = []
        sig = self.config["signal"]
        if sig["model"] is not None:
            from fastsim.models import ALIASES, MODELS
            from fastsim.registry import UnknownPlugin

            if sig["model"] not in MODELS and sig["model"] not in ALIASES:
                problems.append(("signal.model", str(UnknownPlugin("model", sig["model"], list(MODELS)))))
            for key in ("pdg", "coupling"):
                if sig[key] is None:
                    problems.append((f"signal.{key}", f"required when signal.model is {sig['model']!r}"))
            known = sig["pdg"] is not None and bool(self.particles.knows(np.array([sig["pdg"]]))[0])
            if sig["pdg"] is not None and sig["mass_gev"] is None and not known:
                problems.append(("signal.mass_gev", f"PDG id {sig['pdg']} is unknown: give mass_gev"))
        for s in self.samples:
            if self.config["cross_section_pb"] is None and (s.sigma_pb is None or s.sigma_pb <= 0):
                problems.append(
                    ("cross_section_pb", f"{s.path} gives no cross section: set cross_section_pb")
                )
        return problems

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "files": [str(s.path) for s in self.samples],
            "events_in_files": [s.n_events for s in self.samples],
            "sigma_pb_in_files": [s.sigma_pb for s in self.samples],
        }
        sig = self.config["signal"]
        if sig["model"] is not None and sig["pdg"] is not None:
            mass = sig["mass_gev"]
            if mass is None and self.particles.knows(np.array([sig["pdg"]]))[0]:
                mass = self.particles.info(sig["pdg"]).mass
            out.update(
                signal_model=sig["model"],
                x_pdg=int(sig["pdg"]),
                mass_gev=mass,
                coupling=sig["coupling"],
                decay=sig["decay"],
                sigma_is=f"sigma x BR(X -> {sig['decay']}) of the file(s)",
            )
        return out

    def _register_file_widths(self) -> None:
        """Widths written in a file (SLHA DECAY blocks) give the lifetime of card-defined
        particles that the card leaves without ctau and width (stable by default)."""
        for s in self.samples:
            for pdg, width in s.widths.items():
                if width <= 0 or not self.particles.is_registered(pdg):
                    continue
                info = self.particles.info(pdg)
                if np.isinf(info.ctau):
                    self.particles.register(pdg, info.name, mass=info.mass, width=width, charge=info.charge)

    def sigma_pb(self, sample: FileSample) -> float:
        if self.config["cross_section_pb"] is not None:
            return float(self.config["cross_section_pb"])
        if sample.sigma_pb is None or sample.sigma_pb <= 0:
            raise input_error(
                sample.path, "", "the file gives no cross section: set the process key cross_section_pb"
            )
        return sample.sigma_pb

    def file_sigma_err_nb(self) -> float:
        """Uncertainty of the sample's cross section from the files' own errors (nb).

        The run's cross section is the event-weighted mean of the files' sigma_f, so its
        error is sqrt(sum_f (n_f / N)^2 err_f^2); zero when the card sets ``cross_section_pb``.
        The run adds it in quadrature to the (usually negligible) spread of the event weights.
        """
        if self.config["cross_section_pb"] is not None:
            return 0.0
        n_tot = sum(s.n_events for s in self.samples)
        if n_tot == 0:
            return 0.0
        var = sum((s.n_events / n_tot * (s.sigma_err_pb or 0.0)) ** 2 for s in self.samples)
        return float(np.sqrt(var)) * PB_TO_NB

    def _locate(self, first: int, n: int) -> list[tuple[FileSample, int, int]]:
        """The (file, start, stop) pieces of the global event range first:first+n."""
        out = []
        base = 0
        for s in self.samples:
            a, b = max(first - base, 0), min(first + n - base, s.n_events)
            if a < b:
                out.append((s, a, b))
            base += s.n_events
        if sum(b - a for _, a, b in out) != n:
            msg = f"events {first}..{first + n} requested but the files hold {base}"
            raise ValueError(msg)
        return out

    def read_events(
        self, first_event: int, n_events: int, rng: np.random.Generator
    ) -> tuple[EventBatch, XsecTally]:
        """Events ``first_event : first_event + n_events`` of the concatenated files, in the
        card's lab frame, with normalised weights and the cross-section tally (nb)."""
        pieces = []
        tally = XsecTally()
        weights = []
        for sample, a, b in self._locate(first_event, n_events):
            raw = self.read_raw(sample, a, b)
            w = raw.weights / sample.weight_mean
            tally.add(self.sigma_pb(sample) * PB_TO_NB * w)
            weights.append(w)
            pieces.append(self._to_lab(raw, sample, a, rng))
        mc = Collection.concatenate(pieces) if len(pieces) > 1 else pieces[0]
        return EventBatch(n_events, {"weight": np.concatenate(weights)}, {"mc": mc}), tally

    def _frame_action(self, beams: np.ndarray, sample: FileSample, first: int) -> bool:
        """Check the CM energies; True when the events must be moved to the card's lab."""
        if self.beams is None:
            return False
        card_sqrt_s = self.beams.sqrt_s
        rel = np.abs(sqrt_s_of(beams) - card_sqrt_s) / card_sqrt_s
        bad = rel > self.config["sqrt_s_tolerance"]
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise input_error(
                sample.path,
                f"event {first + i}",
                f"CM energy {sqrt_s_of(beams[i : i + 1])[0]:.6g} GeV differs from the card's "
                f"{card_sqrt_s:.6g} GeV by more than sqrt_s_tolerance = {self.config['sqrt_s_tolerance']:g} "
                "(relative); generate the sample at the card's energy or pick the matching beam preset",
            )
        mode = self.config["frame"]
        if mode != "auto":
            return mode == "boost"
        her, ler = self.beams.nominal()
        nominal = np.stack([her[0], ler[0]])
        # same frame: beam directions within 1 mrad and energies within the tolerance
        dir_f = beams[:, :, :3] / np.linalg.norm(beams[:, :, :3], axis=2, keepdims=True)
        dir_c = nominal[:, :3] / np.linalg.norm(nominal[:, :3], axis=1, keepdims=True)
        cosang = np.sum(dir_f * dir_c, axis=2)
        erel = np.abs(beams[:, :, 3] - nominal[:, 3]) / nominal[:, 3]
        same = np.all(cosang > 1.0 - 5e-7, axis=1) & np.all(erel <= self.config["sqrt_s_tolerance"], axis=1)
        return not bool(np.all(same))

    def _to_lab(self, raw: RawRecord, sample: FileSample, first: int, rng: np.random.Generator) -> Collection:
        f = raw.fields
        counts = np.diff(raw.offsets)
        apply_unknown_id_rule(
            f["id"],
            f["status"],
            f["m"],
            raw.offsets,
            self.particles,
            self.config["unknown_ids"],
            sample.path,
            first,
        )
        beams = self.event_beams(raw, sample, first)
        boost = self._frame_action(np.asarray(beams), sample, first)
        p4 = np.stack([f["px"], f["py"], f["pz"], f["e"]], axis=1)
        x4 = np.stack([f["vx"], f["vy"], f["vz"], f["vt"] * C_CM_PER_NS], axis=1)  # (x, y, z, c t) in cm
        ev = np.repeat(np.arange(raw.n_events), counts)
        if boost:
            assert self.beams is not None
            flat = np.asarray(beams).reshape(raw.n_events, 8)
            if np.all(flat == flat[:1]):  # one frame for the whole chunk (the usual case)
                mats, which = frame_matrix(flat[:1].reshape(1, 2, 4), self.beams), np.zeros(len(ev), np.int64)
            else:
                uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
                mats, which = frame_matrix(uniq.reshape(-1, 2, 4), self.beams), inverse.reshape(-1)[ev]
            p4 = apply_matrix(mats, which, p4)
            if raw.has_vertices:
                # displacements from each event's primary vertex (that of its first particle)
                origin = x4[raw.offsets[:-1][counts > 0]]
                prim = np.zeros((raw.n_events, 4))
                prim[counts > 0] = origin
                x4 = apply_matrix(mats, which, x4 - prim[ev])
        if self.beams is not None and (boost or not raw.has_vertices):
            ip = self.beams.sample_vertices(raw.n_events, rng)
            ip[:, 3] *= C_CM_PER_NS
            x4 = x4 + ip[ev]
        d1, d2 = daughters_from_mothers(f["mother1"], f["mother2"], raw.offsets)
        out = {
            "id": f["id"],
            "status": f["status"],
            "mother1": f["mother1"],
            "mother2": f["mother2"],
            "daughter1": d1,
            "daughter2": d2,
            "px": p4[:, 0],
            "py": p4[:, 1],
            "pz": p4[:, 2],
            "e": p4[:, 3],
            "m": f["m"],
            "vx": x4[:, 0],
            "vy": x4[:, 1],
            "vz": x4[:, 2],
            "vt": x4[:, 3] / C_CM_PER_NS if (boost or not raw.has_vertices) else f["vt"],
            "lifetime": f["lifetime"],
        }
        fields = {k: np.ascontiguousarray(out[k], dtype=dt) for k, dt in MC_FIELDS.items()}
        return Collection(fields, raw.offsets - raw.offsets[0])


def beams_first_order(status: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    """A stable permutation putting each event's beams (status 4) first; None if they are."""
    is_beam = status == STATUS_BEAM
    ev = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    order = np.lexsort((np.arange(len(status)), ~is_beam, ev))
    if np.array_equal(order, np.arange(len(status))):
        return None
    return order
