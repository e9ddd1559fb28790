"""Limit engine: upper limits on a signal yield s (events) of a counting experiment.

Model: n ~ Poisson(s + b), the background b known up to an uncertainty db (events).  Four
methods, all vectorised over arrays of points (one entry per mass window):

``"cls"``
    Modified frequentist CLs with the event count as test statistic (A. L. Read, J. Phys. G
    28 (2002) 2693; T. Junk, NIM A 434 (1999) 435): CLs(s) = P(N <= n | s+b) / P(N <= n | b).
    The background uncertainty is folded in by averaging the probabilities over a gamma prior
    on b with mean b and standard deviation db (the hybrid "Cousins-Highland" treatment,
    R. D. Cousins and V. L. Highland, NIM A 320 (1992) 331).  Exact for small counts.
``"bayes"``
    Bayesian posterior with a flat prior in s >= 0 and the same gamma prior on b (PDG Review
    of Particle Physics, "Statistics", Sec. 40.4.1): the upper limit S solves
    int_0^S p(s|n) ds = CL.  For a Poisson count this coincides with ``"cls"`` (O. Helene,
    NIM 212 (1983) 319; PDG, ibid.), which the tests check; it is computed here from its own
    formula (posterior cumulative distribution).
``"asymptotic"``
    CLs with the profile-likelihood test statistic q~_mu and its asymptotic distributions
    (G. Cowan, K. Cranmer, E. Gross, O. Vitells, EPJC 71 (2011) 1554, Eqs. 16, 65-66), for
    the single-bin model of ``pyhf.simplemodels.uncorrelated_background`` (auxiliary
    measurement tau ~ Poisson(tau gamma), tau = (b/db)^2), with the conditional maximum of
    the nuisance parameter in closed form.  Matches pyhf (tested); fast.
``"pyhf"``
    The same statistic computed by pyhf itself (``pyhf.infer.intervals.upper_limits``).
    Slow (a fit per scan point): for cross-checks.

Expected limits: the median and the +-1, +-2 sigma quantiles of the limit in background-only
pseudo-experiments.  The limit is a non-decreasing function of n, so for ``"cls"`` and
``"bayes"`` the quantiles are the limits at the quantiles of n, whose distribution is the
Poisson distribution averaged over the background prior; for the asymptotic methods they are
the standard Asimov bands (CCGV Eqs. 87-89).  Band order everywhere: (-2, -1, 0, +1, +2) sigma,
i.e. from the lowest to the highest limit.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["BAND_SIGMAS", "METHODS", "Limits", "category_limits", "poisson_quantiles", "upper_limits"]

METHODS = ("cls", "bayes", "asymptotic", "pyhf")
#: the expected-limit bands, in standard deviations of the background-only distribution
BAND_SIGMAS = (-2, -1, 0, 1, 2)
_N_PRIOR_NODES = 48  # quantile nodes of the gamma prior on b (equal weights)
_BISECT_ITERATIONS = 64


@dataclass
class Limits:
    """Upper limits on the signal yield (events).

    ``expected``: shape (n_points, 5), the quantiles of :data:`BAND_SIGMAS`;
    ``observed``: shape (n_points,), NaN when no observed count was given.
    """

    expected: np.ndarray
    observed: np.ndarray
    cl: float
    method: str

    @property
    def median(self) -> np.ndarray:
        return self.expected[:, 2]


# --------------------------------------------------------------------- background prior
def _prior_nodes(b: np.ndarray, db: np.ndarray, k: int = _N_PRIOR_NODES) -> np.ndarray:
    """Background values (n_points, k) at the mid-quantiles (i + 1/2)/k of a gamma prior with
    mean b and standard deviation db; all equal to b where db = 0."""
    b = np.asarray(b, np.float64)
    db = np.asarray(db, np.float64)
    u = (np.arange(k) + 0.5) / k
    has = (db > 0) & (b > 0)
    out = np.repeat(b[:, None], k, axis=1)
    if np.any(has):
        shape = (b[has] / db[has]) ** 2
        scale = db[has] ** 2 / b[has]
        out[has] = stats.gamma.ppf(u[None, :], shape[:, None], scale=scale[:, None])
    return out


def _bisect(f: Callable[[np.ndarray], np.ndarray], n: int, hi: np.ndarray) -> np.ndarray:
    """Root of the decreasing functions f(s) (vectorised, f(0) >= 0) in [0, hi]; hi is
    doubled where f(hi) > 0."""
    hi = np.array(hi, np.float64)
    for _ in range(60):
        grow = f(hi) > 0
        if not np.any(grow):
            break
        hi = np.where(grow, 2 * hi, hi)
    lo = np.zeros(n)
    for _ in range(_BISECT_ITERATIONS):
        mid = 0.5 * (lo + hi)
        pos = f(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    return 0.5 * (lo + hi)


def _count_limit(n: np.ndarray, bk: np.ndarray, cl: float, bayes: bool) -> np.ndarray:
    """Limit on s for observed counts n (n_points,) and prior nodes bk (n_points, k)."""
    n = np.asarray(n, np.float64)
    a = n[:, None] + 1.0
    alpha = 1.0 - cl
    if bayes:
        # posterior CDF(S) = sum_k [P(n+1, S+b_k) - P(n+1, b_k)] / sum_k [1 - P(n+1, b_k)],
        # P the regularised lower incomplete gamma function (int_b^{S+b} e^-t t^n/n! dt)
        p0 = special.gammainc(a, bk)
        norm = np.sum(1.0 - p0, axis=1)

        def f(s: np.ndarray) -> np.ndarray:
            return cl - np.sum(special.gammainc(a, s[:, None] + bk) - p0, axis=1) / norm
    else:
        # P(N <= n | mu) = Q(n+1, mu), Q the regularised upper incomplete gamma function
        den = np.sum(special.gammaincc(a, bk), axis=1)

        def f(s: np.ndarray) -> np.ndarray:
            return np.sum(special.gammaincc(a, s[:, None] + bk), axis=1) / den - alpha

    hi = n + 5.0 * np.sqrt(n + 1.0) + 5.0
    return _bisect(f, len(n), hi)


def poisson_quantiles(b: np.ndarray, db: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles (n_points, len(q)) of the count n ~ Poisson(b'), b' from the gamma prior:
    the smallest n with P(N <= n) >= q, found by bisection over n (the CDF is monotone), so
    that time and memory do not grow with the size of the counts."""
    b = np.asarray(b, np.float64)
    db = np.asarray(db, np.float64)
    bk = _prior_nodes(b, db)
    top = np.max(bk, axis=1, initial=0.0)
    hi0 = np.ceil(top + 12 * np.sqrt(top) + 20)  # P(N <= hi0) = 1 to double precision
    out = np.empty((len(b), len(q)))
    for iq, qq in enumerate(q):
        lo = np.full(len(b), -1.0)  # P(N <= lo) < qq
        hi = hi0.copy()  # P(N <= hi) >= qq
        while np.any(hi - lo > 1):
            mid = np.floor(0.5 * (lo + hi))
            cdf = np.mean(special.gammaincc(mid[:, None] + 1.0, bk), axis=1)
            ok = cdf >= qq - 1e-12
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        out[:, iq] = hi
    return out


