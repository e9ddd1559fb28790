"""External event samples: LHE, LHEH5 and HepMC3 input as fastsim processes, HepMC3 and
LHEH5 export, and file conversion (``fastsim convert``).

The generators ``lhe``, ``lheh5`` and ``hepmc`` are listed in
:data:`fastsim.generators.GENERATORS` (imported on first use).
Units: GeV, cm, ns.
"""
