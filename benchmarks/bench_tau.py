"""Tau-pair speed figures: Pythia 8 against fastsim ``ee_tautau``.

  pythia8_ee_tautau_spin_events_per_s      Pythia 8, e+e- -> gamma*/Z -> tau tau, TauDecays:mode = 1
  pythia8_ee_tautau_mode3_events_per_s     the same with TauDecays:mode = 3
  ee_tautau_events_per_s                   `fastsim run` of one ee_tautau process (1 worker)
  ee_tautau_over_pythia8_spin_speed_ratio  the third over the first, measured in the same run

Pythia 8 (pythia8mc 8.317.2, settings of :func:`benchmarks.tau_reference.pythia_settings`):
7 GeV e- on 4 GeV e+ head on, ``PDF:lepton = on`` (ISR), ``WeakSingleBoson:ffbar2gmZ`` (the
2 -> 1 gamma*/Z0 process; the 2 -> 2 ``ffbar2ffbar(s:gmZ)`` gets the tau-mass terms wrong, see
``tau_reference``; both run at the same speed) with ``23:onIfAny = 15``, alpha(0), m-hat >
3.6 GeV, QED FSR off the taus, MPI off, hadron level on with the taus decayed by Pythia and
``111:mayDecay = off``.  Timed: ``Pythia::next()`` on one core after ``init()`` and 50
warm-up events, i.e. the hard process, ISR (PDF + shower), FSR, hadron level and the tau
decays; no event conversion, no analysis.  ``TauDecays:mode`` (Pythia's ParticleDecays.xml):
1 (default) = the tau pair's helicity density matrix from the hard process (gamma + Z, tau
mass kept) correlates the two decays; 3 = "all taus, regardless of mother, are forced into an
uncorrelated decay with a polarization set by TauDecays:tauPolarization" (default 0): the
same decay matrix elements, unpolarised and uncorrelated.  Measured (2 cores shared with
other jobs, load ~4): mode 1 46 events/s, mode 3 733 events/s; nearly all of the time goes
to the tau decays (with ``15:mayDecay = off`` the same setup runs at ~1.3e4 events/s), and
mode 1 is slow even with both taus forced to pi nu (~45 events/s): the cost is the
correlated-decay machinery (helicity density matrices from 4x4 Dirac algebra per trial),
not a particular channel.

fastsim: ``fastsim run`` (:func:`fastsim.run.run`) of a card with one ``ee_tautau`` process
(ISR, FSR, spin correlations, Z exchange, vacuum polarisation: the generator's defaults), the
SuperKEKB beams of ``beams/superkekb_y4s.yaml`` (energy spread, crossing angle), decays on
(the default detector-stable set: pi0 decay), detector, trigger and reco off, HDF5 written,
one worker, chunks of 1e5: the whole run, writing included, after a warm-up run that compiles
the numba kernels (as ``mumu_born_events_per_s`` in ``run.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.tau_reference import pythia_events_per_s

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 1, events: {events}, chunk_size: 100000, output: out.h5, workers: 1}}
dataset: {{name: benchmark, luminosity_fb: 1.0}}
detector: {{enabled: false}}
trigger: {{enabled: false}}
reco: {{enabled: false}}
processes:
  ee_tautau: {{generator: ee_tautau, isr: true, fsr: true, spin_correlations: true}}
"""

_CACHE: dict[str, float] = {}


def _card(tmp: Path, events: int) -> Path:
    path = tmp / f"tautau_card_{events}.yaml"
    path.write_text(CARD.format(events=events))
    return path


def pythia8_ee_tautau_spin_events_per_s(tmp: Path, quick: bool) -> float:
    """Pythia 8 e+e- -> tau tau with correlated tau decays (TauDecays:mode = 1), events/s."""
    rate = pythia_events_per_s(300 if quick else 2000, tau_mode=1)
    _CACHE["pythia_spin"] = rate
    return rate


def pythia8_ee_tautau_mode3_events_per_s(tmp: Path, quick: bool) -> float:
    """Pythia 8 e+e- -> tau tau with uncorrelated, unpolarised tau decays (mode 3), events/s."""
    return pythia_events_per_s(1000 if quick else 5000, tau_mode=3)


def ee_tautau_events_per_s(tmp: Path, quick: bool) -> float:
    """fastsim ``run`` of e+e- -> tau tau with decays and HDF5 output, events/s (1 worker)."""
    from fastsim.cards import load_card
    from fastsim.run import run

    run(load_card(_card(tmp, 20_000)), output=tmp / "tautau_warm.h5", progress=False)
    n = 200_000 if quick else 1_000_000
    card = load_card(_card(tmp, n))
    t0 = time.perf_counter()
    run(card, output=tmp / "tautau.h5", progress=False)
    rate = n / (time.perf_counter() - t0)
    _CACHE["fastsim"] = rate
    return rate


def ee_tautau_over_pythia8_spin_speed_ratio(tmp: Path, quick: bool) -> float:
    """fastsim ee_tautau events/s over Pythia 8 (TauDecays:mode = 1) events/s."""
    if "pythia_spin" not in _CACHE:
        pythia8_ee_tautau_spin_events_per_s(tmp, quick)
    if "fastsim" not in _CACHE:
        ee_tautau_events_per_s(tmp, quick)
    return _CACHE["fastsim"] / _CACHE["pythia_spin"]


FIGURES = {
    "pythia8_ee_tautau_spin_events_per_s": pythia8_ee_tautau_spin_events_per_s,
    "pythia8_ee_tautau_mode3_events_per_s": pythia8_ee_tautau_mode3_events_per_s,
    "ee_tautau_events_per_s": ee_tautau_events_per_s,
    "ee_tautau_over_pythia8_spin_speed_ratio": ee_tautau_over_pythia8_spin_speed_ratio,
}
