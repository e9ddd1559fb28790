"""Allocator policy for runs: reuse the memory of one chunk for the next.

A chunk's arrays (tens of MB for 1e5 particles) are above glibc's mmap threshold, so by default
every chunk maps fresh pages and the kernel zero-fills each 4 kB page on first touch: for the
detector stage that is about a fifth of its run time.  :func:`keep_freed_memory` raises the
mmap threshold and the trim threshold (glibc ``mallopt``, see mallopt(3)), so that freed chunk
buffers stay in the heap and are handed out again.  Memory still does not grow with the number
of events: it stays at the largest chunk's working set.  Called by :func:`fastsim.run.run` in
the process that runs the chunks and in every worker; a no-op where the C library is not
glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

# mallopt(3) parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# allocations up to this size come from the heap; free memory up to this size is kept
_MMAP_THRESHOLD = 256 * 2**20
_TRIM_THRESHOLD = 512 * 2**20

_done = False


def keep_freed_memory() -> bool:
    """Keep freed chunk buffers for reuse (glibc only; once per process).  Returns whether
    the policy is in effect."""
    global _done  # noqa: PLW0603 - once per process
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
    return _done
