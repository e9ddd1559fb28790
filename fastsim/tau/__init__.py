"""Tau lepton decays: channels with their matrix elements and polarimeter vectors.

Units: GeV (c = 1).  Four-vectors are ``(px, py, pz, E)``.  Everything here describes the
decay of a tau- at rest; the tau+ is obtained by CP conjugation in the engine (products ->
antiparticles, momenta -> -momenta, polarimeter h unchanged).

Modules (import them directly; this package imports nothing at import time, to avoid cycles):

* :mod:`fastsim.tau.currents` -- numba helpers: four-vector algebra, Breit-Wigner form
  factors, the Kuehn-Santamaria 3-pion current, the polarimeter from a (complex) hadronic
  current, flat phase space from per-event splitmix64 streams;
* :mod:`fastsim.tau.channels` -- :class:`~fastsim.tau.channels.TauChannel`, the DEC-line to
  channel map and :func:`~fastsim.tau.channels.generate_decays` (unpolarised decays plus h).

Documentation: ``docs/tau_channels.md``.
"""
