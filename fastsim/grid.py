"""Signal grids: a card whose parameters are ranges becomes many runs, with lifetimes by reweighting.

Any value of a card may be written as a grid axis::

    mass: {values: [0.5, 1.0, 2.0]}
    mass: {linspace: [0.5, 4.5, 9]}       # numpy.linspace(start, stop, num)
    ctau: {logspace: [0.1, 1000.0, 50]}   # numpy.geomspace(start, stop, num): end values, not exponents

One entry of the card's ``include`` list may be an axis over included cards,
``include: [detectors/belle.yaml, {values: [datasets/belle_y4s.yaml, datasets/belle_y5s.yaml]}]``:
the grid then runs once per included card (a search's data sets, each with its beams and
luminosity; ``analysis`` combines the files by data set), each with its own seed derived from
the card's seed and the value's position.

The grid is the Cartesian product of the axes, in card order.  A lifetime axis
(``particles.<pdg>.ctau``) costs almost nothing: the points that differ only in that
lifetime share one simulation in which the particle's proper decay length is drawn from
an equal-weight mixture of exponentials spanning the requested range, and every lifetime
is obtained by the per-event weight prod_LLP f_ctau(ct) / g(ct) (importance sampling;
for a single reference lifetime tau0 this is (tau0/tau) exp(-t (1/tau - 1/tau0))), with
ct the proper decay length stored in the ``lifetime`` field.  The effective sample size
(sum w)^2 / sum w^2 is reported per point.

Each task (one simulation and the points it serves) runs in a local process pool or on
a dask.distributed cluster; results are identical whichever executor runs them, because
every simulation is seeded by the card alone.  A task whose worker dies is retried;
``resume`` skips tasks whose results are on disk.

Units: GeV, cm, ns; cross sections in nb, luminosity in fb^-1.
"""

from __future__ import annotations

import copy
import csv
import itertools
import json
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fastsim.cards import _load_merged, _merge_tracked, include_axes, validate_card
from fastsim.events import STATUS_DECAYED, EventBatch
from fastsim.grid_axes import AXIS_KEYS, find_axes
from fastsim.schema import CardError
from fastsim.selections import load_selection, two_tracks

# AXIS_KEYS, find_axes (fastsim.grid_axes) and load_selection, two_tracks (fastsim.selections)
# are re-exported: cards name ``fastsim.grid:two_tracks``
__all__ = [
    "AXIS_KEYS",
    "GridTask",
    "expand_grid",
    "find_axes",
    "load_selection",
    "plan_grid",
    "run_grid",
    "two_tracks",
]

#: 90% CL Poisson upper limit for n = 0 observed, b = 0 expected
N_UP_90_ZERO = -math.log(0.10)
MAX_RETRIES = 3


# --------------------------------------------------------------------- expansion
def _set(raw: dict[str, Any], path: tuple, value: Any) -> None:
    node = raw
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def expand_grid(raw: dict[str, Any], origins: dict[tuple, str]) -> tuple[list[tuple], list[dict[tuple, Any]]]:
    """Axes (key paths) and the list of grid points (path -> value), Cartesian product in card order."""
    axes = find_axes(raw, origins)
    paths = [p for p, _ in axes]
    points = [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))]
    return paths, points


# --------------------------------------------------------------------- planning
@dataclass
class GridTask:
    """One simulation: its resolved card and the grid points it serves (with their lifetimes)."""

    index: int
    card: dict[str, Any]
    points: list[int]
    params: list[dict[str, Any]]
    #: per point: pdg -> c*tau (cm) to reweight to (empty: the simulation itself)
    reweight: list[dict[int, float]] = field(default_factory=list)
    #: pdg -> mixture components used in the simulation
    mixtures: dict[int, list[float]] = field(default_factory=dict)


def _mixture(ctaus: list[float]) -> list[float]:
    """Mixture components spanning the requested lifetimes: every requested value when
    there are few, else two per decade (ratio sqrt(10)) from the smallest to the largest."""
    lo, hi = min(ctaus), max(ctaus)
    if len(set(ctaus)) <= 6 or hi / lo <= 1.0001:
        return sorted(set(ctaus))
    k = max(2, math.ceil(2 * math.log10(hi / lo)) + 1)
    return [float(x) for x in np.geomspace(lo, hi, k)]


