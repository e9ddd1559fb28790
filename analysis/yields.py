"""Expected yields and efficiencies with binomial errors.

Expected yield N = sigma x L x efficiency, sigma in nb, L in fb^-1 (1 fb^-1 = 1e6 nb^-1).
Efficiencies of weighted samples are ratios of summed event weights; their error is the
binomial error for weighted events, var = sum_pass w^2 (1 - eff)^2 + sum_fail w^2 eff^2, all
over (sum w)^2 (e.g. T. Ullrich, Z. Xu, arXiv:physics/0701199, Sec. 2, for unit weights:
eff (1 - eff) / N).  For unit weights the Clopper-Pearson interval (C. J. Clopper,
E. S. Pearson, Biometrika 26 (1934) 404) is also given; it stays inside [0, 1] and is
meaningful at eff = 0 or 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "NB_PER_FB",
    "Efficiency",
    "clopper_pearson",
    "cutflow_table",
    "efficiency",
    "expected_yield",
    "jeffreys_fraction",
]

#: 1 fb^-1 = 1e6 nb^-1: sigma[nb] x L[fb^-1] x NB_PER_FB = events
NB_PER_FB = 1.0e6


def expected_yield(
    sigma_nb: float | np.ndarray, lumi_fb: float, eff: float | np.ndarray = 1.0
) -> float | np.ndarray:
    """Expected number of events sigma x L x eff (sigma in nb, L in fb^-1)."""
    return np.asarray(sigma_nb) * lumi_fb * NB_PER_FB * np.asarray(eff)


def clopper_pearson(k: np.ndarray, n: np.ndarray, cl: float = 0.6827) -> tuple[np.ndarray, np.ndarray]:
    """Central Clopper-Pearson interval (lower, upper) for k successes in n trials."""
    k = np.asarray(k, np.float64)
    n = np.asarray(n, np.float64)
    a = 0.5 * (1.0 - cl)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(a, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - a, k + 1, n - k), 1.0)
    return np.nan_to_num(lo), np.where(n > 0, hi, 1.0)


@dataclass
class Efficiency:
    """Efficiency sum(w pass)/sum(w) with its binomial error and, for unit weights, the 68.27%
    Clopper-Pearson interval (``lo``, ``hi``)."""

    value: np.ndarray
    error: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_total: np.ndarray  # effective number of events (sum w)^2 / sum w^2


def efficiency(
    sw_pass: np.ndarray, sw2_pass: np.ndarray, sw_total: np.ndarray, sw2_total: np.ndarray
) -> Efficiency:
    """Efficiency from summed weights (and squared weights) of passing and all events."""
    sw_pass, sw2_pass, sw_total, sw2_total = (
        np.asarray(x, np.float64) for x in (sw_pass, sw2_pass, sw_total, sw2_total)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(sw_total > 0, sw_pass / sw_total, 0.0)
        var = sw2_pass * (1 - eff) ** 2 + (sw2_total - sw2_pass) * eff**2
        err = np.where(sw_total > 0, np.sqrt(np.maximum(var, 0.0)) / sw_total, 0.0)
        n_eff = np.where(sw2_total > 0, sw_total**2 / sw2_total, 0.0)
    lo, hi = clopper_pearson(eff * n_eff, n_eff)
    return Efficiency(eff, err, lo, hi, n_eff)


def cutflow_table(weights: np.ndarray, masks: dict[str, np.ndarray]) -> list[dict[str, float]]:
    """Cumulative cut flow: for each named per-event mask (applied in order), the efficiency
    relative to all events and its binomial error.  Rows: cut, efficiency, error, cp_lo, cp_hi."""
    w = np.asarray(weights, np.float64)
    keep = np.ones(len(w), bool)
    rows = []
    sw, sw2 = w.sum(), (w * w).sum()
    for name, m in masks.items():
        keep &= np.asarray(m, bool)
        e = efficiency(w[keep].sum(), (w[keep] ** 2).sum(), sw, sw2)
        rows.append(
            {
                "cut": name,
                "efficiency": float(e.value),
                "error": float(e.error),
                "cp_lo": float(e.lo),
                "cp_hi": float(e.hi),
            }
        )
    return rows


def jeffreys_fraction(n_pass: int, n_total: int) -> tuple[float, float]:
    """A pass fraction from counts, (n_pass + 1/2) / (n_total + 1) (the Jeffreys prior's
    posterior mean, non-zero when nothing passes), and its binomial error."""
    r = (n_pass + 0.5) / (n_total + 1.0)
    return r, math.sqrt(r * (1 - r) / (n_total + 1.0))
