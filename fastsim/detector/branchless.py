"""Branch-free elementary functions and normal deviates for numba loops that vectorise.

Units: none (pure functions of real numbers).

The compiler turns a numba loop into SIMD code only if its body is straight-line arithmetic
(``a if c else b`` becomes a select); a call to the C library's ``log``, ``atan``, ``sin``
or ``cos`` keeps it scalar.  The functions below use only +, *, /, sqrt, floor and selects:
range reduction by exact scalings or by an angle-addition identity, then a truncated
series whose first omitted term is below the double-precision round-off (the bounds are
in each docstring; tests/test_branchless.py checks them against numpy).

Normal deviates: Box and Muller, Ann. Math. Statist. 29 (1958) 610 (two uniforms, a log,
a sine and a cosine; no rejection loop, unlike the polar method).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["atan", "gauss2", "log", "next_uniform", "sincos_2pi"]

_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
_LN2 = 0.6931471805599453
_SQRT_HALF = 0.7071067811865476
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
# tan(pi/16), tan(3 pi/16), tan(pi/8)
_T16 = 0.19891236737965800
_T316 = 0.66817863791929890
_T8 = 0.41421356237309503


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def next_uniform(state: np.uint64) -> tuple:
    """splitmix64 step (Steele, Lea, Flood, OOPSLA 2014): (new state, uniform in [0, 1))."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return state, (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def log(x: float) -> float:
    """Natural log for 2^-63 <= x <= 2^63.  x (or 1/x above 1) is scaled by exact powers of
    two into [sqrt(1/2), sqrt(2)), where ln y = 2 atanh(s), s = (y - 1)/(y + 1), |s| < 0.1716,
    summed to s^21 (the next term is 2e-17 of the result)."""
    inv = x > 1.0
    y = 1.0 / x if inv else x
    e = 0.0
    c = y < 2.3283064365386963e-10  # 2^-32
    y = y * 4294967296.0 if c else y
    e = e - 32.0 if c else e
    c = y < 1.52587890625e-05  # 2^-16
    y = y * 65536.0 if c else y
    e = e - 16.0 if c else e
    c = y < 0.00390625  # 2^-8
    y = y * 256.0 if c else y
    e = e - 8.0 if c else e
    c = y < 0.0625
    y = y * 16.0 if c else y
    e = e - 4.0 if c else e
    c = y < 0.25
    y = y * 4.0 if c else y
    e = e - 2.0 if c else e
    c = y < 0.5
    y = y * 2.0 if c else y
    e = e - 1.0 if c else e
    c = y < _SQRT_HALF
    y = y * 2.0 if c else y
    e = e - 1.0 if c else e
    s = (y - 1.0) / (y + 1.0)
    s2 = s * s
    p = 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    r = e * _LN2 + 2.0 * s * p
    return -r if inv else r


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def atan(t: float) -> float:
    """Arctangent of any finite t.  |t| (or 1/|t| above 1) is reduced to [0, 1], then by
    atan x = k pi/8 + atan((x - c)/(1 + x c)), c = tan(k pi/8), k = 0, 1, 2 the nearest, to
    |y| <= tan(pi/16) = 0.199, summed to y^23 (next term 6e-19 of the result)."""
    a = abs(t)
    inv = a > 1.0
    x = 1.0 / a if inv else a
    k1 = x >= _T16
    k2 = x >= _T316
    c = 1.0 if k2 else (_T8 if k1 else 0.0)
    off = 0.7853981633974483 if k2 else (0.39269908169872414 if k1 else 0.0)
    y = (x - c) / (1.0 + x * c)
    y2 = y * y
    p = -1.0 / 23.0
    p = p * y2 + 1.0 / 21.0
    p = p * y2 - 1.0 / 19.0
    p = p * y2 + 1.0 / 17.0
    p = p * y2 - 1.0 / 15.0
    p = p * y2 + 1.0 / 13.0
    p = p * y2 - 1.0 / 11.0
    p = p * y2 + 1.0 / 9.0
    p = p * y2 - 1.0 / 7.0
    p = p * y2 + 1.0 / 5.0
    p = p * y2 - 1.0 / 3.0
    p = p * y2 + 1.0
    r = off + y * p
    r = 1.5707963267948966 - r if inv else r
    return -r if t < 0.0 else r


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def sincos_2pi(u: float) -> tuple:
    """(sin 2 pi u, cos 2 pi u) for 0 <= u < 1: the nearest quarter turn q/4 is split off,
    the rest |a| <= pi/4 goes into the Taylor series to a^17 and a^16 (next terms 2e-18)."""
    v = 4.0 * u
    q = math.floor(v + 0.5)
    a = (v - q) * 1.5707963267948966
    a2 = a * a
    s = 1.0 / 355687428096000.0  # 1/17!
    s = s * a2 - 1.0 / 1307674368000.0
    s = s * a2 + 1.0 / 6227020800.0
    s = s * a2 - 1.0 / 39916800.0
    s = s * a2 + 1.0 / 362880.0
    s = s * a2 - 1.0 / 5040.0
    s = s * a2 + 1.0 / 120.0
    s = s * a2 - 1.0 / 6.0
    s = a + a * a2 * s
    c = 1.0 / 20922789888000.0  # 1/16!
    c = c * a2 - 1.0 / 87178291200.0
    c = c * a2 + 1.0 / 479001600.0
    c = c * a2 - 1.0 / 3628800.0
    c = c * a2 + 1.0 / 40320.0
    c = c * a2 - 1.0 / 720.0
    c = c * a2 + 1.0 / 24.0
    c = c * a2 - 0.5
    c = 1.0 + a2 * c
    # rotate by q quarter turns (q = 4 is a full turn)
    q1 = q == 1.0
    q2 = q == 2.0
    q3 = q == 3.0
    sn = c if q1 else (-s if q2 else (-c if q3 else s))
    cs = -s if q1 else (-c if q2 else (s if q3 else c))
    return sn, cs


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def gauss2(state: np.uint64) -> tuple:
    """Two independent standard normals by Box-Muller from two splitmix64 uniforms:
    (new state, g1, g2)."""
    state, u1 = next_uniform(state)
    state, u2 = next_uniform(state)
    r = math.sqrt(-2.0 * log(1.0 - u1))
    sn, cs = sincos_2pi(u2)
    return state, r * cs, r * sn
