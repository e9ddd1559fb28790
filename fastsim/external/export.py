"""Export fastsim's generator-level record (the ``mc`` collection) as HepMC3 or LHEH5.

HepMC3 (ASCII, HepMC3 CPC paper arXiv:1912.08005 sec. 4), written with pyhepmc: each
event is built from the HEPEVT-like arrays of the record (``GenEvent.from_hepevt``: the
particles sharing a mother range share a production vertex, placed at their production
position), in units GeV and cm (so that no value is rescaled), times as c*t in cm, with
17 significant digits (doubles survive the text round trip), the event weight and the
process's cross section (``GenCrossSection``, pb).  Status codes are fastsim's, which are
HepMC3's (1 final, 2 decayed, 4 beam).

LHEH5 (arXiv:1905.05120; the version-2 layout that ``pylhe.lheh5`` reads and writes):
``events`` and ``particles`` 2-D tables with their column names in the ``properties``
attribute, ``init`` and ``procInfo``.  Status codes are mapped back to ISTUP (4 -> -1
incoming, 1 -> 1, 2 -> 2, others -> 3 documentation), mothers to 1-based indices,
lifetimes to mm.  The events are written in fastsim's lab frame; ``init`` holds the
nominal beam energies (LHEF has no room for the crossing angle: readers that need the
frame take it from the incoming e- e+ entries, as fastsim does).

Both writers stream the input file chunk by chunk and write under a temporary name that
is renamed when the file is complete.

Units: fastsim GeV, cm, ns; HepMC3 output GeV, cm; LHEH5 GeV, mm; cross sections pb.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fastsim.constants import C_CM_PER_NS
from fastsim.external.lheh5 import EVENT_COLUMNS, PARTICLE_COLUMNS
from fastsim.io import FileFormatError, open_events

__all__ = ["write_hepmc3", "write_lheh5"]

_CHUNK = 20_000
_CM_TO_MM = 10.0


def _process_sigma(meta: dict[str, Any]) -> dict[int, tuple[float, float]]:
    """Process id -> (sigma, error) in pb from a fastsim file's metadata."""
    procs = meta.get("processes", [])
    if isinstance(procs, str):
        procs = json.loads(procs)
    return {int(p["id"]): (p["sigma_nb"] * 1e3, p["sigma_err_nb"] * 1e3) for p in procs}


