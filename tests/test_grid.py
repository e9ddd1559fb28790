"""Signal grids: expansion, lifetime reweighting against direct simulation, executors, resume."""

from __future__ import annotations

import csv
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fastsim.decays import mixture_weights
from fastsim.grid import plan_grid, run_grid
from fastsim.schema import CardError

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 5, events: {events}, chunk_size: 2000, output: x.h5}}
dataset: {{name: test, luminosity_fb: 10.0}}
particles:
  9900025:
    name: S
    mass: {mass}
    ctau: {ctau}
    decays: [{{br: 1.0, daughters: [13, -13]}}]
processes:
  gun: {{generator: particle_gun, pdg: 9900025, p_min: 1.0, p_max: 3.0, cos_theta_min: -0.6, cos_theta_max: 0.8}}
"""


def card(tmp_path: Path, name: str, events: int = 4000, mass: str = "1.0", ctau: str = "10.0") -> Path:
    path = tmp_path / name
    path.write_text(CARD.format(events=events, mass=mass, ctau=ctau))
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_mixture_weights_single_component_is_the_exponential_ratio() -> None:
    t = np.array([0.5, 3.0, 40.0])
    w = mixture_weights(t, 7.0, np.array([2.0]))
    assert np.allclose(w, (2.0 / 7.0) * np.exp(-t * (1 / 7.0 - 1 / 2.0)), rtol=1e-12)
    # importance weights average to one under the sampling density
    rng = np.random.default_rng(1)
    comps = np.array([1.0, 10.0, 100.0])
    ct = rng.standard_exponential(400_000) * comps[rng.integers(3, size=400_000)]
    assert abs(np.mean(mixture_weights(ct, 30.0, comps)) - 1) < 0.02


def test_expansion_and_grouping(tmp_path: Path) -> None:
    path = card(tmp_path, "g.yaml", mass="{values: [0.5, 1.0]}", ctau="{logspace: [1.0, 100.0, 5]}")
    axes, tasks = plan_grid(path)
    assert axes == [("particles", 9900025, "mass"), ("particles", 9900025, "ctau")]
    # the lifetime axis shares one simulation per mass
    assert len(tasks) == 2
    assert [len(t.points) for t in tasks] == [5, 5]
    assert np.allclose([r[9900025] for r in tasks[0].reweight], np.geomspace(1, 100, 5))
    assert tasks[1].card["particles"][9900025]["mass"] == 1.0


def test_axis_over_included_cards_runs_one_data_set_per_value(tmp_path: Path) -> None:
    """include: [..., {values: [a, b]}]: one task group per data set, each with its beams and
    luminosity, points numbered on, seeds derived from the card's (independent samples), and
    the card refused by `fastsim run`."""
    from fastsim.cards import load_card

    text = (
        CARD.format(events=100, mass="{values: [0.5, 1.0]}", ctau="10.0")
        .replace(
            "include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]",
            "include: [detectors/belle.yaml, {values: [datasets/belle_y4s.yaml, datasets/belle_y5s.yaml]}]",
        )
        .replace("dataset: {name: test, luminosity_fb: 10.0}\n", "")
    )
    path = tmp_path / "g.yaml"
    path.write_text(text)
    axes, tasks = plan_grid(path)
    assert axes == [("include", 1), ("particles", 9900025, "mass")]
    assert len(tasks) == 4
    assert [t.points for t in tasks] == [[0], [1], [2], [3]]
    assert [t.params[0]["include.1"] for t in tasks] == ["datasets/belle_y4s.yaml"] * 2 + [
        "datasets/belle_y5s.yaml"
    ] * 2
    assert [t.card["dataset"]["luminosity_fb"] for t in tasks] == [711.0, 711.0, 121.4, 121.4]
    assert tasks[2].card["beam"]["her"]["energy"] > tasks[0].card["beam"]["her"]["energy"]
    seeds = {t.card["run"]["seed"] for t in tasks}
    assert len(seeds) == 2 and 5 not in seeds
    with pytest.raises(CardError, match="grid axis over included cards"):
        load_card(path)


def test_bad_axis(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="logspace"):
        plan_grid(card(tmp_path, "g.yaml", ctau="{logspace: [0.0, 100.0, 5]}"))


def test_reweighted_efficiency_matches_direct_simulation(tmp_path: Path) -> None:
    rows = run_grid(
        card(tmp_path, "g.yaml", events=6000, ctau="{logspace: [2.0, 200.0, 9]}"),
        tmp_path / "grid",
        show_progress=False,
    )
    assert len(rows) == 9
    effs = [r["efficiency"] for r in rows]
    assert effs[0] > effs[-1] + 0.2  # decays beyond the tracker lose the two tracks
    for i in (0, 4, 8):
        ctau = rows[i]["particles.9900025.ctau"]
        direct = run_grid(
            card(tmp_path, f"d{i}.yaml", events=6000, ctau=repr(ctau)),
            tmp_path / f"direct{i}",
            show_progress=False,
        )[0]
        diff = rows[i]["efficiency"] - direct["efficiency"]
        err = np.hypot(rows[i]["efficiency_err"], direct["efficiency_err"])
        assert abs(diff) < 3.5 * err, (ctau, rows[i]["efficiency"], direct["efficiency"], err)
        assert rows[i]["effective_events"] > 1000


def test_efficiency_map_plot(tmp_path: Path) -> None:
    from fastsim.grid import plot_efficiency_map

    path = card(
        tmp_path, "g.yaml", events=500, mass="{values: [0.8, 1.5]}", ctau="{logspace: [1.0, 100.0, 3]}"
    )
    run_grid(path, tmp_path / "g", show_progress=False)
    png = plot_efficiency_map(tmp_path / "g", "particles.9900025.mass", "particles.9900025.ctau")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(CardError, match="columns"):
        plot_efficiency_map(tmp_path / "g", "mass", "ctau")
    from fastsim.grid import plot_limit_curves

    png = plot_limit_curves(tmp_path / "g", "particles.9900025.ctau", "particles.9900025.mass")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_zero_background_limit_column(tmp_path: Path) -> None:
    path = card(tmp_path, "g.yaml", events=800, ctau="{values: [5.0, 50.0]}")
    rows = run_grid(path, tmp_path / "g", show_progress=False)
    for r in rows:
        # n = 0, b = 0 at 90% CL: 2.303 events (PDG statistics review); L = 10 fb^-1 in the card
        expected = 2.302585 / (10.0 * r["efficiency"])
        assert r["sigma_ul_fb_90cl_no_background"] == pytest.approx(expected, rel=1e-6)


def test_local_pool_and_dask_give_identical_tables(tmp_path: Path) -> None:
    path = card(
        tmp_path, "g.yaml", events=1500, mass="{values: [0.8, 1.5]}", ctau="{logspace: [1.0, 50.0, 3]}"
    )
    run_grid(path, tmp_path / "local", workers=2, show_progress=False)
    run_grid(path, tmp_path / "dask", dask_local=2, show_progress=False)
    assert read_csv(tmp_path / "local" / "grid.csv") == read_csv(tmp_path / "dask" / "grid.csv")


def _pool_workers(parent: int) -> list[int]:
    """Children of ``parent`` that are pool workers (not multiprocessing's helper processes)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(") ")[-1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"resource_tracker" not in cmdline and b"forkserver" not in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def _kill_one_worker_soon(parent: int, delay: float, killed: list[int]) -> None:
    """Kill a pool worker once one has been running for ``delay`` seconds (within 60 s)."""
    first_seen: dict[int, float] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = time.monotonic()
        for pid in _pool_workers(parent):
            first_seen.setdefault(pid, now)
            if now - first_seen[pid] >= delay:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.02)


