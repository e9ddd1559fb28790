"""LHE (Les Houches Event) files as a fastsim process: ``generator: lhe``.

Format: the Les Houches Event File standard, J. Alwall et al., hep-ph/0609017 (and its
version 3 additions, arXiv:1405.1067 sec. 3).  ``<init>``: IDBMUP(1,2) (beam PDG ids),
EBMUP(1,2) (beam energies, GeV; beam 1 along +z), IDWTUP, NPRUP, then one line per
process with XSECUP (pb), XERRUP, XMAXUP, LPRUP.  ``<event>``: a line NUP IDPRUP XWGTUP
SCALUP AQEDUP AQCDUP, then NUP lines IDUP ISTUP MOTHUP(1,2) ICOLUP(1,2) PUP(1..5) VTIMUP
SPINUP (momenta and mass in GeV, MOTHUP 1-based, VTIMUP = c*tau in mm), then optional
``#`` comments and tags (weights, scales).

Reading: the ``<init>`` block and the header are read with pylhe; the events are parsed
by fastsim's own vectorised reader, because a run reads disjoint event ranges in
several processes and needs random access, and because a bad event must be reported
with its number and line.  A file is indexed once per process, streaming it in blocks of
4 MiB (the byte offset of every ``<event``, 8 bytes per event and nothing else per event,
the event count and the sum of the nominal weights; cached by path, size and modification
time); a chunk is then one read of its byte range (``os.pread``, no memory map), split
per event with bytes methods and converted to numbers with one numpy call (no
per-particle Python).
Plain and gzip-compressed files are read (gzip: detected by its magic bytes).

Status codes (ISTUP -> fastsim/HepMC3): -1 incoming and -9 incoming beam -> 4 (beam);
1 outgoing -> 1 (final); 2 intermediate resonance -> 2 (decayed); -2 (space-like
propagator) and 3 (documentation) -> 3.  Particles with status 1 that are unstable (tau,
pi0, K0S, the card's long-lived particles) are decayed by fastsim's decay engine; a
non-zero VTIMUP is kept in the ``lifetime`` field (cm).

Units: GeV, cm, ns; cross sections in pb in the file, nb in fastsim.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fastsim.events import STATUS_BEAM, STATUS_DECAYED, STATUS_FINAL
from fastsim.external.common import (
    COMMON_PARAMS,
    MM_TO_CM,
    RAW_FIELDS,
    ExternalGenerator,
    FileSample,
    RawRecord,
    collinear_beams,
    file_key,
    input_error,
    line_number,
    read_file_range,
)
from fastsim.io import FileFormatError
from fastsim.schema import Field

__all__ = ["LHEGenerator", "LHEIndex", "index_lhe", "raw_from_lhe_columns", "read_lhe_range"]

# ISTUP -> fastsim status (see the module docstring)
ISTUP_TO_STATUS = {-1: STATUS_BEAM, -9: STATUS_BEAM, 1: STATUS_FINAL, 2: STATUS_DECAYED, -2: 3, 3: 3}
_N_COLUMNS = 13  # IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 PX PY PZ E M VTIMUP SPINUP
_DECAY_LINE = re.compile(rb"^\s*DECAY\s+(-?\d+)\s+([-+0-9.eEdD]+)", re.MULTILINE)
_BLOCK = 1 << 22  # bytes per read while indexing (transient memory: a few blocks)


class LHEIndex:
    """Byte layout of an LHE file: offsets of each ``<event`` and the end of the last one
    (the only per-event data kept: 8 bytes per event)."""

    def __init__(self, path: Path, starts: np.ndarray, end: int, gz: bool) -> None:
        self.path = path
        self.starts = starts
        self.end = end
        self.gz = gz


_INDEX: dict[tuple[str, int, int], tuple[LHEIndex, FileSample]] = {}
_OPEN: dict[str, Any] = {}  # per-process open handles (plain file or GzipFile)
_EVENT_INFO = re.compile(rb"<event(?:\s[^>]*)?>\s*([^\n]*)")  # the info line after each <event>


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"  # RFC 1952 sec. 2.3.1


def _opener(idx: LHEIndex) -> Any:
    return gzip.open if idx.gz else None


def _event_opens(part: bytes) -> np.ndarray:
    """Offsets of the ``<event`` tags (followed by whitespace or ``>``) in ``part``, vectorised."""
    raw = np.frombuffer(part, np.uint8)
    cand = np.flatnonzero(raw == ord("<"))
    cand = cand[cand + 6 < len(raw)]
    for k, ch in enumerate(b"event", start=1):
        cand = cand[raw[cand + k] == ch]
    nxt = raw[cand + 6]
    return cand[(nxt == ord(">")) | (nxt == 32) | (nxt == 9) | (nxt == 10) | (nxt == 13)]


def _scan(path: Path, part: bytes, base: int, lines: int, first: int) -> tuple[np.ndarray, float]:
    """Offsets (shifted by ``base``) of the ``<event`` tags in ``part`` (which holds whole
    events) and the sum of their nominal weights XWGTUP; the info lines are converted with
    one numpy call.  ``lines``: newlines before ``part``; ``first``: index of its first event."""
    offs = _event_opens(part)
    infos = _EVENT_INFO.findall(part)
    if len(infos) != len(offs):  # a tag the pattern does not take: one match per tag
        infos = [m.group(1) if m else b"" for m in (_EVENT_INFO.match(part, int(o)) for o in offs)]
    n = len(offs)
    try:
        info = np.array(b" ".join(infos).split(), dtype=np.float64).reshape(n, 6)
        ok = bool(np.all(np.isfinite(info)))
    except ValueError:
        ok = False
    if not ok:
        for i, line in enumerate(infos):
            fields = line.split()
            try:
                good = len(fields) == 6 and all(np.isfinite(float(f)) for f in fields)
            except ValueError:
                good = False
            if not good:
                q = int(offs[i])
                nl = part.find(b"\n", q)  # the info line follows the tag's line (or shares it)
                same = part[part.find(b">", q) + 1 : nl if nl >= 0 else len(part)].strip()
                line_no = lines + part.count(b"\n", 0, q) + 1 + (0 if same else 1)
                raise input_error(
                    path,
                    f"event {first + i} (line {line_no})",
                    f"malformed event information line {line[:80]!r}",
                )
    return offs.astype(np.int64) + base, float(np.sum(info[:, 2]))


def index_lhe(path: str | Path) -> tuple[LHEIndex, FileSample]:
    """Index an LHE file (cached per process): event offsets, count, mean weight, init block.

    The file (plain or gzip) is read once in blocks of 4 MiB; only the 8-byte offset of
    each event is kept, so memory does not grow with the file.  Raises
    :class:`~fastsim.io.FileFormatError` naming the file and the event and line for a
    missing ``<init>``, a truncated file (no ``</LesHouchesEvents>`` or an unclosed event)
    or a malformed event information line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such file")
    key = file_key(path)
    if key in _INDEX:
        return _INDEX[key]
    if path.stat().st_size == 0:
        raise input_error(path, "", "empty file")
    gz = _is_gzip(path)
    starts: list[np.ndarray] = []
    n = 0
    sum_w = 0.0
    head: bytes | None = None
    n_close = 0
    tail = b""
    total = 0
    carry = b""
    lines = 0  # newlines before the current part
    last_line = 1  # line of the last <event> tag (truncated files)
    with (gzip.open if gz else open)(path, "rb") as f:
        while True:
            try:
                block = f.read(_BLOCK)
            except (EOFError, OSError) as exc:
                raise input_error(path, "", f"truncated or corrupt gzip stream ({exc})") from None
            data = carry + block
            base = total - len(carry)  # uncompressed offset of data[0]
            total += len(block)
            tail = (tail + block)[-4096:]
            # scan whole events only: cut after the last closing tag
            cut = data.rfind(b"</event>") + len(b"</event>") if block else len(data)
            if block and cut < len(b"</event>"):
                carry = data
                continue
            part = data[:cut]
            if head is None:
                first = part.find(b"<event")
                head = part[: first if first >= 0 else len(part)]
                if b"<LesHouchesEvents" not in head:
                    raise input_error(path, "line 1", "not an LHE file (no <LesHouchesEvents> tag)")
            offs, w = _scan(path, part, base, lines, n)
            if len(offs):
                starts.append(offs)
                n += len(offs)
                sum_w += w
                last_line = lines + part.count(b"\n", 0, int(offs[-1]) - base) + 1
            n_close += part.count(b"</event>")
            lines += part.count(b"\n")
            carry = data[cut:]
            if not block:
                break
    head = head or b""
    offsets = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    if b"<init" not in head:
        raise input_error(path, "", "no <init> block before the first event")
    if n_close != n or b"</LesHouchesEvents>" not in tail:
        where = f"event {n - 1} (line {last_line})" if n else ""
        raise input_error(
            path,
            where,
            f"truncated file: {n} events opened, {n_close} closed, "
            + ("no" if b"</LesHouchesEvents>" not in tail else "a")
            + " closing </LesHouchesEvents> tag",
        )
    sample = _init_block(path, head, n, sum_w / n if n else 1.0)
    idx = LHEIndex(path, offsets, total, gz)
    _INDEX[key] = (idx, sample)
    return idx, sample


