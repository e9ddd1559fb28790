"""Reconstruction speed: two-track vertex fits per second on one core.

Sample: pairs of opposite-charge helices from common vertices at transverse radii 0-60 cm
(momenta 0.3-3 GeV), smeared with a fixed covariance.  The time covers the seeding by the
transverse-circle intersection and the iterated Billoir-Fruehwirth fit
(:func:`fastsim.reco.vertex_fit.fit_vertices`), after numba compilation; the figure is
fits / seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def _pairs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two-track vertices spread uniformly in transverse radius 0-60 cm."""
    from fastsim.reco.validation import synthetic_helix_pairs

    helix, cov, _vtx = synthetic_helix_pairs(n, rng.uniform(0.0, 60.0, n), rng)
    return helix, cov


def vertex_fits_per_s(tmp: Path, quick: bool) -> float:
    from fastsim.reco.vertex_fit import fit_vertices

    n = 100_000 if quick else 500_000
    helix, cov = _pairs(n, np.random.default_rng(1))
    members = np.arange(2 * n)
    offsets = np.arange(n + 1) * 2
    fit_vertices(helix[:2000], cov[:2000], members[:2000], offsets[:1001], 1.5)  # compile / warm up
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        fit_vertices(helix, cov, members, offsets, 1.5)
        best = min(best, time.perf_counter() - t0)
    return n / best


FIGURES = {"vertex_fits_per_s": vertex_fits_per_s}

if __name__ == "__main__":
    print(f"vertex_fits_per_s = {vertex_fits_per_s(Path(), quick=True):.3g}")
