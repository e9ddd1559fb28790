"""From selected samples to limits, for any search: efficiencies, backgrounds, upper limits on
sigma x BF (fb) and their interpretation as limits on the model's coupling.

Per model the search interprets, with its signal region (:mod:`analysis.search`):

* :class:`MassWindows`: the resolution sigma(m) from the truth-matched signal candidates of
  each simulated mass (:class:`analysis.scan.Resolution`); window m -+ k sigma(m), scan points
  one half-width apart; signal efficiency at a simulated mass = generated-weight fraction of
  events with a selected candidate in the window, interpolated linearly between simulated
  masses; sigma x BF at unit coupling interpolated in log sigma; background = expected events
  with a candidate in the window, estimated from a window ``smooth`` times wider (same centre,
  clipped at ``min_mass``) scaled by the width ratio (averages out the Monte-Carlo
  fluctuations of a small sample), with an uncertainty combining its Monte-Carlo statistics
  (sum of squared weights, scaled) and the relative systematic ``rel_bkg_sys`` in quadrature.
* :class:`Categories`: per simulated mass, the efficiency and background in each category,
  combined in one likelihood with one bin per category and uncorrelated background
  uncertainties (:func:`analysis.limits.category_limits`, asymptotic CLs, checked against pyhf).

Limits come from :func:`analysis.limits.upper_limits` (one count) or
:func:`analysis.limits.category_limits` (categories).

Coupling interpretation (through the model, :class:`fastsim.models.base.Model`):

* prompt signals: sigma x BF scales as g^n at fixed mass (``production_power``), so the
  coupling limit is g_UL = (sigma_UL / sigma(g = 1))^(1/n);
* long-lived signals (the signal particle's decays drawn from a c*tau mixture): c*tau depends
  on the coupling, c*tau(g) = c*tau(g0) (g0/g)^k (``width_power``), and so does the
  efficiency.  The excluded couplings solve sigma(g) L eff(m, c*tau(g)) >= N_UL, with the
  efficiency at each c*tau from per-event lifetime reweighting (log eff interpolated in log c*tau;
  zero below the reweighting grid, which is conservative; proportional to 1/c*tau above it, the
  long-lifetime limit of the decay probability in a fixed volume).  The excluded band is an
  island in g: too weak a coupling is not produced, too strong a coupling decays before the
  displaced-vertex region.  Both edges are reported (``coupling_ul_*`` the lower edge and
  ``coupling_excl_max_*`` the upper one; NaN when nothing is excluded).

Units: GeV, cm; cross sections in nb (inputs) and fb (limits); luminosity in fb^-1.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from analysis.channel_limits import channel_table
from analysis.coupling import BAND_SUFFIXES, COLUMN_ORDER, coupling_band, eff_at_ctau, island_columns
from analysis.limits import BAND_SIGMAS, Limits, category_limits, upper_limits
from analysis.samples import Samples, SignalPoint
from analysis.scan import Resolution, robust_width, scan_masses, window_sums
from analysis.search import Categories, Channels, MassWindows, Search, Statistics
from analysis.yields import NB_PER_FB, efficiency, jeffreys_fraction
from fastsim.models import get_model
from fastsim.models.base import Model

__all__ = ["BAND_SUFFIXES", "coupling_band", "eff_at_ctau", "limit_table", "model_resolution"]


def model_resolution(samples: Samples, model: str) -> Resolution:
    """Mass resolution of one model from its truth-matched candidates (GeV)."""
    pts = sorted((m, v) for (mod, m), v in samples.signal.items() if mod == model)
    masses = np.array([m for m, _ in pts])
    sig = []
    for m, v in pts:
        t = v.truth
        sig.append(robust_width(t[np.isfinite(t)] - m))
    return Resolution(masses, np.array(sig))


def _point_efficiency(v: SignalPoint, lo: float, hi: float) -> tuple[float, float]:
    sw, sw2 = window_sums(v.observable, v.w, np.array([lo]), np.array([hi]))
    e = efficiency(sw[0], sw2[0], v.sw, v.sw2)
    return float(e.value), float(e.error)


def _ctau_efficiency(v: SignalPoint, lo: float, hi: float) -> np.ndarray:
    """Efficiency at each c*tau of the point's reweighting grid (window [lo, hi])."""
    cm = v.observable
    inside = np.any((cm >= lo) & (cm <= hi), axis=1)
    w = (v.w * inside)[:, None] * v.life_w
    return np.where(v.sw_ctau > 0, w.sum(axis=0) / v.sw_ctau, 0.0)


