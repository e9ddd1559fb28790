"""Reading fastsim HDF5 files for an analysis: processes from ``/meta`` and events by chunk.

A file's ``/meta`` lists its processes (name, generator, id, ``sigma_nb``, ``n_events``, the
generator's ``model`` description).  A process is a signal point when its description names a
model of the registry (:data:`fastsim.models.MODELS`) as ``signal_model`` (fastsim's signal
generators write it, external samples take it from their card's ``signal`` keys), with
``x_pdg``, ``mass_gev`` and ``coupling``; every other process is a background.  A signal
particle whose proper decay lengths were drawn from a mixture of exponentials (the card's
``particles.<pdg>.ctau_mixture``, for lifetime reweighting) carries the mixture and its
reference c*tau.  A card that forces some of a model particle's decays
(``particles.<pdg>.forced_decays``) has its process's cross section multiplied by the model's
branching fraction of those decays.

Units: GeV, cm, ns; cross sections in nb, luminosity in fb^-1 (1 fb^-1 = 1e6 nb^-1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fastsim.events import EventBatch
from fastsim.io import open_events
from fastsim.models import ALIASES, MODELS

__all__ = ["ProcessInfo", "file_processes", "iter_batches", "read_processes", "weighted_batches"]


@dataclass(frozen=True)
class ProcessInfo:
    """One process of one file."""

    file: Path
    process_id: int
    name: str
    generator: str
    sigma_nb: float  # cross section the events represent (signal: sigma x BR), nb
    sigma_err_nb: float
    n_events: int
    model: str  # a model name of fastsim.models.MODELS, or "background"
    mass_gev: float  # X mass (NaN for backgrounds)
    coupling: float  # coupling the sample was generated with (NaN for backgrounds)
    decay: str
    x_pdg: int = 0  # PDG id of X in the record (0: unknown)
    ctau_cm: float = float("nan")  # c*tau the file's card gave X (reference of the mixture)
    ctau_mixture: tuple[float, ...] = ()  # c*tau components of the mixture X's decays were drawn from
    #: branching fraction of a forced decay the sample's sigma includes (NaN: none given), so
    #: that sigma_nb / signal_br is the rate per unit branching fraction
    signal_br: float = float("nan")
    #: a skimmed file (``run.skim``): the weight sums of every generated event (NaN: not skimmed)
    sum_weight_generated: float = float("nan")
    sum_weight2_generated: float = float("nan")

    @property
    def is_signal(self) -> bool:
        return self.model != "background"


def read_processes(path: str | Path) -> list[ProcessInfo]:
    """The processes listed in a file's ``/meta``."""
    with open_events(path) as f:
        procs: list[dict[str, Any]] = f.meta["processes"]
        card_text = f.meta.get("card", "")
    try:
        card = yaml.safe_load(card_text) if isinstance(card_text, str) else None
    except yaml.YAMLError:
        card = None
    particles = card.get("particles") if isinstance(card, dict) else None
    if not isinstance(particles, dict):
        particles = {}
    out = []
    for p in procs:
        if not isinstance(p, dict) or not {"id", "name", "generator", "sigma_nb", "n_events"} <= set(p):
            raise ValueError(f"{path}: /meta processes lack id, name, generator, sigma_nb or n_events")
        model = p.get("model", {}) or {}
        if not isinstance(model, dict):
            raise ValueError(f"{path}: /meta process {p['name']!r} has a malformed model description")  # noqa: TRY004
        kind = str(model.get("signal_model") or "background")
        kind = ALIASES.get(kind, kind)
        if kind != "background" and kind not in MODELS:
            raise ValueError(f"{path}: process {p['name']!r} names an unknown model {kind!r}")
        try:
            x_pdg = int(model.get("x_pdg", 0) or 0)
            part = particles.get(abs(x_pdg), {}) if kind != "background" else {}
            part = part if isinstance(part, dict) else {}
            ctau = part.get("ctau")
            forced = _forced_fraction(kind, model, part) if part.get("forced_decays") else 1.0
            out.append(
                ProcessInfo(
                    file=Path(path),
                    process_id=int(p["id"]),
                    name=str(p["name"]),
                    generator=str(p["generator"]),
                    sigma_nb=float(p["sigma_nb"]) * forced,
                    sigma_err_nb=float(p.get("sigma_err_nb", 0.0)),
                    n_events=int(p["n_events"]),
                    model=kind,
                    mass_gev=float(model.get("mass_gev", float("nan"))),
                    coupling=float(model.get("coupling", float("nan"))),
                    decay=str(model.get("decay", "")),
                    x_pdg=x_pdg,
                    ctau_cm=float(ctau) if ctau is not None else float("nan"),
                    ctau_mixture=tuple(float(c) for c in part.get("ctau_mixture", []) or []),
                    signal_br=float(model.get("signal_br") or float("nan")),
                    sum_weight_generated=float(p.get("sum_weight_generated", float("nan"))),
                    sum_weight2_generated=float(p.get("sum_weight2_generated", float("nan"))),
                )
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{path}: malformed /meta process {p['name']!r} ({exc})") from None
    return out


def _forced_fraction(model_name: str, description: dict[str, Any], particle: dict[str, Any]) -> float:
    """The model's branching fraction of the decays a card forced (``forced_decays``): the
    sample's events all decay that way, its rate counts only that fraction."""
    from fastsim.models import get_model

    params = {"mass": float(description["mass_gev"]), "coupling": float(description["coupling"])}
    cls = get_model(model_name)
    if "dirac" in cls.parameters and "dirac" in description:
        params["dirac"] = bool(description["dirac"])
    point = cls(params)
    modes = {tuple(sorted(int(i) for i in d["daughters"])) for d in particle.get("decays") or []}
    return float(sum(br for br, ids in point.decay_table() if tuple(sorted(ids)) in modes))


def iter_batches(path: str | Path, chunk_size: int = 50_000) -> Iterator[EventBatch]:
    """Stream a file in blocks of ``chunk_size`` events (memory independent of the file size)."""
    with open_events(path) as f:
        yield from f.iter_chunks(chunk_size)


def file_processes(
    path: str | Path, signal_ids: tuple[int, ...]
) -> tuple[dict[int, ProcessInfo], tuple[int, ...]]:
    """A file's processes by id (checked: at least one, no negative id) and the signal particle
    ids to look for: ``signal_ids`` (a search's) and the file's own signal particles."""
    procs = {p.process_id: p for p in read_processes(path)}
    if not procs or min(procs) < 0:
        raise ValueError(f"{path}: no processes (or a negative process id) in /meta")
    ids = set(signal_ids) | {abs(p.x_pdg) for p in procs.values() if p.x_pdg}
    return procs, tuple(sorted(ids))


def weighted_batches(
    path: str | Path, n_processes: int, chunk_size: int = 50_000
) -> Iterator[tuple[EventBatch, np.ndarray, np.ndarray]]:
    """:func:`iter_batches` with each batch's event weights (float64) and process ids (int64),
    the ids checked against the ``n_processes`` of ``/meta``."""
    for batch in iter_batches(path, chunk_size):
        w = batch.events["weight"].astype(np.float64)
        pid = batch.events["process_id"].astype(np.int64)
        if len(pid) and (pid.min() < 0 or pid.max() >= n_processes):
            raise ValueError(f"{path}: /events/process_id names a process that /meta does not list")
        yield batch, w, pid
