"""A generator's own long-lived particle: its proper decay lengths and its displaced decay.

Signal generators that decay their new particle inside the amplitude (``ee_tautau_phil``,
``ee_gamma_alp``) place the decay products at the particle's decay vertex here, with the same
lifetime rules as the decay stage (:mod:`fastsim.decays`): c tau from the run's particle table
where the card sets it (``particles.<pdg>.ctau``, or a ``models:`` point), else the model's;
proper decay lengths from Exp(c tau), or from the grid's equal-weight mixture of exponentials
(``ctau_mixture``, the lifetime reweighting of :mod:`fastsim.grid`).

Units: GeV, cm, ns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastsim.constants import C_CM_PER_NS
from fastsim.events import STATUS_DECAYED, Collection

__all__ = ["DecayLength", "displace_decay"]


class DecayLength:
    """The proper decay lengths of one particle ``pdg``: c tau (cm) from ``particles`` (a
    :class:`fastsim.particles.ParticleTable`) where it knows the particle, else
    ``model_ctau_cm``; the table's mixture for it, if any."""

    def __init__(self, pdg: int, particles: Any, model_ctau_cm: float) -> None:
        known = bool(particles.knows(np.array([pdg]))[0])
        self.ctau_cm = float(particles.ctau(np.array([pdg]))[0]) if known else float(model_ctau_cm)
        mix = particles.ctau_mixtures.get(pdg)
        self.mixture = None if mix is None or len(mix) == 0 else np.asarray(mix, np.float64)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n proper decay lengths c t (cm): Exp(c tau), or Exp of a mixture component drawn
        uniformly."""
        if self.mixture is not None:
            comps = self.mixture[rng.integers(len(self.mixture), size=n)]
            return rng.standard_exponential(n) * comps
        return rng.standard_exponential(n) * self.ctau_cm


def displace_decay(mc: Collection, pdg: int, ct: np.ndarray) -> Collection:
    """The record with each event's decayed particle ``pdg`` given the proper decay length
    ``ct`` (n,) (cm, stored in its ``lifetime``) and every descendant (its decay products and
    their radiation) moved to its decay vertex x + (p / m) c t, time t + (E / m) c t / c."""
    f = {k: v.copy() for k, v in mc.fields.items()}
    ev = mc.event_index()
    base = mc.offsets[:-1]
    rows = np.flatnonzero((f["id"] == pdg) & (f["status"] == STATUS_DECAYED))
    if len(rows) == 0:
        return mc
    owner = np.full(mc.n_events, -1, np.int64)
    owner[ev[rows]] = rows
    f["lifetime"][rows] = ct[ev[rows]]
    # descendants: follow mother1 up to the particle (a few generations: decay products, FSR)
    mother = np.where(f["mother1"] >= 0, base[ev] + f["mother1"], -1)
    target = owner[ev]
    desc = np.zeros(len(ev), bool)
    anc = mother.copy()
    for _ in range(8):
        hit = (anc >= 0) & (anc == target)
        desc |= hit
        anc = np.where(anc >= 0, mother[np.maximum(anc, 0)], -1)
        if not np.any(anc >= 0):
            break
    r = target[desc]
    m = f["m"][r].astype(np.float64)
    step = f["lifetime"][r] / m  # c t / m: displacement = p c t / m
    for c, name in enumerate(("vx", "vy", "vz")):
        f[name][desc] = f[name][r] + (f[("px", "py", "pz")[c]][r] * step)
    f["vt"][desc] = f["vt"][r] + f["e"][r] * step / C_CM_PER_NS
    return Collection(f, mc.offsets)
