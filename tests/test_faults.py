"""Injected faults (issue 24): a full disk during a write, a read-only output directory, two runs
on one output, SIGTERM then --resume, a dask worker killed mid-grid, and a planted decay-table
cache that must not execute.

The disk tests mount a small tmpfs (root, as in CI); they are skipped where mounting is not
allowed."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, SMALL_CARD, write_card
from tests.test_run import assert_same_file

ENV = {**os.environ, "PYTHONPATH": str(REPO)}
GEN_ONLY = ["--set", "detector.enabled=false", "--set", "processes.ee_mumu.generator=ee_mumu_born"]


def fastsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fastsim", *args],
        check=False,
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1.5 MB tmpfs (a disk that fills), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(disk)]
    r = subprocess.run(mount, check=False, capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("fastsim: error:"), r.stderr
    return lines[0]


def test_disk_full_then_resume(tmp_path: Path, small_disk: Path) -> None:
    card = write_card(tmp_path, SMALL_CARD.format(events=120_000, chunk=20_000))
    ref = fastsim("run", str(card), "--quiet", *GEN_ONLY, "-o", str(tmp_path / "ref.h5"), cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    out = small_disk / "out.h5"
    r = fastsim("run", str(card), "--quiet", *GEN_ONLY, "-o", str(out), cwd=tmp_path)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "No space left on device" in line and "--resume" in line and str(out) in line, line
    assert not out.exists() and (small_disk / "out.h5.part").exists()
    # space is back: the run completes where it stopped, to the file an uninterrupted run writes
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    r = fastsim("run", str(card), "--quiet", *GEN_ONLY, "-o", str(out), "--resume", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_same_file(tmp_path / "ref.h5", out)
    assert not (small_disk / "out.h5.lock").exists()


def test_read_only_output_directory(tmp_path: Path, small_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    card = write_card(tmp_path, SMALL_CARD.format(events=100, chunk=100))
    out = small_disk / "out.h5"
    r = fastsim("run", str(card), "--quiet", *GEN_ONLY, "-o", str(out), cwd=tmp_path)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "Read-only file system" in line and str(out) in line, line
    assert not any(small_disk.iterdir())


def test_two_runs_on_one_output(tmp_path: Path) -> None:
    """While one run writes OUT.h5, a second refuses, naming the lock; once the first is gone
    (killed: the kernel drops its lock) the output can be written again."""
    holder = subprocess.Popen(
        [sys.executable, "-c", ("from fastsim.io import EventFileWriter; import sys, time; "
         "w = EventFileWriter('out.h5', 'first'); print('locked', flush=True); time.sleep(60)")],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        card = write_card(tmp_path, SMALL_CARD.format(events=100, chunk=100))
        r = fastsim("run", str(card), "--quiet", *GEN_ONLY, "-o", "out.h5", cwd=tmp_path)
        assert r.returncode == 1
        line = one_error_line(r)
        assert "another fastsim run is writing it" in line and "out.h5.lock" in line, line
        assert (tmp_path / "out.h5.part").exists()  # the first run's file is untouched
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    r = fastsim("run", str(card), "--quiet", *GEN_ONLY, "-o", "out.h5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.h5").is_file() and not (tmp_path / "out.h5.lock").exists()


def test_sigterm_then_resume_gives_identical_file(tmp_path: Path) -> None:
    card = write_card(tmp_path, SMALL_CARD.format(events=300_000, chunk=10_000))
    cmd = [sys.executable, "-m", "fastsim", "run", str(card), "--quiet", *GEN_ONLY]
    subprocess.run([*cmd, "-o", "ref.h5"], cwd=tmp_path, check=True, env=ENV)
    proc = subprocess.Popen([*cmd, "-o", "cut.h5"], cwd=tmp_path, env=ENV, stderr=subprocess.PIPE)
    part = tmp_path / "cut.h5.part"
    deadline = time.monotonic() + 120
    while not part.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.communicate()
    killed_mid_run = not (tmp_path / "cut.h5").exists()
    subprocess.run([*cmd, "-o", "cut.h5", "--resume"], cwd=tmp_path, check=True, env=ENV)
    assert_same_file(tmp_path / "ref.h5", tmp_path / "cut.h5")
    assert killed_mid_run, "the run finished before it could be stopped: make it longer"


def test_planted_decay_cache_is_not_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parsed-DEC-file cache is read without unpickling: a planted pickle payload in the
    cache directory does not run, the table is parsed again and equals the real one."""
    from fastsim import decays

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    decays._load_dec.cache_clear()
    table = decays.sm_decay_table()
    entries = list((tmp_path / "cache" / "fastsim").glob("dec_*"))
    assert entries and all(e.suffix == ".npz" for e in entries)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    for e in entries:
        e.write_bytes(pickle.dumps(Payload()))
    decays._load_dec.cache_clear()
    again = decays.sm_decay_table()
    assert not marker.exists()
    assert again.__getstate__()["br"].tolist() == table.__getstate__()["br"].tolist()
    decays._load_dec.cache_clear()
    assert decays.load_table_npz(entries[0]).__getstate__()["daughters"].tolist() == (
        table.__getstate__()["daughters"].tolist()
    )


def test_dask_worker_killed_mid_grid(tmp_path: Path) -> None:
    """A dask LocalCluster worker killed while it simulates: the nanny restarts it, the task is
    retried, and the grid's table equals that of an undisturbed local run."""
    import threading

    from fastsim.grid import run_grid
    from tests.test_grid import _pool_workers, card, read_csv

    path = card(tmp_path, "g.yaml", events=6000, mass="{values: [0.6, 0.9, 1.2, 1.5]}")
    ref = run_grid(path, tmp_path / "ref", workers=1, show_progress=False)
    killed: list[int] = []
    out = tmp_path / "dask"

    def kill_a_busy_worker() -> None:
        # once a task is being written (its .part exists), both workers are busy: kill one
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if list(out.glob("task_*.h5.part")):
                workers = _pool_workers(os.getpid())
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
                    killed.append(workers[0])
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    rows = run_grid(path, tmp_path / "dask", dask_local=2, show_progress=False)
    killer.join()
    assert killed, "no dask worker was running when the killer looked"
    assert read_csv(tmp_path / "dask" / "grid.csv") == read_csv(tmp_path / "ref" / "grid.csv")
    assert rows == ref
