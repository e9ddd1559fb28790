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

__all__ = ["atan", "atan2", "gauss2", "log", "next_uniform", "sincos_2pi"]

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
def _poly12(z, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11):  # fmt: skip
    """c0 + c1 z + ... + c11 z^11 by Estrin's scheme (a dependency chain of depth 5 instead
    of Horner's 11, which matters in latency-bound SIMD loops); zero coefficients fold away."""
    z2 = z * z
    z4 = z2 * z2
    z8 = z4 * z4
    lo = (c0 + c1 * z) + z2 * (c2 + c3 * z) + z4 * ((c4 + c5 * z) + z2 * (c6 + c7 * z))
    return lo + z8 * ((c8 + c9 * z) + z2 * (c10 + c11 * z))


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _scale2(y: float, e: float, k: float, up: float, down: float) -> tuple:
    """One exact range-reduction step of :func:`log`: y below 2^-k is multiplied by up = 2^k,
    y at or above 2^k by down = 2^-k; e counts the exponent taken out."""
    lo = y < down
    hi = y >= up
    return (y * up if lo else (y * down if hi else y)), (e - k if lo else (e + k if hi else e))


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def log(x: float) -> float:
    """Natural log for 2^-63 <= x < 2^63.  x is scaled by exact powers of two (no rounding)
    into [sqrt(1/2), sqrt(2)), where ln y = 2 atanh(s), s = (y - 1)/(y + 1), |s| < 0.1716,
    summed to s^21 (the next term is 2e-17 of the result)."""
    y = x
    e = 0.0
    y, e = _scale2(y, e, 32.0, 4294967296.0, 2.3283064365386963e-10)
    y, e = _scale2(y, e, 16.0, 65536.0, 1.52587890625e-05)
    y, e = _scale2(y, e, 8.0, 256.0, 0.00390625)
    y, e = _scale2(y, e, 4.0, 16.0, 0.0625)
    y, e = _scale2(y, e, 2.0, 4.0, 0.25)
    y, e = _scale2(y, e, 1.0, 2.0, 0.5)
    lo = y < _SQRT_HALF
    hi = y >= 1.4142135623730951
    y = y * 2.0 if lo else (y * 0.5 if hi else y)
    e = e - 1.0 if lo else (e + 1.0 if hi else e)
    s = (y - 1.0) / (y + 1.0)
    s2 = s * s
    p = _poly12(s2, 1.0, 1.0 / 3.0, 1.0 / 5.0, 1.0 / 7.0, 1.0 / 9.0, 1.0 / 11.0, 1.0 / 13.0, 1.0 / 15.0, 1.0 / 17.0, 1.0 / 19.0, 1.0 / 21.0, 0.0)  # fmt: skip
    return e * _LN2 + 2.0 * s * p


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def atan(t: float) -> float:
    """Arctangent of any finite t.  |t| (or 1/|t| above 1) is reduced to [0, 1], then by
    atan x = k pi/8 + atan((x - c)/(1 + x c)), c = tan(k pi/8), k = 0, 1, 2 the nearest, to
    |y| <= tan(pi/16) = 0.199, summed to y^23 (next term 6e-19 of the result)."""
    a = abs(t)
    inv = a > 1.0
    # x = a, or 1/a above 1 (then (x - c)/(1 + x c) = (1 - a c)/(a + c): one division)
    k1 = (a * _T16 <= 1.0) if inv else (a >= _T16)  # x >= tan(pi/16)
    k2 = (a * _T316 <= 1.0) if inv else (a >= _T316)  # x >= tan(3 pi/16)
    c = 1.0 if k2 else (_T8 if k1 else 0.0)
    off = 0.7853981633974483 if k2 else (0.39269908169872414 if k1 else 0.0)
    y = ((1.0 - a * c) if inv else (a - c)) / ((a + c) if inv else (1.0 + a * c))
    y2 = y * y
    p = _poly12(y2, 1.0, -1.0 / 3.0, 1.0 / 5.0, -1.0 / 7.0, 1.0 / 9.0, -1.0 / 11.0, 1.0 / 13.0, -1.0 / 15.0, 1.0 / 17.0, -1.0 / 19.0, 1.0 / 21.0, -1.0 / 23.0)  # fmt: skip
    r = off + y * p
    r = 1.5707963267948966 - r if inv else r
    return -r if t < 0.0 else r


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def atan2(y: float, x: float) -> float:
    """atan2(y, x) in (-pi, pi] from :func:`atan` of y/x and the quadrant; 0 for x = y = 0."""
    r = atan(y / x)
    r = r + (math.pi if y >= 0.0 else -math.pi) if x < 0.0 else r
    return r if (x != 0.0) | (y != 0.0) else 0.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def sincos_2pi(u: float) -> tuple:
    """(sin 2 pi u, cos 2 pi u) for 0 <= u < 1: the nearest quarter turn q/4 is split off,
    the rest |a| <= pi/4 goes into the Taylor series to a^17 and a^16 (next terms 2e-18)."""
    v = 4.0 * u
    q = math.floor(v + 0.5)
    a = (v - q) * 1.5707963267948966
    a2 = a * a
    # sin a = a (1 - a^2/3! + ... + a^16/17!), cos a = 1 - a^2/2! + ... + a^16/16!
    s = a * _poly12(a2, 1.0, -1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362880.0, -1.0 / 39916800.0, 1.0 / 6227020800.0, -1.0 / 1307674368000.0, 1.0 / 355687428096000.0, 0.0, 0.0, 0.0)  # fmt: skip
    c = _poly12(a2, 1.0, -0.5, 1.0 / 24.0, -1.0 / 720.0, 1.0 / 40320.0, -1.0 / 3628800.0, 1.0 / 479001600.0, -1.0 / 87178291200.0, 1.0 / 20922789888000.0, 0.0, 0.0, 0.0)  # fmt: skip
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
