"""The coupling interpretation of a long-lived signal: the excluded island of couplings.

A coupling g changes the production rate (sigma(g) = sigma(1) g^n) and the lifetime
(c*tau(g) from the model), hence the efficiency: the excluded couplings solve
sigma(g) L eff(c*tau(g)) >= N_UL, with the efficiency at each c*tau from the lifetime
reweighting of the signal sample (:func:`eff_at_ctau`).  Shared by
:mod:`analysis.interpretation` (one signal region) and :mod:`analysis.channel_limits`
(channels together).

Units: cm; cross sections in nb; luminosity in fb^-1.
"""

from __future__ import annotations

import numpy as np

from analysis.yields import NB_PER_FB
from fastsim.models.base import Model

__all__ = ["BAND_SUFFIXES", "COLUMN_ORDER", "coupling_band", "eff_at_ctau", "island_columns"]

#: suffixes of the expected-limit columns, in the order of analysis.limits.BAND_SIGMAS
BAND_SUFFIXES = ("_m2s", "_m1s", "", "_p1s", "_p2s")
#: the order the columns are written in (the median first)
COLUMN_ORDER = (2, 0, 1, 3, 4)
_N_COUPLING_SCAN = 600  # log-spaced couplings per decade range of the island search


def eff_at_ctau(ctau_grid: np.ndarray, eff: np.ndarray, ctau: np.ndarray) -> np.ndarray:
    """Efficiency at c*tau (cm) from its values on a grid: log eff interpolated linearly in
    log c*tau inside (exact for the exponential fall at short lifetimes and for the 1/c*tau
    tail), zero below, eff(max) * max/ctau above (see the module docstring)."""
    ctau = np.asarray(ctau, np.float64)
    log_eff = np.log(np.maximum(np.asarray(eff, np.float64), 1e-300))
    out = np.exp(np.interp(np.log(ctau), np.log(ctau_grid), log_eff))
    out = np.where(ctau < ctau_grid[0], 0.0, out)
    return np.where(ctau > ctau_grid[-1], eff[-1] * ctau_grid[-1] / ctau, out)


def coupling_band(
    n_ul: float,
    lumi_fb: float,
    sigma_unit_nb: float,
    model: Model,
    ctau_grid: np.ndarray,
    eff: np.ndarray,
) -> tuple[float, float]:
    """The excluded coupling interval (lower, upper) of a long-lived signal: the couplings g with
    sigma(g) L eff(c*tau(g)) >= n_ul, sigma(g) = sigma(1) g^n, c*tau(g) from ``model`` (a point
    at the mass in question).  (NaN, NaN) when no coupling is excluded; the upper edge is at most
    the model's largest coupling (its schema's ``max``, e.g. |U|^2 = 1), where an island that
    reaches it ends."""
    n = model.production_power
    if not np.any(eff > 0) or not np.isfinite(n_ul):
        return float("nan"), float("nan")
    # couplings whose c*tau spans the grid, a decade beyond each end
    g0 = model.coupling
    k = model.width_power
    c0 = model.ctau_cm
    g_lo = g0 * (c0 / (ctau_grid[-1] * 1e3)) ** (1 / k)
    g_hi = g0 * (c0 / (ctau_grid[0] / 10)) ** (1 / k)
    lg = np.linspace(np.log(g_lo), np.log(g_hi), _N_COUPLING_SCAN)

    def excess(log_g: np.ndarray) -> np.ndarray:
        g = np.exp(log_g)
        ctau = model.ctau_at(g)
        return np.log(
            np.maximum(sigma_unit_nb * g**n * NB_PER_FB * lumi_fb * eff_at_ctau(ctau_grid, eff, ctau), 1e-300)
        ) - np.log(n_ul)

    f = excess(lg)
    ok = f >= 0
    if not ok.any():
        return float("nan"), float("nan")
    edges = []
    for i in (np.flatnonzero(ok)[0], np.flatnonzero(ok)[-1]):
        j = i - 1 if i == np.flatnonzero(ok)[0] else i + 1
        if j < 0 or j >= len(lg):
            edges.append(float("nan"))  # excluded up to the end of the scanned range
            continue
        a, b = lg[j], lg[i]  # f(a) < 0 <= f(b): bisect in log g
        for _ in range(60):
            mid = 0.5 * (a + b)
            if excess(np.array([mid]))[0] >= 0:
                b = mid
            else:
                a = mid
        edges.append(float(np.exp(b)))
    lower, upper = edges
    g_max = model.parameters["coupling"].max  # a physical bound (|U|^2 <= 1, sin theta <= 1)
    if g_max is not None:
        if np.isfinite(lower) and lower > g_max:
            return float("nan"), float("nan")
        if (np.isfinite(upper) and upper > g_max) or (not np.isfinite(upper) and np.exp(lg[-1]) > g_max):
            upper = float(g_max)
    return lower, upper


def island_columns(row: dict[str, object], model: Model, lower: list[float], upper: list[float]) -> None:
    """Write an island's edges per band (``lower``, ``upper``: in the order of BAND_SUFFIXES) and
    the c*tau at the median edges into a limits.csv row."""
    for b in COLUMN_ORDER:
        row[f"coupling_ul_expected{BAND_SUFFIXES[b]}"] = lower[b]
    for b in COLUMN_ORDER:
        row[f"coupling_excl_max_expected{BAND_SUFFIXES[b]}"] = upper[b]
    row["ctau_cm"] = float(model.ctau_at(lower[2])) if np.isfinite(lower[2]) else float("nan")
    row["ctau_cm_at_excl_max"] = float(model.ctau_at(upper[2])) if np.isfinite(upper[2]) else float("nan")
