"""The run's allocator policy (fastsim/memory.py): freed chunk buffers are reused."""

from __future__ import annotations

import platform
import resource

import numpy as np
import pytest

from fastsim.memory import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the policy uses glibc's mallopt")
def test_freed_chunk_buffers_are_reused() -> None:
    assert keep_freed_memory()
    assert keep_freed_memory()  # once per process, then a no-op
    # 4 kB pages only (numpy advises huge pages for large arrays, which would hide the count)
    core = getattr(np, "_core", None) or np.core  # numpy 2 / 1.26
    hugepages = core.multiarray._set_madvise_hugepage(False)
    try:
        n = 6_000_000  # 48 MB: above glibc's largest dynamic mmap threshold (32 MB)
        np.ones(n)  # allocated and freed
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        b = np.ones(n)  # the freed block again: no fresh pages to fault in
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    finally:
        core.multiarray._set_madvise_hugepage(hugepages)
    assert b.sum() == n
    # fresh memory faults once per 4 kB page: 11719 measured without the policy, 0 with it
    assert faults < 500
