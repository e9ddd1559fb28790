"""HepMC event files as a fastsim process: ``generator: hepmc``.

Formats: HepMC3 ASCII (A. Buckley et al., "The HepMC3 event record library for Monte
Carlo event generators", Comput. Phys. Commun. 260 (2021) 107310, arXiv:1912.08005,
sec. 4 "ASCII format") and HepMC2 ASCII (IO_GenEvent), plain or compressed (.gz, .bz2,
.xz), parsed by pyhepmc (the HepMC3 C++ readers).  Particles and vertices are taken from
pyhepmc's ``GenEventData`` (numpy structured arrays), so the conversion is vectorised
over a whole chunk; no per-particle Python.

Conventions (HepMC3 manual and CPC paper, sec. 3):
* status codes are kept: 1 undecayed final state, 2 decayed, 4 beam, 3 documentation,
  11-200 generator specific.  Status-1 unstable particles (tau, pi0, K0S, long-lived new
  particles) are decayed by fastsim's decay engine.
* every particle has a production vertex except the beams; mothers are the incoming
  particles of the production vertex (stored as the index range min..max), daughters are
  derived from the mothers.  A particle's position is its production vertex's (beams:
  their end vertex's).  A vertex without a position takes that of its parent vertex, the
  root vertex that of the event (``event_pos``).  Existing displaced vertices are kept.
* units: each event states its momentum (MeV or GeV) and length (mm or cm) units;
  fastsim converts to GeV and cm.  A vertex's time is c*t in length units -> ns.
* for a particle with an end vertex, ``lifetime`` = proper decay distance
  c * (t_end - t_prod) * m / E (cm).
* event weight: the first weight of the event (1 when none; HepMC3: the ``W`` line,
  HepMC2: the weight list closing the ``E`` line); cross section: the ``GenCrossSection``
  attribute (HepMC2: ``C`` line) of the file's last event (pb) with its error, the best
  running estimate of generators that write one per event (Pythia), or the card's
  ``cross_section_pb``.

A file is indexed once per process, streaming it in blocks of 4 MiB: the offsets of the
``E`` lines (8 bytes per event, nothing else per event), the event count, the sum of the
first weights and the last cross section.  A chunk reads only its byte range and takes
declared vertex and particle counts, units, weights and HepMC3 event positions from its
own ``E``/``U``/``W`` lines, so memory does not grow with the file.

Bad input (FileFormatError naming file, event and line): truncated files (no footer),
malformed ``E``/``U``/``W`` lines, particle or vertex lines with bytes that are not part
of numbers (HepMC3's reader would silently read ``2.9x5`` as 2.9) or, HepMC3, without
their 9 fields, events the C++ reader refuses (its message, which it prints on
stdout/stderr, is captured and becomes the reason: nothing else reaches the terminal),
particle/vertex counts differing from the ``E`` line.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fastsim.constants import C_CM_PER_NS
from fastsim.external.common import (
    COMMON_PARAMS,
    RAW_FIELDS,
    ExternalGenerator,
    FileSample,
    QuietC,
    RawRecord,
    beams_first_order,
    file_key,
    input_error,
    line_number,
    read_file_range,
)
from fastsim.io import FileFormatError
from fastsim.schema import Field

__all__ = ["HepMCGenerator", "HepMCIndex", "index_hepmc", "read_hepmc_range"]

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_FOOTERS = (b"HepMC::Asciiv3-END_EVENT_LISTING", b"HepMC::IO_GenEvent-END_EVENT_LISTING")
_BLOCK = 1 << 22  # bytes per read while indexing (transient memory: a few blocks)
_SUB_EVENTS = 2048  # events per pyhepmc pass when reading a chunk
MEV_TO_GEV = 1e-3
MM_TO_CM = 0.1


class HepMCIndex:
    """Byte layout of a (decompressed) HepMC file: header bytes, event offsets, end of events.

    The only per-event data kept is ``starts`` (the byte offset of each ``E`` line, 8 bytes
    per event); declared counts, units, weights and event positions are read again from a
    chunk's own ``E``/``U``/``W`` lines when the chunk is read."""

    def __init__(self, path: Path, header: bytes, starts: np.ndarray, end: int, hepmc2: bool) -> None:
        self.path = path
        self.header = header
        self.starts = starts
        self.end = end
        self.opener = _OPENERS.get(path.suffix)
        self.hepmc3 = b"Asciiv3" in header
        self.hepmc2 = hepmc2


_INDEX: dict[tuple[str, int, int], tuple[HepMCIndex, FileSample]] = {}
_OPEN: dict[str, Any] = {}  # per-process open handles (plain or decompressing)


