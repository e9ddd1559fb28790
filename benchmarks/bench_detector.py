"""Detector-stage speed: charged tracks propagated, hit-counted, found and smeared per second.

Sample: prompt muons and pions, 0.1-5 GeV, 17-150 deg, one worker, after numba compilation.
The time covers the whole stage (propagation of all particles, in-flight decays, finding,
covariance and smearing, ECL, KLM, PID); the figure is charged tracks in / seconds, in the
steady state of a run (three chunks of 2e5 tracks after one, freed buffers reused as
`fastsim run` does, fastsim/memory.py) and, as a second figure, for the first chunk of a
process (all output memory fresh).  Run directly: ``python benchmarks/bench_detector.py``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _sample(n: int, rng: np.random.Generator):
    from fastsim.events import MC_FIELDS, Collection
    from fastsim.particles import ParticleTable

    table = ParticleTable()
    f = {k: np.zeros(n, dt) for k, dt in MC_FIELDS.items()}
    f["id"][:] = rng.choice([13, -13, 211, -211], n)
    f["status"][:] = 1
    for k in ("mother1", "mother2", "daughter1", "daughter2"):
        f[k][:] = -1
    p = rng.uniform(0.1, 5.0, n)
    th = np.arccos(rng.uniform(math.cos(math.radians(150)), math.cos(math.radians(17)), n))
    ph = rng.uniform(-np.pi, np.pi, n)
    m = table.mass(f["id"].astype(np.int64))
    f["px"], f["py"], f["pz"] = p * np.sin(th) * np.cos(ph), p * np.sin(th) * np.sin(ph), p * np.cos(th)
    f["m"], f["e"] = m, np.hypot(p, m)
    return Collection.from_counts(np.full(n // 2, 2), f), table


def _measure(quick: bool) -> dict[str, float]:
    """Both figures, in this process (fresh: the allocator policy is set here)."""
    import yaml

    from fastsim.detector.card import DETECTOR_SCHEMA
    from fastsim.detector.simulate import DetectorStage
    from fastsim.memory import keep_freed_memory

    repo = Path(__file__).resolve().parent.parent
    raw = yaml.safe_load((repo / "cards" / "detectors" / "belle2.yaml").read_text())["detector"]
    det = DETECTOR_SCHEMA.validate(raw, ("detector",), lambda _p: None)
    n = 200_000 if quick else 1_000_000
    mc, table = _sample(n, np.random.default_rng(1))
    stage = DetectorStage(det, table)
    stage.simulate(mc.slice_events(0, 1000), np.random.default_rng(0))  # compile / warm up
    # first chunk of a process: every output array is fresh memory (page faults on first touch)
    t0 = time.perf_counter()
    stage.simulate(mc, np.random.default_rng(2))
    first = n / (time.perf_counter() - t0)
    # steady state as in `fastsim run`: freed chunk buffers are reused (fastsim.memory)
    keep_freed_memory()
    stage.simulate(mc, np.random.default_rng(3))
    reps = 3
    t0 = time.perf_counter()
    for r in range(reps):
        stage.simulate(mc, np.random.default_rng(4 + r))
    return {"steady": reps * n / (time.perf_counter() - t0), "first": first}


@functools.cache
def _figures(quick: bool) -> dict[str, float]:
    """Measured in a fresh process, so that the allocator policy of other benchmarks run in
    this one does not change the first-chunk figure."""
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run(
        [sys.executable, __file__, "--json"] + (["--quick"] if quick else []),
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def detector_tracks_per_s(tmp: Path, quick: bool) -> float:
    """Charged tracks per second through the whole stage, steady state of a run (chunk after
    chunk, freed buffers reused as `fastsim run` does)."""
    return _figures(quick)["steady"]


def detector_tracks_per_s_first_chunk(tmp: Path, quick: bool) -> float:
    """The same for the first chunk of a process (fresh memory for every output array)."""
    return _figures(quick)["first"]


FIGURES = {
    "detector_tracks_per_s": detector_tracks_per_s,
    "detector_tracks_per_s_first_chunk": detector_tracks_per_s_first_chunk,
}

if __name__ == "__main__":
    quick = "--quick" in sys.argv or "--json" not in sys.argv
    res = _measure(quick)
    if "--json" in sys.argv:
        print(json.dumps(res))
    else:
        print(f"detector_tracks_per_s = {res['steady']:.3g}  (first chunk of a process: {res['first']:.3g})")