def plan_grid(
    card_path: str | Path, overrides: dict[str, Any] | None = None
) -> tuple[list[tuple], list[GridTask]]:
    """Expand a grid card into simulation tasks (validated).  Returns (axis paths, tasks)."""
    inc_axes = include_axes(card_path)
    paths: list[tuple] = []
    tasks: list[GridTask] = []
    n_points = 0
    # a grid axis over included cards (one data set per value) is the outermost axis; each of
    # its values runs with its own seed, derived from the card's seed and the value's index,
    # so that the data sets' samples are independent
    for k, combo in enumerate(itertools.product(*(v for _, v in inc_axes))):
        choice = {i: name for (i, _), name in zip(inc_axes, combo, strict=True)}
        raw, origins = _load_merged(Path(card_path), include_choice=choice)
        if overrides:
            _merge_tracked(raw, overrides, origins, {}, "command line")
        if inc_axes and isinstance(raw.get("run"), dict) and isinstance(raw["run"].get("seed"), int):
            seed = np.random.SeedSequence([raw["run"]["seed"], k]).generate_state(1)[0]
            raw["run"]["seed"] = int(seed) % 2**31
        fixed = {("include", i): name for i, name in choice.items()}
        paths, new = _plan_variant(raw, origins, card_path, fixed, len(tasks), n_points)
        tasks += new
        n_points += sum(len(t.points) for t in new)
    return paths, tasks


def _plan_variant(
    raw: dict[str, Any],
    origins: dict[tuple, str],
    card_path: str | Path,
    fixed: dict[tuple, Any],
    first_task: int,
    first_point: int,
) -> tuple[list[tuple], list[GridTask]]:
    """The tasks of one merged card (one value of each axis over included cards, ``fixed``)."""
    paths, points = expand_grid(raw, origins)
    life = [p for p in paths if len(p) == 3 and p[0] == "particles" and p[2] == "ctau"]
    other = [p for p in paths if p not in life]
    groups: dict[tuple, list[int]] = {}
    for i, pt in enumerate(points):
        groups.setdefault(tuple(pt[p] for p in other), []).append(i)
    tasks = []
    for gi, members in enumerate(groups.values(), start=first_task):
        base = copy.deepcopy(raw)
        for p in other:
            _set(base, p, points[members[0]][p])
        mixtures: dict[int, list[float]] = {}
        for p in life:
            comps = _mixture([points[i][p] for i in members])
            mixtures[int(p[1])] = comps
            _set(base, p, float(np.exp(np.mean(np.log(comps)))))
            _set(base, ("particles", p[1], "ctau_mixture"), comps if len(comps) > 1 else [])
        card = validate_card(base, origins, str(card_path))
        if mixtures and card["run"].get("skim"):
            raise CardError(
                "a skim keeps no generated weight sums per lifetime: a grid with a lifetime axis cannot skim",
                ("run", "skim"),
                origins.get(("run", "skim"), str(card_path)),
            )
        reweight = [{int(p[1]): points[i][p] for p in life} for i in members]
        params = [
            {".".join(map(str, p)): v for p, v in (*fixed.items(), *((p, points[i][p]) for p in paths))}
            for i in members
        ]
        ids = [first_point + i for i in members]
        tasks.append(GridTask(gi, dict(card), ids, params, reweight, mixtures))
    return [*fixed, *paths], tasks


# --------------------------------------------------------------------- one task
def _event_weights(
    batch: EventBatch,
    targets: dict[int, float],
    mixtures: dict[int, list[float]],
    reference: dict[int, float],
) -> np.ndarray:
    """Per-event lifetime weights: product over the decayed long-lived particles."""
    from fastsim.decays import mixture_weights

    w = np.ones(batch.n_events)
    if not targets:
        return w
    mc = batch["mc"]
    ev = mc.event_index()
    for pdg, ctau in targets.items():
        sel = (np.abs(mc["id"]) == abs(pdg)) & (mc["status"] == STATUS_DECAYED)
        comps = np.array(mixtures.get(pdg) or [reference[pdg]], dtype=np.float64)
        wi = mixture_weights(mc["lifetime"][sel], ctau, comps)
        np.multiply.at(w, ev[sel], wi)
    return w