# --------------------------------------------------------------------- asymptotic CLs
def _nll(
    n: np.ndarray, mu_s: np.ndarray, gam: np.ndarray, b: np.ndarray, tau: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """-ln L(mu s, gamma) up to constants: Poisson(n | mu s + gamma b) x Poisson(m | tau gamma)."""
    lam = mu_s + gam * b
    nl = lam - special.xlogy(n, lam)
    aux = np.where(np.isfinite(tau), tau * gam - special.xlogy(m, gam), 0.0)
    return nl + aux


def _gamma_hat(n: np.ndarray, mu_s: np.ndarray, b: np.ndarray, tau: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Conditional MLE of the background scale gamma at fixed signal mu s, auxiliary count m:
    the positive root of b(b+tau) g^2 - (b(n - mu s) + m b - tau mu s) g - m mu s = 0
    (1 without uncertainty)."""
    fin = np.isfinite(tau)
    t = np.where(fin, tau, 1.0)
    mm = np.where(fin, m, 1.0)
    bb = np.where(b > 0, b, 1.0)
    a2 = bb * (bb + t)
    a1 = -(bb * (n - mu_s) + mm * bb - t * mu_s)
    a0 = -mm * mu_s
    g = (-a1 + np.sqrt(np.maximum(a1 * a1 - 4 * a2 * a0, 0.0))) / (2 * a2)
    return np.where(fin & (b > 0), g, 1.0)


def _qtilde(n: np.ndarray, s: np.ndarray, b: np.ndarray, tau: np.ndarray, m: np.ndarray) -> np.ndarray:
    """q~_mu (CCGV Eq. 16) for the signal yield s."""
    zero = np.zeros_like(s)
    g_s = _gamma_hat(n, s, b, tau, m)
    nll_s = _nll(n, s, g_s, b, tau, m)
    g_u = np.where(np.isfinite(tau), m / np.where(np.isfinite(tau), tau, 1.0), 1.0)
    s_hat = n - g_u * b  # unconditional MLE
    g_0 = _gamma_hat(n, zero, b, tau, m)
    nll_ref = np.where(s_hat < 0, _nll(n, zero, g_0, b, tau, m), _nll(n, s_hat, g_u, b, tau, m))
    q = np.maximum(2.0 * (nll_s - nll_ref), 0.0)
    return np.where(s_hat > s, 0.0, q)


def _asymptotic_limits(
    b: np.ndarray, db: np.ndarray, n_obs: np.ndarray | None, cl: float
) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1.0 - cl
    with np.errstate(divide="ignore"):
        tau = np.where(db > 0, (b / np.where(db > 0, db, 1.0)) ** 2, np.inf)
    m_obs = np.where(np.isfinite(tau), tau, 0.0)
    # Asimov data set of the background-only hypothesis, nuisance parameter fitted to the
    # observed data at s = 0 (as pyhf's generate_asimov_data does); nominal without data
    n_data = b if n_obs is None else np.asarray(n_obs, np.float64)
    g_a = _gamma_hat(n_data, np.zeros_like(b), b, tau, m_obs)
    n_a, m_a = g_a * b, np.where(np.isfinite(tau), tau * g_a, 0.0)

    def cls_fn(n: np.ndarray | None, nsigma: float | None) -> Callable[[np.ndarray], np.ndarray]:
        def f(s: np.ndarray) -> np.ndarray:
            sq_a = np.sqrt(_qtilde(n_a, s, b, tau, m_a))
            if n is None:
                # expected CLs at the background-only quantile nsigma (pyhf's convention)
                t = np.full_like(s, -float(nsigma))
            else:
                sq = np.sqrt(_qtilde(n, s, b, tau, m_obs))
                t = np.where(sq <= sq_a, sq - sq_a, (sq**2 - sq_a**2) / (2 * np.maximum(sq_a, 1e-300)))
            clsb = stats.norm.sf(t + sq_a)
            clb = stats.norm.sf(t)
            return clsb / clb - alpha

        return f

    hi = b + 5.0 * np.sqrt(b + db**2 + 1.0) + 5.0
    exp = np.column_stack([_bisect(cls_fn(None, ns), len(b), hi) for ns in BAND_SIGMAS])
    obs = np.full(len(b), np.nan)
    if n_obs is not None:
        obs = _bisect(cls_fn(n_data, None), len(b), hi + n_data)
    return exp, obs


def _pyhf_limits(
    b: np.ndarray, db: np.ndarray, n_obs: np.ndarray | None, cl: float
) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        # pyhf 0.7 validates models with jsonschema.RefResolver, deprecated in jsonschema >= 4.18
        warnings.simplefilter("ignore", DeprecationWarning)
        return _pyhf_limits_impl(b, db, n_obs, cl)


def _pyhf_limits_impl(
    b: np.ndarray, db: np.ndarray, n_obs: np.ndarray | None, cl: float
) -> tuple[np.ndarray, np.ndarray]:
    import pyhf

    exp = np.empty((len(b), 5))
    obs = np.full(len(b), np.nan)
    for i in range(len(b)):  # pyhf fits one model at a time
        model = pyhf.simplemodels.uncorrelated_background(
            signal=[1.0], bkg=[float(b[i])], bkg_uncertainty=[max(float(db[i]), 1e-6 * float(b[i]))]
        )
        n = float(b[i]) if n_obs is None else float(n_obs[i])
        data = [n, *model.config.auxdata]
        hi = float(b[i] + n + 5 * np.sqrt(b[i] + db[i] ** 2 + 1) + 10)
        o, e = pyhf.infer.intervals.upper_limits.toms748_scan(
            data, model, 1e-3 * hi, hi, level=1.0 - cl, rtol=1e-6, test_stat="qtilde",
            calctype="asymptotics", par_bounds=[(0.0, 10 * hi), (1e-10, 10.0)],
        )  # fmt: skip
        exp[i] = np.sort(np.asarray(e, np.float64))
        if n_obs is not None:
            obs[i] = float(o)
    return exp, obs


# --------------------------------------------------------------------- public entry
def upper_limits(
    b: np.ndarray | float,
    db: np.ndarray | float = 0.0,
    n_obs: np.ndarray | float | None = None,
    cl: float = 0.90,
    method: str = "cls",
) -> Limits:
    """Upper limits at confidence level ``cl`` (0.90 or 0.95 typically) on the signal yield
    (events) for backgrounds ``b`` +- ``db`` (events) and, optionally, observed counts ``n_obs``.

    Scalars or arrays (broadcast together).  See the module docstring for the methods.
    """
    if method not in METHODS:
        raise ValueError(f"unknown limit method {method!r} (choose from {', '.join(METHODS)})")
    if not 0.0 < cl < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {cl}")
    arrays = [np.asarray(b, np.float64), np.asarray(db, np.float64)]
    if n_obs is not None:
        arrays.append(np.asarray(n_obs, np.float64))
    shaped = [np.atleast_1d(a).ravel() for a in np.broadcast_arrays(*arrays)]
    bb, dbb = shaped[0], shaped[1]
    nn = shaped[2] if n_obs is not None else None
    if np.any(bb < 0) or np.any(dbb < 0):
        raise ValueError("background and its uncertainty must be >= 0")
    if method in ("cls", "bayes"):
        bk = _prior_nodes(bb, dbb)
        q = stats.norm.cdf(np.asarray(BAND_SIGMAS, np.float64))
        nq = poisson_quantiles(bb, dbb, q)
        exp = _count_limit(nq.ravel(), np.repeat(bk, len(q), axis=0), cl, method == "bayes")
        exp = exp.reshape(len(bb), len(q))
        obs = np.full(len(bb), np.nan) if nn is None else _count_limit(nn, bk, cl, method == "bayes")
    elif method == "asymptotic":
        exp, obs = _asymptotic_limits(bb, dbb, nn, cl)
    else:
        exp, obs = _pyhf_limits(bb, dbb, nn, cl)
    return Limits(expected=exp, observed=obs, cl=cl, method=method)


def category_limits(
    signal: np.ndarray,
    b: np.ndarray,
    db: np.ndarray,
    n_obs: np.ndarray | None = None,
    cl: float = 0.90,
) -> Limits:
    """Upper limit on a signal strength mu over several categories combined in one likelihood:
    n_c ~ Poisson(mu s_c + gamma_c b_c) x Poisson(m_c | tau_c gamma_c), tau_c = (b_c/db_c)^2
    (the model of ``pyhf.simplemodels.uncorrelated_background``, one bin per category), CLs with
    q~_mu in its asymptotic form (CCGV, EPJC 71 (2011) 1554).  The profile likelihood is the sum
    of the categories' terms with each gamma_c at its closed-form conditional maximum, so no
    fit is needed; mu_hat is found by bisection of the slope.  Expected limits use the
    background-only Asimov data set (mu_hat = 0).  Checked against pyhf (tests).

    ``signal``: expected events per category at mu = 1; ``n_obs``: observed counts per category
    (None: expected limits only).  Returns one point (shape (1, 5) expected, (1,) observed).
    """
    s = np.asarray(signal, np.float64)
    use = s > 0
    if not use.any():
        return Limits(np.full((1, 5), np.inf), np.full(1, np.nan), cl, "asymptotic")
    s = s[use]
    bb = np.asarray(b, np.float64)[use]
    dbb = np.asarray(db, np.float64)[use]
    alpha = 1.0 - cl
    with np.errstate(divide="ignore"):
        tau = np.where(dbb > 0, (bb / np.where(dbb > 0, dbb, 1.0)) ** 2, np.inf)
    m_obs = np.where(np.isfinite(tau), tau, 0.0)
    # background-only Asimov data, the nuisance parameters fitted to the observed data at mu = 0
    # (pyhf's generate_asimov_data); nominal without data
    n_data = bb if n_obs is None else np.asarray(n_obs, np.float64)[use]
    g_a = _gamma_hat(n_data, np.zeros_like(bb), bb, tau, m_obs)
    n_a, m_a = g_a * bb, np.where(np.isfinite(tau), tau * g_a, 0.0)

    def profile(n: np.ndarray, m: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """Profile -ln L(mu) (points,) summed over the categories."""
        mus = mu[:, None] * s[None, :]
        g = _gamma_hat(n[None, :], mus, bb[None, :], tau[None, :], m[None, :])
        return _nll(n[None, :], mus, g, bb[None, :], tau[None, :], m[None, :]).sum(axis=1)

    def mu_hat(n: np.ndarray, m: np.ndarray, hi: float) -> float:
        """Minimiser of the profile in [0, hi] (convex in mu): bisection on its slope."""
        lo_, hi_ = 0.0, hi
        eps = 1e-7 * hi
        if profile(n, m, np.array([eps]))[0] >= profile(n, m, np.array([0.0]))[0]:
            return 0.0
        for _ in range(80):
            mid = 0.5 * (lo_ + hi_)
            f = profile(n, m, np.array([mid * (1 - 1e-9), mid * (1 + 1e-9)]))
            if f[1] > f[0]:
                hi_ = mid
            else:
                lo_ = mid
        return 0.5 * (lo_ + hi_)

    hi = float((bb.sum() + 5.0 * np.sqrt(bb.sum() + (dbb**2).sum() + 1.0) + 5.0) / s.sum())
    nll_a0 = profile(n_a, m_a, np.zeros(1))[0]

    def sq_a(mu: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(2.0 * (profile(n_a, m_a, mu) - nll_a0), 0.0))

    def expected(nsigma: float) -> Callable[[np.ndarray], np.ndarray]:
        def f(mu: np.ndarray) -> np.ndarray:
            t = -float(nsigma)
            return stats.norm.sf(t + sq_a(mu)) / stats.norm.sf(t) - alpha

        return f

    exp = np.array([[_bisect(expected(ns), 1, np.array([hi]))[0] for ns in BAND_SIGMAS]])
    obs = np.full(1, np.nan)
    if n_obs is not None:
        n = n_data
        top = hi + float(n.sum() / s.sum())
        mh = mu_hat(n, m_obs, top)
        nll_h = profile(n, m_obs, np.array([mh]))[0]

        def observed(mu: np.ndarray) -> np.ndarray:
            sq = np.sqrt(np.maximum(2.0 * (profile(n, m_obs, mu) - nll_h), 0.0))
            sq = np.where(mu < mh, 0.0, sq)
            sa = sq_a(mu)
            t = np.where(sq <= sa, sq - sa, (sq**2 - sa**2) / (2 * np.maximum(sa, 1e-300)))
            return stats.norm.sf(t + sa) / stats.norm.sf(t) - alpha

        obs = _bisect(observed, 1, np.array([top]))
    return Limits(exp, obs, cl, "asymptotic")