# an event's first lines: E (number, vertices, particles), optional U (units), W (weights);
# the literal prefix makes the search run at C speed
_EVENT_HEAD = re.compile(rb"\nE (\S+) (\S+) (\S+)([^\n]*)(?:\nN [^\n]*)?(?:\nU (\w+) (\w+))?(?:\nW (\S+))?")


# byte classes of particle (P) and vertex (V) lines, as byte weights summed per line:
# numbers and separators 0 (and, for the HepMC3 field count, a space 1), the "[],@" of
# HepMC3 vertex lines (incoming list, position) 16, anything else (the line's letter) 255
def _class_table(space: int) -> bytes:
    tab = bytearray([255] * 256)
    for c in b"0123456789+-.eE\r\n":
        tab[c] = 0
    tab[32] = space
    for c in b"[],@":
        tab[c] = 16
    return bytes(tab)


_CLASS3 = _class_table(1)  # HepMC3: a valid P line sums to 255 + 9 spaces
_CLASS2 = _class_table(0)  # HepMC2 (variable field counts): a valid P line sums to 255
_P_OK = {True: 255 + 9, False: 255}
_V_CHARS = b"0123456789+-.eE \r[],@"


class _Heads:
    """Per-event numbers of the ``E`` (and ``U``, ``W``) lines of a block of events.

    ``data`` starts with a newline or a header that ends with one; ``line_of(q)`` gives the
    file line of ``data[q]`` and
    ``first`` the file's index of the block's first event (error messages)."""

    def __init__(
        self, data: bytes, hepmc2: bool, path: Path, first: int, line_of: Callable[[int], int] | None
    ) -> None:
        heads = _EVENT_HEAD.findall(data)
        raw = np.frombuffer(data, np.uint8)
        nl = np.flatnonzero(raw == 10)
        self.newlines = nl
        nl = nl[nl + 2 < len(raw)]
        starts = nl[(raw[nl + 1] == 69) & (raw[nl + 2] == 32)] + 1  # "\nE "
        del raw
        self.path, self.first, self.line_of = path, first, line_of
        if len(starts) != len(heads):  # an E line the pattern rejects
            good = {m.start() + 1 for m in _EVENT_HEAD.finditer(data)}
            i = next(k for k, q in enumerate(starts.tolist()) if q not in good)
            raise self.error(i, int(starts[i]), f"malformed event line {self.line(data, int(starts[i]))!r}")
        self.starts = starts  # offsets in data of the E lines
        n = len(heads)
        if not n:
            self.nv = self.np = np.zeros(0, np.int64)
            self.weights = np.zeros(0)
            self.gev_cm = np.ones((0, 2), bool)
            self.event_pos = np.zeros((0, 4))
            return
        _, nv, npart, rest, u_mom, u_len, w = (np.array(c) for c in zip(*heads, strict=True))
        if hepmc2:  # IO_GenEvent: other fields there (declared counts not used)
            self.nv = self.np = np.full(n, -1, np.int64)
        else:
            self.nv = self._ints(data, nv, "vertex count")
            self.np = self._ints(data, npart, "particle count")
        bad_u = ~np.isin(u_mom, [b"", b"GEV", b"MEV"]) | ~np.isin(u_len, [b"", b"MM", b"CM"])
        if np.any(bad_u):
            i = int(np.flatnonzero(bad_u)[0])
            raise self.error(i, int(starts[i]), f"unknown units {u_mom[i]!r} {u_len[i]!r} (GEV/MEV, MM/CM)")
        self.gev_cm = np.stack([u_mom != b"MEV", u_len == b"CM"], axis=1)
        if hepmc2:  # the weights close the E line
            w = np.array([_hepmc2_first_weight(r) for r in rest.tolist()])
        w = np.where(w == b"", b"1", w)
        try:
            self.weights = w.astype(np.float64)
        except ValueError:
            i = next(k for k, x in enumerate(w.tolist()) if not _is_float(x))
            raise self.error(i, int(starts[i]), f"malformed event weight {w[i]!r}") from None
        self.event_pos = np.zeros((n, 4))  # HepMC3 '@ x y z t' closing the E line (file units)
        at = np.flatnonzero(np.char.find(rest, b"@") >= 0) if not hepmc2 else np.zeros(0, np.int64)
        for i in at.tolist():  # events with a position (rare)
            text = rest[i].split(b"@")[1]
            try:
                self.event_pos[i] = np.array(text.split(), np.float64)
            except ValueError:
                raise self.error(i, int(starts[i]), f"malformed event position {text!r}") from None
        if not np.all(np.isfinite(self.weights)):
            i = int(np.flatnonzero(~np.isfinite(self.weights))[0])
            raise self.error(i, int(starts[i]), f"non-finite event weight {w[i]!r}")

    @staticmethod
    def line(data: bytes, q: int) -> bytes:
        end = data.find(b"\n", q)
        return data[q : end if end >= 0 else len(data)][:100]

    def error(self, i: int, q: int, reason: str) -> FileFormatError:
        where = f"event {self.first + i}"
        if self.line_of is not None:
            where += f" (line {self.line_of(q)})"
        return input_error(self.path, where, reason)

    def _ints(self, data: bytes, col: np.ndarray, what: str) -> np.ndarray:
        try:
            return col.astype(np.int64)
        except ValueError:
            i = next(k for k, x in enumerate(col.tolist()) if not x.lstrip(b"-").isdigit())
            raise self.error(i, int(self.starts[i]), f"malformed {what} {col[i]!r}") from None


