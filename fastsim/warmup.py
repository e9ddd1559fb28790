"""Compile the detector, trigger and reco kernels in a second process on a cold cache.

A first ``fastsim run`` spends most of its time compiling numba kernels (they are cached on
disk afterwards, ``cache=True``).  The generators and the later stages (detector, trigger,
reco) have disjoint kernels, so on a machine with at least two cores a helper process
compiles the detector's kernels from a small synthetic sample (particle guns of muons,
pions, kaons, electrons, photons, K0S, K_L and pi0: tracks, showers, conversions, decays in
flight, KLM hits) while this process compiles and runs the generators and then compiles
the trigger and reco kernels on the same guns seen by a truth detector (exact tracks,
clusters and KLM objects from the MC record: :func:`compile_later_stages`).  Before its
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

__all__ = ["CompileAhead", "compile_later_stages", "start_compile_ahead"]

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


def _gun_card(card: dict[str, Any], detector_only: bool = False) -> dict[str, Any]:
    """The card with its processes replaced by the synthetic guns (validated); with
    ``detector_only`` the trigger and reco stages switched off."""
    from fastsim.cards import dump_card, validate_card

    raw = yaml.safe_load(dump_card(card))
    # no selection, hence no skim (a skim without its selection is refused)
    raw["run"].update(events=_EVENTS, chunk_size=_EVENTS, workers=1, selection=None, skim=False)
    if detector_only:  # the trigger and reco kernels are compiled in the main process
        raw.setdefault("trigger", {})["enabled"] = False
        raw.setdefault("reco", {})["enabled"] = False
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
    from fastsim.pipeline import _Context, plan_chunks, run_chunk

    with (
        Path(os.devnull).open("w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        gun = _gun_card(card, detector_only=True)
        ctx = _Context(gun)
        for task in plan_chunks(gun):
            run_chunk(ctx, task)


def _truth_detector(batch: Any, bz: float) -> None:
    """Detector-like collections from the MC truth of ``batch`` (in place): a track per
    charged final-state particle (exact helix at its vertex), a cluster per photon and
    electron, a KLM object per muon.  Only for compiling the trigger and reco kernels: the
    values are plausible, the field types those of the detector stage."""
    import numpy as np

    from fastsim.detector.simulate import CLUSTER_FIELDS, KLM_FIELDS, TRACK_FIELDS
    from fastsim.detector.tracking import helix_params
    from fastsim.events import STATUS_FINAL, Collection

    mc = batch["mc"]
    ev, local = mc.event_index(), mc.local_index()
    pdg = mc["id"].astype(np.int64)
    apdg = np.abs(pdg)
    charged = (mc["status"] == STATUS_FINAL) & np.isin(apdg, (11, 13, 211, 321, 2212))
    q = np.where(np.isin(pdg, (-11, -13, 211, 321, 2212)), 1.0, -1.0)

    def collection(sel: np.ndarray, fields: dict[str, np.dtype], values: dict[str, np.ndarray]) -> Collection:
        n = int(sel.sum())
        cols = {k: np.zeros(n, dt) for k, dt in fields.items()}
        for k, v in values.items():
            cols[k][:] = v
        cols.update(mc_index=local[sel], true_pdg=pdg[sel])
        if "track_index" in cols:
            cols["track_index"][:] = -1
        return Collection.from_counts(np.bincount(ev[sel], minlength=batch.n_events), cols)

    c = charged
    d0, phi0, omega, z0, tanl = helix_params(
        mc["vx"][c], mc["vy"][c], mc["vz"][c], mc["px"][c], mc["py"][c], mc["pz"][c], q[c], bz
    )
    tracks = {"d0": d0, "phi0": phi0, "omega": omega, "z0": z0, "tanl": tanl, "charge": q[c]}
    tracks.update({k: mc[k][c] for k in ("px", "py", "pz")})
    for k, v in (("d0", 1e-6), ("phi0", 1e-6), ("omega", 1e-8), ("z0", 2e-6), ("tanl", 1e-6)):
        tracks[f"cov_{k}_{k}"] = v
    tracks.update(n_pxd=2, n_svd=4, n_cdc=50, first_hit_r=1.4, cluster_index=-1, klm_layers=10)
    tracks.update(pid_mu=(apdg[c] == 13) * 1.0, pid_e=(apdg[c] == 11) * 1.0, pid_pi=(apdg[c] == 211) * 1.0)
    batch.collections["tracks"] = collection(c, TRACK_FIELDS, tracks)
    g = (mc["status"] == STATUS_FINAL) & np.isin(apdg, (11, 22))
    p = np.sqrt(mc["px"][g] ** 2 + mc["py"][g] ** 2 + mc["pz"][g] ** 2)
    theta, phi = np.arccos(mc["pz"][g] / p), np.arctan2(mc["py"][g], mc["px"][g])
    clusters = {"energy": p, "theta": theta, "phi": phi, "time": 4.0, "region": 2, "n_merged": 1}
    clusters.update(x=125.0 * np.cos(phi), y=125.0 * np.sin(phi), z=125.0 / np.tan(theta))
    batch.collections["clusters"] = collection(g, CLUSTER_FIELDS, clusters)
    m = (mc["status"] == STATUS_FINAL) & (apdg == 13)
    klm = {"theta": np.arccos(mc["pz"][m] / np.sqrt(mc["px"][m] ** 2 + mc["py"][m] ** 2 + mc["pz"][m] ** 2))}
    klm.update(phi=np.arctan2(mc["py"][m], mc["px"][m]), n_layers=10, region=1)
    batch.collections["klm"] = collection(m, KLM_FIELDS, klm)


def compile_later_stages(card: dict[str, Any]) -> None:
    """Compile the trigger and reco kernels in this process (while the helper compiles the
    detector's): the synthetic guns through the generator, decays and a truth detector
    (:func:`_truth_detector`), then the trigger and reco stages."""
    import numpy as np

    from fastsim.pipeline import STAGE_DETECTOR, _Context, plan_chunks, run_chunk

    gun = _gun_card(card)
    ctx = _Context(gun)
    stages = [(slot, stage) for slot, stage in ctx.stages if slot != STAGE_DETECTOR]
    ctx.stages = []  # generator and decays only
    bz = float(gun["detector"]["solenoid"]["field_t"])
    with (
        Path(os.devnull).open("w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        for task in plan_chunks(gun):
            batch, _ = run_chunk(ctx, task)
            _truth_detector(batch, bz)
            rng = np.random.default_rng(task.index)
            for _slot, stage in stages:
                batch = stage(batch, rng)


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