def sample_from_init(
    path: Path, init: Any, n: int, weight_mean: float, widths: dict[int, float]
) -> FileSample:
    """FileSample from a pylhe ``LHEInit`` (beams, cross section) and the mean event weight."""
    ii = init.initInfo
    beams = collinear_beams(int(ii.beamA), int(ii.beamB), float(ii.energyA), float(ii.energyB), path)
    sigma = float(sum(p.xSection for p in init.procInfo))
    mean_w = float(weight_mean) if n else 1.0
    if not sigma > 0 and abs(int(ii.weightingStrategy)) == 4 and mean_w > 0:
        sigma = mean_w  # IDWTUP = +-4: the mean event weight is the cross section (pb)
    if n and not (mean_w > 0 and np.isfinite(mean_w)):
        raise input_error(path, "", f"mean event weight {mean_w:g} is not finite and positive")
    err = float(np.sqrt(sum(float(p.error) ** 2 for p in init.procInfo)))
    if not (np.isfinite(sigma) and np.isfinite(err)):
        raise input_error(path, "<init>", f"cross section {sigma:g} +- {err:g} pb is not finite")
    return FileSample(path, n, sigma if sigma > 0 else None, mean_w, beams, widths, err if err > 0 else None)


def _init_block(path: Path, head: bytes, n: int, weight_mean: float) -> FileSample:
    """Beams, cross section and widths from the header and ``<init>`` (read with pylhe)."""
    import io
    import warnings

    import pylhe

    text = bytes(head) + b"</LesHouchesEvents>\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            lhef = pylhe.LHEFile.frombuffer(io.BytesIO(text))
            init = lhef.init
            events = lhef.events
            if hasattr(events, "close"):
                events.close()
        except Exception as exc:  # noqa: BLE001 - pylhe raises ValueError, IndexError, ParseError ...
            raise input_error(path, "<init>", f"unreadable header or <init> block ({exc})") from None
    widths = {
        int(m.group(1)): float(m.group(2).replace(b"D", b"E").replace(b"d", b"e"))
        for m in _DECAY_LINE.finditer(head)
    }
    return sample_from_init(path, init, n, weight_mean, widths)


