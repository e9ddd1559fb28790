"""External samples, reliability (issue 24): quiet C++ readers, streaming readers, event limits.

* Malformed HepMC3 input (truncated, a flipped bit in a number, a wrong particle count,
  garbage) through ``fastsim convert`` and ``fastsim run`` (subprocesses): exit 2, exactly one
  line on stderr (``fastsim: error: FILE: ...``), nothing on stdout (HepMC3's C++ reader prints
  its ``DEBUG``/``ERROR`` messages there), no output presented as complete.
* The readers stream: the memory the index takes does not grow with the file (tracemalloc
  peaks for a file and for the same file four times longer).
* ``run.events`` / ``--events N`` / the process's ``events`` read the first N events of the
  files, in file order: compared with the events pylhe and pyhepmc read from the same files.

The samples: fastsim's Born e+e- -> mu+ mu- at generator level, exported as HepMC3 by
fastsim's writer (pyhepmc) and as LHE by pylhe (from fastsim's LHEH5 export).
"""

from __future__ import annotations

import os
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pyhepmc
import pylhe
import pytest

from fastsim.cards import load_card
from fastsim.cli import main
from fastsim.external.common import QuietC
from fastsim.external.convert import convert
from fastsim.io import open_events
from fastsim.run import run
from tests.conftest import run_cli, write_card

N_FILE = 500

GEN_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {seed: 21, events: 500, chunk_size: 500, output: gen.h5, workers: 1}
dataset: {name: test, luminosity_fb: 1.0}
decays: {enabled: false}
detector: {enabled: false}
trigger: {enabled: false}
reco: {enabled: false}
processes:
  mumu: {generator: ee_mumu_born}