def write_hepmc3(source: str | Path, output: str | Path, precision: int = 17) -> Path:
    """Write the ``mc`` record of a fastsim HDF5 file as HepMC3 ASCII.  Returns the path."""
    import pyhepmc

    output = Path(output)
    tmp = output.with_name(output.name + ".part")
    with open_events(source) as f:
        sig = _process_sigma(f.meta)
        try:
            with pyhepmc.open(tmp, "w", precision=precision) as out:
                number = 0
                for batch in f.iter_chunks(_CHUNK):
                    mc = batch["mc"]
                    weight = batch.events.get("weight", np.ones(batch.n_events))
                    pid = batch.events.get("process_id", np.zeros(batch.n_events, np.int32))
                    parents = _hepevt_parents(mc)
                    ct = mc["vt"] * C_CM_PER_NS
                    evt = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.CM)
                    for i in range(batch.n_events):
                        a, b = int(mc.offsets[i]), int(mc.offsets[i + 1])
                        evt.from_hepevt(
                            number,
                            mc["px"][a:b],
                            mc["py"][a:b],
                            mc["pz"][a:b],
                            mc["e"][a:b],
                            mc["m"][a:b],
                            mc["id"][a:b],
                            mc["status"][a:b],
                            parents=parents[a:b],
                            vx=mc["vx"][a:b],
                            vy=mc["vy"][a:b],
                            vz=mc["vz"][a:b],
                            vt=ct[a:b],
                            fortran=False,
                        )
                        evt.weights = [float(weight[i])]
                        s, e = sig.get(int(pid[i]), (0.0, 0.0))
                        xs = pyhepmc.GenCrossSection()
                        xs.set_cross_section(s, e)
                        evt.cross_section = xs
                        out.write(evt)
                        number += 1
        except (
            KeyError,
            ValueError,
            TypeError,
            IndexError,
            RuntimeError,
        ) as exc:  # a lacking or damaged field
            tmp.unlink(missing_ok=True)
            raise FileFormatError(
                source,
                f"cannot export: missing or malformed field or record ({' '.join(str(exc).split())[:160]})",
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(output)
    return output


def _hepevt_parents(mc: Any) -> np.ndarray:
    """(n, 2) local parent ranges for ``GenEvent.from_hepevt``.  A photon that FSR recorded
    against its emitter (mother1 = the lepton, outside the lepton's daughter range, see
    ``fastsim/generators/fsr.py``) was emitted at the lepton's production, so it takes the
    lepton's own parents: it leaves the production vertex, and a decaying tau's end vertex
    holds just its decay products (momentum balanced)."""
    m1, m2 = mc["mother1"].astype(np.int64), mc["mother2"].astype(np.int64)
    parents = np.stack([m1, np.where(m2 >= 0, m2, m1)], axis=1)
    off = mc.offsets
    ev = np.repeat(np.arange(len(off) - 1), np.diff(off))
    loc = np.arange(len(m1)) - off[ev]
    has = np.flatnonzero(m1 >= 0)
    g = off[ev[has]] + m1[has]
    d1, d2 = mc["daughter1"][g], mc["daughter2"][g]
    outside = (loc[has] < d1) | (loc[has] > d2)
    rad = has[outside]
    parents[rad] = parents[g[outside]]
    return parents


# LHEH5 v2 column sets (pylhe.lheh5 / Pythia LHAupH5v2)
_P_COLS = list(PARTICLE_COLUMNS)
_E_COLS = [*EVENT_COLUMNS, "NOMINAL"]  # then one column per weight: the nominal one
_I_COLS = [
    "beamA",
    "beamB",
    "energyA",
    "energyB",
    "PDFgroupA",
    "PDFgroupB",
    "PDFsetA",
    "PDFsetB",
    "weightingStrategy",
    "numProcesses",
]
_PR_COLS = ["procId", "npLO", "npNLO", "xSection", "error", "unitWeight"]


def _table(f: h5py.File, name: str, cols: list[str], data: np.ndarray, growable: bool) -> h5py.Dataset:
    kw: dict[str, Any] = {"maxshape": (None, len(cols)), "chunks": (4096, len(cols))} if growable else {}
    ds = f.create_dataset(name, data=data, **kw)
    ds.attrs["properties"] = [c.encode() for c in cols]
    return ds


def write_lheh5(source: str | Path, output: str | Path) -> Path:
    """Write the ``mc`` record of a fastsim HDF5 file as LHEH5 (v2 layout).  Returns the path."""
    output = Path(output)
    tmp = output.with_name(output.name + ".part")
    with open_events(source) as f:
        sig = _process_sigma(f.meta)
        beams = f.meta.get("beams", {})
        if isinstance(beams, str):
            beams = json.loads(beams)
        try:
            with h5py.File(tmp, "w") as out:
                ev_ds = _table(out, "events", _E_COLS, np.zeros((0, len(_E_COLS))), True)
                pa_ds = _table(out, "particles", _P_COLS, np.zeros((0, len(_P_COLS))), True)
                n_part = 0
                all_w = []
                for batch in f.iter_chunks(_CHUNK):
                    mc = batch["mc"]
                    counts = mc.counts()
                    st = mc["status"]
                    istup = np.full(len(st), 3.0)
                    istup[st == 4] = -1.0
                    istup[st == 1] = 1.0
                    istup[st == 2] = 2.0
                    m1 = mc["mother1"].astype(np.float64) + 1.0
                    m2 = np.where(mc["mother2"] >= 0, mc["mother2"] + 1.0, m1)
                    p = np.zeros((mc.n_items, len(_P_COLS)))
                    p[:, 0] = mc["id"]
                    p[:, 1] = istup
                    p[:, 2] = np.where(m1 > 0, m1, 0.0)
                    p[:, 3] = np.where(m1 > 0, m2, 0.0)
                    for j, k in enumerate(("px", "py", "pz", "e", "m"), start=6):
                        p[:, j] = mc[k]
                    p[:, 11] = mc["lifetime"] * _CM_TO_MM
                    p[:, 12] = 9.0  # SPINUP: unknown (LHEF convention)
                    w = batch.events.get("weight", np.ones(batch.n_events))
                    all_w.append(w)
                    e = np.zeros((batch.n_events, len(_E_COLS)))
                    e[:, 0] = batch.events.get("process_id", np.zeros(batch.n_events))
                    e[:, 1] = counts
                    e[:, 2] = n_part + mc.offsets[:-1]
                    e[:, 3] = 1.0
                    e[:, 4:7] = beams.get("sqrt_s_gev", 0.0)
                    e[:, 9] = w
                    for ds, rows in ((ev_ds, e), (pa_ds, p)):
                        k = ds.shape[0]
                        ds.resize((k + len(rows), ds.shape[1]))
                        ds[k:] = rows
                    n_part += mc.n_items
                w_all = np.concatenate(all_w) if all_w else np.ones(0)
                unweighted = bool(np.all(w_all == 1.0))
                if not unweighted:  # IDWTUP = 4: weights in pb, their mean is sigma
                    sig_of = np.array([sig.get(int(i), (0.0, 0.0))[0] for i in ev_ds[:, 0]])
                    ev_ds[:, 9] = w_all * sig_of
                init = np.array(  # one row, stored 1-D (as pylhe.lheh5 writes and reads it)
                    [
                        11,
                        -11,
                        beams.get("e_her_gev", 0.0),
                        beams.get("e_ler_gev", 0.0),
                        0,
                        0,
                        0,
                        0,
                        3 if unweighted else 4,
                        max(len(sig), 1),
                    ],
                    dtype=np.float64,
                )
                _table(out, "init", _I_COLS, init, False)
                rows = [[pid, 0, 0, s, e_, 1.0] for pid, (s, e_) in sorted(sig.items())] or [
                    [0, 0, 0, 0, 0, 1.0]
                ]
                _table(out, "procInfo", _PR_COLS, np.array(rows, np.float64), False)
                out.create_dataset("version", data=np.array([2, 0, 0]))
        except (
            KeyError,
            ValueError,
            TypeError,
            IndexError,
            RuntimeError,
        ) as exc:  # a lacking or damaged field
            tmp.unlink(missing_ok=True)
            raise FileFormatError(
                source,
                f"cannot export: missing or malformed field or record ({' '.join(str(exc).split())[:160]})",
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(output)
    return output
