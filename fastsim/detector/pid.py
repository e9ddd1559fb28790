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
from numba import njit

from fastsim.detector.card import PID_HYPOTHESES, PID_SPECIES
from fastsim.detector.propagation import _next, _seed
from fastsim.detector.vmath import _GOLDEN

__all__ = ["PID_FIELDS", "pass_probability", "pid_cube", "pid_scores", "species_index"]

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


def pid_cube(pid: dict[str, Any]) -> np.ndarray:
    """Pass probabilities as an array (hypothesis, true species, p bin, theta bin)."""
    pb, tb = pid["p_bins"], pid["theta_bins_deg"]
    cube = np.zeros((len(PID_HYPOTHESES), len(PID_SPECIES), len(pb) - 1, len(tb) - 1))
    for h, hyp in enumerate(PID_HYPOTHESES):
        for s, rows in pid["tables"].get(hyp, {}).items():
            cube[h, PID_SPECIES.index(s)] = np.asarray(rows)
    return cube


_CHUNK = 512  # tracks per pass of the PID kernel


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _pid_kernel(cube, p_bins, theta_bins, spec_pdg, mu_h, pdg, p, theta, klm_ok, seed, out):  # fmt: skip
    """Scores written into ``out`` (n_hyp, n) float32: 0.5 (pass + v), pass = u < probability
    (u, v uniform from a splitmix64 stream per track: draws 2h and 2h + 1 for hypothesis h);
    the muon hypothesis ``mu_h`` gated by ``klm_ok``.

    Tracks go in chunks: a scalar pass looks up the probabilities and the stream state of
    each track, then per hypothesis a short branch-free loop (vectorised by LLVM) draws and
    scores."""
    n = len(p)
    n_h, n_s, n_p, n_t = cube.shape
    pi_s = 2  # PID_SPECIES.index("pi"): anything else counts as a pion
    prob = np.empty(n_h * _CHUNK)
    state = np.empty(_CHUNK, np.uint64)
    for c0 in range(0, n, _CHUNK):
        nc = min(n - c0, _CHUNK)
        for k in range(nc):
            i = c0 + k
            apdg = abs(pdg[i])
            sp = pi_s
            for s in range(n_s):
                if apdg == spec_pdg[s]:
                    sp = s
            ip = min(max(np.searchsorted(p_bins, p[i], side="right") - 1, 0), n_p - 1)
            it = min(max(np.searchsorted(theta_bins, theta[i], side="right") - 1, 0), n_t - 1)
            for h in range(n_h):
                prob[h * _CHUNK + k] = cube[h, sp, ip, it]
            if not klm_ok[i]:
                prob[mu_h * _CHUNK + k] = 0.0
            state[k] = _seed(seed, i)
        for h in range(n_h):
            row = out[h, c0 : c0 + nc]
            # the stream's draws 2h and 2h + 1 (splitmix64 advances its state by a constant)
            skip = np.uint64(2 * h) * _GOLDEN
            for k in range(nc):
                _, u = _next(state[k] + skip)
                _, v = _next(state[k] + skip + _GOLDEN)
                row[k] = 0.5 * ((1.0 if u < prob[h * _CHUNK + k] else 0.0) + v)


def pid_scores(
    pid: dict[str, Any],
    klm_ok: np.ndarray,
    pdg: np.ndarray,
    p: np.ndarray,
    theta: np.ndarray,
    rng: np.random.Generator,
    out: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-track scores ``pid_<h>`` (float32), > 0.5 when the track passes hypothesis h
    (probabilities of :func:`pass_probability`; uniforms from a splitmix64 stream per track
    seeded from one draw of ``rng``).  ``out``: optional float32 (n_hyp, n) destination whose
    rows are returned."""
    if out is None:
        out = np.empty((len(PID_HYPOTHESES), len(p)), np.float32)
    _pid_kernel(
        pid_cube(pid),
        np.asarray(pid["p_bins"], dtype=np.float64),
        np.radians(np.asarray(pid["theta_bins_deg"], dtype=np.float64)),
        np.array([_PDG_OF_SPECIES[s] for s in PID_SPECIES], dtype=np.int64),
        PID_HYPOTHESES.index("mu"),
        np.asarray(pdg, dtype=np.int32),
        np.asarray(p, dtype=np.float64),
        np.asarray(theta, dtype=np.float64),
        np.asarray(klm_ok, dtype=np.bool_),
        np.uint64(rng.integers(0, 2**63)),
        out,
    )
    return {f"pid_{h}": out[j] for j, h in enumerate(PID_HYPOTHESES)}
