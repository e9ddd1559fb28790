"""Property-based fuzzing of every reader of user input (issue 24): cards, LHE, LHEH5, HepMC3 and
fastsim HDF5 files, mutated by hypothesis, through the command line (in process).

A case passes when the command ends with exit 0, or with exit 2 and exactly one line on stderr
that starts with ``fastsim: error:`` and names the file (or the key) with the reason, and no
output file presented as complete after a failure.  Any other exit, a traceback or a second line
fails the case.

``FASTSIM_FUZZ_EXAMPLES`` sets the cases per reader and mutation kind (default 60, about two
minutes for the whole file).  The long run, 1e4 cases per reader, is the ``fuzz_long`` marker,
deselected by default: ``python -m pytest -m fuzz_long tests/test_fuzz.py -s -n 0`` (about two hours
on 2 cores; ``FASTSIM_FUZZ_LONG_EXAMPLES`` changes its count; ``run --resume``, a subprocess
per case, runs FASTSIM_FUZZ_LONG_RESUME_EXAMPLES, default 500; the counts are in docs/status.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastsim.cli import main
from tests.conftest import CARDS

N_EXAMPLES = int(os.environ.get("FASTSIM_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    derandomize=True,  # reproducible in CI; the long run explores the same space deterministically
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,
)
LONG = settings(FUZZ, max_examples=int(os.environ.get("FASTSIM_FUZZ_LONG_EXAMPLES", "10000")))
COUNTS: dict[str, dict[str, int]] = {}


@pytest.fixture(autouse=True)
def _short_hdf5_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged HDF5 file whose metadata walk hangs is reported after 3 s, not 20 (the outcome
    is the same one-line error; the fuzz files are small, their metadata reads in milliseconds)."""
    import fastsim.io

    monkeypatch.setattr(fastsim.io, "HDF5_PROBE_TIMEOUT_S", 3.0)


@pytest.fixture(autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> object:
    """Prints the counts per reader of each fuzz test when it ends (passed or not)."""
    before = {kind: dict(tally) for kind, tally in COUNTS.items()}
    yield
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        for kind, tally in sorted(COUNTS.items()):
            old = before.get(kind, {})
            new = {k: v - old.get(k, 0) for k, v in tally.items()}
            if new["cases"]:
                print(f"\n  fuzz {kind}: {new}", end="", flush=True)


def run_cli(args: list[str]) -> tuple[int, str]:
    """``fastsim ARGS`` in this process: (exit status, stderr)."""
    err = io.StringIO()
    out = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main(args)
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
    return rc, err.getvalue()


@contextlib.contextmanager
def case_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> object:
    """A fresh directory for one case, removed when the case passes (the long run makes 1e4
    cases per reader, a copy of a 1.5 MB file each); a failing case's directory is kept."""
    tmp = tmp_path_factory.mktemp(name)
    try:
        yield tmp
    except Exception:
        raise  # a failing case: its directory is kept
    except BaseException:  # hypothesis abandoning an example (StopTest), an interrupt
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)


def check_outcome(kind: str, rc: int, stderr: str, name: str, output: Path | None = None) -> None:
    tally = COUNTS.setdefault(kind, {"cases": 0, "exit 0": 0, "exit 2": 0})
    tally["cases"] += 1
    assert rc in (0, 2), (rc, stderr)
    if rc == 0:
        tally["exit 0"] += 1
        return
    tally["exit 2"] += 1
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("fastsim: error:"), stderr
    assert name in lines[0], stderr
    if output is not None:
        assert not output.exists(), f"{output} presented as complete after a failure"


