"""Detector-stage speed: charged tracks propagated, hit-counted, found and smeared per second.

Sample: prompt muons and pions, 0.1-5 GeV, 17-150 deg, one worker, after numba compilation.
The time covers the whole stage (propagation of all particles, in-flight decays, finding,
covariance and smearing, ECL, KLM, PID); the figure is charged tracks in / seconds.
"""

from __future__ import annotations

import math
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


def detector_tracks_per_s(tmp: Path, quick: bool) -> float:
    import yaml

    from fastsim.detector.card import DETECTOR_SCHEMA
    from fastsim.detector.simulate import DetectorStage

    repo = Path(__file__).resolve().parent.parent
    raw = yaml.safe_load((repo / "cards" / "detectors" / "belle2.yaml").read_text())["detector"]
    det = DETECTOR_SCHEMA.validate(raw, ("detector",), lambda _p: None)
    n = 200_000 if quick else 1_000_000
    mc, table = _sample(n, np.random.default_rng(1))
    stage = DetectorStage(det, table)
    stage.simulate(mc.slice_events(0, 1000), np.random.default_rng(0))  # compile / warm up
    t0 = time.perf_counter()
    stage.simulate(mc, np.random.default_rng(2))
    return n / (time.perf_counter() - t0)


FIGURES = {"detector_tracks_per_s": detector_tracks_per_s}

if __name__ == "__main__":
    print(f"detector_tracks_per_s = {detector_tracks_per_s(Path(), quick=True):.3g}")
