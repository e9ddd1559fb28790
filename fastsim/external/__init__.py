"""External event samples: LHE, LHEH5 and HepMC3 input as fastsim processes, HepMC3 and
LHEH5 export, and file conversion (``fastsim convert``).

Importing this package registers the generators ``lhe``, ``lheh5`` and ``hepmc``.
Units: GeV, cm, ns.
"""

from __future__ import annotations

from fastsim.external import hepmc, lhe, lheh5

__all__ = ["hepmc", "lhe", "lheh5"]
