"""Reading fastsim HDF5 files for an analysis: processes from ``/meta`` and events by chunk.

A file's ``/meta`` lists its processes (name, generator, id, ``sigma_nb``, ``n_events``, the
generator's ``model`` description with e.g. ``mass_gev`` and ``coupling``).  Each process is a
signal point of a model or a background: fastsim's signal generators by their name
(:data:`SIGNAL_GENERATORS`), external samples (LHE, LHEH5, HepMC) by their card's ``signal``
keys, which land in the description as ``signal_model``, ``x_pdg``, ``mass_gev``, ``coupling``.

Units: GeV, cm, ns; cross sections in nb, luminosity in fb^-1 (1 fb^-1 = 1e6 nb^-1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastsim.events import EventBatch
from fastsim.io import open_events

__all__ = ["SIGNAL_GENERATORS", "ProcessInfo", "iter_batches", "read_processes"]

#: generator name -> signal model name (every other generator is a background)
SIGNAL_GENERATORS = {"ee_mumu_zprime": "zprime", "ee_mumu_scalar": "scalar"}


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
    model: str  # "zprime", "scalar" or "background"
    mass_gev: float  # X mass (NaN for backgrounds)
    coupling: float  # coupling the sample was generated with (NaN for backgrounds)
    decay: str
    x_pdg: int = 0  # PDG id of X in the record (0: the generator's own ids)

    @property
    def is_signal(self) -> bool:
        return self.model != "background"


def read_processes(path: str | Path) -> list[ProcessInfo]:
    """The processes listed in a file's ``/meta``."""
    with open_events(path) as f:
        procs: list[dict[str, Any]] = f.meta["processes"]
    out = []
    for p in procs:
        model = p.get("model", {}) or {}
        kind = model.get("signal_model") or SIGNAL_GENERATORS.get(p["generator"], "background")
        out.append(
            ProcessInfo(
                file=Path(path),
                process_id=int(p["id"]),
                name=str(p["name"]),
                generator=str(p["generator"]),
                sigma_nb=float(p["sigma_nb"]),
                sigma_err_nb=float(p.get("sigma_err_nb", 0.0)),
                n_events=int(p["n_events"]),
                model=kind,
                mass_gev=float(model.get("mass_gev", float("nan"))),
                coupling=float(model.get("coupling", float("nan"))),
                decay=str(model.get("decay", "")),
                x_pdg=int(model.get("x_pdg", 0) or 0),
            )
        )
    return out


def iter_batches(path: str | Path, chunk_size: int = 50_000) -> Iterator[EventBatch]:
    """Stream a file in blocks of ``chunk_size`` events (memory independent of the file size)."""
    with open_events(path) as f:
        yield from f.iter_chunks(chunk_size)
