"""Convert a Pythia 8 event record (pythia8mc) into a pyhepmc ``GenEvent``.

Used to write HepMC3 samples from Pythia for tests and benchmarks (so that fastsim is
checked on files a program nobody here wrote produced).  Pythia's units: GeV and mm; the
event can be written in GeV or MeV (vertices stay in mm).  Mothers follow Pythia's
``motherList`` (first and last), status codes ``statusHepMC``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["hepmc_from_pythia"]


def hepmc_from_pythia(event: Any, number: int, mev: bool = False) -> Any:
    """A ``pyhepmc.GenEvent`` of Pythia's ``event`` (without its system entry 0)."""
    import pyhepmc

    rows = []
    for i in range(1, event.size()):
        p = event[i]
        ml = list(p.motherList())
        par = (min(ml), max(ml)) if ml else (0, 0)
        rows.append(
            (p.id(), p.statusHepMC(), *par, p.px(), p.py(), p.pz(), p.e(), p.m(),
             p.xProd(), p.yProd(), p.zProd(), p.tProd())
        )  # fmt: skip
    a = np.array(rows)
    col = [np.ascontiguousarray(a[:, j]) for j in range(a.shape[1])]
    scale = 1e3 if mev else 1.0
    g = pyhepmc.GenEvent(pyhepmc.Units.MEV if mev else pyhepmc.Units.GEV, pyhepmc.Units.MM)
    g.from_hepevt(
        number, *(c * scale for c in col[4:9]), col[0].astype(np.int32), col[1].astype(np.int32),
        parents=a[:, 2:4].astype(np.int64), vx=col[9], vy=col[10], vz=col[11], vt=col[12],
    )  # fmt: skip
    return g