def read_lhe_range(path: str | Path, start: int, stop: int) -> RawRecord:
    """Events ``start:stop`` of an LHE file as a raw record (file frame, GeV, cm).

    Errors (:class:`~fastsim.io.FileFormatError`) name the file, the event (0-based) and
    the line: wrong number of particle lines or columns, non-numeric entries, unknown
    status codes, mother indices outside the event.
    """
    idx, _ = index_lhe(path)
    path = idx.path
    stop = min(stop, len(idx.starts))
    n = stop - start
    a = int(idx.starts[start])
    b = int(idx.starts[stop]) if stop < len(idx.starts) else idx.end
    block = read_file_range(_OPEN, idx.path, a, b, _opener(idx))
    pieces = block.split(b"</event>")[:n]
    heads = []
    bodies = []
    counts = np.empty(n, np.int64)
    for i, piece in enumerate(pieces):
        body = piece[piece.find(b">") + 1 :].lstrip()
        head, _, rest = body.partition(b"\n")
        heads.append(head)
        try:
            nup = int(head.split(None, 1)[0])
        except (ValueError, IndexError):
            raise _event_error(idx, start + i, 1, f"malformed event information line {head[:80]!r}") from None
        if nup < 0:
            raise _event_error(idx, start + i, 1, f"negative particle count NUP = {nup}")
        lines = rest.split(b"\n", nup)
        if len(lines) < nup or (nup and not lines[nup - 1].strip()):
            raise _event_error(idx, start + i, 2, f"{nup} particles declared, fewer lines found")
        counts[i] = nup
        bodies.append(b"\n".join(lines[:nup]))
    text = b"\n".join(bodies)
    if b"D" in text or b"d" in text:  # Fortran double-precision exponents
        text = text.replace(b"D", b"E").replace(b"d", b"e")
    total = int(counts.sum())
    try:
        vals = np.array(text.split(), dtype=np.float64)
    except ValueError:
        vals = None
    if vals is None or len(vals) != total * _N_COLUMNS:
        _locate_bad_line(idx, start, bodies)
    assert vals is not None
    cols = vals.reshape(total, _N_COLUMNS)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    weights = np.array(b" ".join(heads).split(), dtype=np.float64).reshape(n, -1)[:, 2] if n else np.zeros(0)

    def fail(ev: int, j: int, reason: str) -> FileFormatError:
        return _event_error(idx, start + ev, 2 + j - int(offsets[ev]), reason)

    return raw_from_lhe_columns(cols, offsets, weights, fail)


