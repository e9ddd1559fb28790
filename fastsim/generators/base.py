"""The generator interface, cross-section tallies and the MC record builder.

A generator turns beams into events: ``generate(n, rng)`` returns an
:class:`~fastsim.events.EventBatch` with an ``mc`` collection (beams first, then the
hard-process particles, all in the lab frame) and an :class:`XsecTally` of the
phase-space points it tried, from which the run combines the cross section.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from fastsim.beams import BeamSetup
from fastsim.events import MC_FIELDS, STATUS_BEAM, STATUS_FINAL, Collection, EventBatch
from fastsim.particles import ParticleTable
from fastsim.schema import Field

__all__ = ["Generator", "XsecTally", "hard_process_record"]


@dataclass
class XsecTally:
    """Monte Carlo estimate of a cross section from weighted trial points.

    Each trial point carries a weight w (nb) whose mean is the cross section;
    points rejected by cuts count with w = 0.
    """

    n_trials: int = 0
    sum_w: float = 0.0
    sum_w2: float = 0.0

    def add(self, w: np.ndarray) -> None:
        self.n_trials += len(w)
        self.sum_w += float(np.sum(w))
        self.sum_w2 += float(np.sum(w * w))

    def merge(self, other: XsecTally) -> XsecTally:
        return XsecTally(self.n_trials + other.n_trials, self.sum_w + other.sum_w, self.sum_w2 + other.sum_w2)

    @property
    def sigma_nb(self) -> float:
        return self.sum_w / self.n_trials if self.n_trials else 0.0

    @property
    def sigma_err_nb(self) -> float:
        """Standard error of the mean weight."""
        if self.n_trials < 2:
            return 0.0
        mean = self.sigma_nb
        var = max(self.sum_w2 / self.n_trials - mean * mean, 0.0)
        return math.sqrt(var / self.n_trials)


class Generator:
    """Base class: subclasses set ``name``, ``doc`` and ``params`` and implement ``generate``."""

    name: ClassVar[str] = ""
    doc: ClassVar[str] = ""
    #: process parameters accepted in the card (besides ``generator`` and ``events``)
    params: ClassVar[dict[str, Field]] = {}

    def __init__(self, params: dict[str, Any], beams: BeamSetup, particles: ParticleTable) -> None:
        self.config = params
        self.beams = beams
        self.particles = particles

    def check(self) -> list[tuple[str, str]]:
        """Physics checks of the parameters: a list of (parameter, reason) problems."""
        return []

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Derived model quantities (widths, branching fractions ...) for the metadata."""
        return {}


def hard_process_record(
    her: np.ndarray,
    ler: np.ndarray,
    ids: np.ndarray,
    p4: np.ndarray,
    masses: np.ndarray,
    vertex: np.ndarray,
) -> Collection:
    """MC record for e- e+ -> k particles: 2 beams (status 4) then the k outgoing ones.

    ``her``, ``ler``: (n, 4) lab four-momenta; ``ids`` (k,) PDG ids; ``p4`` (n, k, 4) lab
    four-momenta; ``masses`` (k,) or (n, k) GeV; ``vertex`` (n, 4) interaction point (cm, ns).
    Outgoing particles have mothers (0, 1), the beams have daughters (2, k+1).
    """
    n, k, _ = p4.shape
    width = k + 2
    shape = (n, width)
    fields: dict[str, np.ndarray] = {}
    allp = np.concatenate([her[:, None, :], ler[:, None, :], p4], axis=1)
    fields["id"] = np.broadcast_to(np.concatenate([[11, -11], ids]).astype(np.int32), shape)
    status = np.full(width, STATUS_FINAL, np.int32)
    status[:2] = STATUS_BEAM
    fields["status"] = np.broadcast_to(status, shape)
    m1 = np.full(width, -1, np.int32)
    m2 = np.full(width, -1, np.int32)
    m1[2:], m2[2:] = 0, 1
    d1 = np.full(width, -1, np.int32)
    d2 = np.full(width, -1, np.int32)
    d1[:2], d2[:2] = 2, width - 1
    fields["mother1"] = np.broadcast_to(m1, shape)
    fields["mother2"] = np.broadcast_to(m2, shape)
    fields["daughter1"] = np.broadcast_to(d1, shape)
    fields["daughter2"] = np.broadcast_to(d2, shape)
    for i, name in enumerate(("px", "py", "pz", "e")):
        fields[name] = allp[:, :, i]
    m_e = np.sqrt(np.maximum(her[:, 3] ** 2 - np.sum(her[:, :3] ** 2, axis=1), 0.0))
    mm = np.empty(shape)
    mm[:, 0] = m_e
    mm[:, 1] = m_e
    mm[:, 2:] = masses
    fields["m"] = mm
    for i, name in enumerate(("vx", "vy", "vz", "vt")):
        fields[name] = np.broadcast_to(vertex[:, i : i + 1], shape)
    fields["lifetime"] = np.zeros(shape)
    ordered = {name: np.asarray(fields[name], dtype=dt) for name, dt in MC_FIELDS.items()}
    return Collection.from_regular(ordered)
