"""Vectorisable elementary functions for numba kernels.

Calls to libm (``math.log``, ``math.atan2``, ``math.sin``, ...) keep LLVM from vectorising a
loop (there is no vector math library behind numba here).  These replacements are branch-free
arithmetic (range reduction by bit manipulation or exact argument transformations, then
Taylor polynomials evaluated in Horner form), so loops calling them vectorise (AVX2 /
AVX-512).  Accuracy, checked against numpy in ``tests/test_vmath.py``:

* :func:`vlog`: relative error below 4e-16 for normal positive x (subnormals, 0, inf and
  NaN are not handled);
* :func:`vsincos`: absolute error below 4e-16 for |x| <= 1e5 (the argument reduction is
  exact there; beyond, the error grows with |x|);
* :func:`vatan`: relative error below 1e-15 for any finite argument;
* :func:`vatan2`: absolute error below 1e-15 for finite arguments (atan2(0, 0) = 0; the
  sign of a zero x is ignored, the sign of y is kept);
* :func:`normal_pair`: two standard normals by the Box-Muller transform (Box and Muller,
  Ann. Math. Statist. 29 (1958) 610) from two uniforms; :func:`gauss2` draws the uniforms
  from a splitmix64 stream (:func:`next_uniform`; Steele, Lea, Flood, OOPSLA 2014).

The helpers are compiled without fast-math flags so that the compiler does not reassociate
the argument reductions; they are inlined by LLVM into the calling kernels.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["gauss2", "next_uniform", "normal_pair", "vatan", "vatan2", "vlog", "vsincos"]

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in a 32-bit head and a tail (fdlibm)
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_PIO2_1 = 1.57079632673412561417e00  # pi/2 head (33 bits, fdlibm), q * _PIO2_1 exact for |q| < 2**20
_PIO2_1T = 6.07710050650619224932e-11  # pi/2 - _PIO2_1
_TWO_OVER_PI = 0.6366197723675814
# Taylor coefficients, highest power first (Horner): 2/(2k+1) for k = 9..1 (atanh); (-1)^k/(2k+1)!
# for k = 8..0 (sin r / r); (-1)^k/(2k)! for k = 8..0 (cos r); (-1)^k/(2k+1) for k = 10..0 (atan t / t)
_LOG_C = tuple(2.0 / (2 * k + 1) for k in range(9, 0, -1))
_SIN_C = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(8, -1, -1))
_COS_C = tuple((-1) ** k / math.factorial(2 * k) for k in range(8, -1, -1))
_ATAN_C = tuple((-1) ** k / (2 * k + 1) for k in range(11, -1, -1))
# tan(pi/16), tan(3 pi/16), tan(pi/8)
_T16 = 0.19891236737965800
_T316 = 0.66817863791929890
_T8 = 0.41421356237309503
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MANT = np.uint64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.uint64(0x3FF0000000000000)


@intrinsic
def _f64_bits(typingctx, x):
    """The IEEE-754 bits of a float64 as uint64 (a bit cast, no conversion)."""
    if not (isinstance(x, types.Float) and x.bitwidth == 64):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(x), codegen


@intrinsic
def _bits_f64(typingctx, u):
    """The float64 with the IEEE-754 bits of a uint64 (a bit cast, no conversion)."""
    if not isinstance(u, types.Integer) or u.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(u), codegen


@njit(cache=True, inline="always", error_model="numpy")
def _horner(z: float, coeffs: tuple) -> float:
    """sum coeffs[i] z^(len - 1 - i) (highest power first)."""
    p = 0.0
    for c in coeffs:
        p = p * z + c
    return p


@njit(cache=True, inline="always", error_model="numpy")
def vlog(x: float) -> float:
    """Natural logarithm of a normal positive float (relative error < 4e-16).

    x = 2^e m with m in [sqrt(1/2), sqrt(2)); log(m) = log(1 + f) = 2 atanh(s), s = f / (2 + f),
    |s| <= 0.1716, as f - (f^2/2 - s (f^2/2 + R)) with R the atanh Taylor series to s^18
    (fdlibm's arrangement; truncation error < 3e-17 relative)."""
    b = _f64_bits(x)
    e = np.int64(b >> np.uint64(52)) - 1023
    m = _bits_f64((b & _MANT) | _ONE_BITS)  # [1, 2)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    e = e + 1 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    r = z * _horner(z, _LOG_C)  # R = 2 (z/3 + z^2/5 + ... + z^9/19)
    hfsq = 0.5 * f * f
    fe = float(e)
    return fe * _LN2_HI - ((hfsq - (s * (hfsq + r) + fe * _LN2_LO)) - f)


@njit(cache=True, inline="always", error_model="numpy")
def vsincos(x: float) -> tuple[float, float]:
    """(sin x, cos x) for |x| <= 1e5 (absolute error < 4e-16).

    x = q pi/2 + r with q = round(2x/pi), r in [-pi/4, pi/4] by a two-term (Cody-Waite)
    reduction, Taylor series of sin r to r^17 and cos r to r^16 (truncation < 1e-19), then
    the quadrant q mod 4 by swaps and signs."""
    q = math.floor(x * _TWO_OVER_PI + 0.5)
    r = (x - q * _PIO2_1) - q * _PIO2_1T
    z = r * r
    sr = r * _horner(z, _SIN_C)
    cr = _horner(z, _COS_C)
    n = np.int64(q) & 3
    swap = (n & 1) == 1
    s = cr if swap else sr
    c = sr if swap else cr
    s = -s if (n & 2) == 2 else s
    c = -c if ((n + 1) & 2) == 2 else c
    return s, c


@njit(cache=True, inline="always", error_model="numpy")
def vatan(t: float) -> float:
    """Arctangent of any finite t (relative error < 1e-15).

    x = |t|, or 1/|t| above 1, is reduced by atan x = k pi/8 + atan((x - c)/(1 + x c)),
    c = tan(k pi/8), k = 0, 1, 2 the nearest, to |y| <= tan(pi/16) = 0.199, where the Taylor
    series to y^23 is exact to 6e-19 relative (for 1/|t| the argument is (1 - |t| c)/(|t| + c):
    one division in all)."""
    a = abs(t)
    inv = a > 1.0
    k1 = (a * _T16 <= 1.0) if inv else (a >= _T16)  # x >= tan(pi/16)
    k2 = (a * _T316 <= 1.0) if inv else (a >= _T316)  # x >= tan(3 pi/16)
    c = 1.0 if k2 else (_T8 if k1 else 0.0)
    off = 0.7853981633974483 if k2 else (0.39269908169872414 if k1 else 0.0)
    ac = a * c if c != 0.0 else 0.0  # (no inf * 0 for t = inf)
    y = ((1.0 - ac) if inv else (a - c)) / ((a + c) if inv else (1.0 + ac))
    r = off + y * _horner(y * y, _ATAN_C)
    r = 0.5 * math.pi - r if inv else r
    return -r if t < 0.0 else r


@njit(cache=True, inline="always", error_model="numpy")
def vatan2(y: float, x: float) -> float:
    """atan2(y, x) in [-pi, pi] for finite arguments (absolute error < 1e-15): :func:`vatan`
    of y/x and the quadrant; 0 for x = y = 0."""
    r = vatan(y / x) if x != 0.0 else math.copysign(0.5 * math.pi, y)
    r = r + math.copysign(math.pi, y) if x < 0.0 else r
    return r if (x != 0.0) | (y != 0.0) else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def next_uniform(state: np.uint64) -> tuple:
    """splitmix64 step: (new state, uniform in [0, 1) with 53 random bits)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return state, (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always", error_model="numpy")
def normal_pair(u1: float, u2: float) -> tuple[float, float]:
    """Two independent standard normals from two uniforms in [0, 1) by the Box-Muller
    transform: sqrt(-2 log(1 - u1)) (cos, sin)(2 pi u2)."""
    rad = math.sqrt(-2.0 * vlog(1.0 - u1))
    s, c = vsincos(2.0 * math.pi * u2)
    return rad * c, rad * s


@njit(cache=True, inline="always", error_model="numpy")
def gauss2(state: np.uint64) -> tuple:
    """Two independent standard normals from two uniforms of a splitmix64 stream:
    (new state, g1, g2)."""
    state, u1 = next_uniform(state)
    state, u2 = next_uniform(state)
    g1, g2 = normal_pair(u1, u2)
    return state, g1, g2
