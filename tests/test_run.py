"""The run loop end to end: determinism across workers, resume after a kill, the file contents."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from fastsim.cards import load_card
from fastsim.run import plan_chunks, run
from tests.conftest import SMALL_CARD, write_card


def datasets(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
        )
    return out


def meta(path: Path) -> dict:
    with h5py.File(path) as f:
        return {k: v for k, v in f["meta"].attrs.items() if k != "created"}


def assert_same_file(a: Path, b: Path) -> None:
    da, db = datasets(a), datasets(b)
    assert list(da) == list(db)
    for k in da:
        assert da[k].dtype == db[k].dtype, k
        assert np.array_equal(da[k].view(np.uint8), db[k].view(np.uint8)), k
    ma, mb = meta(a), meta(b)
    assert ma.keys() == mb.keys()
    for k in ma:
        assert ma[k] == mb[k], k


def test_plan_chunks_covers_all_events(tmp_path: Path) -> None:
    card = load_card(write_card(tmp_path, SMALL_CARD.format(events=1234, chunk=500)))
    tasks = plan_chunks(card)
    assert [t.n_events for t in tasks] == [500, 500, 234]
    assert [t.index for t in tasks] == [0, 1, 2]


def test_bit_identical_across_worker_counts(tmp_path: Path) -> None:
    card = load_card(write_card(tmp_path, SMALL_CARD.format(events=6000, chunk=1000)))
    s1 = run(card, output=tmp_path / "w1.h5", workers=1, progress=False)
    s2 = run(card, output=tmp_path / "w2.h5", workers=2, progress=False)
    assert s1.n_events == s2.n_events == 6000
    assert_same_file(tmp_path / "w1.h5", tmp_path / "w2.h5")
    # a different seed gives a different file
    other = load_card(
        write_card(
            tmp_path, SMALL_CARD.format(events=6000, chunk=1000).replace("seed: 7", "seed: 8"), "other.yaml"
        )
    )
    run(other, output=tmp_path / "w3.h5", progress=False)
    assert not np.array_equal(datasets(tmp_path / "w1.h5")["mc/px"], datasets(tmp_path / "w3.h5")["mc/px"])


def test_dask_local_cluster_gives_the_local_file(tmp_path: Path) -> None:
    """``run(dask_local=2)`` (``fastsim run --dask-local 2``): the chunks run on a dask
    LocalCluster and come back out of order; the file is bit-identical to the local pool's, and
    the profile still has every stage."""
    card = load_card(write_card(tmp_path, SMALL_CARD.format(events=5000, chunk=1000)))
    run(card, output=tmp_path / "local.h5", workers=1, progress=False)
    s = run(card, output=tmp_path / "dask.h5", progress=False, dask_local=2, profile=True)
    assert s.n_events == 5000
    assert {"generator", "writer"} <= set(s.timings)
    assert_same_file(tmp_path / "local.h5", tmp_path / "dask.h5")


def test_profile_times_every_stage_and_changes_nothing(tmp_path: Path) -> None:
    """``run(profile=True)`` (``fastsim run --profile``): seconds for the generator, decays,
    detector, trigger, reco and the writer, with one and two workers; the files are the same
    bits as without profiling."""
    card = load_card(write_card(tmp_path, SMALL_CARD.format(events=3000, chunk=1000)))
    plain = run(card, output=tmp_path / "plain.h5", workers=1, progress=False)
    assert plain.timings == {}
    stages = {"generator", "decays", "detector", "trigger", "reco", "writer"}
    for workers in (1, 2):
        out = tmp_path / f"profiled{workers}.h5"
        s = run(card, output=out, workers=workers, progress=False, profile=True)
        assert set(s.timings) == stages
        assert all(v >= 0 for v in s.timings.values()) and sum(s.timings.values()) > 0
        assert any(line.startswith("profile") for line in s.lines())
        assert_same_file(tmp_path / "plain.h5", out)


def test_compile_ahead_helper_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cold-cache helper process (fastsim.warmup) runs to completion and the file is
    bit-identical to a run without it."""
    from fastsim import warmup

    card = load_card(write_card(tmp_path, SMALL_CARD.format(events=1500, chunk=500)))
    run(card, output=tmp_path / "plain.h5", workers=1, progress=False)
    started = []
    original = warmup.start_compile_ahead

    def forced(card_: dict, workers: int) -> warmup.CompileAhead | None:
        ahead = original(card_, workers, force=True)
        started.append(ahead)
        return ahead

    monkeypatch.setattr(warmup, "start_compile_ahead", forced)
    run(card, output=tmp_path / "ahead.h5", workers=1, progress=False, compile_ahead=True)
    assert len(started) == 1 and started[0] is not None
    assert started[0].process.exitcode == 0  # the helper finished its synthetic events
    assert_same_file(tmp_path / "plain.h5", tmp_path / "ahead.h5")


def test_resume_after_interruption_gives_identical_file(tmp_path: Path) -> None:
    card = load_card(write_card(tmp_path, SMALL_CARD.format(events=5000, chunk=1000)))
    run(card, output=tmp_path / "ref.h5", progress=False)

    def crash_after_two(index: int) -> None:
        if index == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(card, output=tmp_path / "cut.h5", progress=False, on_chunk=crash_after_two)
    assert not (tmp_path / "cut.h5").exists()
    assert (tmp_path / "cut.h5.part").exists()
    summary = run(card, output=tmp_path / "cut.h5", progress=False, resume=True)
    assert summary.resumed_chunks == 3
    assert_same_file(tmp_path / "ref.h5", tmp_path / "cut.h5")


def test_sigkill_then_resume_gives_identical_file(tmp_path: Path) -> None:
    card_path = write_card(tmp_path, SMALL_CARD.format(events=300_000, chunk=10_000))
    # the writer is under test here: generation only, so the run is long in events, short in time
    cmd = [
        sys.executable,
        "-m",
        "fastsim",
        "run",
        str(card_path),
        "--quiet",
        "--set",
        "detector.enabled=false",
        "--set",
        "processes.ee_mumu.generator=ee_mumu_born",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    subprocess.run([*cmd, "-o", "ref.h5"], cwd=tmp_path, check=True, env=env)
    proc = subprocess.Popen([*cmd, "-o", "cut.h5"], cwd=tmp_path, env=env)
    part = tmp_path / "cut.h5.part"
    deadline = time.monotonic() + 120
    while not part.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_mid_run = not (tmp_path / "cut.h5").exists()
    subprocess.run([*cmd, "-o", "cut.h5", "--resume"], cwd=tmp_path, check=True, env=env)
    assert_same_file(tmp_path / "ref.h5", tmp_path / "cut.h5")
    assert killed_mid_run, "the run finished before it could be killed: make it longer"


def test_cli_run_and_info_json(tmp_path: Path) -> None:
    card = write_card(tmp_path, SMALL_CARD.format(events=3000, chunk=1000))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "fastsim", "run", str(card), "-o", "x.h5", "--events", "2500"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert "ee_mumu" in proc.stdout and "events/s" in proc.stdout
    info = json.loads(
        subprocess.run(
            [sys.executable, "-m", "fastsim", "info", "x.h5", "--json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
    )
    assert info["n_events"] == 2500
    assert info["schema_version"] == "2.0"
    (p,) = info["processes"]
    assert p["name"] == "ee_mumu" and p["sigma_nb"] > 0 and p["sigma_err_nb"] >= 0
    assert "mc" in info["collections"]
    bad = subprocess.run(
        [sys.executable, "-m", "fastsim", "info", "card.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert bad.returncode == 2 and "card.yaml" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