def mutate_bytes(data: bytes, draw: st.DrawFn) -> bytes:
    """Byte flips, truncation, a deleted or duplicated run of bytes."""
    kind = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate", "insert"]))
    n = len(data)
    buf = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 16))):
            i = draw(st.integers(0, n - 1))
            buf[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(buf)
    if kind == "truncate":
        return bytes(buf[: draw(st.integers(0, n - 1))])
    i = draw(st.integers(0, n - 1))
    j = min(n, i + draw(st.integers(1, 64)))
    if kind == "delete":
        return bytes(buf[:i] + buf[j:])
    if kind == "duplicate":
        return bytes(buf[:j] + buf[i:j] + buf[j:])
    return bytes(buf[:i] + draw(st.binary(min_size=1, max_size=32)) + buf[i:])


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def small_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid fastsim file with every collection (detector, trigger, reco), 300 events."""
    from fastsim.cards import load_card
    from fastsim.run import run

    tmp = tmp_path_factory.mktemp("fuzz")
    card = load_card(CARDS / "belle2_run1.yaml", {"run": {"events": 300, "chunk_size": 300}})
    for p in card["processes"].values():
        p["events"] = 100
    out = tmp / "small.h5"
    run(card, output=out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def small_lhe(tmp_path_factory: pytest.TempPathFactory, small_h5: Path) -> dict[str, Path]:
    """The same events at generator level as LHEH5, LHE (pylhe) and HepMC3."""
    import warnings

    import pylhe

    from fastsim.external.convert import convert

    tmp = tmp_path_factory.mktemp("fuzz_ext")
    convert(small_h5, tmp / "s.lheh5", None)
    convert(small_h5, tmp / "s.hepmc3", None)
    lhef = pylhe.LHEFile.fromfile(tmp / "s.lheh5")
    lhef.events = list(lhef.events)[:40]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lhef.tofile(tmp / "s.lhe")
    return {"lhe": tmp / "s.lhe", "lheh5": tmp / "s.lheh5", "hepmc3": tmp / "s.hepmc3"}


# ------------------------------------------------------------------------------ cards
HOSTILE = st.one_of(
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(-float("inf")),
    st.just(1e308),
    st.just(-1),
    st.just(0),
    st.just(""),
    st.just("x" * 300),
    st.just([]),
    st.just({}),
    st.just(None),
    st.just(True),
    st.just([1, "a", None]),
    st.just({"unknown": 1}),
    st.integers(-(10**20), 10**20),
    st.text(max_size=20),
)


def _leaves(node: object, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        out = [(*path, k) for k in node] if True else []
        for k, v in node.items():
            out += _leaves(v, (*path, k))
        return out
    if isinstance(node, list):
        out = []
        for i, v in enumerate(node):
            out += [(*path, i), *_leaves(v, (*path, i))]
        return out
    return []


BASE_CARD = (CARDS / "belle2_run1.yaml").read_text()


def _card_structure_case(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """A key deleted, or a value replaced by a hostile one of another type, anywhere."""
    raw = yaml.safe_load(BASE_CARD)
    paths = _leaves(raw)
    path = data.draw(st.sampled_from(paths))
    node = raw
    for p in path[:-1]:
        node = node[p]
    if data.draw(st.booleans()) and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = data.draw(HOSTILE)
    with case_dir(tmp_path_factory, "card") as tmp:
        card = tmp / "card.yaml"
        (tmp / "detectors").symlink_to(CARDS / "detectors")
        (tmp / "beams").symlink_to(CARDS / "beams")
        card.write_text(yaml.safe_dump(raw, allow_unicode=True))
        rc, err = run_cli(["validate", str(card)])
        check_outcome("card (structure)", rc, err, "card.yaml")


test_fuzz_card_structure = FUZZ(given(data=st.data())(_card_structure_case))
test_fuzz_long_card_structure = pytest.mark.fuzz_long(LONG(given(data=st.data())(_card_structure_case)))


def _card_text_case(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """Byte-level mutations of the card's text (YAML syntax errors, wrong encodings ...)."""
    with case_dir(tmp_path_factory, "cardtext") as tmp:
        (tmp / "detectors").symlink_to(CARDS / "detectors")
        (tmp / "beams").symlink_to(CARDS / "beams")
        card = tmp / "card.yaml"
        card.write_bytes(mutate_bytes(BASE_CARD.encode(), data.draw))
        rc, err = run_cli(["validate", str(card)])
        check_outcome("card (text)", rc, err, "card.yaml")


test_fuzz_card_text = FUZZ(given(data=st.data())(_card_text_case))
test_fuzz_long_card_text = pytest.mark.fuzz_long(LONG(given(data=st.data())(_card_text_case)))


# ------------------------------------------------------------------------------ external samples
def _external_sample_case(
    tmp_path_factory: pytest.TempPathFactory, small_lhe: dict[str, Path], kind: str, data: st.DataObject
) -> None:
    """Truncation, byte flips, malformed numbers, wrong counts: ``fastsim convert IN out.h5``."""
    with case_dir(tmp_path_factory, kind) as tmp:
        src = small_lhe[kind]
        bad = tmp / f"bad{src.suffix}"
        body = src.read_bytes()
        if kind != "lheh5" and data.draw(st.booleans()):
            # a number replaced by a malformed or absurd one, on a random line
            lines = body.split(b"\n")
            i = data.draw(st.integers(0, len(lines) - 1))
            words = lines[i].split(b" ")
            j = data.draw(st.integers(0, max(len(words) - 1, 0)))
            words[j] = data.draw(
                st.sampled_from([b"nan", b"-inf", b"1e999", b"x1", b"-1", b"999999999", b""])
            )
            lines[i] = b" ".join(words)
            body = b"\n".join(lines)
        else:
            body = mutate_bytes(body, data.draw)
        bad.write_bytes(body)
        out = tmp / "out.h5"
        rc, err = run_cli(["convert", str(bad), str(out), "--quiet"])
        check_outcome(kind, rc, err, bad.name, out if rc else None)


READERS = pytest.mark.parametrize("kind", ["lhe", "lheh5", "hepmc3"])
test_fuzz_external_samples = READERS(FUZZ(given(data=st.data())(_external_sample_case)))
test_fuzz_long_external_samples = pytest.mark.fuzz_long(
    READERS(LONG(given(data=st.data())(_external_sample_case)))
)


# ------------------------------------------------------------------------------ fastsim HDF5
def _structured_h5_mutation(path: Path, draw: st.DrawFn) -> None:
    """Missing, mistyped or reshaped datasets, inconsistent offsets, damaged /meta."""
    with h5py.File(path, "r+") as f:
        groups = [g for g in f if isinstance(f[g], h5py.Group)]
        kind = draw(st.sampled_from(["delete", "retype", "resize", "offsets", "meta", "meta_json"]))
        if kind == "meta":
            key = draw(st.sampled_from(list(f["meta"].attrs)))
            if draw(st.booleans()):
                del f["meta"].attrs[key]
            else:
                f["meta"].attrs[key] = draw(st.sampled_from(["", "x", "[1, 2", "-5", "nan"]))
            return
        if kind == "meta_json":
            f["meta"].attrs["processes"] = draw(
                st.sampled_from(['[{"id": "a"}]', "[1, 2]", '{"a": 1}', "[]", "[{}]"])
            )
            return
        g = f[draw(st.sampled_from(groups))]
        if not isinstance(g, h5py.Group) or not len(g):
            return
        name = draw(st.sampled_from(sorted(g)))
        if kind == "offsets" and "offsets" in g:
            off = g["offsets"][()]
            i = draw(st.integers(0, len(off) - 1))
            off[i] = draw(st.sampled_from([-1, off[-1] + 5, 2**40, 0]))
            g["offsets"][...] = off
            return
        ds = g[name]
        if not isinstance(ds, h5py.Dataset):
            return
        data = ds[()]
        del g[name]
        if kind == "delete":
            return
        if kind == "retype":
            g[name] = np.array([b"abc"] * max(len(np.atleast_1d(data)), 1))
        else:
            n = len(np.atleast_1d(data))
            g[name] = np.zeros(draw(st.sampled_from([0, max(n - 1, 0), n + 3])))


def _fastsim_file_case(tmp_path_factory: pytest.TempPathFactory, small_h5: Path, data: st.DataObject) -> None:
    """Truncation, byte flips and structural damage through ``info``, ``convert`` and ``analyze``."""
    with case_dir(tmp_path_factory, "h5") as tmp:
        bad = tmp / "bad.h5"
        shutil.copy(small_h5, bad)
        if data.draw(st.booleans()):
            bad.write_bytes(mutate_bytes(bad.read_bytes(), data.draw))
        else:
            try:
                _structured_h5_mutation(bad, data.draw)
            except (OSError, KeyError, ValueError, TypeError):
                return  # the mutation itself could not be made
        command = data.draw(st.sampled_from(["info", "info --json", "convert", "analyze"]))
        if command.startswith("info"):
            rc, err = run_cli([*command.split(), str(bad)])
            check_outcome("fastsim HDF5 (" + command + ")", rc, err, "bad.h5")
        elif command == "convert":
            out = tmp / "out.hepmc3"
            rc, err = run_cli(["convert", str(bad), str(out), "--quiet"])
            check_outcome("fastsim HDF5 (convert)", rc, err, "bad.h5", out if rc else None)
        else:
            rc, err = run_cli(
                ["analyze", "zprime_4mu", str(bad), "--lumi", "1", "-o", str(tmp / "res"), "--quiet"]
            )
            check_outcome("fastsim HDF5 (analyze)", rc, err, "bad.h5")


test_fuzz_fastsim_files = FUZZ(given(data=st.data())(_fastsim_file_case))
test_fuzz_long_fastsim_files = pytest.mark.fuzz_long(LONG(given(data=st.data())(_fastsim_file_case)))


# ------------------------------------------------------------------------------ run --resume
@pytest.fixture(scope="module")
def killed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(card, reference output, .part file of the same run interrupted after three chunks)."""
    from fastsim.cards import load_card
    from fastsim.run import run
    from tests.conftest import SMALL_CARD, write_card

    tmp = tmp_path_factory.mktemp("resume")
    body = SMALL_CARD.format(events=6000, chunk=1000) + "detector: {enabled: false}\n"
    card_path = write_card(tmp, body)
    card = load_card(card_path)
    run(card, output=tmp / "ref.h5", progress=False)

    def stop(index: int) -> None:
        if index == 2:
            raise KeyboardInterrupt

    with contextlib.suppress(KeyboardInterrupt):
        run(card, output=tmp / "cut.h5", progress=False, on_chunk=stop)
    return card_path, tmp / "ref.h5", tmp / "cut.h5.part"


def _resume_case(
    tmp_path_factory: pytest.TempPathFactory, killed_run: tuple[Path, Path, Path], data: st.DataObject
) -> None:
    """A damaged ``.part`` file and ``run --resume`` (in a subprocess: HDF5 must not take the
    test down): exit 0 with the file an uninterrupted run writes (the damage is detected and the
    run starts again, or it did not touch the finished chunks), or exit 2 with one line."""
    import subprocess
    import sys

    from tests.conftest import REPO
    from tests.test_run import assert_same_file

    card, ref, part = killed_run
    with case_dir(tmp_path_factory, "resume_case") as tmp:
        damaged = tmp / "out.h5.part"
        damaged.write_bytes(mutate_bytes(part.read_bytes(), data.draw))
        r = subprocess.run(
            [sys.executable, "-m", "fastsim", "run", str(card), "-o", str(tmp / "out.h5"), "--resume", "--quiet"],
            cwd=tmp, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        check_outcome("run --resume (damaged .part)", r.returncode, r.stderr, "out.h5", None)
        if r.returncode == 0:
            assert_same_file(ref, tmp / "out.h5")


# a case is a subprocess run of ~3.5 s: a sixth of the other readers' count in CI, and in the
# long run FASTSIM_FUZZ_LONG_RESUME_EXAMPLES (default 500, about half an hour on 2 cores), not 1e4
test_fuzz_resume_of_a_damaged_part_file = settings(FUZZ, max_examples=max(N_EXAMPLES // 6, 8))(
    given(data=st.data())(_resume_case)
)
test_fuzz_long_resume_of_a_damaged_part_file = pytest.mark.fuzz_long(
    settings(FUZZ, max_examples=int(os.environ.get("FASTSIM_FUZZ_LONG_RESUME_EXAMPLES", "500")))(
        given(data=st.data())(_resume_case)
    )
)


# ------------------------------------------------------------------------------ regressions
# inputs the long run (fuzz_long) found, kept as ordinary tests
def _break_global_heap(path: Path) -> None:
    """Zero the first object header of the file's first global heap collection (index 0,
    size 0): HDF5 then loops forever reading any variable-length string attribute stored
    there (found by the long run: one byte inserted into an LHEH5 file's column names)."""
    data = bytearray(path.read_bytes())
    g = data.find(b"GCOL")  # signature, version, 3 reserved bytes, collection size: 16 bytes
    assert g >= 0
    data[g + 16 : g + 32] = bytes(16)
    path.write_bytes(bytes(data))


@pytest.fixture
def quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastsim.io

    monkeypatch.setattr(fastsim.io, "HDF5_PROBE_TIMEOUT_S", 3.0)


@pytest.mark.parametrize("kind", ["lheh5", "fastsim"])
@pytest.mark.usefixtures("quick_probe")
def test_damaged_global_heap_is_one_line(
    tmp_path: Path, small_h5: Path, small_lhe: dict[str, Path], kind: str
) -> None:
    """A file whose HDF5 metadata cannot be read to the end (HDF5 loops forever): exit 2
    and one line after the probe's time limit, not a hang; no output."""
    src = small_lhe["lheh5"] if kind == "lheh5" else small_h5
    bad = tmp_path / f"bad{src.suffix}"
    shutil.copy(src, bad)
    _break_global_heap(bad)
    out = tmp_path / ("out.h5" if kind == "lheh5" else "out.hepmc3")
    commands = [["convert", str(bad), str(out), "--quiet"]]
    if kind == "fastsim":
        commands += [["info", str(bad)], ["info", "--json", str(bad)]]
    for args in commands:
        rc, err = run_cli(args)
        assert rc == 2, (args, rc, err)
        assert err.count("\n") == 1 and err.startswith(f"fastsim: error: {bad}: "), err
        assert "HDF5 metadata did not end within 3 s" in err, err
        assert not out.exists() and not out.with_name(out.name + ".part").exists()


@pytest.mark.usefixtures("quick_probe")
def test_resume_of_a_part_file_with_a_damaged_global_heap(
    tmp_path: Path, killed_run: tuple[Path, Path, Path]
) -> None:
    """``run --resume`` of a ``.part`` file whose metadata HDF5 cannot read to the end: the
    run starts again and writes the file an uninterrupted run writes."""
    from fastsim.cards import load_card
    from fastsim.run import run
    from tests.test_run import assert_same_file

    card, ref, part = killed_run
    shutil.copy(part, tmp_path / "out.h5.part")
    _break_global_heap(tmp_path / "out.h5.part")
    run(load_card(card), output=tmp_path / "out.h5", resume=True, progress=False)
    assert_same_file(ref, tmp_path / "out.h5")


@pytest.mark.parametrize(
    "damage", ["object_header", "progress_beyond_data", "records_missing", "progress_type"]
)
def test_resume_of_a_part_file_whose_objects_or_progress_are_damaged(
    tmp_path: Path, killed_run: tuple[Path, Path, Path], damage: str
) -> None:
    """``--resume`` of a ``.part`` file with an unopenable group (the long run: one bit of the
    /events object header; ``items()`` skipped it and the next write raised KeyError, exit 1
    with a traceback) or progress that does not match the data: the run starts again and
    writes the file an uninterrupted run writes."""
    import json

    from fastsim.cards import load_card
    from fastsim.run import run
    from tests.test_run import assert_same_file

    card, ref, part = killed_run
    damaged = tmp_path / "out.h5.part"
    shutil.copy(part, damaged)
    if damage == "object_header":
        with h5py.File(damaged, "r") as f:
            addr = h5py.h5o.get_info(f["events"].id).addr
        data = bytearray(damaged.read_bytes())
        data[addr] ^= 1
        damaged.write_bytes(bytes(data))
    else:
        with h5py.File(damaged, "r+") as f:
            progress = json.loads(f.attrs["progress"])
            if damage == "progress_beyond_data":
                progress["n_events"] += 1000
            elif damage == "records_missing":
                progress["records"] = progress["records"][:-1]
            else:
                progress["chunks_done"] = "3"
            f.attrs["progress"] = json.dumps(progress)
    run(load_card(card), output=tmp_path / "out.h5", resume=True, progress=False)
    assert_same_file(ref, tmp_path / "out.h5")


@pytest.mark.parametrize(
    ("line", "token", "value", "reason"),
    [
        (2, 2, b"-inf", "beam energies"),  # EBMUP1 (the long run's case: convert raised a RuntimeWarning)
        (2, 3, b"nan", "beam energies"),  # EBMUP2
        (2, 2, b"0", "beam energies"),
        (3, 0, b"inf", "cross section"),  # XSECUP
        (3, 1, b"nan", "cross section"),  # XERRUP
    ],
)
def test_lhe_init_with_non_finite_numbers(
    tmp_path: Path, small_lhe: dict[str, Path], line: int, token: int, value: bytes, reason: str
) -> None:
    """Beam energies and cross sections in ``<init>`` that are not finite (or not positive,
    for the energies): exit 2 and one line naming the file and ``<init>``."""
    lines = small_lhe["lhe"].read_bytes().split(b"\n")
    words = lines[line].split()
    words[token] = value
    lines[line] = b" ".join(words)
    bad = tmp_path / "bad.lhe"
    bad.write_bytes(b"\n".join(lines))
    out = tmp_path / "out.h5"
    rc, err = run_cli(["convert", str(bad), str(out), "--quiet"])
    assert rc == 2 and err.count("\n") == 1, (rc, err)
    assert err.startswith(f"fastsim: error: {bad}: <init>: ") and reason in err, err
    assert not out.exists()


@pytest.mark.parametrize("damage", ["narrow_particles", "empty_v1_groups"])
def test_lheh5_tables_that_do_not_match_their_columns(
    tmp_path: Path, small_lhe: dict[str, Path], damage: str
) -> None:
    """An LHEH5 ``particles`` table with fewer columns than its column names (the long run:
    a damaged dataspace, IndexError while reading), or LHEH5 v1 groups without datasets:
    exit 2 and one line naming the file and the table."""
    bad = tmp_path / "bad.lheh5"
    shutil.copy(small_lhe["lheh5"], bad)
    with h5py.File(bad, "r+") as f:
        if damage == "narrow_particles":
            names = f["particles"].attrs["properties"]
            narrow = f["particles"][:, :5]
            del f["particles"]
            f["particles"] = narrow
            f["particles"].attrs["properties"] = names
        else:
            del f["events"], f["particles"]
            f.create_group("event")
            f.create_group("particle")
    out = tmp_path / "out.h5"
    rc, err = run_cli(["convert", str(bad), str(out), "--quiet"])
    assert rc == 2 and err.count("\n") == 1, (rc, err)
    table = "/particles has shape (" if damage == "narrow_particles" else "/event is not a group"
    assert err.startswith(f"fastsim: error: {bad}: not an LHEH5 file: {table}"), err
    assert damage != "narrow_particles" or ", 5), not (rows, 13 named columns)" in err, err
    assert not out.exists()


def _first_event(data: bytes) -> tuple[bytes, bytes, bytes]:
    a = data.index(b"\nE ") + 1
    b = data.index(b"\nE ", a) + 1
    return data[:a], data[a:b], data[b:]


def _hepmc_ids_case(event: bytes, damage: str) -> bytes:
    """The first event of the fixture's HepMC3 file (E 0 NV NP, the beams into V -1 [1,2],
    then particles from -1) with ids HepMC3's reader uses without bounds checks."""
    e_line = event.split(b"\n", 1)[0]
    _, _, nv, npart = e_line.split(b" ")[:4]
    nv, npart = int(nv), int(npart)
    assert b"\nV -1 0 [1,2] " in event and b"\nP 3 -1 " in event and b"\nP 4 " in event
    if damage == "incoming":  # the long run's case: a segfault (one byte inserted)
        return event.replace(b"V -1 0 [1,2]", f"V -1 0 [{npart + 5},2]".encode())
    if damage == "vertex_low":
        return event.replace(b"\nV -1 0 ", f"\nV -{nv + 4} 0 ".encode())
    if damage == "vertex_positive":
        return event.replace(b"\nV -1 0 ", b"\nV 1 0 ")
    if damage == "vertex_gaps":
        return event.replace(e_line, f"E 0 {nv + 2} {npart}".encode())
    if damage == "vertex_count":
        return event.replace(e_line, f"E 0 999999999 {npart}".encode())
    if damage == "particle_count":
        return event.replace(e_line, f"E 0 {nv} 999999999".encode())
    if damage == "mother":  # accepted before: exit 0
        return event.replace(b"\nP 3 -1 ", f"\nP 3 -{nv + 2} ".encode())
    assert damage == "duplicate"
    return event.replace(b"\nP 4 ", b"\nP 3 ")


HEPMC_IDS = {
    "incoming": "incoming particle id out of range",
    "vertex_low": "vertex id out of range",
    "vertex_positive": "vertex id out of range",
    "vertex_gaps": "vertex ids without a vertex",
    "vertex_count": "declares 999999999 vertices",
    "particle_count": "particles; it has",
    "mother": "mother id out of range",
    "duplicate": "particle id given twice",
}


@pytest.mark.parametrize("damage", list(HEPMC_IDS))
def test_hepmc3_ids_the_reader_does_not_check(
    tmp_path: Path, small_lhe: dict[str, Path], damage: str
) -> None:
    """Particle and vertex ids out of range, duplicated, or declared counts that do not match
    (HepMC3's ReaderAscii indexes its arrays with them unchecked: the long run's segfault):
    exit 2 and one line naming the file, event and line.  In a subprocess, so that a
    regression crashes the child, not the test run."""
    import subprocess
    import sys

    from tests.conftest import REPO

    head, event, rest = _first_event(small_lhe["hepmc3"].read_bytes())
    bad = tmp_path / "bad.hepmc3"
    bad.write_bytes(head + _hepmc_ids_case(event, damage) + rest)
    out = tmp_path / "out.h5"
    r = subprocess.run(
        [sys.executable, "-m", "fastsim", "convert", str(bad), str(out), "--quiet"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, (r.returncode, r.stderr)
    assert r.stderr.startswith(f"fastsim: error: {bad}: event 0 (line "), r.stderr
    assert HEPMC_IDS[damage] in r.stderr, r.stderr
    assert not out.exists()
