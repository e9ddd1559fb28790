"""Particle identification from efficiency / mis-identification tables in (p, theta).

Units: GeV, rad.  For every track and hypothesis h in (e, mu, pi, K, p) the card gives the
probability that a track of its true species passes the identification of h in bins of
momentum and polar angle (missing entries: 0; species outside the five: as pions).  The
muon hypothesis is further gated by the KLM: the track must reach ``min_layers_muon``
layers (range model in :mod:`fastsim.detector.klm`), which makes the ~0.6 GeV threshold.
Output per track and hypothesis: a score in [0, 1] that is > 0.5 exactly when the track
passes (score = 0.5 (pass + u), u uniform), so ``pid_h > 0.5`` reproduces the table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastsim.detector.card import PID_HYPOTHESES, PID_SPECIES

__all__ = ["PID_FIELDS", "pass_probability", "pid_scores", "species_index"]

PID_FIELDS = tuple(f"pid_{h}" for h in PID_HYPOTHESES)
_PDG_OF_SPECIES = {"e": 11, "mu": 13, "pi": 211, "K": 321, "p": 2212}


def species_index(pdg: np.ndarray) -> np.ndarray:
    """Index into PID_SPECIES of the true species (pions for anything else)."""
    apdg = np.abs(pdg)
    out = np.full(len(pdg), PID_SPECIES.index("pi"), np.int64)
    for i, s in enumerate(PID_SPECIES):
        out[apdg == _PDG_OF_SPECIES[s]] = i
    return out


def pass_probability(
    pid: dict[str, Any], hyp: str, pdg: np.ndarray, p: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """Table probability (before the KLM gate) that tracks pass hypothesis ``hyp``."""
    pb = np.asarray(pid["p_bins"])
    tb = np.radians(np.asarray(pid["theta_bins_deg"]))
    ip = np.clip(np.searchsorted(pb, p, side="right") - 1, 0, len(pb) - 2)
    it = np.clip(np.searchsorted(tb, theta, side="right") - 1, 0, len(tb) - 2)
    sp = species_index(pdg)
    table = pid["tables"].get(hyp, {})
    cube = np.zeros((len(PID_SPECIES), len(pb) - 1, len(tb) - 1))
    for s, rows in table.items():
        cube[PID_SPECIES.index(s)] = np.asarray(rows)
    return cube[sp, ip, it]


def pid_scores(
    pid: dict[str, Any],
    klm_ok: np.ndarray,
    pdg: np.ndarray,
    p: np.ndarray,
    theta: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Per-track scores ``pid_<h>`` (float32), > 0.5 when the track passes hypothesis h."""
    out = {}
    for hyp in PID_HYPOTHESES:
        prob = pass_probability(pid, hyp, pdg, p, theta)
        if hyp == "mu":
            prob = prob * klm_ok
        u = rng.random(len(p))
        v = rng.random(len(p))
        out[f"pid_{hyp}"] = (0.5 * ((u < prob).astype(np.float64) + v)).astype(np.float32)
    return out