def _full_selection(v: SignalPoint) -> SignalPoint:
    """The point with its loose-only candidates (``sideband``) removed from the observable."""
    if len(v.sideband) != len(v.observable) or not v.sideband.any():
        return v
    return replace(v, observable=np.where(v.sideband, np.nan, v.observable))


def pass_fraction(samples: Samples, probes: int = 0) -> tuple[float, float]:
    """Fraction of the simulated background events with a loose candidate that have one passing
    the full selection, (n_pass + 1/2) / (n_loose + 1) (Jeffreys) with its binomial error.

    ``probes`` > 0 (:class:`analysis.search.MassWindows` ``sideband_probes``): factorised over
    the probe tracks of each loose event's first candidate, r = f^probes with f the Jeffreys
    fraction of passing probe tracks among probes x n_loose, and dr = probes f^(probes-1) df."""
    cand = np.isfinite(samples.bkg_observable)
    n_loose = int(cand.any(axis=1).sum())
    if probes > 0:
        has = cand.any(axis=1)
        first = np.argmax(cand[has], axis=1)
        passes = samples.bkg_probe_pass[has][np.arange(int(has.sum())), first] if n_loose else np.zeros(0)
        f, df = jeffreys_fraction(int(np.clip(passes, 0, probes).sum()), probes * n_loose)
        return f**probes, probes * f ** (probes - 1) * df
    n_pass = int((cand & ~samples.bkg_sideband).any(axis=1).sum()) if len(samples.bkg_sideband) else n_loose
    return jeffreys_fraction(n_pass, n_loose)


