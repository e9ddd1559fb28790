"""Branch-free elementary functions and normal deviates (fastsim/detector/branchless.py)
against numpy / scipy, with the accuracies their docstrings state."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from fastsim.detector import branchless as bl


@njit(cache=True)
def _log(x):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = bl.log(x[i])
    return out


@njit(cache=True)
def _atan(x):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = bl.atan(x[i])
    return out


@njit(cache=True)
def _sincos(u):
    s = np.empty_like(u)
    c = np.empty_like(u)
    for i in range(len(u)):
        s[i], c[i] = bl.sincos_2pi(u[i])
    return s, c


@njit(cache=True)
def _normals(seed, n):
    out = np.empty(2 * n)
    st = np.uint64(seed)
    for i in range(n):
        st, out[2 * i], out[2 * i + 1] = bl.gauss2(st)
    return out


def test_log_matches_numpy_to_round_off() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [np.exp(rng.uniform(-43.0, 43.0, 200_000)), 1.0 - rng.random(200_000), [2.0**-53, 0.5, 1.0, 2.0]]
    )
    ref = np.log(x)
    assert np.max(np.abs(_log(x) - ref) / np.maximum(np.abs(ref), 1.0)) < 1e-15
    # relative accuracy also near x = 1, where the result is small
    near = 1.0 + rng.uniform(-1e-3, 1e-3, 10_000)
    assert np.max(np.abs(_log(near) / np.log(near) - 1.0)) < 1e-14


def test_atan_matches_numpy_to_round_off() -> None:
    rng = np.random.default_rng(2)
    t = np.concatenate(
        [
            rng.normal(0.0, 1.0, 200_000),
            rng.normal(0.0, 1e4, 20_000),
            np.tan(rng.uniform(-1.57, 1.57, 200_000)),
        ]
    )
    t = np.concatenate([t, [0.0, 1.0, -1.0, 0.19891236737965800, 0.66817863791929890, 1e-300]])
    ref = np.arctan(t)
    got = _atan(t)
    assert np.max(np.abs(got - ref)) < 5e-16
    nz = ref != 0.0
    assert np.max(np.abs(got[nz] / ref[nz] - 1.0)) < 1e-15


def test_sincos_2pi_matches_numpy() -> None:
    u = np.concatenate([np.random.default_rng(3).random(200_000), np.arange(8) / 8.0, [1.0 - 2.0**-53]])
    s, c = _sincos(u)
    assert np.max(np.abs(s - np.sin(2.0 * np.pi * u))) < 2e-15
    assert np.max(np.abs(c - np.cos(2.0 * np.pi * u))) < 2e-15


@pytest.mark.parametrize("seed", [1, 12345])
def test_box_muller_normals_are_standard_normal(seed: int) -> None:
    g = _normals(seed, 200_000)
    # Kolmogorov-Smirnov against N(0, 1) and the correlation of the two members of a pair
    assert stats.kstest(g, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(g[0::2], g[1::2])[0, 1]) < 5.0 / np.sqrt(200_000)
    # tails: P(|g| > 3) = 2.70e-3
    assert abs(np.mean(np.abs(g) > 3.0) - 2.6998e-3) < 5.0 * np.sqrt(2.7e-3 / len(g))