def weighted_efficiency(
    sum_w_pass: float, sum_w: float, sum_w2_pass: float, sum_w2: float
) -> tuple[float, float]:
    """Efficiency and its weighted-binomial error from weight sums (all and passing events).

    The variance is the sum over events of w^2 (pass - eff)^2. When (almost) every event passes,
    sum_w2 - sum_w2_pass is a difference of two nearly equal sums that rounding can take below
    zero (a skimmed grid takes sum_w2 from the generator's totals, summed in another order); the
    variance is clipped at zero.
    """
    if sum_w <= 0:
        return 0.0, 0.0
    eff = sum_w_pass / sum_w
    var = sum_w2_pass * (1 - eff) ** 2 + max(sum_w2 - sum_w2_pass, 0.0) * eff**2
    return eff, math.sqrt(max(var, 0.0)) / sum_w


def run_task(task: GridTask, out_dir: str) -> dict[str, Any]:
    """Simulate one task and evaluate its points; writes ``task_NNNN.h5`` and ``.json``."""
    from fastsim.cards import Card
    from fastsim.io import open_events
    from fastsim.run import run

    out = Path(out_dir)
    card = Card(task.card)
    card.path = "<grid>"
    card.origins = {}
    h5 = out / f"task_{task.index:04d}.h5"
    summary = run(card, output=h5, workers=1, progress=False)
    select = load_selection(task.card["grid"]["selection"])
    reference = {pdg: task.card["particles"][pdg]["ctau"] for pdg in task.mixtures}
    lumi = task.card["dataset"]["luminosity_fb"]
    sigma = sum(p["sigma_nb"] for p in summary.processes)
    sigma_err = math.sqrt(sum(p["sigma_err_nb"] ** 2 for p in summary.processes))
    n_points = len(task.points)
    sw = np.zeros(n_points)
    sw2 = np.zeros(n_points)
    swp = np.zeros(n_points)
    sw2p = np.zeros(n_points)
    with open_events(h5) as f:
        for batch in f.iter_chunks(100_000):
            passed = np.asarray(select(batch), dtype=bool)
            base = batch.events["weight"]
            for j in range(n_points):  # a handful of lifetimes: vectorised per point
                w = base * _event_weights(batch, task.reweight[j], task.mixtures, reference)
                sw[j] += w.sum()
                sw2[j] += (w * w).sum()
                swp[j] += w[passed].sum()
                sw2p[j] += (w[passed] ** 2).sum()
    if task.card["run"].get("skim"):
        # the file holds the selected events only: the efficiency's denominators are the
        # generated weight sums (the grid refuses a skim with lifetime axes, plan_grid)
        sw[:] = sum(p["sum_weight_generated"] for p in summary.processes)
        sw2[:] = sum(p["sum_weight2_generated"] for p in summary.processes)
    rows = []
    for j in range(n_points):
        eff, eff_err = weighted_efficiency(swp[j], sw[j], sw2p[j], sw2[j])
        rows.append(
            {
                "point": task.points[j],
                **task.params[j],
                "sigma_nb": sigma,
                "sigma_err_nb": sigma_err,
                "efficiency": eff,
                "efficiency_err": eff_err,
                "effective_events": sw[j] ** 2 / sw2[j] if sw2[j] > 0 else 0.0,
                "expected_events": sigma * lumi * 1e6 * eff,  # 1 fb^-1 = 1e6 nb^-1
                # 90% CL upper limit on sigma x BR (fb) of a background-free counting search with
                # no event observed: N_up = -ln(0.10) = 2.303 (PDG Statistics review, Poisson
                # upper limit for n = 0, b = 0; frequentist and flat-prior Bayesian coincide)
                "sigma_ul_fb_90cl_no_background": N_UP_90_ZERO / (lumi * eff)
                if eff > 0 and lumi > 0
                else math.inf,
                "file": h5.name,
            }
        )
    tmp = out / f"task_{task.index:04d}.json.part"
    tmp.write_text(json.dumps(rows))
    tmp.replace(out / f"task_{task.index:04d}.json")
    return {"index": task.index, "rows": rows, "n_events": summary.n_events}


