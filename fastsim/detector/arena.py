"""Output arrays of the detector stage carved from one allocation.

Fresh memory costs a page fault per 4 kB page on first touch, which for the stage's many
per-particle arrays (a few MB each) is a sizeable part of its run time.  numpy advises
transparent huge pages (2 MB) for allocations from 4 MB on Linux, so carving all arrays of
one collection from a single block makes the first touch far cheaper.  The arrays are
independent (non-overlapping) 1-D or 2-D views of the block, 64-byte aligned.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["blocks", "copy_into", "fill"]

_ALIGN = 64


def blocks(shapes: list[tuple[np.dtype | type, tuple[int, ...]]]) -> list[np.ndarray]:
    """For every ``(dtype, shape)`` of ``shapes`` an uninitialised C-contiguous array (the
    rows of a ``(k, n)`` array are contiguous 1-D arrays), all carved from one buffer."""
    sizes = []
    for dt, shape in shapes:
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize
        sizes.append(-(-nbytes // _ALIGN) * _ALIGN)
    buf = np.empty(sum(sizes) + _ALIGN, np.uint8)
    off = -buf.ctypes.data % _ALIGN
    out = []
    for (dtype, shape), size in zip(shapes, sizes, strict=True):
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        out.append(buf[off : off + nbytes].view(dt).reshape(shape))
        off += size
    return out


@njit(cache=True, inline="always")
def copy_into(dst: np.ndarray, at: int, src: np.ndarray, start: int, n: int) -> None:
    """``dst[at : at + n] = src[start : start + n]`` for 1-D arrays as a plain loop (compiles
    faster in numba kernels than slice assignment, which brings in its shape checks; the
    unsigned indices spare the negative-index wraparound, so that LLVM vectorises it)."""
    for k in range(n):
        dst[np.uint64(at + k)] = src[np.uint64(start + k)]


@njit(cache=True, inline="always")
def fill(dst: np.ndarray, at: int, value: float, n: int) -> None:
    """``dst[at : at + n] = value`` for a 1-D array as a plain loop (see :func:`copy_into`)."""
    for k in range(n):
        dst[np.uint64(at + k)] = value
