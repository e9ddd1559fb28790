"""ROOT ntuple export of a fastsim HDF5 file, written with uproot (``fastsim convert IN.h5 OUT.root``).

The ROOT file holds one TTree ``events`` with one entry per event:

* every per-event field ``/events/<field>`` as a flat branch under its own name (``weight``,
  ``process_id``, ``trg_*``, ``reco_*`` ...);
* every collection of the file (``mc``, ``tracks``, ``clusters``, ``klm``, ``trg_tracks``,
  ``vertices``, ``candidates`` ... whatever the file has) as jagged branches
  ``<collection>_<name>``, one entry per item, sharing one counter branch ``n_<collection>``
  (int32, the number of items of the event);

and a string object ``meta`` (TObjString): every attribute of the file's ``/meta`` as
:func:`fastsim.io.open_events` returns them (``processes``, ``beams``, the resolved ``card``,
``seed`` ...), JSON-encoded, so that ``json.loads(uproot.open(path)["meta"])`` gives them back.

Branch names.  ``<name>`` is the basf2 variable name where a natural one exists, else fastsim's
own field name (so ``tracks_first_hit_r``, ``mc_mother1``, ``vertices_m_mumu`` ...).  Values are
never rescaled; types are the HDF5 file's (float64, float32, int32, int16, int8, bool).

==========  ================================  =============================================
collection  fastsim field                     branch ``<collection>_<name>``, name
==========  ================================  =============================================
mc          id                                PDG
mc          px, py, pz, e                     mcPX, mcPY, mcPZ, mcE
mc          m                                 M
mc          vx, vy, vz                        mcProductionVertexX, ...Y, ...Z
tracks      tanl                              tanLambda (d0, phi0, omega, z0 as they are)
tracks      cov_<a>_tanl, cov_tanl_tanl       cov_<a>_tanLambda, cov_tanLambda_tanLambda
tracks      n_pxd, n_svd, n_cdc               nPXDHits, nSVDHits, nCDCHits
tracks      pid_e, pid_mu, pid_pi, pid_K,     electronID, muonID, pionID, kaonID, protonID
            pid_p
tracks      true_pdg                          mcPDG
clusters    energy, theta, phi                clusterE, clusterTheta, clusterPhi
clusters    time, region                      clusterTiming, clusterReg (1 fwd, 2 barrel, 3 bwd)
clusters    true_pdg                          mcPDG
klm         theta, phi, n_layers              klmClusterTheta, klmClusterPhi, klmClusterLayers
klm         true_pdg                          mcPDG
vertices    r                                 dr (transverse distance from the IP)
vertices    cos_pointing                      cosAngleBetweenMomentumAndVertexVectorInXYPlane
vertices    mc_pdg                            mcPDG
vertices    mc_vx, mc_vy, mc_vz               mcDecayVertexX, ...Y, ...Z
candidates  pdg, e, m                         PDG, E, M
candidates  m_recoil                          mRecoil
candidates  mc_pdg, mc_match                  mcPDG, isSignal
==========  ================================  =============================================

All other fields keep their fastsim names: mc ``status`` (HepMC3 codes), ``mother1/2``,
``daughter1/2`` (local indices, -1 none), ``vt``, ``lifetime`` (c*t, cm: not basf2's
``mcLifeTime`` in ns); tracks ``d0, phi0, omega, z0, charge, px, py, pz`` (basf2's names
already), the other ``cov_*``, ``first_hit_r``, ``mc_index``, ``origin``, ``cluster_index``,
``klm_layers``; every ``trg_tracks`` field; ``*_index`` and ``track*``/``cluster*``/``vertex``
links (local indices within the event) ...  :func:`branch_name` gives the name of any field.

Streaming: the HDF5 file is read chunk by chunk (:meth:`fastsim.io.EventFile.iter_chunks`) and
each chunk is appended to the tree (``TTree.extend``, one basket per branch and chunk), so memory
does not grow with the number of events.  The output is written as ``OUT.root.part`` and renamed
when complete.

Units: GeV, cm, ns (angles in rad, ``omega`` in 1/cm), as in the HDF5 file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fastsim.events import EventBatch
from fastsim.io import FileFormatError, open_events

__all__ = ["BRANCH_NAMES", "TREE_NAME", "branch_name", "counter_name", "write_root"]

TREE_NAME = "events"

_TRACK_COV_TANL = {f"cov_{a}_tanl": f"cov_{a}_tanLambda" for a in ("d0", "phi0", "omega", "z0")}
_TRACK_COV_TANL["cov_tanl_tanl"] = "cov_tanLambda_tanLambda"

#: collection -> fastsim field -> basf2-like name (fields not listed keep their names)
BRANCH_NAMES: dict[str, dict[str, str]] = {
    "mc": {
        "id": "PDG",
        "px": "mcPX",
        "py": "mcPY",
        "pz": "mcPZ",
        "e": "mcE",
        "m": "M",
        "vx": "mcProductionVertexX",
        "vy": "mcProductionVertexY",
        "vz": "mcProductionVertexZ",
    },
    "tracks": {
        "tanl": "tanLambda",
        **_TRACK_COV_TANL,
        "n_pxd": "nPXDHits",
        "n_svd": "nSVDHits",
        "n_cdc": "nCDCHits",
        "pid_e": "electronID",
        "pid_mu": "muonID",
        "pid_pi": "pionID",
        "pid_K": "kaonID",
        "pid_p": "protonID",
        "true_pdg": "mcPDG",
    },
    "clusters": {
        "energy": "clusterE",
        "theta": "clusterTheta",
        "phi": "clusterPhi",
        "time": "clusterTiming",
        "region": "clusterReg",
        "true_pdg": "mcPDG",
    },
    "klm": {
        "theta": "klmClusterTheta",
        "phi": "klmClusterPhi",
        "n_layers": "klmClusterLayers",
        "true_pdg": "mcPDG",
    },
    "vertices": {
        "r": "dr",
        "cos_pointing": "cosAngleBetweenMomentumAndVertexVectorInXYPlane",
        "mc_pdg": "mcPDG",
        "mc_vx": "mcDecayVertexX",
        "mc_vy": "mcDecayVertexY",
        "mc_vz": "mcDecayVertexZ",
    },
    "candidates": {
        "pdg": "PDG",
        "e": "E",
        "m": "M",
        "m_recoil": "mRecoil",
        "mc_pdg": "mcPDG",
        "mc_match": "isSignal",
    },
}


def branch_name(collection: str, field: str) -> str:
    """The ROOT branch of a collection's field: ``<collection>_<basf2 name or field>``."""
    return f"{collection}_{BRANCH_NAMES.get(collection, {}).get(field, field)}"


