"""The run loop: plan chunks, run the pipeline stages per chunk, write in order.

Chunk ``i`` of a run draws every random number from streams seeded by
``SeedSequence(card.run.seed, spawn_key=(i, stage))``: one independent stream per
pipeline stage, so the output is bit-identical whatever the number of workers, the
order in which chunks finish, or which later stages are switched on.  Chunks are
written in index order; at most ``2 * workers`` chunks are in flight, so memory does
not grow with the number of events.  The per-chunk chain (chunk planning, stage
streams, :func:`run_chunk`) is :mod:`fastsim.pipeline`; the names are re-exported here.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import fastsim
from fastsim.cards import Card
from fastsim.events import EventBatch
from fastsim.generators.base import XsecTally
from fastsim.io import EventFileWriter
from fastsim.memory import keep_freed_memory
from fastsim.pipeline import (
    STAGE_DECAYS,
    STAGE_DETECTOR,
    STAGE_GENERATOR,
    STAGE_RECO,
    STAGE_TRIGGER,
    ChunkTask,
    _Context,
    plan_chunks,
    run_chunk,
    stage_rng,
)
from fastsim.schema import CardError

# the STAGE_* constants, ChunkTask, plan_chunks, run_chunk and stage_rng are re-exported
# from fastsim.pipeline
__all__ = [
    "STAGE_DECAYS",
    "STAGE_DETECTOR",
    "STAGE_GENERATOR",
    "STAGE_RECO",
    "STAGE_TRIGGER",
    "ChunkTask",
    "RunSummary",
    "dask_client",
    "plan_chunks",
    "run",
    "run_chunk",
    "stage_rng",
]

_WORKER_CONTEXT: _Context | None = None


def _init_worker(card: dict[str, Any]) -> None:
    global _WORKER_CONTEXT  # noqa: PLW0603 - one context per worker process
    keep_freed_memory()
    _WORKER_CONTEXT = _Context(card)


def _run_in_worker(
    task: ChunkTask, profile: bool = False
) -> tuple[dict[str, Any], XsecTally, dict[str, float]]:
    assert _WORKER_CONTEXT is not None
    _WORKER_CONTEXT.timings = {} if profile else None
    batch, tally = run_chunk(_WORKER_CONTEXT, task)
    return _batch_to_shared_memory(batch), tally, dict(_WORKER_CONTEXT.timings or {})


#: contexts of the cards a dask worker process has run chunks of, by the card's text (a worker
#: builds a card's generators, decay tables and stages once, as a pool worker does)
_DASK_CONTEXTS: dict[str, _Context] = {}


def _run_on_dask(
    card_text: str, card: dict[str, Any], task: ChunkTask, profile: bool
) -> tuple[EventBatch, XsecTally, dict[str, float]]:
    """One chunk on a dask.distributed worker: the same :func:`run_chunk` with the same stage
    streams as a local worker, so the file is bit-identical whichever executor ran it."""
    ctx = _DASK_CONTEXTS.get(card_text)
    if ctx is None:
        keep_freed_memory()
        _DASK_CONTEXTS.clear()  # one card at a time per worker process
        ctx = _DASK_CONTEXTS[card_text] = _Context(card)
    ctx.timings = {} if profile else None
    batch, tally = run_chunk(ctx, task)
    return batch, tally, dict(ctx.timings or {})


def _batch_to_shared_memory(batch: EventBatch) -> dict[str, Any]:
    """The chunk's arrays copied into one shared-memory block, and the manifest the main
    process rebuilds them from (:func:`_batch_from_shared_memory`): a chunk of hadronic events
    is ~100 MB, and pickling it through the pool's pipe cost both processes more CPU than the
    copy.  The block belongs to the main process, which unlinks it after the write."""
    from multiprocessing import resource_tracker, shared_memory

    arrays: list[tuple[str, str, np.ndarray]] = [("events", k, v) for k, v in batch.events.items()]
    for cname, col in batch.collections.items():
        arrays.append((cname, "__offsets__", col.offsets))
        arrays += [(cname, k, v) for k, v in col.fields.items()]
    arrays = [(g, n, np.ascontiguousarray(a)) for g, n, a in arrays]
    layout, at = [], 0
    for group, name, arr in arrays:
        layout.append((group, name, arr.dtype.str, arr.shape, at))
        at += -(-arr.nbytes // 64) * 64  # 64-byte aligned
    shm = shared_memory.SharedMemory(create=True, size=max(at, 1))
    try:
        for (_, _, dt, shape, off), (_, _, arr) in zip(layout, arrays, strict=True):
            np.ndarray(shape, dt, buffer=shm.buf, offset=off)[...] = arr
    except BaseException:
        shm.close()
        shm.unlink()
        raise
    # the main process owns the block from here (it unlinks it); this process's resource
    # tracker must not unlink it when the worker exits
    resource_tracker.unregister(shm._name, "shared_memory")
    shm.close()
    return {"name": shm.name, "n_events": batch.n_events, "layout": layout}


def _batch_from_shared_memory(manifest: dict[str, Any]) -> tuple[EventBatch, Any]:
    """(batch of views into the block, the block); close and unlink the block after use."""
    from multiprocessing import shared_memory

    from fastsim.events import Collection

    shm = shared_memory.SharedMemory(name=manifest["name"])
    views: dict[str, dict[str, np.ndarray]] = {}
    for group, name, dt, shape, off in manifest["layout"]:
        views.setdefault(group, {})[name] = np.ndarray(tuple(shape), np.dtype(dt), buffer=shm.buf, offset=off)
    events = views.pop("events", {})
    collections = {}
    for cname, fields in views.items():
        offsets = fields.pop("__offsets__")
        collections[cname] = Collection(fields, offsets)
    return EventBatch(manifest["n_events"], events, collections), shm


def _check_drop(names: list[str], batch: EventBatch, card: Card) -> None:
    """Every name of ``run.drop`` is a collection or a field of the run's first chunk."""
    have = {"events": set(batch.events), **{c: set(col.fields) for c, col in batch.collections.items()}}
    for i, name in enumerate(names):
        group, _, fname = name.partition(".")
        if group not in have or (fname and fname not in have[group]):
            where = sorted(have[group]) if group in have else sorted(have)
            raise CardError(
                f"no {'field' if fname and group in have else 'collection'} {name!r} in the output "
                f"(it has {', '.join(where)})",
                ("run", "drop", i),
                str(card.path),
            )


