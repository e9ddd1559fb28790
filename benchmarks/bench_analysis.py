"""Analysis figures (issue 7).

limits_500_points_s  seconds for expected 90% CL limits (count CLs with background uncertainty,
                     +-1/2 sigma bands) at 500 mass points: windows from the resolution, signal
                     efficiency and background per window from 20 000 (quick: 5 000) selected
                     background events, limits on sigma x BF and on the coupling; target < 30 s
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from analysis.interpretation import limit_table
from analysis.io import ProcessInfo
from analysis.samples import Samples, SignalPoint
from analysis.zprime_4mu import ZPrime4Mu


def _samples(n_bkg: int, rng: np.random.Generator) -> Samples:
    """Synthetic selected samples: 11 signal masses with a 0.37% mass resolution (about 500
    scan points from 0.22 to 9 GeV) and a falling four-candidate background spectrum."""
    s = Samples(lumi_fb=178.0)
    for m in np.geomspace(0.22, 9.0, 11):
        n = 2000
        truth = m + rng.normal(0.0, 0.0037 * m, n)
        mass = np.column_stack([truth, rng.uniform(0.22, 10.0, (n, 3))])
        proc = ProcessInfo(Path("synthetic.h5"), 0, f"zp{m:.2f}", "ee_mumu_zprime", 1e-7 / m**2, 0.0,
                           n, "zprime", float(m), 1e-3, "mumu")  # fmt: skip
        s.signal[("zprime", round(float(m), 6))] = SignalPoint(
            proc, n / 0.6, n / 0.6, mass, np.ones(n), truth
        )
    s.bkg_observable = 0.212 + rng.exponential(2.5, (n_bkg, 4))
    s.bkg_yield = np.full(n_bkg, 3.0)
    return s


def limits_500_points_s(tmp: Path, quick: bool) -> float:
    rng = np.random.default_rng(7)
    samples = _samples(5_000 if quick else 20_000, rng)
    search = ZPrime4Mu()
    limit_table(search, samples)  # warm-up (imports, first calls)
    t0 = time.perf_counter()
    rows = limit_table(search, samples)
    dt = time.perf_counter() - t0
    return dt * 500.0 / len(rows)


FIGURES = {"limits_500_points_s": limits_500_points_s}