def counter_name(collection: str) -> str:
    """The counter branch (items per event) of a collection: ``n_<collection>``."""
    return f"n_{collection}"


def _field_name(outer: str, inner: str) -> str:
    return inner if outer == "" else f"{outer}_{inner}"


def _tree_arrays(batch: EventBatch) -> dict[str, Any]:
    """A batch as uproot branch data: flat numpy arrays, one jagged record array per collection."""
    import awkward as ak

    data: dict[str, Any] = {k: np.ascontiguousarray(v) for k, v in batch.events.items()}
    for cname, col in batch.collections.items():
        counts = col.counts()
        if not col.fields:  # a collection without fields: its counter only
            data[counter_name(cname)] = counts.astype(np.int32)
            continue
        names = BRANCH_NAMES.get(cname, {})
        record = ak.zip(
            {names.get(k, k): np.ascontiguousarray(v) for k, v in col.fields.items()}, depth_limit=1
        )
        data[cname] = ak.unflatten(record, counts)
    return data


def _branch_types(empty: dict[str, Any]) -> dict[str, Any]:
    import awkward as ak

    return {k: (v.dtype if isinstance(v, np.ndarray) else ak.type(v).content) for k, v in empty.items()}


def _check_names(path: Path, batch: EventBatch) -> None:
    seen: dict[str, str] = {}
    for name in batch.events:
        seen[name] = f"/events/{name}"
    for cname, col in batch.collections.items():
        for branch, source in [
            (counter_name(cname), f"the counter of /{cname}"),
            *((branch_name(cname, k), f"/{cname}/{k}") for k in col.fields),
        ]:
            if branch in seen:
                raise FileFormatError(path, f"ROOT branch {branch!r} of {source} clashes with {seen[branch]}")
            seen[branch] = source


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def write_root(h5_path: str | Path, root_path: str | Path, chunk_size: int = 100_000) -> Path:
    """Write a fastsim HDF5 file as a ROOT ntuple (TTree ``events`` + TObjString ``meta``).

    Every per-event field becomes a flat branch, every collection jagged branches
    ``<collection>_<name>`` with a counter ``n_<collection>`` (names: :data:`BRANCH_NAMES`,
    the module docstring's table).  The input is streamed ``chunk_size`` events at a time;
    the output is written under ``<root_path>.part`` and renamed when complete.  Returns
    the path written.  Raises :class:`fastsim.io.FileFormatError` for an unreadable input.
    """
    import uproot

    if chunk_size < 1:
        msg = f"chunk_size must be >= 1, got {chunk_size}"
        raise ValueError(msg)
    root_path = Path(root_path)
    tmp = root_path.with_name(root_path.name + ".part")
    with open_events(h5_path) as f:
        empty = f.read_events(0, 0)  # zero events: the fields and their dtypes
        _check_names(Path(h5_path), empty)
        types = _branch_types(_tree_arrays(empty))
        meta = json.dumps(f.meta, default=_json_default)
        try:
            with uproot.recreate(tmp) as out:
                tree = out.mktree(
                    TREE_NAME,
                    types,
                    title="fastsim events (units: GeV, cm, ns)",
                    counter_name=counter_name,
                    field_name=_field_name,
                )
                for batch in f.iter_chunks(chunk_size):
                    tree.extend(_tree_arrays(batch))
                out["meta"] = meta
        except (
            KeyError,
            ValueError,
            TypeError,
            IndexError,
            RuntimeError,
        ) as exc:  # a lacking or damaged field
            tmp.unlink(missing_ok=True)
            raise FileFormatError(
                h5_path,
                f"cannot export: missing or malformed field or record ({' '.join(str(exc).split())[:160]})",
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(root_path)
    return root_path