@contextlib.contextmanager
def dask_client(scheduler: str | None, n_local: int | None) -> Iterator[Any]:
    """A dask.distributed client of the cluster at ``scheduler`` (``tcp://HOST:PORT``), or of a
    LocalCluster of ``n_local`` one-thread worker processes started (and stopped) here; used by
    ``fastsim run`` and ``fastsim grid``."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_local or 1, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_chunks_on_dask(
    card: Card,
    card_text: str,
    todo: list[ChunkTask],
    scheduler: str | None,
    n_local: int | None,
    profile: bool,
) -> Iterator[tuple[ChunkTask, EventBatch, XsecTally, dict[str, float]]]:
    """The chunks ``todo`` run on a dask.distributed cluster, yielded in index order.  At most
    two chunks per worker are submitted ahead of the one to be written next; their results wait
    on the workers and the client fetches one chunk at a time, whatever the run's length.  A
    chunk whose worker dies is re-run (dask's ``retries``) with the same streams."""
    with dask_client(scheduler, n_local) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        card_dict = dict(card)
        window: deque[tuple[ChunkTask, Any]] = deque()
        it = iter(todo)

        def submit(task: ChunkTask) -> None:
            fut = client.submit(
                _run_on_dask, card_text, card_dict, task, profile, retries=_DASK_RETRIES, pure=False
            )
            window.append((task, fut))

        for task in it:
            submit(task)
            if len(window) >= 2 * n_workers:
                break
        while window:
            task, fut = window.popleft()
            batch, tally, chunk_times = fut.result()
            fut.release()
            nxt = next(it, None)
            if nxt is not None:
                submit(nxt)
            yield task, batch, tally, chunk_times


#: times dask re-runs a chunk whose worker died
_DASK_RETRIES = 2


@dataclass
class RunSummary:
    output: Path
    n_events: int
    seconds: float
    processes: list[dict[str, Any]] = field(default_factory=list)
    resumed_chunks: int = 0
    #: seconds per stage (``profile``): generator, decays, detector, trigger, reco, selection,
    #: writer -- summed over chunks and workers (CPU seconds of each stage, not wall time)
    timings: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{'process':<20} {'generator':<16} {'sigma [nb]':>22} {'events':>10} {'expected (L)':>14}"]
        for p in self.processes:
            sig = f"{p['sigma_nb']:.6g} +- {p['sigma_err_nb']:.2g}"
            out.append(
                f"{p['name']:<20} {p['generator']:<16} {sig:>22} {p['n_events']:>10d} {p['expected_events']:>14.4g}"
            )
            fr = dict(p.get("flag_fractions", {}))
            selected = fr.pop("selected", None)
            if fr:
                bits = ", ".join(f"{k.removeprefix('trg_')} {v:.3f}" for k, v in fr.items())
                out.append(f"{'':<20} trigger efficiencies: {bits}")
            if selected is not None:
                out.append(
                    f"{'':<20} selected: {selected:.4f} of the events, "
                    f"{selected * p['expected_events']:.4g} expected at the card's luminosity"
                )
        rate = self.n_events / self.seconds if self.seconds > 0 else float("inf")
        n_written = sum(int(p["n_events"]) for p in self.processes)
        skim = f", {n_written} written (skim)" if n_written != self.n_events and self.processes else ""
        out.append(
            f"{self.n_events} events in {self.seconds:.1f} s ({rate:,.0f} events/s){skim} -> {self.output}"
        )
        if self.timings:
            tot = sum(self.timings.values())
            split = ", ".join(f"{k} {v:.2f} s ({100 * v / tot:.0f} %)" for k, v in self.timings.items())
            out.append(f"profile (CPU seconds per stage, summed over workers): {split}")
        if self.resumed_chunks:
            out.append(f"(resumed: {self.resumed_chunks} chunks were already written)")
        return out


def run(
    card: Card,
    output: str | Path | None = None,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
    on_chunk: Callable[[int], None] | None = None,
    compile_ahead: bool = False,
    profile: bool = False,
    scheduler: str | None = None,
    dask_local: int | None = None,
) -> RunSummary:
    """Run the whole card and write the HDF5 file.  Returns the summary.

    ``compile_ahead``: on a cold numba cache, compile the detector, trigger and reco kernels
    in a second process meanwhile (:mod:`fastsim.warmup`; the ``fastsim run`` command sets it;
    off by default because a spawned process imports the caller's main module).

    ``profile``: measure the seconds of every stage and of the writer (``RunSummary.timings``).

    ``scheduler`` (a dask.distributed address, ``tcp://HOST:PORT``) or ``dask_local`` (a
    LocalCluster of that many one-thread worker processes): the chunks run on dask workers and
    this process writes them in order, holding at most two chunks per worker
    (:func:`_run_chunks_on_dask`); the file is bit-identical to a local run's."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    keep_freed_memory()  # chunk buffers reused from one chunk to the next (fastsim.memory)
    run_cfg = card["run"]
    output = Path(output or run_cfg["output"])
    workers = workers or run_cfg["workers"]
    tasks = plan_chunks(card)
    card_text = card.text()
    writer = EventFileWriter(
        output,
        identity=card_text,
        compression=run_cfg["compression"],
        resume=resume,
        float32=run_cfg["float32"],
        drop=run_cfg["drop"],
    )
    unchecked_drop = list(run_cfg["drop"])
    done = writer.chunks_done
    tallies: dict[str, XsecTally] = {name: XsecTally() for name in card["processes"]}
    counts: dict[str, int] = dict.fromkeys(card["processes"], 0)
    # weighted counts of every boolean per-event flag (trigger bits ...) per process
    flags: dict[str, dict[str, float]] = {name: {} for name in card["processes"]}
    weights: dict[str, float] = dict.fromkeys(card["processes"], 0.0)
    weights2: dict[str, float] = dict.fromkeys(card["processes"], 0.0)
    generated: dict[str, int] = dict.fromkeys(card["processes"], 0)
    skim = bool(run_cfg.get("skim"))
    timings: dict[str, float] = {}

    def append(batch: EventBatch, rec: dict[str, Any]) -> None:
        """The writer's append, timed when profiling (it runs in the writer thread)."""
        t_w = time.perf_counter()
        writer.append(batch, rec)
        if profile:
            timings["writer"] = timings.get("writer", 0.0) + (time.perf_counter() - t_w)

    def add_flags(process: str, rec: dict[str, Any]) -> None:
        weights[process] += rec["sum_weight"]
        weights2[process] += rec.get("sum_weight2", 0.0)
        for k, v in rec["flags"].items():
            flags[process][k] = flags[process].get(k, 0.0) + v

    for task, rec in zip(tasks[:done], writer.chunk_records, strict=False):
        tallies[task.process] = tallies[task.process].merge(XsecTally(*rec["tally"]))
        counts[task.process] += int(rec.get("n_written", task.n_events))
        generated[task.process] += task.n_events
        add_flags(task.process, rec)
    total = sum(t.n_events for t in tasks)
    bar = tqdm(
        total=total,
        initial=sum(t.n_events for t in tasks[:done]),
        unit="ev",
        unit_scale=True,
        disable=not progress,
        desc=output.name,
        dynamic_ncols=True,
    )

    def record(batch: EventBatch, tally: XsecTally) -> tuple[EventBatch, dict[str, Any]]:
        """The chunk to write (the skim's events only with ``run.skim``) and its record, whose
        sums are over every generated event."""
        w = batch.events["weight"]
        rec = {
            "tally": [tally.n_trials, tally.sum_w, tally.sum_w2],
            "sum_weight": float(w.sum()),
            "sum_weight2": float((w.astype(np.float64) ** 2).sum()),
            "flags": {k: float(w[v].sum()) for k, v in batch.events.items() if v.dtype == np.bool_},
        }
        if skim:
            batch = batch.select_events(np.flatnonzero(batch.events["selected"]))
        rec["n_written"] = batch.n_events
        if unchecked_drop:
            _check_drop(unchecked_drop, batch, card)
            unchecked_drop.clear()
        return batch, rec

    def consume(task: ChunkTask, batch: EventBatch, tally: XsecTally) -> None:
        batch, rec = record(batch, tally)
        append(batch, rec)
        written(task, batch, tally, rec)

    def written(task: ChunkTask, batch: EventBatch, tally: XsecTally, rec: dict[str, Any]) -> None:
        add_flags(task.process, rec)
        tallies[task.process] = tallies[task.process].merge(tally)
        counts[task.process] += batch.n_events
        generated[task.process] += task.n_events
        bar.update(task.n_events)
        if on_chunk is not None:
            on_chunk(task.index)

    todo = tasks[done:]
    try:
        if scheduler is not None or dask_local:
            chunks = _run_chunks_on_dask(card, card_text, todo, scheduler, dask_local, profile)
            with contextlib.closing(chunks):
                for task, batch, tally, chunk_times in chunks:
                    for k, v in chunk_times.items():
                        timings[k] = timings.get(k, 0.0) + v
                    consume(task, batch, tally)
                    del batch
        elif workers <= 1 or len(todo) <= 1:
            from fastsim.warmup import start_compile_ahead

            ahead = start_compile_ahead(card, 1) if todo and compile_ahead else None
            ctx = _Context(card)
            ctx.timings = timings if profile else None
            if ahead is not None:
                # meanwhile compile (and train) the generators here: a few throw-away events
                # from a private stream, so that the wait below overlaps the two compilations
                for gen in ctx.generators.values():
                    if not getattr(gen, "reads_files", False):
                        gen.generate(8, np.random.default_rng(0))
                # then the trigger and reco kernels, while the helper compiles the detector's
                if len(ctx.stages) > 1:
                    from fastsim.warmup import compile_later_stages

                    compile_later_stages(card)
                ctx.before_stages = ahead.wait
            # the HDF5 write of a chunk (compression: h5py releases the GIL) runs in a thread
            # while the next chunk is made, so a one-worker run uses the second core for it;
            # order, records and resume are those of consume(); leaving the block waits for
            # the write in flight
            with ThreadPoolExecutor(1, thread_name_prefix="fastsim-writer") as io:
                pending: tuple[Future, tuple] | None = None
                for task in todo:
                    batch, tally = run_chunk(ctx, task)
                    if pending is not None:
                        pending[0].result()
                        written(*pending[1])
                    batch, rec = record(batch, tally)
                    pending = (io.submit(append, batch, rec), (task, batch, tally, rec))
                    del batch
                if pending is not None:
                    pending[0].result()
                    written(*pending[1])
        else:
            mp = multiprocessing.get_context("forkserver")
            with ProcessPoolExecutor(
                workers, mp_context=mp, initializer=_init_worker, initargs=(dict(card),)
            ) as pool:
                window: deque[tuple[ChunkTask, Future]] = deque()
                it = iter(todo)
                for task in it:
                    window.append((task, pool.submit(_run_in_worker, task, profile)))
                    if len(window) >= 2 * workers:
                        break
                while window:
                    task, fut = window.popleft()
                    manifest, tally, chunk_times = fut.result()
                    for k, v in chunk_times.items():
                        timings[k] = timings.get(k, 0.0) + v
                    batch, shm = _batch_from_shared_memory(manifest)
                    try:
                        consume(task, batch, tally)
                    finally:
                        del batch
                        shm.close()
                        shm.unlink()
                    nxt = next(it, None)
                    if nxt is not None:
                        window.append((nxt, pool.submit(_run_in_worker, nxt, profile)))
    except BaseException:
        writer.close()
        bar.close()
        raise
    bar.close()

    lumi = card["dataset"]["luminosity_fb"]
    processes = []
    from fastsim.setup import build_beams, build_generator, build_particle_table

    beams = build_beams(card)
    table = build_particle_table(card)
    for pid, (name, params) in enumerate(card["processes"].items()):
        t = tallies[name]
        gen = build_generator(params, beams, table)
        # external samples: the files' own integration errors add to the weights' spread
        file_err = gen.file_sigma_err_nb() if hasattr(gen, "file_sigma_err_nb") else 0.0
        processes.append(
            {
                "name": name,
                "id": pid,
                "generator": params["generator"],
                "sigma_nb": t.sigma_nb,
                "sigma_err_nb": math.hypot(t.sigma_err_nb, file_err),
                "n_trials": t.n_trials,
                "n_events": counts[name],
                # with run.skim, the file holds the selected events only: the generated count
                # and weight sums normalise it (analysis.samples)
                **(
                    {
                        "n_generated": generated[name],
                        "sum_weight_generated": weights[name],
                        "sum_weight2_generated": weights2[name],
                    }
                    if skim
                    else {}
                ),
                # 1 fb^-1 = 1e6 nb^-1
                "expected_events": t.sigma_nb * lumi * 1e6,
                "model": gen.describe(),
                # fraction of (weighted) events with each boolean flag set: trigger lines, triggered
                "flag_fractions": {k: v / weights[name] for k, v in flags[name].items()}
                if weights[name]
                else {},
            }
        )
    meta = {
        "fastsim_version": fastsim.__version__,
        "card": card_text,
        "card_path": str(card.path),
        "seed": card["run"]["seed"],
        "chunk_size": card["run"]["chunk_size"],
        "n_chunks": len(tasks),
        "dataset": card["dataset"]["name"],
        "luminosity_fb": lumi,
        "beams": beams.describe(),
        "detector": card["detector"]["name"],
        "processes": processes,
        **({"skim": card["run"]["selection"]} if skim else {}),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    path = writer.finalize(meta)
    return RunSummary(path, sum(generated.values()), time.perf_counter() - t0, processes, done, dict(timings))
