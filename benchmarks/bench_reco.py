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
    from fastsim.detector.tracking import helix_params

    r = rng.uniform(0.0, 60.0, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    vtx = np.stack([r * np.cos(phi), r * np.sin(phi), rng.normal(0, 5, n)], axis=1)
    hs, cs = [], []
    for q in (1, -1):
        p = rng.uniform(0.3, 3.0, n)
        th = np.arccos(rng.uniform(-0.7, 0.8, n))
        ph = phi + rng.normal(0, 0.4, n)
        mom = (p * np.sin(th) * np.cos(ph), p * np.sin(th) * np.sin(ph), p * np.cos(th))
        h = np.stack(helix_params(vtx[:, 0], vtx[:, 1], vtx[:, 2], *mom, np.full(n, q), 1.5), axis=1)
        c = np.zeros((n, 5, 5))
        c[:, [0, 1, 3, 4], [0, 1, 3, 4]] = np.array([15e-4, 1e-3, 25e-4, 1e-3]) ** 2
        c[:, 2, 2] = (3e-3 * h[:, 2]) ** 2
        hs.append(h + np.sqrt(np.diagonal(c, axis1=1, axis2=2)) * rng.standard_normal((n, 5)))
        cs.append(c)
    return np.stack(hs, axis=1).reshape(2 * n, 5), np.stack(cs, axis=1).reshape(2 * n, 5, 5)


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
