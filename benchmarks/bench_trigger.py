"""Trigger-emulation speed: tracks through CDC segment emulation, 2D finding and neural inference.

Sample: prompt muons, p 0.3-5 GeV, theta 17-150 deg, z0 within +-30 cm, one core, after
numba compilation.  The time covers the TS emulation of all tracks, the 2D fit and the
network inputs and inference of the found tracks; the figure is tracks in / seconds.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np


def trigger_tracks_per_s(tmp: Path, quick: bool) -> float:
    from fastsim.trigger.finder2d import find_2d
    from fastsim.trigger.neuro import MLP, run_neuro
    from fastsim.trigger.segments import simulate_segments
    from fastsim.trigger.train_neuro import default_trigger_card, load_geometry

    trg = default_trigger_card()
    sg = load_geometry(trg)
    mlp = MLP.load()
    n = 200_000 if quick else 1_000_000
    rng = np.random.default_rng(1)
    p = rng.uniform(0.3, 5.0, n)
    th = np.arccos(rng.uniform(math.cos(math.radians(150)), math.cos(math.radians(17)), n))
    ph = rng.uniform(-np.pi, np.pi, n)
    args = (
        np.zeros(n), np.zeros(n), rng.uniform(-30, 30, n),
        p * np.sin(th) * np.cos(ph), p * np.sin(th) * np.sin(ph), p * np.cos(th),
        rng.choice([-1.0, 1.0], n), np.full(n, np.inf),
    )  # fmt: skip

    def once(m: int, seed: int) -> None:
        seg = simulate_segments(sg, *(a[:m] for a in args), seed)
        f2 = find_2d(seg, sg, trg["finder2d"])
        idx = np.flatnonzero(f2["found"])
        run_neuro(mlp, seg, sg, idx, f2["w"][idx], f2["phi0"][idx], trg["neuro"]["min_stereo_segments"])

    once(1000, 0)  # compile / warm up
    best = math.inf
    for rep in range(2):
        t0 = time.perf_counter()
        once(n, rep + 1)
        best = min(best, time.perf_counter() - t0)
    return n / best


FIGURES = {"trigger_tracks_per_s": trigger_tracks_per_s}

if __name__ == "__main__":
    print(f"trigger_tracks_per_s = {trigger_tracks_per_s(Path(), quick=False):.3g}")