def raw_from_lhe_columns(cols: np.ndarray, offsets: np.ndarray, weights: np.ndarray, fail: Any) -> RawRecord:
    """Raw record from the 13 LHE particle columns (rows of all events, ``offsets``).

    Shared by the LHE and LHEH5 readers.  ``fail(event, row, reason)`` builds the error
    for a bad row (unknown ISTUP, mother index outside its event).
    """
    total = len(cols)
    counts = np.diff(offsets)
    # every entry finite, and the integer columns (IDUP ISTUP MOTHUP ICOLUP) integers of 32 bits
    ints = cols[:, :6]
    bad_row = ~np.isfinite(cols).all(axis=1)
    bad_row |= ((ints != np.round(ints)) | (np.abs(ints) > 2**31 - 1)).any(axis=1)
    if np.any(bad_row):
        j = int(np.flatnonzero(bad_row)[0])
        ev = int(np.searchsorted(offsets, j, side="right") - 1)
        raise fail(ev, j, "non-finite number, or a non-integer in an integer column")
    if not np.isfinite(weights).all():
        ev = int(np.flatnonzero(~np.isfinite(weights))[0])
        raise fail(ev, int(offsets[ev]) - 1, "non-finite event weight")
    istup = cols[:, 1].astype(np.int64)
    status = np.full(total, -99, np.int32)
    for code, st in ISTUP_TO_STATUS.items():
        status[istup == code] = st
    bad = status == -99
    m1 = cols[:, 2].astype(np.int64) - 1
    m2 = cols[:, 3].astype(np.int64) - 1
    counts_rep = np.repeat(counts, counts)
    bad_mother = (m1 >= counts_rep) | (m2 >= counts_rep)
    if np.any(bad) or np.any(bad_mother):
        j = int(np.flatnonzero(bad | bad_mother)[0])
        ev = int(np.searchsorted(offsets, j, side="right") - 1)
        what = (
            f"unknown status ISTUP = {istup[j]}"
            if bad[j]
            else f"mother index outside the event ({m1[j] + 1}, {m2[j] + 1})"
        )
        raise fail(ev, j, what)
    m2 = np.where(m2 == m1, -1, m2)
    zeros = np.zeros(total)
    fields = {
        "id": cols[:, 0].astype(np.int32),
        "status": status,
        "mother1": np.maximum(m1, -1).astype(np.int32),
        "mother2": np.maximum(m2, -1).astype(np.int32),
        "px": np.ascontiguousarray(cols[:, 6]),
        "py": np.ascontiguousarray(cols[:, 7]),
        "pz": np.ascontiguousarray(cols[:, 8]),
        "e": np.ascontiguousarray(cols[:, 9]),
        "m": np.ascontiguousarray(cols[:, 10]),
        "vx": zeros,
        "vy": zeros,
        "vz": zeros,
        "vt": zeros,
        "lifetime": cols[:, 11] * MM_TO_CM,
    }
    assert list(fields) == RAW_FIELDS
    return RawRecord(fields, offsets, np.asarray(weights, np.float64), has_vertices=False)


def _event_error(idx: LHEIndex, event: int, line_in_event: int, reason: str) -> FileFormatError:
    # the <event> tag line, then the info line, then the particle lines
    line = line_number(idx.path, int(idx.starts[event]), _opener(idx)) + line_in_event
    return input_error(idx.path, f"event {event} (line {line})", reason)


def _locate_bad_line(idx: LHEIndex, start: int, bodies: list[bytes]) -> None:
    """Slow path after a failed vectorised parse: find and report the first bad line."""
    for i, body in enumerate(bodies):
        for j, line in enumerate(body.split(b"\n")):
            parts = line.replace(b"D", b"E").replace(b"d", b"e").split()
            try:
                ok = len(parts) == _N_COLUMNS and all(np.isfinite(np.array(parts, dtype=np.float64)))
            except ValueError:
                ok = False
            if not ok:
                raise _event_error(idx, start + i, 2 + j, f"malformed particle line {line[:100]!r}")
    raise _event_error(idx, start, 0, "malformed event block")


class LHEGenerator(ExternalGenerator):
    name = "lhe"
    doc = "events read from Les Houches Event files (plain or gzipped), moved to the card's lab frame"
    params: ClassVar[dict[str, Field]] = dict(COMMON_PARAMS)

    @classmethod
    def index(cls, path: Path) -> FileSample:
        return index_lhe(path)[1]

    def read_raw(self, sample: FileSample, start: int, stop: int) -> RawRecord:
        return read_lhe_range(sample.path, start, stop)
