"""Limit engine and efficiency helpers against independent numbers (issue 7).

References: PDG Review of Particle Physics, "Statistics", table of Poisson upper limits for n
observed events with b = 0 (90% and 95% CL, two decimals); direct root finding with
scipy.stats.poisson; pyhf's own CLs computation; scipy's exact binomial interval.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from analysis.limits import upper_limits
from analysis.scan import Resolution, scan_masses, window_sums
from analysis.yields import clopper_pearson, efficiency, expected_yield

# PDG "Statistics" review, Poisson upper limits for n observed, b = 0 (90% and 95% CL)
PDG_90 = [2.30, 3.89, 5.32, 6.68, 7.99, 9.27, 10.53, 11.77, 13.00, 14.21, 15.41]
PDG_95 = [3.00, 4.74, 6.30, 7.75, 9.15, 10.51, 11.84, 13.15, 14.43, 15.71, 16.96]


@pytest.mark.parametrize("method", ["bayes", "cls"])
def test_zero_observed_zero_background_is_2_30(method: str) -> None:
    lim = upper_limits(0.0, 0.0, 0, cl=0.90, method=method)
    assert lim.observed[0] == pytest.approx(-np.log(0.10), abs=1e-6)  # 2.3026


@pytest.mark.parametrize(("cl", "table"), [(0.90, PDG_90), (0.95, PDG_95)])
@pytest.mark.parametrize("method", ["bayes", "cls"])
def test_pdg_table_b0(method: str, cl: float, table: list[float]) -> None:
    n = np.arange(11)
    lim = upper_limits(np.zeros(11), 0.0, n, cl=cl, method=method)
    np.testing.assert_allclose(lim.observed, table, atol=0.006)  # table rounded to 0.01


def _cls_direct(n: int, b: float, cl: float) -> float:
    """CLs limit by brentq with scipy.stats.poisson (independent of the engine)."""
    f = lambda s: stats.poisson.cdf(n, s + b) / stats.poisson.cdf(n, b) - (1 - cl)
    return optimize.brentq(f, 0.0, 100.0, xtol=1e-10)


def _cls_direct_smeared(n: int, b: float, db: float, cl: float) -> float:
    """Hybrid CLs with a gamma prior on b by numerical integration (scipy.integrate.quad)."""
    k, th = (b / db) ** 2, db**2 / b
    prior = stats.gamma(k, scale=th)

    def p(s: float) -> float:
        return integrate.quad(lambda x: stats.poisson.cdf(n, s + x) * prior.pdf(x), 0, b + 15 * db)[0]

    p0 = p(0.0)
    return optimize.brentq(lambda s: p(s) / p0 - (1 - cl), 0.0, 100.0, xtol=1e-8)


@pytest.mark.parametrize(("n", "b"), [(3, 1.5), (5, 3.2), (10, 8.0), (0, 4.0), (2, 6.0)])
def test_cls_counting_against_direct_poisson(n: int, b: float) -> None:
    for cl in (0.90, 0.95):
        lim = upper_limits(b, 0.0, n, cl=cl, method="cls")
        assert lim.observed[0] == pytest.approx(_cls_direct(n, b, cl), rel=1e-6)


@pytest.mark.parametrize(("n", "b", "db"), [(3, 2.0, 0.6), (8, 6.0, 2.0)])
def test_cls_with_background_uncertainty_against_integration(n: int, b: float, db: float) -> None:
    lim = upper_limits(b, db, n, cl=0.90, method="cls")
    # the engine averages over 48 prior quantiles: 0.5% agreement with exact integration
    assert lim.observed[0] == pytest.approx(_cls_direct_smeared(n, b, db, 0.90), rel=5e-3)
    # and the uncertainty loosens the limit for a deficit-free count
    assert lim.observed[0] > upper_limits(b, 0.0, n, cl=0.90, method="cls").observed[0]


def test_bayes_flat_prior_equals_counting_cls() -> None:
    """Helene (1983): with a flat prior the Bayesian Poisson limit equals the count-CLs one."""
    b = np.array([0.5, 2.0, 7.0, 30.0])
    db = np.array([0.0, 0.5, 1.0, 6.0])
    n = np.array([1, 4, 5, 33])
    a = upper_limits(b, db, n, method="bayes")
    c = upper_limits(b, db, n, method="cls")
    np.testing.assert_allclose(a.observed, c.observed, rtol=1e-7)
    np.testing.assert_allclose(a.expected, c.expected, rtol=1e-7)


def test_expected_bands_are_limits_at_poisson_quantiles() -> None:
    b = 3.7
    lim = upper_limits(b, 0.0, cl=0.90, method="cls")
    q = stats.norm.cdf([-2, -1, 0, 1, 2])
    ns = stats.poisson.ppf(q, b).astype(int)
    want = [_cls_direct(int(k), b, 0.90) for k in ns]
    np.testing.assert_allclose(lim.expected[0], want, rtol=1e-6)
    assert np.all(np.diff(lim.expected[0]) >= 0)
    assert np.isnan(lim.observed[0])


@pytest.mark.parametrize(("n", "b", "db"), [(5, 3.0, 1.0), (8, 10.0, 2.0), (0, 1.0, 0.3), (100, 100.0, 10.0)])
def test_asymptotic_cls_matches_pyhf(n: int, b: float, db: float) -> None:
    mine = upper_limits(b, db, n, cl=0.90, method="asymptotic")
    ref = upper_limits(b, db, n, cl=0.90, method="pyhf")  # pyhf's fits and root finding
    assert mine.observed[0] == pytest.approx(ref.observed[0], rel=2e-3)
    np.testing.assert_allclose(mine.expected[0], ref.expected[0], rtol=2e-3)


def test_large_count_asymptotic_close_to_exact() -> None:
    """At b = 400 the asymptotic formulae approach the exact counting CLs (within 3%)."""
    a = upper_limits(400.0, 0.0, 400, method="asymptotic").observed[0]
    c = upper_limits(400.0, 0.0, 400, method="cls").observed[0]
    assert a == pytest.approx(c, rel=0.03)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        upper_limits(1.0, method="magic")
    with pytest.raises(ValueError, match=">= 0"):
        upper_limits(-1.0)
    with pytest.raises(ValueError, match="confidence"):
        upper_limits(1.0, cl=1.5)


# --------------------------------------------------------------------- yields and scan
def test_expected_yield_units() -> None:
    # 1 nb x 1 fb^-1 = 1e6 events
    assert expected_yield(1.0, 1.0) == pytest.approx(1e6)
    assert expected_yield(5.17e-8, 178.0, 0.5) == pytest.approx(5.17e-8 * 178e6 * 0.5)


def test_efficiency_unit_weights_binomial_and_clopper_pearson() -> None:
    k, n = 37, 120
    e = efficiency(k, k, n, n)
    assert float(e.value) == pytest.approx(k / n)
    assert float(e.error) == pytest.approx(np.sqrt(k / n * (1 - k / n) / n), rel=1e-12)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.6827, method="exact")
    assert float(e.lo) == pytest.approx(ci.low, rel=1e-6)
    assert float(e.hi) == pytest.approx(ci.high, rel=1e-6)
    lo, hi = clopper_pearson(np.array([0]), np.array([10]))
    assert lo[0] == 0.0
    assert hi[0] == pytest.approx(1 - (1 - 0.6827) ** 0.1 / 2**0.1, rel=1e-4)  # (alpha/2)^(1/n)


def test_window_sums_counts_each_event_once() -> None:
    rng = np.random.default_rng(1)
    m = rng.uniform(0.0, 10.0, (500, 4))
    m[rng.uniform(size=m.shape) < 0.1] = np.nan
    m[0] = [2.0, 2.001, np.nan, 7.0]  # two candidates in one window: counted once
    w = rng.uniform(0.5, 2.0, 500)
    lo = np.linspace(0.0, 9.5, 40)
    hi = lo + 0.3
    sw, sw2 = window_sums(m, w, lo, hi)
    for j in range(len(lo)):  # brute force over windows
        inside = np.any((m >= lo[j]) & (m <= hi[j]), axis=1)
        assert sw[j] == pytest.approx(w[inside].sum())
        assert sw2[j] == pytest.approx((w[inside] ** 2).sum())


def test_scan_masses_step_is_the_window_half_width() -> None:
    res = Resolution(np.array([0.2, 9.0]), np.array([0.001, 0.04]))
    m = scan_masses(0.2, 9.0, res, k=2.0)
    assert m[0] == 0.2
    assert m[-1] == 9.0
    np.testing.assert_allclose(np.diff(m)[:-1], 2.0 * res(m[:-2]), rtol=1e-12)