# --------------------------------------------------------------------- executors
def _local(tasks: list[GridTask], out: Path, workers: int, progress: Callable[[dict], None]) -> None:
    pending = {t.index: t for t in tasks}
    attempts = dict.fromkeys(pending, 0)
    while pending:
        try:
            with ProcessPoolExecutor(workers) as pool:
                futures = {pool.submit(run_task, t, str(out)): i for i, t in pending.items()}
                for fut, i in list(futures.items()):
                    attempts[i] += 1
                    progress(fut.result())
                    del pending[i]
        except BrokenProcessPool:
            # a worker died: retry the unfinished tasks in a fresh pool
            dead = [i for i in pending if attempts[i] >= MAX_RETRIES]
            if dead:
                msg = f"grid task {dead[0]} failed {MAX_RETRIES} times (worker died)"
                raise RuntimeError(msg) from None


def _dask(
    tasks: list[GridTask],
    out: Path,
    scheduler: str | None,
    n_local: int | None,
    progress: Callable[[dict], None],
) -> None:
    from dask.distributed import as_completed

    from fastsim.run import dask_client

    with dask_client(scheduler, n_local) as client:
        futures = [client.submit(run_task, t, str(out), retries=MAX_RETRIES, pure=False) for t in tasks]
        for fut in as_completed(futures):
            progress(fut.result())


