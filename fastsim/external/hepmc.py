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

A file is indexed once per process (offsets of the ``E`` lines, declared vertex and
particle counts, units, weights, HepMC3 event positions; one ``findall`` over the text),
so a chunk reads only its byte range.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import mmap
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fastsim.constants import C_CM_PER_NS
from fastsim.external.common import (
    COMMON_PARAMS,
    RAW_FIELDS,
    ExternalGenerator,
    FileSample,
    RawRecord,
    beams_first_order,
    file_key,
    input_error,
)
from fastsim.io import FileFormatError
from fastsim.schema import Field

__all__ = ["HepMCGenerator", "HepMCIndex", "index_hepmc", "read_hepmc_range"]

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_FOOTERS = (b"HepMC::Asciiv3-END_EVENT_LISTING", b"HepMC::IO_GenEvent-END_EVENT_LISTING")
_BLOCK = 1 << 24
MEV_TO_GEV = 1e-3
MM_TO_CM = 0.1


class HepMCIndex:
    """Byte layout of a (decompressed) HepMC file: header bytes, event offsets, end of events."""

    def __init__(self, path: Path, header: bytes, starts: np.ndarray, declared: np.ndarray, end: int) -> None:
        self.path = path
        self.header = header
        self.starts = starts
        self.declared = declared  # (n, 2) vertices, particles from the E line (-1: not given)
        self.end = end
        self.opener = _OPENERS.get(path.suffix)
        self.hepmc3 = b"Asciiv3" in header
        self.weights = np.ones(len(starts))  # first weight of each event
        self.gev_cm = np.ones((len(starts), 2), bool)  # momentum in GeV, length in cm
        # HepMC3 event position ('@ x y z t' closing the E line; zero when absent), file units
        self.event_pos = np.zeros((len(starts), 4))


_INDEX: dict[tuple[str, int, int], tuple[HepMCIndex, FileSample]] = {}
_OPEN: dict[str, Any] = {}


# an event's first lines: E (number, vertices, particles), optional U (units), W (weights);
# the literal prefix makes the search run at C speed
_EVENT_HEAD = re.compile(rb"\nE (\S+) (\S+) (\S+)([^\n]*)(?:\nN [^\n]*)?(?:\nU (\w+) (\w+))?(?:\nW (\S+))?")


def _scan(data: bytes | mmap.mmap, base: int, out: dict[str, list]) -> None:
    """Event offsets, declared counts, units and first weights of the events in ``data``
    (which starts at a line boundary), and the last cross section seen.

    The event heads are matched by one ``findall`` (no per-event Python objects) and their
    offsets found with numpy; a head the pattern rejects makes the two disagree, and the
    offsets are then taken from the matches themselves."""
    heads = _EVENT_HEAD.findall(data)
    raw = np.frombuffer(data, np.uint8)
    starts = np.flatnonzero((raw[:-2] == 10) & (raw[1:-1] == 69) & (raw[2:] == 32)) + 1  # "\nE "
    if len(starts) != len(heads):
        starts = np.array([m.start() + 1 for m in _EVENT_HEAD.finditer(data)], np.int64)
    del raw  # release the export of an mmap before it is closed
    if not heads:
        return
    first = len(out["starts"])
    out["starts"].extend((starts + base).tolist())
    _, nv, npart, rest, u_mom, u_len, w = (np.array(c) for c in zip(*heads, strict=True))
    for col, key in ((nv, "nv"), (npart, "np")):
        try:
            out[key].extend(col.astype(np.int64).tolist())
        except ValueError:  # HepMC2 E lines: other fields there (declared counts not used)
            out[key].extend([-1] * len(col))
    out["u"].extend(zip((u_mom != b"MEV").tolist(), (u_len == b"CM").tolist(), strict=True))
    if out["hepmc2"]:  # IO_GenEvent: the weights close the E line
        w = np.array([_hepmc2_first_weight(r) for r in rest.tolist()])
    out["w"].extend(np.where(w == b"", b"1", w).tolist())
    for i in np.flatnonzero(np.char.find(rest, b"@") >= 0).tolist():  # HepMC3 event positions
        out["pos"].append((first + i, rest[i].split(b"@")[1]))
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


