"""``fastsim convert IN OUT``: external samples to fastsim HDF5 and back.

* ``IN.lhe[.gz] | IN.lheh5 | IN.hepmc3[.gz|.bz2|.xz] | IN.hepmc -> OUT.h5``: the events
  as fastsim's generator-level record, without decays or detector simulation.  With a
  card, the card's beams (frame transformation and interaction point, CM-energy check)
  and particle table (``particles:``, the rule for unknown ids) are used; without one,
  events are kept in the file's frame and units are converted only.
* ``IN.h5 -> OUT.hepmc3 | OUT.hepmc``: HepMC3 ASCII export; ``IN.h5 -> OUT.lheh5``:
  LHEH5 export (:mod:`fastsim.external.export`).
* ``IN.h5 -> OUT.root``: ROOT ntuple written with uproot, a TTree ``events`` with every
  per-event field as a flat branch and every collection (generator record, tracks, clusters,
  ... candidates) as jagged ``<collection>_<name>`` branches with basf2-like names, plus the
  file's metadata as the JSON string ``meta`` (:mod:`fastsim.external.root`).

Outputs are written under ``OUT.part`` and renamed when complete.  Errors in the input
raise :class:`fastsim.io.FileFormatError` naming the file and the event or line.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fastsim.external.common import COMMON_PARAMS, ExternalGenerator
from fastsim.generators.base import XsecTally
from fastsim.io import EventFileWriter, FileFormatError

__all__ = ["convert", "input_kind"]

_CHUNK = 100_000
_HEPMC_SUFFIXES = (".hepmc", ".hepmc3", ".hepmc2", ".hepmc3.gz", ".hepmc.gz", ".hepmc3.bz2", ".hepmc3.xz")


def input_kind(path: Path) -> str:
    """``fastsim`` (fastsim HDF5), ``lheh5``, ``lhe`` or ``hepmc`` from the name and contents."""
    name = path.name.lower()
    if name.endswith((".h5", ".hdf5", ".lheh5")):
        try:
            with h5py.File(path, "r") as f:
                return "fastsim" if "meta" in f else "lheh5"
        except (OSError, RuntimeError, ValueError, KeyError) as exc:  # h5py on damaged files
            raise FileFormatError(
                path, f"not a readable HDF5 file ({' '.join(str(exc).split())[:160]})"
            ) from None
    if name.endswith((".lhe", ".lhe.gz", ".lhef")):
        return "lhe"
    if any(name.endswith(s) for s in _HEPMC_SUFFIXES) or ".hepmc" in name:
        return "hepmc"
    raise FileFormatError(path, "unknown input type (expected .h5, .lhe[.gz], .lheh5, .hepmc3[.gz/.bz2/.xz])")


def convert(input: Path, output: Path, card: Path | None = None) -> Path:
    """Convert ``input`` to ``output`` (formats from the names, see the module doc).
    Returns the path written."""
    input, output = Path(input), Path(output)
    if not input.is_file():
        raise FileFormatError(input, "no such file")
    kind = input_kind(input)
    out_name = output.name.lower()
    if kind == "fastsim":
        from fastsim.external.export import write_hepmc3, write_lheh5

        if out_name.endswith(".lheh5"):
            return write_lheh5(input, output)
        if ".hepmc" in out_name:
            return write_hepmc3(input, output)
        if out_name.endswith(".root"):
            from fastsim.external.root import write_root

            return write_root(input, output)
        raise FileFormatError(output, "a fastsim file converts to .hepmc3 / .hepmc, .lheh5 or .root")
    if not out_name.endswith((".h5", ".hdf5")):
        raise FileFormatError(output, f"a {kind} file converts to a fastsim .h5 file")
    return _to_fastsim(input, output, kind, card)


def _to_fastsim(input: Path, output: Path, kind: str, card_path: Path | None) -> Path:
    from fastsim import __version__
    from fastsim.generators import GENERATORS
    from fastsim.particles import ParticleTable

    params: dict[str, Any] = {k: f.default_value() for k, f in COMMON_PARAMS.items() if k != "files"}
    params.update({"generator": kind, "events": None, "files": [str(input)]})
    beams = None
    table = ParticleTable()
    card_text = ""
    seed = 0
    if card_path is not None:
        from fastsim.cards import load_card
        from fastsim.setup import build_beams, build_particle_table

        card = load_card(card_path)
        beams = build_beams(card)
        table = build_particle_table(card)
        card_text = card.text()
        seed = card["run"]["seed"]
        for p in card["processes"].values():  # a process of the card reading this file sets the keys
            if p["generator"] == kind and Path(p["files"][0]).resolve() == input.resolve():
                params.update({k: p[k] for k in COMMON_PARAMS if k != "files"})
    cls = GENERATORS[kind]
    gen: ExternalGenerator = cls(params, beams, table)  # type: ignore[assignment]
    for key, reason in gen.check():
        raise FileFormatError(input, f"{key}: {reason}")
    n = gen.samples[0].n_events
    writer = EventFileWriter(output, identity=f"convert {input}", compression="lzf")
    tally = XsecTally()
    try:
        for i, first in enumerate(range(0, n, _CHUNK)):
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(i, 0))))
            batch, t = gen.read_events(first, min(_CHUNK, n - first), rng)
            batch.events["process_id"] = np.zeros(batch.n_events, np.int32)
            writer.append(batch, [t.n_trials, t.sum_w, t.sum_w2])
            tally = tally.merge(t)
    except BaseException:
        writer.close()
        writer.tmp.unlink(missing_ok=True)
        raise
    meta = {
        "fastsim_version": __version__,
        "card": card_text,
        "card_path": str(card_path or ""),
        "seed": seed,
        "chunk_size": _CHUNK,
        "n_chunks": -(-n // _CHUNK),
        "dataset": input.name,
        "luminosity_fb": 0.0,
        "beams": beams.describe() if beams is not None else {},
        "converted_from": str(input),
        "frame": "card lab" if beams is not None else "file",
        "processes": [
            {
                "name": input.stem,
                "id": 0,
                "generator": kind,
                "sigma_nb": tally.sigma_nb,
                "sigma_err_nb": math.hypot(tally.sigma_err_nb, gen.file_sigma_err_nb()),
                "n_trials": tally.n_trials,
                "n_events": n,
                "expected_events": 0.0,
                "model": gen.describe(),
            }
        ],
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return writer.finalize(meta)