def test_worker_death_is_retried_and_resume_runs_only_missing(tmp_path: Path) -> None:
    path = card(tmp_path, "g.yaml", events=6000, mass="{values: [0.6, 0.9, 1.2, 1.5]}")
    ref = run_grid(path, tmp_path / "ref", workers=1, show_progress=False)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_one_worker_soon, args=(os.getpid(), 0.5, killed))
    killer.start()
    rows = run_grid(path, tmp_path / "killed", workers=2, show_progress=False)
    killer.join()
    assert killed, "no pool worker was running when the killer looked"
    assert read_csv(tmp_path / "killed" / "grid.csv") == read_csv(tmp_path / "ref" / "grid.csv")
    assert rows == ref
    # resume: drop one task's results; only that task runs again
    (tmp_path / "killed" / "task_0002.json").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "killed").glob("task_*.h5")}
    run_grid(path, tmp_path / "killed", workers=1, resume=True, show_progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "killed").glob("task_*.h5")}
    assert [k for k in before if before[k] != after[k]] == ["task_0002.h5"]
    assert read_csv(tmp_path / "killed" / "grid.csv") == read_csv(tmp_path / "ref" / "grid.csv")


def test_weighted_efficiency_error_against_binomial_and_rounding() -> None:
    """Unit weights give the binomial error sqrt(e(1-e)/n); every event passing gives zero
    error even when the all-event sum of w^2 is rounded below the passing one (CI found a
    skimmed grid whose variance came out -1e-16 and failed in math.sqrt)."""
    from fastsim.grid import weighted_efficiency

    eff, err = weighted_efficiency(30.0, 100.0, 30.0, 100.0)
    assert eff == pytest.approx(0.3)
    assert err == pytest.approx(np.sqrt(0.3 * 0.7 / 100), rel=1e-12)
    w = np.random.default_rng(1).uniform(0.1, 3.0, 200)
    total = float(np.sum(w * w))
    eff, err = weighted_efficiency(float(w.sum()), float(w.sum()), total, total * (1 - 1e-15))
    assert eff == pytest.approx(1.0) and err == 0.0