def _is_float(x: bytes) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True


def _scan(data: bytes, base: int, out: dict[str, Any], line_of: Callable[[int], int]) -> None:
    """Event offsets, count and sum of first weights of the events in ``data`` (which
    starts with the newline before a line), and the last cross section seen.

    The event heads are matched by one ``findall`` (no per-event Python objects are kept)
    and their offsets found with numpy; only the offsets are kept (``base``: file offset
    of ``data[0]``)."""
    heads = _Heads(data, out["hepmc2"], out["path"], out["n"], line_of)
    if len(heads.starts):
        out["starts"].append(heads.starts.astype(np.int64) + base)
        out["n"] += len(heads.starts)
        out["sum_w"] += float(np.sum(heads.weights))
    key = b"\nC " if out["hepmc2"] else b"\nA 0 GenCrossSection "  # HepMC2 line, HepMC3 attribute (pb)
    pos = data.rfind(key)
    if pos >= 0:
        end = data.find(b"\n", pos + 1)
        line = bytes(data[pos + len(key) : end if end >= 0 else len(data)]).split()
        out["xsec"] = line[0] if line else b"nan"
        out["xsec_err"] = line[1] if len(line) > 1 else None


def _hepmc2_first_weight(rest: bytes) -> bytes:
    """First weight of a HepMC2 ``E`` line, given the fields after the event scale:
    alpha_QCD alpha_QED signal-id signal-vertex n-vertices beam1 beam2 n-random [random...]
    n-weights [weights...] (HepMC 2 user manual, IO_GenEvent format); b"" when none."""
    tok = rest.split()
    try:
        k = 8 + int(tok[7])
        return tok[k + 1] if int(tok[k]) > 0 else b""
    except (IndexError, ValueError):
        return b"?"  # reported as a malformed weight


def _check_header(path: Path, header: bytes) -> None:
    if not (header.startswith(b"HepMC::Version") or b"START_EVENT_LISTING" in header):
        raise input_error(
            path, "line 1", "not a HepMC ASCII file (no HepMC::Version / START_EVENT_LISTING header)"
        )