def run_grid(
    card_path: str | Path,
    out_dir: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    show_progress: bool = True,
    overrides: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run a grid card; returns the summary rows (also written to ``grid.csv`` and ``grid.h5``)."""
    from tqdm import tqdm

    _axes, tasks = plan_grid(card_path, overrides)
    out = Path(out_dir or tasks[0].card["grid"]["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    results: dict[int, list[dict[str, Any]]] = {}
    if resume:
        for t in tasks:
            done = out / f"task_{t.index:04d}.json"
            if done.exists() and (out / f"task_{t.index:04d}.h5").exists():
                results[t.index] = json.loads(done.read_text())
    todo = [t for t in tasks if t.index not in results]
    n_points = sum(len(t.points) for t in tasks)
    bar = tqdm(
        total=n_points,
        initial=sum(len(r) for r in results.values()),
        unit="point",
        disable=not show_progress,
        desc="grid",
    )

    def progress(res: dict[str, Any]) -> None:
        results[res["index"]] = res["rows"]
        bar.update(len(res["rows"]))
        bar.set_postfix(events=res["n_events"])

    if todo:
        if scheduler is not None or dask_local:
            _dask(todo, out, scheduler, dask_local, progress)
        else:
            _local(todo, out, workers, progress)
    bar.close()
    rows = sorted((r for rs in results.values() for r in rs), key=lambda r: r["point"])
    _write_summary(out, rows)
    return rows


def _write_summary(out: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0]) if rows else []
    tmp = out / "grid.csv.part"
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out / "grid.csv")
    tmp = out / "grid.h5.part"
    with h5py.File(tmp, "w") as f:
        g = f.create_group("points")
        for c in columns:
            values = [r[c] for r in rows]
            g[c] = (
                np.array(values, dtype=h5py.string_dtype())
                if isinstance(values[0], str)
                else np.array(values)
            )
    tmp.replace(out / "grid.h5")


def _grid_card(out_dir: Path) -> dict[str, Any] | None:
    """The resolved card of the grid's first task file (for axis names), if there is one."""
    import yaml

    from fastsim.io import FileFormatError, open_events

    files = sorted(out_dir.glob("task_*.h5"))
    if not files:
        return None
    try:
        with open_events(files[0]) as f:
            return yaml.safe_load(f.meta.get("card", "")) or None
    except (FileFormatError, OSError, yaml.YAMLError):
        return None


#: cells of an efficiency map with fewer effective events than this are hatched
MIN_EFFECTIVE_EVENTS = 100.0


def plot_efficiency_map(out_dir: str | Path, x: str, y: str, output: str | Path | None = None) -> Path:
    """Efficiency map of a finished grid: ``efficiency`` of ``grid.csv`` over two of its
    parameter columns (e.g. ``particles.9900025.mass`` and ``particles.9900025.ctau``).  Axis
    names and units come from the card schema and the model registry, a lifetime (or any
    quantity spanning decades) is drawn logarithmically, and cells whose lifetime-reweighted
    sample has fewer than :data:`MIN_EFFECTIVE_EVENTS` effective events or a relative error
    above 20% are hatched.  Writes PNG and PDF (default ``DIR/efficiency_map.png``)."""
    from fastsim.plotting import axis_label, publication_style, save_figure

    out_dir = Path(out_dir)
    with (out_dir / "grid.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    if not rows or x not in rows[0] or y not in rows[0]:
        known = ", ".join(rows[0]) if rows else "none"
        msg = f"{out_dir / 'grid.csv'}: columns {x!r} and {y!r} needed (have: {known})"
        raise CardError(msg)
    card = _grid_card(out_dir)
    xs = np.array(sorted({float(r[x]) for r in rows}))
    ys = np.array(sorted({float(r[y]) for r in rows}))
    eff = np.full((len(ys), len(xs)), np.nan)
    poor = np.zeros((len(ys), len(xs)), bool)
    for r in rows:
        i, j = np.searchsorted(ys, float(r[y])), np.searchsorted(xs, float(r[x]))
        e, de = float(r["efficiency"]), float(r["efficiency_err"])
        eff[i, j] = e
        poor[i, j] = float(r["effective_events"]) < MIN_EFFECTIVE_EVENTS or (e > 0 and de / e > 0.2)
    xlabel, xlog = axis_label(x, card, xs)
    ylabel, ylog = axis_label(y, card, ys)
    import matplotlib.pyplot as plt

    with publication_style():
        fig, ax = plt.subplots(figsize=(7.0, 5.4))
        mesh = ax.pcolormesh(xs, ys, eff, shading="nearest", vmin=0.0, vmax=max(1e-9, float(np.nanmax(eff))))
        fig.colorbar(mesh, ax=ax, label="efficiency")
        if poor.any():
            ax.pcolor(xs, ys, np.ma.masked_where(~poor, np.ones_like(eff)), shading="nearest", hatch="///",
                      alpha=0.0, label=f"< {MIN_EFFECTIVE_EVENTS:g} effective events or > 20% error")  # fmt: skip
            ax.legend(loc="upper right", fontsize="small")
        ax.set_xscale("log" if xlog else "linear")
        ax.set_yscale("log" if ylog else "linear")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        fig.tight_layout()
        output = Path(output) if output else out_dir / "efficiency_map.png"
        save_figure(fig, output)
    return output.with_suffix(".png")


def plot_limit_curves(
    out_dir: str | Path, x: str, curve: str | None = None, output: str | Path | None = None
) -> Path:
    """Upper limits on sigma x BR (fb, 90% CL, background-free) of a finished grid against the
    column ``x`` (e.g. the lifetime), one curve per value of ``curve`` (e.g. the mass), with axis
    names and units from the schemas.  Writes PNG and PDF (default ``DIR/limits.png``)."""
    from fastsim.plotting import axis_label, publication_style, save_figure

    out_dir = Path(out_dir)
    with (out_dir / "grid.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    need = [c for c in (x, curve) if c]
    if not rows or any(c not in rows[0] for c in need):
        known = ", ".join(rows[0]) if rows else "none"
        raise CardError(f"{out_dir / 'grid.csv'}: columns {need} needed (have: {known})")
    card = _grid_card(out_dir)
    clabel = axis_label(curve, card)[0] if curve else ""
    groups: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        key = f"{clabel} = {float(r[curve]):g}" if curve else "limit"
        groups.setdefault(key, []).append((float(r[x]), float(r["sigma_ul_fb_90cl_no_background"])))
    xlabel, xlog = axis_label(x, card, [float(r[x]) for r in rows])
    import matplotlib.pyplot as plt

    with publication_style():
        fig, ax = plt.subplots(figsize=(7.0, 5.4))
        for label, pts in groups.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "-", label=label)
        ax.set_yscale("log")
        ax.set_xscale("log" if xlog else "linear")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"90% CL upper limit on $\sigma \times$ BR [fb] (no background)")
        ax.legend(fontsize="small")
        fig.tight_layout()
        output = Path(output) if output else out_dir / "limits.png"
        save_figure(fig, output)
    return output.with_suffix(".png")
