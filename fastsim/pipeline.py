"""The per-chunk chain: plan the chunks of a card and run one chunk through every stage
(generator, decays, detector, trigger, reco, selection).

Chunk ``i`` of a run draws every random number from streams seeded by
``SeedSequence(card.run.seed, spawn_key=(i, stage))``: one independent stream per
pipeline stage (the ``STAGE_*`` slots), so a chunk's events do not depend on the other
chunks, on the number of workers or on which later stages are switched on.  The
orchestration (workers, writer, resume, summary) is :mod:`fastsim.run`.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastsim.events import EventBatch
from fastsim.generators.base import XsecTally

__all__ = [
    "STAGE_DECAYS",
    "STAGE_DETECTOR",
    "STAGE_GENERATOR",
    "STAGE_RECO",
    "STAGE_TRIGGER",
    "ChunkTask",
    "plan_chunks",
    "run_chunk",
    "stage_rng",
]

# Stage slots of the per-chunk random streams.  Never renumber: results depend on them.
STAGE_GENERATOR = 0
STAGE_DECAYS = 1
STAGE_DETECTOR = 2
STAGE_TRIGGER = 3
STAGE_RECO = 4


def stage_rng(seed: int, chunk: int, stage: int) -> np.random.Generator:
    """The random stream of one pipeline stage in one chunk."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk, stage))))


@dataclass(frozen=True)
class ChunkTask:
    index: int
    process: str
    process_id: int
    n_events: int
    first_event: int = 0  # index of the chunk's first event within its process


def plan_chunks(card: dict[str, Any]) -> list[ChunkTask]:
    """All chunks of a run: the processes in card order, each split by ``run.chunk_size``."""
    tasks = []
    size = card["run"]["chunk_size"]
    index = 0
    from fastsim.generators import GENERATORS

    for pid, (name, params) in enumerate(card["processes"].items()):
        n = params["events"] or card["run"]["events"]
        cls = GENERATORS[params["generator"]]
        if getattr(cls, "reads_files", False):
            # external samples: the first n events of the files (the process's events, else
            # run.events), at most the events the files hold
            n = min(n, cls.events_available(params))
        for start in range(0, n, size):
            tasks.append(ChunkTask(index, name, pid, min(size, n - start), start))
            index += 1
    return tasks


class _Context:
    """Objects built once per process from the card (generators, tables)."""

    def __init__(self, card: dict[str, Any]) -> None:
        from fastsim.setup import (
            build_beams,
            build_decay_table,
            build_generator,
            build_particle_table,
            stable_ids,
        )

        self.card = card
        self.beams = build_beams(card)
        self.particles = build_particle_table(card)
        self.generators = {
            name: build_generator(params, self.beams, self.particles)
            for name, params in card["processes"].items()
        }
        self.decays_enabled = card["decays"]["enabled"]
        self.decay_table = build_decay_table(card) if self.decays_enabled else None
        self.stable = stable_ids(card)
        spec = card["run"].get("selection")
        if spec:
            from fastsim.selections import load_selection

            self.selection = load_selection(spec)
        else:
            self.selection = None
        # Later pipeline stages: each package exposes ``build_stage(card, particles)``
        # returning ``stage(batch, rng) -> batch`` or None when the card switches it off.
        self.stages: list[tuple[int, Any]] = []
        #: seconds per stage (``fastsim run --profile``), summed over this process's chunks;
        #: None: not measured
        self.timings: dict[str, float] | None = None
        #: called once before the first stage call (fastsim.warmup: wait for kernels compiled ahead)
        self.before_stages: Callable[[], None] | None = None
        for slot, module in (
            (STAGE_DETECTOR, "fastsim.detector"),
            (STAGE_TRIGGER, "fastsim.trigger"),
            (STAGE_RECO, "fastsim.reco"),
        ):
            build = getattr(importlib.import_module(module), "build_stage", None)
            stage = build(card, self.particles) if build is not None else None
            if stage is not None:
                self.stages.append((slot, stage))


_STAGE_NAMES = {STAGE_DETECTOR: "detector", STAGE_TRIGGER: "trigger", STAGE_RECO: "reco"}


def _timed(ctx: _Context, name: str, t0: float) -> float:
    """Add the seconds since ``t0`` to ``ctx.timings[name]`` (when profiling); the time now."""
    t1 = time.perf_counter()
    if ctx.timings is not None:
        ctx.timings[name] = ctx.timings.get(name, 0.0) + (t1 - t0)
    return t1


def run_chunk(ctx: _Context, task: ChunkTask) -> tuple[EventBatch, XsecTally]:
    """Generate one chunk and pass it through the pipeline stages (their seconds summed into
    ``ctx.timings`` when it is a dict)."""
    seed = ctx.card["run"]["seed"]
    t = time.perf_counter()
    gen = ctx.generators[task.process]
    rng = stage_rng(seed, task.index, STAGE_GENERATOR)
    if getattr(gen, "reads_files", False):
        batch, tally = gen.read_events(task.first_event, task.n_events, rng)
    else:
        batch, tally = gen.generate(task.n_events, rng)
    t = _timed(ctx, "generator", t)
    # a generator's tau spin state (fastsim.spin) is for the decays only: not written
    spin = batch.collections.pop("spin", None)
    if ctx.decays_enabled:
        from fastsim.decays import decay_particles

        mc = decay_particles(
            batch["mc"],
            ctx.decay_table,
            stage_rng(seed, task.index, STAGE_DECAYS),
            ctx.particles,
            ctx.stable,
            spin=spin,
        )
        batch.collections["mc"] = mc
    elif "mc" in batch.collections:
        from fastsim.decays import without_spin_columns

        batch.collections["mc"] = without_spin_columns(batch["mc"])
    t = _timed(ctx, "decays", t)
    if ctx.before_stages is not None and ctx.stages:
        ctx.before_stages()
        ctx.before_stages = None
        t = time.perf_counter()  # waiting for kernels compiled ahead is not a stage's time
    for slot, stage in ctx.stages:
        batch = stage(batch, stage_rng(seed, task.index, slot))
        t = _timed(ctx, _STAGE_NAMES.get(slot, str(slot)), t)
    if ctx.selection is not None:
        batch.events["selected"] = np.asarray(ctx.selection(batch), dtype=bool)
        t = _timed(ctx, "selection", t)
    events = {
        "weight": batch.events.get("weight", np.ones(batch.n_events)),
        "process_id": np.full(batch.n_events, task.process_id, np.int32),
    }
    events.update({k: v for k, v in batch.events.items() if k not in events})
    return EventBatch(batch.n_events, events, batch.collections), tally
