"""Grid figures (issue: signal grids).

grid_lifetime_scan_cost_ratio  time of a 50-lifetime scan / time of one lifetime (same events)
grid_scaling_2_workers         throughput of a 20-point grid with 2 workers over 1 worker
machine_scaling_2_procs        the same ratio for a trivially parallel CPU-bound reference
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 3, events: {events}, chunk_size: 5000, output: x.h5}}
dataset: {{name: bench, luminosity_fb: 1.0}}
particles:
  9900025: {{name: S, mass: {mass}, ctau: {ctau}, decays: [{{br: 1.0, daughters: [13, -13]}}]}}
processes:
  gun: {{generator: particle_gun, pdg: 9900025, p_min: 1.0, p_max: 3.0}}
"""


def _grid_seconds(tmp: Path, name: str, events: int, mass: str, ctau: str, workers: int) -> float:
    from fastsim.grid import run_grid

    path = tmp / f"{name}.yaml"
    path.write_text(CARD.format(events=events, mass=mass, ctau=ctau))
    t0 = time.perf_counter()
    run_grid(path, tmp / name, workers=workers, show_progress=False)
    return time.perf_counter() - t0


def lifetime_scan_cost_ratio(tmp: Path, quick: bool) -> float:
    events = 5000 if quick else 20000
    _grid_seconds(tmp, "warm", 2000, "1.0", "10.0", 1)
    one = _grid_seconds(tmp, "one", events, "1.0", "10.0", 1)
    scan = _grid_seconds(tmp, "scan", events, "1.0", "{logspace: [1.0, 1000.0, 50]}", 1)
    return scan / one


def grid_scaling_2_workers(tmp: Path, quick: bool) -> float:
    events = 1000 if quick else 4000
    masses = "{linspace: [0.5, 2.4, 20]}"
    t1 = _grid_seconds(tmp, "w1", events, masses, "10.0", 1)
    t2 = _grid_seconds(tmp, "w2", events, masses, "10.0", 2)
    return t1 / t2


def _burn(n: int) -> float:
    s = 0.0
    for i in range(n):
        s += (i % 7) * 0.5
    return s


def machine_scaling_2_procs(tmp: Path, quick: bool) -> float:
    n, tasks = (2_000_000 if quick else 5_000_000), 8
    timings = []
    for workers in (1, 2):
        with ProcessPoolExecutor(workers) as pool:
            t0 = time.perf_counter()
            list(pool.map(_burn, [n] * tasks))
            timings.append(time.perf_counter() - t0)
    return timings[0] / timings[1]


FIGURES = {
    "grid_lifetime_scan_cost_ratio": lifetime_scan_cost_ratio,
    "grid_scaling_2_workers": grid_scaling_2_workers,
    "machine_scaling_2_procs": machine_scaling_2_procs,
}