def index_hepmc(path: str | Path) -> tuple[HepMCIndex, FileSample]:
    """Index a HepMC file (cached per process): event offsets, declared counts, weights,
    the last cross section.  Errors name the file and the event or line."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such file")
    key = file_key(path)
    if key in _INDEX:
        return _INDEX[key]
    out: dict[str, Any] = {
        "starts": [],
        "nv": [],
        "np": [],
        "w": [],
        "u": [],
        "xsec": None,
        "xsec_err": None,
        "pos": [],
    }
    opener = _OPENERS.get(path.suffix)
    if opener is None:
        with path.open("rb") as fh:
            if path.stat().st_size == 0:
                raise input_error(path, "", "empty file")
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        _OPEN[str(path)] = data
        out["hepmc2"] = b"IO_GenEvent" in bytes(data[:4096])
        _scan(data, 0, out)
        first = out["starts"][0] if out["starts"] else len(data)
        header = bytes(data[:first])
        tail = bytes(data[-200:])
        end_pos = len(data)
    else:
        header = b""
        tail = b""
        total = 0
        carry = b""
        try:
            with opener(path, "rb") as f:
                while True:
                    block = f.read(_BLOCK)
                    data = carry + block
                    base = total - len(carry)
                    total += len(block)
                    tail = (tail + block)[-200:]
                    # scan whole events only: cut before the last event line
                    cut = data.rfind(b"\nE ") + 1 if block else len(data)
                    if block and cut <= 0:
                        carry = data
                        continue
                    part = data[:cut]
                    if not header and out["starts"] == []:
                        first = part.find(b"\nE ")
                        header = part[: first + 1] if first >= 0 else b""
                    out.setdefault("hepmc2", b"IO_GenEvent" in part[:4096])
                    _scan(b"\n" + part, base - 1, out)  # the pattern wants the newline before E
                    carry = data[cut:]
                    if not block:
                        break
        except (EOFError, OSError, lzma.LZMAError) as exc:
            raise input_error(path, "", f"truncated or corrupt compressed stream ({exc})") from None
        end_pos = total
    if not (header.startswith(b"HepMC::Version") or b"START_EVENT_LISTING" in header):
        raise input_error(
            path, "line 1", "not a HepMC ASCII file (no HepMC::Version / START_EVENT_LISTING header)"
        )
    starts = np.asarray(out["starts"], np.int64)
    n = len(starts)
    footer = next((f for f in _FOOTERS if f in tail), None)
    if footer is None:
        raise input_error(
            path,
            f"event {n - 1}" if n else "",
            "truncated file: no END_EVENT_LISTING footer (the last event may be incomplete)",
        )
    end = end_pos - (len(tail) - tail.rfind(footer))
    try:
        weights = np.array(out["w"], dtype=object).astype(np.float64) if n else np.ones(0)
    except ValueError:
        raise input_error(path, "", "malformed weight line") from None
    units = np.asarray(out["u"], bool).reshape(n, 2)
    mean_w = float(weights.mean()) if n else 1.0
    if n and not mean_w > 0:
        raise input_error(path, "", f"mean event weight {mean_w:g} is not positive")
    sigma = sigma_err = None
    if out["xsec"] is not None:
        try:
            sigma = float(out["xsec"])
            sigma_err = float(out["xsec_err"]) if out["xsec_err"] is not None else None
        except ValueError:
            raise input_error(path, "", f"malformed cross section {out['xsec']!r}") from None
    declared = np.stack([out["nv"], out["np"]], axis=1).reshape(-1, 2)
    if b"Asciiv3" not in header:  # HepMC2 'E' lines carry other numbers there
        declared[:] = -1
    idx = HepMCIndex(path, header, starts, declared, end)
    idx.weights = weights
    idx.gev_cm = units
    for i, text in out["pos"] if idx.hepmc3 else ():
        try:
            idx.event_pos[i] = np.array(text.split(), np.float64)
        except ValueError:
            raise input_error(path, f"event {i}", f"malformed event position {text!r}") from None
    sample = FileSample(path, n, sigma, mean_w, None, sigma_err_pb=sigma_err)
    _INDEX[key] = (idx, sample)
    return idx, sample


def _read_bytes(idx: HepMCIndex, a: int, b: int) -> bytes:
    key = str(idx.path)
    h = _OPEN.get(key)
    if idx.opener is None:
        if h is None or h.closed:
            with idx.path.open("rb") as fh:
                h = _OPEN[key] = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return h[a:b]
    if h is None or h.closed:
        h = _OPEN[key] = idx.opener(idx.path, "rb")
    h.seek(a)  # forward: decompress and skip; backward: rewind
    return h.read(b - a)


def _line_of(idx: HepMCIndex, pos: int) -> str:
    if idx.opener is not None:
        return ""
    h = _OPEN.get(str(idx.path))
    if h is None:
        return ""
    line = bytes(h[:pos]).count(b"\n") + 1
    return f" (line {line})"


def read_hepmc_range(path: str | Path, start: int, stop: int) -> RawRecord:
    """Events ``start:stop`` of a HepMC file as a raw record (file frame, GeV, cm, ns)."""
    import pyhepmc

    idx, _ = index_hepmc(path)
    stop = min(stop, len(idx.starts))
    n = stop - start
    a = int(idx.starts[start])
    b = int(idx.starts[stop]) if stop < len(idx.starts) else idx.end
    footer = _FOOTERS[0] if idx.hepmc3 else _FOOTERS[1]
    buf = idx.header + _read_bytes(idx, a, b) + footer + b"\n"
    parts: dict[str, Any] = {k: [] for k in ("p", "v", "l1", "l2", "keep")}
    parts["gev_cm"] = idx.gev_cm[start:stop]
    parts["w"] = idx.weights[start:stop]
    from pyhepmc.io import ReaderAscii, ReaderAsciiHepMC2, pyiostream

    stream = io.BytesIO(buf)
    ios = pyiostream(stream)
    reader = (ReaderAscii if idx.hepmc3 else ReaderAsciiHepMC2)(ios)
    evt = pyhepmc.GenEvent()  # reused: the reader clears it
    keep = parts["keep"]
    new_data = pyhepmc.GenEventData
    try:
        for i in range(n):
            if not reader.read_event(evt) or reader.failed():
                raise input_error(
                    idx.path,
                    f"event {start + i}{_line_of(idx, int(idx.starts[start + i]))}",
                    "unreadable event",
                )
            data = new_data()  # write_data appends: one per event
            evt.write_data(data)
            keep.append(data)
    finally:
        reader.close()
    # the arrays view memory owned by the GenEventData objects (kept until concatenated)
    parts["p"] = pp = [d.particles for d in keep]
    parts["v"] = vv = [d.vertices for d in keep]
    parts["l1"] = [d.links1 for d in keep]
    parts["l2"] = [d.links2 for d in keep]
    got = np.stack([np.fromiter(map(len, vv), np.int64, n), np.fromiter(map(len, pp), np.int64, n)], axis=1)
    decl = idx.declared[start:stop]
    bad = (got[:, 1] == 0) | ((decl[:, 1] >= 0) & np.any(got != decl, axis=1))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise input_error(
            idx.path,
            f"event {start + i}{_line_of(idx, int(idx.starts[start + i]))}",
            f"declares {decl[i, 0]} vertices and {decl[i, 1]} particles, {got[i, 0]} and {got[i, 1]} read",
        )
    return _assemble(idx, start, parts)


def _concat_struct(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate arrays of one dtype through their buffers (numpy's concatenate of
    structured arrays promotes field by field, which is slow for many small pieces)."""
    if not arrays:
        return np.zeros(0)
    return np.frombuffer(b"".join(arrays), arrays[0].dtype)