"""

RUN_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 4, events: {events}, chunk_size: {chunk}, output: out.h5, workers: 1}}
dataset: {{name: test, luminosity_fb: 1.0}}
decays: {{enabled: false}}
detector: {{enabled: false}}
trigger: {{enabled: false}}
reco: {{enabled: false}}
processes:
  ext: {{generator: {gen}, files: [{file}], frame: keep, sqrt_s_tolerance: 0.01{extra}}}
"""


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """500 events as HepMC3 (fastsim's writer) and LHE (pylhe's writer)."""
    tmp = tmp_path_factory.mktemp("reliability")
    gen = tmp / "gen.h5"
    run(load_card(write_card(tmp, GEN_CARD, "gen.yaml")), output=gen, workers=1, progress=False)
    convert(gen, tmp / "mumu.hepmc3", None)
    convert(gen, tmp / "mumu.lheh5", None)
    lhef = pylhe.LHEFile.fromfile(tmp / "mumu.lheh5")
    lhef.events = list(lhef.events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LHEH5-only procInfo columns dropped in LHE
        lhef.tofile(tmp / "mumu.lhe")
    return {"hepmc": tmp / "mumu.hepmc3", "lhe": tmp / "mumu.lhe", "lheh5": tmp / "mumu.lheh5"}


def _card(tmp: Path, gen: str, file: Path, events: int = 1000, chunk: int = 1000, extra: str = "") -> Path:
    body = RUN_CARD.format(gen=gen, file=file, events=events, chunk=chunk, extra=extra)
    return write_card(tmp, body, f"run_{gen}.yaml")


# ------------------------------------------------------------------ item 4: quiet C++ readers
def _malformed(good: bytes, kind: str) -> bytes:
    lines = good.split(b"\n")
    if kind == "truncated":  # cut inside an event: no footer
        return good[: len(good) // 2]
    if kind == "flipped_bit":  # one bit of a digit of a momentum: '2' (0x32) -> 'r' (0x72)
        i = next(k for k, ln in enumerate(lines) if ln.startswith(b"P 3 ") and k > 200)
        words = lines[i].split(b" ")
        j = next(k for k, c in enumerate(words[4]) if chr(c).isdigit())
        w = bytearray(words[4])
        w[j] ^= 0x40
        words[4] = bytes(w)
        lines[i] = b" ".join(words)
        return b"\n".join(lines)
    if kind == "particle_count":  # an E line declaring one particle more than the event has
        i = next(k for k, ln in enumerate(lines) if ln.startswith(b"E 17 "))
        e, num, nv, npart = lines[i].split(b" ")[:4]
        lines[i] = b" ".join([e, num, nv, str(int(npart) + 1).encode()])
        return b"\n".join(lines)
    if kind == "garbage_events":  # a valid header, then random bytes, then the footer
        rng = np.random.default_rng(5)
        return good[:2000] + rng.bytes(4000) + b"\nHepMC::Asciiv3-END_EVENT_LISTING\n"
    assert kind == "garbage"
    return np.random.default_rng(6).bytes(6000)


MALFORMED = ["truncated", "flipped_bit", "particle_count", "garbage_events", "garbage"]


def _assert_one_line_error(res, name: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert res.stdout == "", res.stdout
    lines = res.stderr.split("\n")
    assert len(lines) == 2 and lines[1] == "", res.stderr  # one line, ended by a newline
    assert lines[0].startswith("fastsim: error:") and name in lines[0], res.stderr
    assert "DEBUG" not in res.stderr.split(name, 1)[0]


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_hepmc3_convert_one_line(tmp_path: Path, samples: dict[str, Path], kind: str) -> None:
    bad = tmp_path / f"bad_{kind}.hepmc3"
    bad.write_bytes(_malformed(samples["hepmc"].read_bytes(), kind))
    out = tmp_path / "out.h5"
    res = run_cli("convert", str(bad), str(out), cwd=tmp_path)
    _assert_one_line_error(res, bad.name)
    assert not out.exists()
    assert not out.with_name(out.name + ".part").exists()


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_hepmc3_run_one_line(tmp_path: Path, samples: dict[str, Path], kind: str) -> None:
    bad = tmp_path / f"bad_{kind}.hepmc3"
    bad.write_bytes(_malformed(samples["hepmc"].read_bytes(), kind))
    card = _card(tmp_path, "hepmc", bad, chunk=100)
    out = tmp_path / "run.h5"
    res = run_cli("run", str(card), "-o", str(out), "--quiet", cwd=tmp_path)
    _assert_one_line_error(res, bad.name)
    assert not out.exists()  # at most run.h5.part (kept for --resume), never the final name


def test_reader_messages_become_the_reason(tmp_path: Path, samples: dict[str, Path]) -> None:
    """A wrong particle count: one line naming the event and the counts (fastsim's own
    check, made before HepMC3's reader, which would print to the terminal), nothing else."""
    bad = tmp_path / "count.hepmc3"
    bad.write_bytes(_malformed(samples["hepmc"].read_bytes(), "particle_count"))
    res = run_cli("convert", str(bad), str(tmp_path / "o.h5"), cwd=tmp_path)
    _assert_one_line_error(res, bad.name)
    assert "event 17" in res.stderr and "5 particles" in res.stderr and "4 particle lines" in res.stderr


def test_flipped_bit_names_event_and_line(tmp_path: Path, samples: dict[str, Path]) -> None:
    good = samples["hepmc"].read_bytes()
    bad_bytes = _malformed(good, "flipped_bit")
    line = next(
        k for k, (a, b) in enumerate(zip(good.split(b"\n"), bad_bytes.split(b"\n"), strict=True)) if a != b
    )
    event = sum(1 for ln in bad_bytes.split(b"\n")[:line] if ln.startswith(b"E ")) - 1
    bad = tmp_path / "flip.hepmc3"
    bad.write_bytes(bad_bytes)
    res = run_cli("convert", str(bad), str(tmp_path / "o.h5"), cwd=tmp_path)
    _assert_one_line_error(res, bad.name)
    assert f"event {event} (line {line + 1})" in res.stderr, res.stderr


def test_quiet_c_restores_descriptors_on_exception(capfd: pytest.CaptureFixture[str]) -> None:
    before = [os.fstat(fd) for fd in (1, 2)]
    with pytest.raises(RuntimeError), QuietC() as quiet:
        os.write(1, b"from C on stdout\n")
        os.write(2, b"from C on stderr\n")
        assert quiet.text() == "from C on stdout from C on stderr"
        raise RuntimeError
    after = [os.fstat(fd) for fd in (1, 2)]
    assert [(s.st_dev, s.st_ino) for s in before] == [(s.st_dev, s.st_ino) for s in after]
    os.write(2, b"visible\n")
    out, err = capfd.readouterr()
    assert out == "" and err == "visible\n"


# ------------------------------------------------------------------ item 5: streaming
def _long_copy(src: Path, dst: Path, times: int, kind: str) -> Path:
    """``src`` with its events repeated ``times`` times (same header and footer)."""
    data = src.read_bytes()
    if kind == "hepmc":
        a, b = data.index(b"\nE ") + 1, data.rindex(b"HepMC::Asciiv3-END_EVENT_LISTING")
    else:
        a, b = data.index(b"<event"), data.rindex(b"</LesHouchesEvents>")
    dst.write_bytes(data[:a] + data[a:b] * times + data[b:])
    return dst


@pytest.mark.parametrize("kind", ["hepmc", "lhe"])
def test_index_memory_flat_in_file_size(tmp_path: Path, samples: dict[str, Path], kind: str) -> None:
    """Peak memory (tracemalloc: Python and numpy allocations) of indexing a file and of
    reading its first 1000 events, for a file and one with 4 times as many events: the index
    keeps 8 bytes per event, the rest is bounded by the 4 MiB read blocks and the chunk."""
    from fastsim.external import hepmc, lhe

    mod = hepmc if kind == "hepmc" else lhe
    index = hepmc.index_hepmc if kind == "hepmc" else lhe.index_lhe
    read = hepmc.read_hepmc_range if kind == "hepmc" else lhe.read_lhe_range
    peaks = []
    sizes = []
    for times in (24, 96):
        path = _long_copy(samples[kind], tmp_path / f"long_{times}{samples[kind].suffix}", times, kind)
        sizes.append(path.stat().st_size)
        mod._INDEX.clear()
        tracemalloc.start()
        try:
            _, sample = index(path)
            read(path, 0, 1000)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert sample.n_events == N_FILE * times
    assert sizes[1] > 4 * 2**20 * 3  # the long file spans several read blocks
    # the per-event index: 8 bytes x 36000 more events; everything else the same
    assert peaks[1] < 1.15 * peaks[0] + 8 * N_FILE * 72, (peaks, sizes)


# ------------------------------------------------------------------ item 5: event limits
def _first_events_pylhe(path: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    ids, px = [], []
    events = pylhe.LHEFile.fromfile(path, with_attributes=False).events
    for i, ev in enumerate(events):
        if i == n:
            break
        ids += [int(p.id) for p in ev.particles]
        px += [p.px for p in ev.particles]
    events.close()  # the generator's file
    return np.array(ids), np.array(px)


def _first_events_pyhepmc(path: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    ids, px = [], []
    with pyhepmc.open(path) as f:
        for i, ev in enumerate(f):
            if i == n:
                break
            ids += [p.pid for p in ev.particles]
            px += [p.momentum.px for p in ev.particles]
    return np.array(ids), np.array(px)


def _mc(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with open_events(path) as f:
        batch = next(f.iter_chunks(10**6))
        meta = f.meta
    mc = batch["mc"]
    return meta, {k: mc[k] for k in ("id", "px", "py", "pz", "e", "vx", "vz")}


def _main(*args: str) -> int:
    return main(list(args))


@pytest.mark.parametrize("kind", ["lhe", "hepmc", "lheh5"])
def test_events_option_reads_first_n(tmp_path: Path, samples: dict[str, Path], kind: str) -> None:
    """``--events 7`` writes the file's first 7 events (as pylhe / pyhepmc read them)."""
    card = _card(tmp_path, kind, samples[kind])
    out = tmp_path / "seven.h5"
    assert _main("run", str(card), "-o", str(out), "--events", "7", "--quiet") == 0
    meta, mc = _mc(out)
    assert meta["n_events"] == 7
    if kind == "hepmc":
        ids, px = _first_events_pyhepmc(samples[kind], 7)
    else:
        ids, px = _first_events_pylhe(samples[kind], 7)  # pylhe reads LHE and LHEH5
    np.testing.assert_array_equal(mc["id"], ids)
    np.testing.assert_array_equal(mc["px"], px)


def test_event_limits_chunks_and_reproducibility(tmp_path: Path, samples: dict[str, Path]) -> None:
    path = samples["lhe"]
    card = _card(tmp_path, "lhe", path)
    ids, px = _first_events_pylhe(path, 7)
    # --events 7 with chunk size 3: 3 chunks (3 + 3 + 1), the same events
    a = tmp_path / "a.h5"
    assert _main("run", str(card), "-o", str(a), "--events", "7", "--set", "run.chunk_size=3", "--quiet") == 0
    meta_a, mc_a = _mc(a)
    assert (meta_a["n_events"], meta_a["n_chunks"]) == (7, 3)
    np.testing.assert_array_equal(mc_a["id"], ids)
    np.testing.assert_array_equal(mc_a["px"], px)
    # reproducible: the same command gives the same file, interaction points included
    b = tmp_path / "b.h5"
    assert _main("run", str(card), "-o", str(b), "--events", "7", "--set", "run.chunk_size=3", "--quiet") == 0
    _, mc_b = _mc(b)
    for k in mc_a:
        np.testing.assert_array_equal(mc_a[k], mc_b[k])
    # one chunk of 7: the same particles; the interaction points (no vertices in LHE) come
    # from the chunks' random streams, so they differ, as for native processes
    c = tmp_path / "c.h5"
    assert _main("run", str(card), "-o", str(c), "--events", "7", "--set", "run.chunk_size=7", "--quiet") == 0
    meta_c, mc_c = _mc(c)
    assert meta_c["n_chunks"] == 1
    for k in ("id", "px", "py", "pz", "e"):
        np.testing.assert_array_equal(mc_a[k], mc_c[k])
    assert not np.array_equal(mc_a["vz"], mc_c["vz"])
    # run.events = 1, chunk size 1: one chunk of one event (not one chunk per event of the file)
    d = tmp_path / "d.h5"
    assert (
        _main("run", str(card), "-o", str(d), "--set", "run.events=1", "--set", "run.chunk_size=1", "--quiet")
        == 0
    )
    meta_d, mc_d = _mc(d)
    assert (meta_d["n_events"], meta_d["n_chunks"]) == (1, 1)
    np.testing.assert_array_equal(mc_d["id"], ids[: len(mc_d["id"])])
    # the process's events: 5 of the 500
    card5 = _card(tmp_path, "lhe", path, extra=", events: 5")
    e = tmp_path / "e.h5"
    assert _main("run", str(card5), "-o", str(e), "--quiet") == 0
    assert _mc(e)[0]["n_events"] == 5
    # more than the files hold: the files' 500
    f = tmp_path / "f.h5"
    assert _main("run", str(card), "-o", str(f), "--events", "100000", "--quiet") == 0
    assert _mc(f)[0]["n_events"] == N_FILE


def _spy_reads(monkeypatch: pytest.MonkeyPatch, kind: str) -> list[tuple[int, int]]:
    """The (start, stop) event ranges the ``kind`` process asks its reader for."""
    from fastsim.generators import GENERATORS

    cls = GENERATORS[kind]
    calls: list[tuple[int, int]] = []
    original = cls.read_raw

    def read_raw(self: object, sample: object, start: int, stop: int) -> object:
        calls.append((start, stop))
        return original(self, sample, start, stop)

    monkeypatch.setattr(cls, "read_raw", read_raw)
    return calls


@pytest.mark.parametrize("kind", ["lhe", "hepmc", "lheh5"])
def test_events_1_reads_one_event(
    tmp_path: Path, samples: dict[str, Path], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--events 1`` on a card whose process reads a file (run.events 1000, the file 500):
    one chunk of one event, and the reader is asked for the file's first event only (before
    issue 24 the whole file was simulated)."""
    calls = _spy_reads(monkeypatch, kind)
    card = _card(tmp_path, kind, samples[kind])
    out = tmp_path / "one.h5"
    assert _main("run", str(card), "-o", str(out), "--events", "1", "--quiet") == 0
    assert calls == [(0, 1)]
    meta, mc = _mc(out)
    assert (meta["n_events"], meta["n_chunks"]) == (1, 1)
    if kind == "hepmc":
        ids, _ = _first_events_pyhepmc(samples[kind], 1)
    else:
        ids, _ = _first_events_pylhe(samples[kind], 1)
    np.testing.assert_array_equal(mc["id"], ids)


@pytest.mark.parametrize("kind", ["lhe", "hepmc", "lheh5"])
def test_run_events_1_chunk_size_1_plans_one_chunk(
    tmp_path: Path, samples: dict[str, Path], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--set run.events=1 --set run.chunk_size=1``: one chunk (before issue 24, one chunk per
    event of the file), which reads the first event only; the process's own ``events`` wins
    over run.events, and neither reads past the file's end."""
    from fastsim.run import plan_chunks

    card = _card(tmp_path, kind, samples[kind])
    tasks = plan_chunks(load_card(card, {"run": {"events": 1, "chunk_size": 1}}))
    assert [(t.process, t.n_events, t.first_event) for t in tasks] == [("ext", 1, 0)]
    other = tmp_path / "own_events"
    other.mkdir()
    tasks = plan_chunks(
        load_card(_card(other, kind, samples[kind], extra=", events: 3"), {"run": {"chunk_size": 2}})
    )
    assert [(t.n_events, t.first_event) for t in tasks] == [(2, 0), (1, 2)]
    tasks = plan_chunks(load_card(card, {"run": {"events": 10**6, "chunk_size": 200}}))
    assert [(t.n_events, t.first_event) for t in tasks] == [(200, 0), (200, 200), (100, 400)]
    calls = _spy_reads(monkeypatch, kind)
    out = tmp_path / "one.h5"
    args = ["--set", "run.events=1", "--set", "run.chunk_size=1", "--quiet"]
    assert _main("run", str(card), "-o", str(out), *args) == 0
    assert calls == [(0, 1)]
    assert (_mc(out)[0]["n_events"], _mc(out)[0]["n_chunks"]) == (1, 1)
