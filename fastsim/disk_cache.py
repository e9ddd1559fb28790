"""A per-user cache of small computed numbers (``$XDG_CACHE_HOME/fastsim`` or
``~/.cache/fastsim``), for set-up results every process would otherwise recompute (weight
bounds of decay models, tau-channel probes).  Plain JSON, keyed by a SHA-256 of the caller's
key (which should hold everything the value depends on, fastsim's version included): loading
cannot execute code, an unreadable entry is recomputed, writes are atomic, and a read-only
home only means no caching."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["cache_dir", "cached_float", "cached_float_and_arrays"]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/fastsim`` or ``~/.cache/fastsim``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fastsim"


def cached_float(kind: str, key: str, compute: Callable[[], float]) -> float:
    """``compute()`` once per user and ``key`` (a repr of everything the value depends on)."""
    import fastsim

    digest = hashlib.sha256(repr((key, fastsim.__version__)).encode()).hexdigest()[:24]
    path = cache_dir() / f"{kind}_{digest}.json"
    try:
        value = json.loads(path.read_text())["value"]
        if isinstance(value, float) and math.isfinite(value):
            return value
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = float(compute())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.part")
        tmp.write_text(json.dumps({"value": value}))
        tmp.replace(path)
    except OSError:
        pass
    return value


def cached_float_and_arrays(kind: str, key: str, compute: Callable[[], tuple]) -> tuple:
    """``compute()`` -> (float, array, array, ...) once per user and ``key``, stored as a
    NumPy ``.npz`` of plain arrays (read with ``allow_pickle=False``); values come back
    bit-identical."""
    import numpy as np

    import fastsim

    digest = hashlib.sha256(repr((key, fastsim.__version__)).encode()).hexdigest()[:24]
    path = cache_dir() / f"{kind}_{digest}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            n = int(z["n"])
            out = (float(z["value"]), *(np.array(z[f"a{i}"]) for i in range(n)))
        if math.isfinite(out[0]):
            return out
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        pass
    value, *arrays = compute()
    out = (float(value), *(np.asarray(a) for a in arrays))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.part")
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                value=np.float64(value),
                n=np.int64(len(arrays)),
                **{f"a{i}": a for i, a in enumerate(out[1:])},
            )
        tmp.replace(path)
    except OSError:
        pass
    return out