def _assemble(idx: HepMCIndex, start: int, parts: dict[str, list]) -> RawRecord:
    """One raw record from per-event GenEventData pieces (vectorised over the chunk)."""
    n = len(parts["p"])
    P = _concat_struct(parts["p"])
    V = _concat_struct(parts["v"])
    npart = np.fromiter(map(len, parts["p"]), np.int64, n)
    nvert = np.fromiter(map(len, parts["v"]), np.int64, n)
    nlink = np.fromiter(map(len, parts["l1"]), np.int64, n)
    poff = np.zeros(n + 1, np.int64)
    np.cumsum(npart, out=poff[1:])
    voff = np.zeros(n + 1, np.int64)
    np.cumsum(nvert, out=voff[1:])
    l1 = _concat_struct(parts["l1"]).astype(np.int64)
    l2 = _concat_struct(parts["l2"]).astype(np.int64)
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
        if idx.hepmc3:  # from the E lines (index)
            evpos = idx.event_pos[start : start + n] * lscale[:, None]
        else:
            evpos = np.zeros((n, 4))
            for i in np.unique(vev[unset]).tolist():  # events with root vertices lacking positions
                ep = parts["keep"][i].event_pos
                evpos[i] = (ep.x * lscale[i], ep.y * lscale[i], ep.z * lscale[i], ep.t * lscale[i])
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