def index_hepmc(path: str | Path) -> tuple[HepMCIndex, FileSample]:
    """Index a HepMC file (cached per process): event offsets, event count, mean weight,
    the last cross section.  The file is read once in blocks of 4 MiB (plain or
    decompressed), so memory does not grow with the file beyond the 8-byte offset per
    event.  Errors name the file and the event and line."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such file")
    key = file_key(path)
    if key in _INDEX:
        return _INDEX[key]
    opener = _OPENERS.get(path.suffix)
    if opener is None and path.stat().st_size == 0:
        raise input_error(path, "", "empty file")
    out: dict[str, Any] = {"path": path, "starts": [], "n": 0, "sum_w": 0.0, "xsec": None, "xsec_err": None}
    header: bytes | None = None
    tail = b""
    total = 0
    carry = b""
    lines = 0  # newlines before the current part
    try:
        with (opener or open)(path, "rb") as f:
            while True:
                block = f.read(_BLOCK)
                data = carry + block
                base = total - len(carry)  # file offset of data[0]
                total += len(block)
                tail = (tail + block)[-200:]
                # scan whole events only: cut before the last event line
                cut = data.rfind(b"\nE ") + 1 if block else len(data)
                if block and cut <= 0:
                    carry = data
                    continue
                part = data[:cut]
                if header is None:
                    first = data.find(b"\nE ")
                    if first >= 0 or not block:
                        header = data[: first + 1] if first >= 0 else data
                        _check_header(path, header)
                        out["hepmc2"] = b"IO_GenEvent" in data[:4096]

                def line_of(q: int, part: bytes = part, lines: int = lines) -> int:
                    return lines + part.count(b"\n", 0, max(q - 1, 0)) + 1

                if header is not None:
                    _scan(b"\n" + part, base - 1, out, line_of)  # the pattern wants the newline before E
                lines += part.count(b"\n")
                carry = data[cut:]
                if not block:
                    break
    except (EOFError, OSError, lzma.LZMAError) as exc:
        raise input_error(path, "", f"truncated or corrupt compressed stream ({exc})") from None
    assert header is not None
    n = out["n"]
    footer = next((f for f in _FOOTERS if f in tail), None)
    if footer is None:
        raise input_error(
            path,
            f"event {n - 1}" if n else "",
            "truncated file: no END_EVENT_LISTING footer (the last event may be incomplete)",
        )
    end = total - (len(tail) - tail.rfind(footer))
    mean_w = out["sum_w"] / n if n else 1.0
    if n and not (mean_w > 0 and np.isfinite(mean_w)):
        raise input_error(path, "", f"mean event weight {mean_w:g} is not finite and positive")
    sigma = sigma_err = None
    if out["xsec"] is not None:
        try:
            sigma = float(out["xsec"])
            sigma_err = float(out["xsec_err"]) if out["xsec_err"] is not None else None
        except ValueError:
            raise input_error(path, "", f"malformed cross section {out['xsec']!r}") from None
        if not (np.isfinite(sigma) and (sigma_err is None or np.isfinite(sigma_err))):
            raise input_error(path, "", f"non-finite cross section {sigma:g} +- {sigma_err} pb")
    starts = np.concatenate(out["starts"]) if out["starts"] else np.zeros(0, np.int64)
    idx = HepMCIndex(path, header, starts, end, out["hepmc2"])
    sample = FileSample(path, n, sigma, mean_w, None, sigma_err_pb=sigma_err)
    _INDEX[key] = (idx, sample)
    return idx, sample


def _check_numbers(data: bytes, heads: _Heads, hepmc3: bool) -> None:
    """Refuse particle (P) and vertex (V) lines holding bytes that cannot be part of
    numbers or separators (a flipped bit: HepMC3's reader would read ``2.9x5`` as 2.9) and
    HepMC3 particle lines without their 9 fields.  Vectorised over the chunk's bytes
    (``data``: the header, ending with a newline, then the events): one ``bytes.translate``
    to byte classes (:func:`_class_table`) and one sum per line."""
    nl = heads.newlines
    ls = nl + 1  # line starts
    ls = ls[ls < len(data)]
    if not len(ls):
        return
    raw = np.frombuffer(data, np.uint8)
    kind = raw[ls]
    weight = np.frombuffer(data.translate(_CLASS3 if hepmc3 else _CLASS2), np.uint8)
    total = np.add.reduceat(weight, ls, dtype=np.int32)  # per line, its newline included (0)
    is_p, is_v = kind == ord("P"), kind == ord("V")
    bad_p = is_p & (total != _P_OK[hepmc3])
    # V lines: the letter (255) plus "[],@" and spaces, unless a second byte of class 255
    bad_v = is_v & (total >= 2 * 255)
    for i in np.flatnonzero(bad_v).tolist():  # long incoming lists pass; anything else is bad
        a = int(ls[i])
        end = data.find(b"\n", a)
        if not data[a + 1 : end if end >= 0 else len(data)].translate(None, _V_CHARS):
            bad_v[i] = False
    bad = np.flatnonzero(bad_p | bad_v)
    if len(bad):
        q = int(ls[bad[0]])
        i = int(np.searchsorted(heads.starts, q, side="right") - 1)
        what = "particle" if raw[q] == ord("P") else "vertex"
        raise heads.error(max(i, 0), q, f"malformed {what} line {_Heads.line(data, q)!r}")


_P_IDS = re.compile(rb"\nP (\S+) (\S+) ")  # particle id, mother (vertex < 0, particle > 0, 0 root)
_V_IDS = re.compile(rb"\nV (\S+) \S+ \[([^\]\n]*)\]")  # vertex id, incoming particle ids


def _is_small_int(x: bytes) -> bool:
    try:
        return abs(int(x)) < 2**62
    except ValueError:
        return False


def _check_ids(data: bytes, heads: _Heads) -> None:
    """HepMC3: refuse events whose ids HepMC3's ``ReaderAscii`` would use without bounds
    checks (a segfault, or worse, found by the fuzz tests): a vertex line's id outside
    -1..-n_vertices or an incoming particle id above n_particles; particle ids that are not
    1..n_particles once each, mothers outside -n_vertices..n_particles; declared counts
    that do not match the lines (the reader allocates them); more vertex-id gaps than
    implicit vertices to fill them (the reader then reads past its list).  Vectorised over
    the block (``data``: the header, ending with a newline, then the events)."""
    nl = heads.newlines
    ls = nl + 1
    ls = ls[ls < len(data)]
    kind = np.frombuffer(data, np.uint8)[ls]
    p_at, v_at = ls[kind == ord("P")], ls[kind == ord("V")]
    n = len(heads.starts)

    def fail(q: int, reason: str) -> FileFormatError:
        i = int(np.searchsorted(heads.starts, q, side="right") - 1)
        return heads.error(max(i, 0), q, reason)

    def ints(fields: list[bytes], at: np.ndarray, what: str) -> np.ndarray:
        try:
            return np.array(fields, dtype=np.int64) if fields else np.zeros(0, np.int64)
        except (ValueError, OverflowError):
            k = next(k for k, x in enumerate(fields) if not _is_small_int(x))
            raise fail(int(at[k]), f"malformed {what} {fields[k][:40]!r}") from None

    p_fields = _P_IDS.findall(data)
    v_fields = _V_IDS.findall(data)
    for at, found, what in ((p_at, p_fields, "particle"), (v_at, v_fields, "vertex")):
        if len(found) != len(at):  # a line the pattern does not take: name the first
            good = {m.start() + 1 for m in (_P_IDS if what == "particle" else _V_IDS).finditer(data)}
            q = next(int(q) for q in at if int(q) not in good)
            raise fail(q, f"malformed {what} line {_Heads.line(data, q)!r}")
    if (len(p_at) and p_at[0] < heads.starts[0]) or (len(v_at) and v_at[0] < heads.starts[0]):
        raise fail(
            int(min(p_at[:1].tolist() + v_at[:1].tolist())), "particle or vertex line before the first event"
        )
    pid = ints([f[0] for f in p_fields], p_at, "particle id")
    mother = ints([f[1] for f in p_fields], p_at, "mother id")
    vid = ints([f[0] for f in v_fields], v_at, "vertex id")
    pev = np.searchsorted(heads.starts, p_at, side="right") - 1
    vev = np.searchsorted(heads.starts, v_at, side="right") - 1
    n_p, n_v = heads.np, heads.nv
    n_plines = np.bincount(pev, minlength=n)
    n_vlines = np.bincount(vev, minlength=n)
    bad = (n_p < 0) | (n_v < 0) | (n_p != n_plines) | (n_v > n_p + n_vlines)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise heads.error(
            i,
            int(heads.starts[i]),
            f"declares {n_v[i]} vertices and {n_p[i]} particles; it has {n_vlines[i]} vertex and "
            f"{n_plines[i]} particle lines",
        )
    for at, bad_line, reason in (
        (p_at, (pid < 1) | (pid > n_p[pev]), "particle id out of range"),
        (p_at, (mother < -n_v[pev]) | (mother > n_p[pev]), "mother id out of range"),
        (v_at, (vid > -1) | (vid < -n_v[vev]), "vertex id out of range"),
    ):
        if np.any(bad_line):
            raise fail(int(at[np.flatnonzero(bad_line)[0]]), reason)
    if len(pid):  # each particle id once per event
        key = pev * (int(n_p.max()) + 1) + pid
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(np.diff(key[order]) == 0)
        if len(dup):
            raise fail(int(p_at[order[dup[0] + 1]]), "particle id given twice")
    lists = [f[1].strip() for f in v_fields]
    if any(lists):
        n_in = np.fromiter((x.count(b",") + 1 if x else 0 for x in lists), np.int64, len(lists))
        incoming = ints(
            b",".join(x for x in lists if x).split(b","), np.repeat(v_at, n_in), "incoming particle id"
        )
        bad_in = incoming > n_p[np.repeat(vev, n_in)]
        if np.any(bad_in):
            raise fail(
                int(np.repeat(v_at, n_in)[np.flatnonzero(bad_in)[0]]), "incoming particle id out of range"
            )
    # the reader puts implicit vertices (mother > 0) into the gaps between the explicit ids
    # (mother <= 0) from -n_vertices up to the largest explicit id; it needs enough of them
    explicit = mother <= 0
    e_ev, e_id = np.unique(np.stack([pev[explicit], mother[explicit]]), axis=1)  # distinct per event
    i_ev = np.unique(np.stack([pev[~explicit], mother[~explicit]]), axis=1)[0]
    n_explicit = np.bincount(e_ev, minlength=n)
    n_implicit = np.bincount(i_ev, minlength=n)
    top = np.full(n, -(2**62), np.int64)
    np.maximum.at(top, e_ev, e_id)
    gaps = np.where(n_explicit > 0, top + n_v - (n_explicit - 1), 0)
    short = gaps > n_implicit
    if np.any(short):
        i = int(np.flatnonzero(short)[0])
        raise heads.error(
            i,
            int(heads.starts[i]),
            f"{gaps[i]} vertex ids without a vertex, {n_implicit[i]} implicit vertices",
        )


def read_hepmc_range(path: str | Path, start: int, stop: int) -> RawRecord:
    """Events ``start:stop`` of a HepMC file as a raw record (file frame, GeV, cm, ns).

    Read in blocks of at most ``_SUB_EVENTS`` events (so that the bytes and pyhepmc's
    per-event objects of a whole chunk are never held at once): each block's bytes are
    read, its ``E`` lines and the numbers of its particle and vertex lines checked
    (vectorised), and its events parsed by pyhepmc with file descriptors 1 and 2 silenced
    (:class:`~fastsim.external.common.QuietC`): what the C++ reader prints on a bad event
    becomes the reason of the error, which names the file, event and line.
    """
    idx, _ = index_hepmc(path)
    stop = min(stop, len(idx.starts))
    blocks = [_read_block(idx, a, min(a + _SUB_EVENTS, stop)) for a in range(start, stop, _SUB_EVENTS)]
    if len(blocks) == 1:
        return _assemble(idx, blocks[0])
    joined = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    return _assemble(idx, joined)


def _read_block(idx: HepMCIndex, start: int, stop: int) -> dict[str, np.ndarray]:
    """Events ``start:stop`` through pyhepmc: their particle, vertex and link tables
    (GenEventData, concatenated) with per-event counts, units, weights, event positions."""
    import pyhepmc
    from pyhepmc.io import ReaderAscii, ReaderAsciiHepMC2, pyiostream

    n = stop - start
    a = int(idx.starts[start])
    b = int(idx.starts[stop]) if stop < len(idx.starts) else idx.end
    # the bytes pyhepmc reads: header, the events, footer; the header ends with the
    # newline before the first E line, which the scans below need
    lead = idx.header if idx.header.endswith(b"\n") else idx.header + b"\n"
    footer = _FOOTERS[0] if idx.hepmc3 else _FOOTERS[1]
    buf = lead + read_file_range(_OPEN, idx.path, a, b, idx.opener) + footer + b"\n"
    first_line: list[int] = []

    def line_of(q: int) -> int:  # error path only: the file line of buf[q]
        if not first_line:
            first_line.append(line_number(idx.path, a, idx.opener))
        return first_line[0] + buf.count(b"\n", len(lead), max(q, len(lead)))

    heads = _Heads(buf, idx.hepmc2, idx.path, start, line_of)
    if len(heads.starts) != n:
        raise input_error(idx.path, f"events {start}..{stop - 1}", "file changed since it was indexed")
    _check_numbers(buf, heads, idx.hepmc3)
    if idx.hepmc3:
        _check_ids(buf, heads)
    keep: list[Any] = []
    evt = pyhepmc.GenEvent()  # reused: the reader clears it
    new_data = pyhepmc.GenEventData
    with QuietC() as quiet:
        reader = (ReaderAscii if idx.hepmc3 else ReaderAsciiHepMC2)(pyiostream(io.BytesIO(buf)))
        try:
            for i in range(n):
                if not reader.read_event(evt) or reader.failed():
                    said = quiet.text()
                    reason = f"unreadable event (HepMC3 reader: {said[:200]})" if said else "unreadable event"
                    raise heads.error(i, int(heads.starts[i]), reason)
                d = new_data()  # write_data appends: one per event
                evt.write_data(d)
                keep.append(d)
        finally:
            reader.close()
    # the arrays view memory owned by the GenEventData objects (kept until concatenated)
    pp = [d.particles for d in keep]
    vv = [d.vertices for d in keep]
    l1 = [d.links1 for d in keep]
    got = np.stack([np.fromiter(map(len, vv), np.int64, n), np.fromiter(map(len, pp), np.int64, n)], axis=1)
    decl = np.stack([heads.nv, heads.np], axis=1)
    bad = (got[:, 1] == 0) | ((decl[:, 1] >= 0) & np.any(got != decl, axis=1))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise heads.error(
            i,
            int(heads.starts[i]),
            f"declares {decl[i, 0]} vertices and {decl[i, 1]} particles, {got[i, 0]} and {got[i, 1]} read",
        )
    P, V = _concat_struct(pp), _concat_struct(vv)
    for what, table, fields, counts in (
        ("particle momentum or mass", P, ("px", "py", "pz", "e", "mass"), got[:, 1]),
        ("vertex position", V, ("x", "y", "z", "t"), got[:, 0]),
    ):
        finite = np.ones(len(table), bool)
        for f in fields:
            finite &= np.isfinite(np.asarray(table[f], np.float64))
        if not np.all(finite):
            k = int(np.flatnonzero(~finite)[0])
            i = int(np.searchsorted(np.cumsum(counts), k, side="right"))
            raise heads.error(i, int(heads.starts[i]), f"non-finite {what}")
    L1 = _concat_struct(l1).astype(np.int64)
    L2 = _concat_struct([d.links2 for d in keep]).astype(np.int64)
    nlink = np.fromiter(map(len, l1), np.int64, n)
    lev = np.repeat(np.arange(n), nlink)
    npl, nvl = got[lev, 1], got[lev, 0]
    p_in = (L1 >= 1) & (npl >= L1) & (L2 <= -1) & (-nvl <= L2)  # particle enters vertex
    p_out = (L1 <= -1) & (-nvl <= L1) & (L2 >= 1) & (npl >= L2)  # vertex emits particle
    if not np.all(p_in | p_out):
        i = int(lev[np.flatnonzero(~(p_in | p_out))[0]])
        raise heads.error(i, int(heads.starts[i]), "particle-vertex link out of range")
    if idx.hepmc3:  # from the E lines
        event_pos = heads.event_pos
    else:
        event_pos = np.array([(e.x, e.y, e.z, e.t) for e in (d.event_pos for d in keep)], np.float64)
    bad_pos = ~np.all(np.isfinite(event_pos.reshape(n, 4)), axis=1)
    if np.any(bad_pos):
        i = int(np.flatnonzero(bad_pos)[0])
        raise heads.error(i, int(heads.starts[i]), "non-finite event position")
    return {
        "P": P,
        "V": V,
        "L1": L1,
        "L2": L2,
        "npart": got[:, 1],
        "nvert": got[:, 0],
        "nlink": nlink,
        "gev_cm": heads.gev_cm,
        "w": heads.weights,
        "event_pos": event_pos.reshape(n, 4),
    }


def _concat_struct(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate arrays of one dtype through their buffers (numpy's concatenate of
    structured arrays promotes field by field, which is slow for many small pieces)."""
    if not arrays:
        return np.zeros(0)
    return np.frombuffer(b"".join(arrays), arrays[0].dtype)


def _assemble(idx: HepMCIndex, parts: dict[str, np.ndarray]) -> RawRecord:
    """One raw record from the concatenated GenEventData tables (vectorised over the chunk)."""
    npart, nvert, nlink = parts["npart"], parts["nvert"], parts["nlink"]
    n = len(npart)
    P, V, l1, l2 = parts["P"], parts["V"], parts["L1"], parts["L2"]
    poff = np.zeros(n + 1, np.int64)
    np.cumsum(npart, out=poff[1:])
    voff = np.zeros(n + 1, np.int64)
    np.cumsum(nvert, out=voff[1:])
    lev = np.repeat(np.arange(n), nlink)
    units = parts["gev_cm"]
    pscale = np.where(units[:, 0], 1.0, MEV_TO_GEV)
    lscale = np.where(units[:, 1], 1.0, MM_TO_CM)
    ntot, vtot = int(poff[-1]), int(voff[-1])
    pev = np.repeat(np.arange(n), npart)
    # links: (particle > 0, vertex < 0) particle enters vertex; (vertex < 0, particle > 0) leaves it
    incoming = l1 > 0
    gp_in = poff[lev[incoming]] + l1[incoming] - 1
    gv_in = voff[lev[incoming]] - l2[incoming] - 1
    gv_out = voff[lev[~incoming]] - l1[~incoming] - 1
    gp_out = poff[lev[~incoming]] + l2[~incoming] - 1
    prod = np.full(ntot, -1, np.int64)
    prod[gp_out] = gv_out
    endv = np.full(ntot, -1, np.int64)
    endv[gp_in] = gv_in
    # mother range per vertex: min / max incoming particle (event-local)
    vin_min = np.full(vtot, np.iinfo(np.int64).max, np.int64)
    vin_max = np.full(vtot, -1, np.int64)
    local_in = l1[incoming] - 1
    np.minimum.at(vin_min, gv_in, local_in)
    np.maximum.at(vin_max, gv_in, local_in)
    has_prod = prod >= 0
    m1 = np.full(ntot, -1, np.int64)
    m2 = np.full(ntot, -1, np.int64)
    pv = prod[has_prod]
    m1[has_prod] = np.where(vin_max[pv] >= 0, vin_min[pv], -1)
    m2[has_prod] = np.where(vin_max[pv] > vin_min[pv], vin_max[pv], -1)
    # vertex positions (length units of the event -> cm), unset ones inherited
    vpos = np.stack([V["x"], V["y"], V["z"], V["t"]], axis=1) if vtot else np.zeros((0, 4))
    vev = np.repeat(np.arange(n), nvert)
    vpos = vpos * lscale[vev, None]
    unset = ~np.any(vpos != 0.0, axis=1)
    if np.any(unset):
        # parent vertex: production vertex of the first incoming particle
        parent = np.full(vtot, -1, np.int64)
        first_in = np.full(vtot, -1, np.int64)
        order = np.argsort(gp_in, kind="stable")
        first_in[gv_in[order][::-1]] = gp_in[order][::-1]
        ok = first_in >= 0
        parent[ok] = prod[first_in[ok]]
        evpos = parts["event_pos"] * lscale[:, None]
        for _ in range(64):  # depth of chains of unset vertices
            todo = unset & (parent >= 0) & ~unset[np.maximum(parent, 0)]
            if not np.any(todo):
                break
            vpos[todo] = vpos[parent[todo]]
            unset[todo] = False
        root = unset
        vpos[root] = evpos[vev[root]]
    # particle positions: production vertex, beams: end vertex
    where_v = np.where(has_prod, prod, endv)
    x4 = np.zeros((ntot, 4))
    okv = where_v >= 0
    x4[okv] = vpos[where_v[okv]]
    pm = P["px"], P["py"], P["pz"], P["e"]
    ps = pscale[pev]
    px, py, pz, e = (np.asarray(c, np.float64) * ps for c in pm)
    mass = np.asarray(P["mass"], np.float64) * ps
    unset_m = ~np.asarray(P["is_mass_set"], bool)
    if np.any(unset_m):
        m2_ = e * e - px * px - py * py - pz * pz
        mass[unset_m] = np.sqrt(np.maximum(m2_[unset_m], 0.0))
    lifetime = np.zeros(ntot)
    dec = (endv >= 0) & has_prod
    if np.any(dec):
        dt = vpos[endv[dec], 3] - vpos[prod[dec], 3]
        lifetime[dec] = np.maximum(dt, 0.0) * mass[dec] / np.where(e[dec] > 0, e[dec], 1.0)
    status = np.asarray(P["status"], np.int32)
    fields = {
        "id": np.asarray(P["pid"], np.int32),
        "status": status,
        "mother1": m1,
        "mother2": m2,
        "px": px,
        "py": py,
        "pz": pz,
        "e": e,
        "m": mass,
        "vx": x4[:, 0],
        "vy": x4[:, 1],
        "vz": x4[:, 2],
        "vt": x4[:, 3] / C_CM_PER_NS,
        "lifetime": lifetime,
    }
    order = beams_first_order(status, poff)
    if order is not None:
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        fields = {k: v[order] for k, v in fields.items()}
        start_rep = np.repeat(poff[:-1], npart)
        for k in ("mother1", "mother2"):
            mm = fields[k]
            okm = mm >= 0
            mm[okm] = inv[mm[okm] + start_rep[okm]] - start_rep[okm]
        # ranges stay ranges only when the mothers stay contiguous; re-sort each pair
        lo = np.minimum(
            fields["mother1"], np.where(fields["mother2"] >= 0, fields["mother2"], fields["mother1"])
        )
        hi = np.maximum(fields["mother1"], fields["mother2"])
        fields["mother1"] = lo
        fields["mother2"] = np.where(hi > lo, hi, -1)
    fields["mother1"] = fields["mother1"].astype(np.int32)
    fields["mother2"] = fields["mother2"].astype(np.int32)
    assert list(fields) == RAW_FIELDS
    return RawRecord(fields, poff, np.asarray(parts["w"], np.float64), has_vertices=True)


class HepMCGenerator(ExternalGenerator):
    name = "hepmc"
    doc = (
        "events read from HepMC3 / HepMC2 ASCII files (plain or .gz/.bz2/.xz), moved to the card's lab frame"
    )
    params: ClassVar[dict[str, Field]] = dict(COMMON_PARAMS)

    @classmethod
    def index(cls, path: Path) -> FileSample:
        return index_hepmc(path)[1]

    def read_raw(self, sample: FileSample, start: int, stop: int) -> RawRecord:
        return read_hepmc_range(sample.path, start, stop)
