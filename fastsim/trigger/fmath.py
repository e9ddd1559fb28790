"""Inline scalar math for the trigger kernels (angles in rad).

The TS emulation, the 2D fit and the network inputs take about forty arcsines per track;
the libm call (about 13 ns) was the largest single cost of the trigger emulation.  ``asin``
here is the fdlibm rational approximation (Sun Microsystems, freely redistributable;
``e_asin.c``) without its extra-precision split near 1: within a few units in the last
place of ``math.asin`` over [-1, 1] (tests/test_trigger.py), i.e. the same numbers to
double round-off, and inlined into the numba kernels.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["asin", "small_atan", "wrap"]

_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
_TWO_PI = 2.0 * math.pi
_PIO2 = 0.5 * math.pi
# fdlibm e_asin.c: asin(x) = x + x R(x^2) for |x| < 0.5, R(t) = P(t) / Q(t)
_PS0, _PS1, _PS2 = 1.66666666666666657415e-01, -3.25565818622400915405e-01, 2.01212532134862925881e-01
_PS3, _PS4, _PS5 = -4.00555345006794114027e-02, 7.91534994289814532176e-04, 3.47933107596021167570e-05
_QS1, _QS2 = -2.40339491173441421878e00, 2.02094576023350569471e00
_QS3, _QS4 = -6.88283971605453293030e-01, 7.70381505559019352791e-02


@njit(cache=True, inline="always", fastmath=_FM)
def _r(t: float) -> float:
    p = t * (_PS0 + t * (_PS1 + t * (_PS2 + t * (_PS3 + t * (_PS4 + t * _PS5)))))
    q = 1.0 + t * (_QS1 + t * (_QS2 + t * (_QS3 + t * _QS4)))
    return p / q


@njit(cache=True, inline="always", fastmath=_FM)
def asin(x: float) -> float:
    """arcsin(x) (rad) for -1 <= x <= 1: |x| + |x| R(x^2) for |x| < 0.5; else, with
    t = (1 - |x|) / 2, pi/2 - 2 sqrt(t) (1 + R(t)); signed.  Branch-free (selects)."""
    ax = abs(x)
    small = ax < 0.5
    t = ax * ax if small else 0.5 * (1.0 - ax)
    r = _r(t)
    s = math.sqrt(t)
    y = ax + ax * r if small else _PIO2 - 2.0 * (s + s * r)
    return math.copysign(y, x)


@njit(cache=True, inline="always", fastmath=_FM)
def wrap(a: float) -> float:
    """Angle wrapped into [-pi, pi) (rad)."""
    return a - _TWO_PI * math.floor((a + math.pi) / _TWO_PI)


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def small_atan(y: float, x: float) -> float:
    """atan(y / x) for x > 0 (rad): a 4-term series when |y / x| < 0.01 (truncation below
    1e-19, i.e. exact to double round-off; the case of tracks from the IP, d0 ~ 0), libm
    otherwise."""
    t = y / x
    if abs(t) < 0.01:
        t2 = t * t
        return t * (1.0 - t2 * (1.0 / 3.0 - t2 * (0.2 - t2 * (1.0 / 7.0))))
    return math.atan2(y, x)
