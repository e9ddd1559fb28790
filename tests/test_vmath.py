"""Vectorisable elementary functions (fastsim.detector.vmath) against numpy, to the
accuracy stated in the module doc."""

from __future__ import annotations

import numpy as np
from numba import njit

from fastsim.detector.vmath import gauss2, normal_pair, vatan, vatan2, vlog, vsincos


@njit(error_model="numpy")
def _log(x):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = vlog(x[i])
    return out


@njit(error_model="numpy")
def _sincos(x):
    s = np.empty_like(x)
    c = np.empty_like(x)
    for i in range(len(x)):
        s[i], c[i] = vsincos(x[i])
    return s, c


@njit(error_model="numpy")
def _atan2(y, x):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = vatan2(y[i], x[i])
    return out


@njit(error_model="numpy")
def _atan(t):
    out = np.empty_like(t)
    for i in range(len(t)):
        out[i] = vatan(t[i])
    return out


@njit(error_model="numpy")
def _stream_normals(seed, n):
    out = np.empty(2 * n)
    st = np.uint64(seed)
    for i in range(n):
        st, out[2 * i], out[2 * i + 1] = gauss2(st)
    return out


@njit(error_model="numpy")
def _normals(u1, u2):
    a = np.empty_like(u1)
    b = np.empty_like(u1)
    for i in range(len(u1)):
        a[i], b[i] = normal_pair(u1[i], u2[i])
    return a, b


def test_log_relative_error():
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            np.exp(rng.uniform(-700.0, 700.0, 200_000)),
            rng.uniform(0.5, 2.0, 100_000),
            1.0 + rng.uniform(-1e-8, 1e-8, 10_000),
            np.arange(1, 10_001) * 2.0**-53,  # the smallest uniforms of a 53-bit generator
            [1.0, 2.0, 0.5, np.sqrt(2.0), 2.2250738585072014e-308, 1.7976931348623157e308],
        ]
    )
    ref = np.log(x)
    err = np.abs(_log(x) - ref) / np.maximum(np.abs(ref), 1e-300)
    assert np.max(np.where(ref == 0, np.abs(_log(x)), err)) < 4e-16


def test_sincos_absolute_error():
    rng = np.random.default_rng(2)
    for scale in (0.1, np.pi, 100.0, 1e5):
        x = rng.uniform(-scale, scale, 200_000)
        s, c = _sincos(x)
        assert np.max(np.abs(s - np.sin(x))) < 4e-16
        assert np.max(np.abs(c - np.cos(x))) < 4e-16
    x = np.array([0.0, np.pi / 4, np.pi / 2, np.pi, -np.pi, 1.5 * np.pi])
    s, c = _sincos(x)
    np.testing.assert_allclose(s, np.sin(x), rtol=0, atol=4e-16)
    np.testing.assert_allclose(c, np.cos(x), rtol=0, atol=4e-16)


def test_atan2_absolute_error():
    rng = np.random.default_rng(3)
    n = 400_000
    y = rng.normal(size=n) * 10.0 ** rng.uniform(-6, 6, n)
    x = rng.normal(size=n) * 10.0 ** rng.uniform(-6, 6, n)
    assert np.max(np.abs(_atan2(y, x) - np.arctan2(y, x))) < 1e-15
    # axes, diagonals and signed zeros of y
    y = np.array([0.0, -0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 1.0, 2.0, 0.0])
    x = np.array([-1.0, -1.0, 0.0, 0.0, 1.0, 1.0, -1.0, -1.0, 2.0, 0.0])
    np.testing.assert_allclose(_atan2(y, x), np.arctan2(y, x), rtol=0, atol=1e-15)
    assert np.signbit(_atan2(np.array([-0.0]), np.array([-1.0]))[0])


def test_normal_pair_moments():
    rng = np.random.default_rng(4)
    n = 1_000_000
    a, b = _normals(rng.random(n), rng.random(n))
    for g in (a, b):
        se = 1.0 / np.sqrt(n)
        assert abs(g.mean()) < 5 * se
        assert abs(g.std() - 1.0) < 5 * se / np.sqrt(2)
        assert abs(np.mean(g**4) - 3.0) < 5 * np.sqrt(96 / n)  # var(g^4) = 105 - 9
        assert abs(np.mean(np.abs(g) > 3.0) - 0.0026997960632601866) < 5 * np.sqrt(0.0027 / n)
    assert abs(np.mean(a * b)) < 5 / np.sqrt(n)


def test_atan_relative_error():
    rng = np.random.default_rng(5)
    t = np.concatenate(
        [
            rng.normal(size=200_000) * 10.0 ** rng.uniform(-8, 8, 200_000),
            np.tan(rng.uniform(-1.5707, 1.5707, 200_000)),
            # the reduction boundaries tan(pi/16), tan(3 pi/16), 1 and their inverses
            [0.0, 0.19891236737965800, 0.66817863791929890, 1.0, 1.4966057626654890, 5.0273394921231, np.inf],
        ]
    )
    ref = np.arctan(t)
    got = _atan(t)
    nz = ref != 0.0
    assert np.max(np.abs(got[nz] / ref[nz] - 1.0)) < 1e-15
    assert np.all(got[~nz] == 0.0)


def test_stream_normals_are_standard_normal():
    g = _stream_normals(12345, 500_000)
    n = len(g)
    assert abs(g.mean()) < 5 / np.sqrt(n)
    assert abs(g.std() - 1.0) < 5 / np.sqrt(2 * n)
    assert abs(np.mean(np.abs(g) > 3.0) - 0.0026997960632601866) < 5 * np.sqrt(0.0027 / n)
    assert abs(np.corrcoef(g[0::2], g[1::2])[0, 1]) < 5 / np.sqrt(n / 2)
