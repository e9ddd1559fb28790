"""From selected samples to limits: efficiency and background per mass window, upper limits on
sigma(e+e- -> mu mu X) x BF(X -> mu mu) (fb) and on the coupling (sigma proportional to its
square, exact in fastsim's generator, see fastsim/generators/ee_llx.py).

Per model (``zprime``, ``scalar``):

* resolution sigma(m) from the truth-matched X pair of each simulated mass
  (:class:`analysis.scan.Resolution`); window m -+ k sigma(m), scan points one half-width apart;
* signal efficiency at a simulated mass = generated-weight fraction of events passing the
  selection (trigger included) with a candidate in the window; linear interpolation between
  simulated masses; sigma at unit coupling interpolated in log sigma;
* background = expected events (at the luminosity) with a candidate in the window, estimated
  from a window ``smooth`` times wider (same centre, clipped at 2 m_mu) scaled by the width
  ratio, which averages out the Monte-Carlo fluctuations of a small sample; its uncertainty
  combines the Monte-Carlo statistics (sum of squared weights, scaled) and a relative
  systematic ``rel_bkg_sys`` in quadrature;
* limits from :func:`analysis.limits.upper_limits`.

Units: GeV; cross sections in nb (inputs) and fb (limits); luminosity in fb^-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.limits import upper_limits
from analysis.scan import Resolution, robust_width, scan_masses, window_sums
from analysis.yields import NB_PER_FB, efficiency
from analysis.zprime_4mu import M_MU, AnalysisSamples, Cuts

__all__ = ["LimitSettings", "limit_table", "model_resolution"]


@dataclass(frozen=True)
class LimitSettings:
    """Statistical settings: window half-width k (in sigma), confidence level, method (see
    :mod:`analysis.limits`), background smoothing factor and relative systematic."""

    k_window: float = 2.0
    cl: float = 0.90
    method: str = "cls"
    smooth: float = 5.0
    rel_bkg_sys: float = 0.10
    scan: bool = True  # scan between the simulated masses (else only at them)


def model_resolution(samples: AnalysisSamples, model: str) -> Resolution:
    """Mass resolution of one model from its truth-matched X pairs (GeV)."""
    pts = sorted((m, v) for (mod, m), v in samples.signal.items() if mod == model)
    masses = np.array([m for m, _ in pts])
    sig = []
    for m, v in pts:
        t = np.asarray(v["truth"])
        sig.append(robust_width(t[np.isfinite(t)] - m))
    return Resolution(masses, np.array(sig))


def limit_table(
    samples: AnalysisSamples,
    settings: LimitSettings = LimitSettings(),
    observed: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    cuts: Cuts | None = None,
) -> list[dict[str, object]]:
    """Rows of limits.csv, per model and mass.  ``observed``: model -> (masses, counts); a scan
    mass takes the count of the nearest given mass."""
    cuts = cuts or Cuts()
    rows: list[dict[str, object]] = []
    lumi = samples.lumi_fb
    k = settings.k_window
    for model in ("zprime", "scalar"):
        pts = sorted((m, v) for (mod, m), v in samples.signal.items() if mod == model)
        if not pts:
            continue
        res = model_resolution(samples, model)
        m_sim = np.array([m for m, _ in pts])
        lo, hi = res.window(m_sim, k)
        eff_sim, err_sim = [], []
        for j, (_, v) in enumerate(pts):
            w = np.asarray(v["w"])
            sw, sw2 = window_sums(np.asarray(v["mass"]), w, lo[j : j + 1], hi[j : j + 1])
            e = efficiency(sw[0], sw2[0], float(v["sw"]), float(v["sw2"]))  # type: ignore[arg-type]
            eff_sim.append(float(e.value))
            err_sim.append(float(e.error))
        procs = [v["process"] for _, v in pts]
        sigma1 = np.array([p.sigma_nb / p.coupling**2 for p in procs])  # type: ignore[attr-defined]
        if settings.scan and len(m_sim) > 1:
            masses = np.union1d(scan_masses(m_sim[0], m_sim[-1], res, k), m_sim)
        else:
            masses = m_sim
        wlo, whi = res.window(masses, k)
        jl, jh = cuts.jpsi_veto
        masses = masses[(whi < jl) | (wlo > jh)]
        wlo, whi = res.window(masses, k)
        eff = np.interp(masses, m_sim, eff_sim)
        eff_err = np.interp(masses, m_sim, err_sim)
        sig1_nb = np.exp(np.interp(masses, m_sim, np.log(sigma1)))
        # background from a wider window, scaled to the search window
        half = k * res(masses)
        blo = np.maximum(masses - settings.smooth * half, 2 * M_MU)
        bhi = masses + settings.smooth * half
        bsw, bsw2 = window_sums(samples.bkg_mass, samples.bkg_yield, blo, bhi)
        ratio = (whi - wlo) / (bhi - blo)
        b = bsw * ratio
        db = np.sqrt(bsw2 * ratio**2 + (settings.rel_bkg_sys * b) ** 2)
        n_obs = None
        if observed and model in observed:
            om, on = observed[model]
            near = np.abs(masses[:, None] - np.asarray(om)[None, :]).argmin(axis=1)
            n_obs = np.asarray(on, np.float64)[near]
        lim = upper_limits(b, db, n_obs, settings.cl, settings.method)
        denom = lumi * np.where(eff > 0, eff, np.nan)
        xs_exp = lim.expected / denom[:, None]  # fb: events / (fb^-1)
        g_exp = np.sqrt(xs_exp / (sig1_nb[:, None] * NB_PER_FB))
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
                "xsec_bf_ul_fb_expected": float(xs_exp[j, 2]),
                "xsec_bf_ul_fb_expected_m2s": float(xs_exp[j, 0]),
                "xsec_bf_ul_fb_expected_m1s": float(xs_exp[j, 1]),
                "xsec_bf_ul_fb_expected_p1s": float(xs_exp[j, 3]),
                "xsec_bf_ul_fb_expected_p2s": float(xs_exp[j, 4]),
                "coupling_ul_expected": float(g_exp[j, 2]),
                "coupling_ul_expected_m2s": float(g_exp[j, 0]),
                "coupling_ul_expected_m1s": float(g_exp[j, 1]),
                "coupling_ul_expected_p1s": float(g_exp[j, 3]),
                "coupling_ul_expected_p2s": float(g_exp[j, 4]),
            }
            if n_obs is not None:
                xs_obs = lim.observed[j] / denom[j]
                row["n_observed"] = float(n_obs[j])
                row["xsec_bf_ul_fb_observed"] = float(xs_obs)
                row["coupling_ul_observed"] = float(np.sqrt(xs_obs / (sig1_nb[j] * NB_PER_FB)))
            rows.append(row)
    return rows
