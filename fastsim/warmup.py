"""Compile the detector, trigger and reco kernels in a second process on a cold cache.

A first ``fastsim run`` spends most of its time compiling numba kernels (they are cached on
disk afterwards, ``cache=True``).  The generators and the later stages (detector, trigger,
reco) have disjoint kernels, so on a machine with at least two cores a helper process
compiles the later stages' kernels from a small synthetic sample (particle guns of muons,
pions, kaons, electrons, photons, K0S, K_L and pi0: tracks, showers, conversions, V0
vertices and KLM hits) while this process compiles and runs the generators.  Before its
first detector call this process waits for the helper and then loads the cached kernels.
Used by the ``fastsim run`` command (``run(..., compile_ahead=True)``); the library's
``run()`` leaves it off by default, since a spawned process imports the caller's main
module (a script without an ``if __name__ == "__main__"`` guard would run again).

Skipped when the detector's propagation kernel is already cached, on one-core machines, with
worker pools and inside worker processes (grid tasks, dask: each compiles for itself), when
the card has no detector, or when ``FASTSIM_NO_WARMUP`` is set.  The helper writes nothing but numba's cache; if it fails or
is killed, this process compiles the kernels itself, as without it.  Results do not depend
on it (it draws no random numbers of the run).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CompileAhead", "start_compile_ahead"]

#: (PDG id, multiplicity, p_min, p_max) of the synthetic guns (GeV)
_GUNS = (
    (13, 2, 0.3, 4.0),
    (211, 2, 0.2, 3.0),
    (321, 2, 0.3, 3.0),
    (11, 2, 0.3, 4.0),
    (22, 2, 0.2, 4.0),
    (310, 2, 0.5, 3.0),
    (130, 1, 0.5, 3.0),
    (111, 2, 0.3, 3.0),
)
_EVENTS = 60


def _cache_is_warm() -> bool:
    """True when the detector propagation kernel has a numba cache index on disk."""
    try:
        from fastsim.detector.propagation import propagate_charged

        return Path(propagate_charged._cache._cache_file._index_path).is_file()
    except (AttributeError, ImportError):  # an unexpected numba layout: do not warm up
        return True


def _gun_card(card: dict[str, Any]) -> dict[str, Any]:
    """The card with its processes replaced by the synthetic guns (validated)."""
    from fastsim.cards import dump_card, validate_card

    raw = yaml.safe_load(dump_card(card))
    raw["run"].update(events=_EVENTS, chunk_size=_EVENTS, workers=1, selection=None)
    raw["processes"] = {
        f"gun_{pdg}": {
            "generator": "particle_gun",
            "pdg": pdg,
            "multiplicity": mult,
            "p_min": p_min,
            "p_max": p_max,
            "cos_theta_min": -0.9,
            "cos_theta_max": 0.95,
        }
        for pdg, mult, p_min, p_max in _GUNS
    }
    raw.pop("grid", None)
    return validate_card(raw, path="<compile-ahead>")


def _compile(card: dict[str, Any]) -> None:
    """Helper process: run the synthetic guns through every stage, discarding the events."""
    from fastsim.run import _Context, plan_chunks, run_chunk

    with (
        Path(os.devnull).open("w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        gun = _gun_card(card)
        ctx = _Context(gun)
        for task in plan_chunks(gun):
            run_chunk(ctx, task)


class CompileAhead:
    """A running helper process; :meth:`wait` blocks until it has finished (or failed)."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process

    def wait(self, timeout: float = 300.0) -> None:
        if self.process.is_alive():
            self.process.join(timeout)
        if self.process.is_alive():  # stuck: compile here instead
            self.process.kill()


def start_compile_ahead(card: dict[str, Any], workers: int, force: bool = False) -> CompileAhead | None:
    """Start the helper when it can help (see the module docstring; ``force``: even on a
    warm cache or one core, for tests), else None."""
    if os.environ.get("FASTSIM_NO_WARMUP") or workers > 1:
        return None
    if multiprocessing.parent_process() is not None:  # a worker (grid pool, dask): not here
        return None
    if not card.get("detector", {}).get("enabled", False):
        return None
    if not force and ((os.cpu_count() or 1) < 2 or _cache_is_warm()):
        return None
    try:
        mp = multiprocessing.get_context("spawn")
        proc = mp.Process(target=_compile, args=(dict(card),), daemon=True)
        proc.start()
    except Exception:  # noqa: BLE001 - e.g. no process creation allowed here: compile in-process
        return None
    return CompileAhead(proc)
