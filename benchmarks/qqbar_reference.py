"""Pythia 8 alone as the reference for the continuum (issue 16): e+e- -> gamma*/Z -> q qbar
(u d s c) at 10.58 GeV with the Belle II fragmentation settings (fastsim.hadronization
.BELLE2_TUNE), used by tests/test_hadronic.py and benchmarks/bench_hadronic.py.

Settings (bphysics.md sec. 3.5): ``WeakSingleBoson:ffbar2ffbar(s:gmZ)`` with ``23:onIfAny =
1 2 3 4``; ``PDF:lepton = on`` (ISR, hadronic mass above 2 GeV as ee_qqbar's default) or
``off`` (no ISR: the events of fastsim's ``isr: false``); Pythia's own decays.
"""

from __future__ import annotations

from typing import Any


def pythia_ee_qqbar(seed: int, isr: bool) -> Any:
    """An initialised ``pythia8mc.Pythia`` generating the continuum (module docstring)."""
    import pythia8mc

    from fastsim.hadronization import BELLE2_TUNE

    py = pythia8mc.Pythia("", False)
    for s in (
        "Beams:idA = 11",
        "Beams:idB = -11",
        "Beams:eCM = 10.58",
        "WeakSingleBoson:ffbar2ffbar(s:gmZ) = on",
        "23:onMode = off",
        "23:onIfAny = 1 2 3 4",
        f"PDF:lepton = {'on' if isr else 'off'}",
        "PhaseSpace:mHatMin = 2.0",
        "Print:quiet = on",
        "Random:setSeed = on",
        f"Random:seed = {int(seed)}",
        *BELLE2_TUNE,
    ):
        if not py.readString(s):
            raise ValueError(f"Pythia 8 rejected {s!r}")
    if not py.init():
        raise RuntimeError("Pythia 8 initialisation failed")
    return py