def local_pass_fractions(
    loose: np.ndarray, full: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per range [lo_j, hi_j]: the fraction of the background events with a loose candidate
    there that have a full-selection one there, (n_pass + 1/2) / (n_loose + 1) (Jeffreys), and
    its binomial error.  ``loose``, ``full``: (n, k) candidate masses (NaN: none)."""
    ones = np.ones(len(loose))
    n_loose = window_sums(loose, ones, lo, hi)[0]
    n_pass = window_sums(full, ones, lo, hi)[0]
    r = (n_pass + 0.5) / (n_loose + 1.0)
    return r, np.sqrt(r * (1 - r) / (n_loose + 1.0))


def prompt_extended(grid: np.ndarray, curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A lifetime grid (cm) and efficiency curve extended below the grid with its first value
    (the prompt plateau, :class:`analysis.search.MassWindows` ``prompt_below_grid``)."""
    return np.r_[1e-30, grid], np.r_[curve[0], curve]


def _observed_at(masses: np.ndarray, observed: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | None:
    if observed is None:
        return None
    om, on = observed
    near = np.abs(masses[:, None] - np.asarray(om)[None, :]).argmin(axis=1)
    return np.asarray(on, np.float64)[near]


def _add_limits(
    row: dict[str, object], lim: Limits, j: int, denom: float, sig1_fb: float, power: float
) -> None:
    xs = lim.expected[j] / denom
    g = (xs / sig1_fb) ** (1.0 / power)
    for b in COLUMN_ORDER:
        row[f"xsec_bf_ul_fb_expected{BAND_SUFFIXES[b]}"] = float(xs[b])
    for b in COLUMN_ORDER:
        row[f"coupling_ul_expected{BAND_SUFFIXES[b]}"] = float(g[b])
    if np.isfinite(lim.observed[j]):
        xo = lim.observed[j] / denom
        row["xsec_bf_ul_fb_observed"] = float(xo)
        row["coupling_ul_observed"] = float((xo / sig1_fb) ** (1.0 / power))


def _windows_table(
    region: MassWindows,
    stats: Statistics,
    samples: Samples,
    model: str,
    observed: tuple[np.ndarray, np.ndarray] | None,
) -> list[dict[str, object]]:
    pts = sorted((m, v) for (mod, m), v in samples.signal.items() if mod == model)
    cls = get_model(model)
    lumi = samples.lumi_fb
    k = region.k
    res = model_resolution(samples, model)
    m_sim = np.array([m for m, _ in pts])
    lo, hi = res.window(m_sim, k)
    eff_sim, err_sim = [], []
    pts = [(m, _full_selection(v)) for m, v in pts]
    for j, (_, v) in enumerate(pts):
        e, de = _point_efficiency(v, lo[j], hi[j])
        eff_sim.append(e)
        err_sim.append(de)
    power = cls.production_power
    # sigma x BF at unit coupling, from each point's generated sigma x BF at its coupling
    sigma1 = np.array([v.process.sigma_nb / v.process.coupling**power for _, v in pts])
    if region.scan and len(m_sim) > 1:
        masses = np.union1d(scan_masses(m_sim[0], m_sim[-1], res, k), m_sim)
    else:
        masses = m_sim
    wlo, whi = res.window(masses, k)
    keep = np.ones(len(masses), bool)
    for vlo, vhi in region.vetoes:
        keep &= (whi < vlo) | (wlo > vhi)
    masses = masses[keep]
    wlo, whi = res.window(masses, k)
    eff = np.interp(masses, m_sim, eff_sim)
    eff_err = np.interp(masses, m_sim, err_sim)
    sig1_nb = np.exp(np.interp(masses, m_sim, np.log(sigma1)))
    half = k * res(masses)
    blo = np.maximum(masses - region.smooth * half, region.min_mass)
    bhi = masses + region.smooth * half
    b_obs = samples.bkg_observable
    if not region.sideband and len(samples.bkg_sideband) == len(b_obs):
        b_obs = np.where(samples.bkg_sideband, np.nan, b_obs)
    bsw, bsw2 = window_sums(b_obs, samples.bkg_yield, blo, bhi)
    if samples.mc_variance_scale != 1.0:
        bsw2 = bsw2 * samples.mc_variance_scale
    ratio = (whi - wlo) / (bhi - blo)
    if region.sideband:  # loose selection x its pass fraction (Jeffreys, binomial error)
        if region.local_pass_fraction > 0:
            full = np.where(samples.bkg_sideband, np.nan, b_obs) if len(samples.bkg_sideband) else b_obs
            flo = np.maximum(masses - region.local_pass_fraction * half, region.min_mass)
            r, dr = local_pass_fractions(b_obs, full, flo, masses + region.local_pass_fraction * half)
        else:
            r, dr = pass_fraction(samples, region.sideband_probes)
        bsw2 = bsw2 * r * r + (bsw * dr) ** 2
        bsw = bsw * r
    b = bsw * ratio
    db = np.sqrt(bsw2 * ratio**2 + (stats.rel_bkg_sys * b) ** 2)
    n_obs = _observed_at(masses, observed)
    per_cat: dict[str, np.ndarray] = {}
    if region.categories:  # one likelihood over the categories per window
        if region.sideband or observed is not None:
            raise ValueError("MassWindows.categories: no sideband estimate and no --observed counts yet")
        eff_c, b_c, db_c = _category_windows(
            region, stats, samples, pts, lo, hi, m_sim, masses, blo, bhi, ratio
        )
        lim = _combined_category_limits(eff_c * lumi, b_c, db_c, stats.cl)
        denom = np.ones(len(masses))  # the limits are on sigma x BF (fb) already
        b, db = b_c.sum(axis=1), np.sqrt((db_c**2).sum(axis=1))
        for c, name in enumerate(region.categories):
            per_cat[f"efficiency_{name}"] = eff_c[:, c]
            per_cat[f"background_{name}"] = b_c[:, c]
    else:
        lim = upper_limits(b, db, n_obs, stats.cl, stats.method)
        denom = lumi * np.where(eff > 0, eff, np.nan)
    llp = all(v.long_lived for _, v in pts)
    if llp:
        grid = pts[0][1].ctau
        curves = np.array([_ctau_efficiency(v, lo[j], hi[j]) for j, (_, v) in enumerate(pts)])
    rows: list[dict[str, object]] = []
    for j, m in enumerate(masses):
        row: dict[str, object] = {
            "model": model,
            "mass_gev": float(m),
            "simulated": bool(np.any(np.isclose(m, m_sim))),
            "window_lo_gev": float(wlo[j]),
            "window_hi_gev": float(whi[j]),
            "resolution_gev": float(res(m)),
            "efficiency": float(eff[j]),
            "efficiency_err": float(eff_err[j]),
            "background": float(b[j]),
            "background_err": float(db[j]),
            "sigma_bf_unit_coupling_fb": float(sig1_nb[j] * NB_PER_FB),
        }
        for key, col in per_cat.items():
            row[key] = float(col[j])
        if n_obs is not None:
            row["n_observed"] = float(n_obs[j])
        _add_limits(row, lim, j, float(denom[j]), float(sig1_nb[j] * NB_PER_FB), power)
        if llp:
            curve = np.array([np.interp(m, m_sim, curves[:, i]) for i in range(len(grid))])
            g_ext, c_ext = grid, curve
            if region.prompt_below_grid:  # the prompt plateau below the grid's first c*tau
                g_ext, c_ext = prompt_extended(grid, curve)
            _long_lived_columns(row, cls, float(m), lim, j, lumi, float(sig1_nb[j]), g_ext, c_ext)
        rows.append(row)
    return rows


def _category_windows(
    region: MassWindows,
    stats: Statistics,
    samples: Samples,
    pts: list[tuple[float, SignalPoint]],
    lo: np.ndarray,
    hi: np.ndarray,
    m_sim: np.ndarray,
    masses: np.ndarray,
    blo: np.ndarray,
    bhi: np.ndarray,
    ratio: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per scan mass and category (n, n_cat): the signal efficiency (interpolated between the
    simulated masses' windows), the background in the window (from the ``smooth`` times wider
    one, scaled by the width ratio) and its error (MC statistics and the relative systematic)."""
    n_cat = len(region.categories)
    eff_sim = np.zeros((len(pts), n_cat))
    for j, (_, v) in enumerate(pts):
        for c in range(n_cat):
            obs = np.where(v.category == c, v.observable, np.nan)
            sw, _ = window_sums(obs, v.w, lo[j : j + 1], hi[j : j + 1])
            eff_sim[j, c] = sw[0] / v.sw if v.sw > 0 else 0.0
    eff = np.stack([np.interp(masses, m_sim, eff_sim[:, c]) for c in range(n_cat)], axis=1)
    b = np.zeros((len(masses), n_cat))
    db = np.zeros((len(masses), n_cat))
    b_obs = samples.bkg_observable
    for c in range(n_cat):
        obs = np.where(samples.bkg_category == c, b_obs, np.nan)
        bsw, bsw2 = window_sums(obs, samples.bkg_yield, blo, bhi)
        if samples.mc_variance_scale != 1.0:
            bsw2 = bsw2 * samples.mc_variance_scale
        b[:, c] = bsw * ratio
        db[:, c] = np.sqrt(bsw2 * ratio**2 + (stats.rel_bkg_sys * b[:, c]) ** 2)
    return eff, b, db


def _combined_category_limits(signal: np.ndarray, b: np.ndarray, db: np.ndarray, cl: float) -> Limits:
    """Per row (mass) the limit on the signal strength of the categories combined
    (:func:`analysis.limits.category_limits`): expected (n, 5), observed NaN."""
    exp = np.full((len(signal), len(BAND_SIGMAS)), np.inf)
    for j in range(len(signal)):
        exp[j] = category_limits(signal[j], b[j], db[j], None, cl).expected[0]
    return Limits(exp, np.full(len(signal), np.nan), cl, "asymptotic")


def _long_lived_columns(
    row: dict[str, object],
    cls: type[Model],
    mass: float,
    lim: Limits,
    j: int,
    lumi: float,
    sig1_nb: float,
    grid: np.ndarray,
    eff_curve: np.ndarray,
) -> None:
    """The island of excluded couplings at one mass (see the module docstring)."""
    point = cls({"mass": mass, "coupling": 1.0})
    lower, upper = [], []
    for b in range(lim.expected.shape[1]):
        g1, g2 = coupling_band(float(lim.expected[j, b]), lumi, sig1_nb, point, grid, eff_curve)
        lower.append(g1)
        upper.append(g2)
    island_columns(row, point, lower, upper)
    if np.isfinite(lim.observed[j]):
        g1, g2 = coupling_band(float(lim.observed[j]), lumi, sig1_nb, point, grid, eff_curve)
        row["coupling_ul_observed"] = g1
        row["coupling_excl_max_observed"] = g2


def _categories_table(
    region: Categories,
    stats: Statistics,
    samples: Samples,
    model: str,
    observed: tuple[np.ndarray, np.ndarray] | None,
) -> list[dict[str, object]]:
    pts = sorted((m, v) for (mod, m), v in samples.signal.items() if mod == model)
    cls = get_model(model)
    power = cls.production_power
    ncat = len(region.names)
    cats = np.arange(ncat)
    bcat = samples.bkg_observable[:, 0]
    b = np.array([samples.bkg_yield[bcat == c].sum() for c in cats])
    bmc2 = np.array([(samples.bkg_yield[bcat == c] ** 2).sum() for c in cats]) * samples.mc_variance_scale
    db = np.sqrt(bmc2 + (stats.rel_bkg_sys * b) ** 2)
    rows: list[dict[str, object]] = []
    for m, v in pts:
        sc = v.observable[:, 0]
        eff = np.array([v.w[sc == c].sum() / v.sw if v.sw > 0 else 0.0 for c in cats])
        if observed is not None:
            raise ValueError(
                "--observed: per-category observed counts are not supported yet (expected limits only)"
            )
        lim = category_limits(eff * samples.lumi_fb, b, db, None, stats.cl)  # limits on sigma x BF in fb
        sig1_fb = v.process.sigma_nb / v.process.coupling**power * NB_PER_FB
        row: dict[str, object] = {
            "model": model,
            "mass_gev": float(m),
            "simulated": True,
            "efficiency": float(eff.sum()),
            "efficiency_err": float(np.sqrt(max(eff.sum() * (1 - eff.sum()), 0.0) / max(v.sw, 1.0))),
            "background": float(b.sum()),
            "background_err": float(np.sqrt((db**2).sum())),
            "sigma_bf_unit_coupling_fb": float(sig1_fb),
        }
        for c, name in enumerate(region.names):
            row[f"efficiency_{name}"] = float(eff[c])
            row[f"background_{name}"] = float(b[c])
            row[f"background_err_{name}"] = float(db[c])
        _add_limits(row, lim, 0, 1.0, sig1_fb, power)
        rows.append(row)
    return rows


def limit_table(
    search: Search,
    samples: Samples,
    observed: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    statistics: Statistics | None = None,
) -> list[dict[str, object]]:
    """Rows of limits.csv, per model and mass.  ``observed``: model -> (masses, counts); a scan
    mass takes the count of the nearest given mass."""
    stats = statistics or search.statistics
    rows: list[dict[str, object]] = []
    for model in search.models:
        if not any(mod == model for mod, _ in samples.signal):
            continue
        obs = (observed or {}).get(model)
        if isinstance(search.region, Channels):
            if obs is not None:
                raise ValueError(
                    "--observed: observed counts per channel are not supported yet (expected limits only)"
                )
            rows += channel_table(search.region, stats, samples, model)
        elif isinstance(search.region, MassWindows):
            rows += _windows_table(search.region, stats, samples, model, obs)
        else:
            rows += _categories_table(search.region, stats, samples, model, obs)
    return rows
