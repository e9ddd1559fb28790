"""Vacuum polarisation of the photon: Pi(s) and the running coupling alpha(s).

Convention (Peskin & Schroeder, "An Introduction to QFT", eqs. 7.90-7.96): the renormalised
self-energy Pi(s) = Pi_2(s) - Pi_2(0), evaluated at s + i0, dresses the photon propagator as
-i g / (s (1 - Pi(s))), so that

    alpha(s) = alpha(0) / (1 - Pi(s)),     Re Pi(s) = Delta alpha(s) > 0 for |s| >> m_e^2,

and Im Pi(s) = -(alpha/3) R(s) <= 0 on the cut (optical theorem; R = sigma / sigma_pt).  A
pure s-channel photon |M|^2 computed with alpha(0) is multiplied by
``vp_factor(s)`` = 1 / |1 - Pi(s)|^2; amplitudes that interfere (photon with Z) take the
complex 1 / (1 - Pi(s)) on the photon exchange alone.  s is timelike for s > 0 and spacelike
for s < 0.

Leptons (e, mu, tau; masses from ``particle`` via :func:`electroweak.lepton_mass`): the exact
one-loop result with the full mass dependence (P & S eq. 7.90:
Pi(s) = (2 alpha/pi) int_0^1 dx x(1-x) ln(1 - x(1-x) s/m^2 - i0)), in closed form
(as in H. Burkhardt's ``REPI`` routines, which cite Burgers and Hollik)

    Pi_l(s) = (alpha / 3 pi) [1/3 - (1 + 2 m^2/s) F(s)],
    F = 2 + beta ln((1 - beta)/(1 + beta)) + i pi beta,   beta = sqrt(1 - 4 m^2/s), s > 4 m^2,
    F = 2 + beta ln((beta - 1)/(beta + 1)),                beta > 1,               s < 0,
    F = 2 - 2 b arctan(1/b),                               b = sqrt(4 m^2/s - 1),  0 < s < 4 m^2,

so Im Pi_l = -(alpha/3) beta (3 - beta^2)/2 above threshold, and
Pi_l -> (alpha/3 pi)(ln(|s|/m^2) - 5/3 - i pi theta(s)) for |s| >> m^2.  Two-loop leptonic
terms (O(alpha^2): 0.78e-4 in Re Pi at M_Z, M. Steinhauser, hep-ph/9803313; less at 10.58 GeV)
are not included.  For |s| < 0.1 m^2 the Taylor series of the same integral is used.

Hadrons (u, d, s, c, b): the parametrisation of H. Burkhardt and B. Pietrzyk, "Low energy
hadronic contribution to the QED vacuum polarization", Phys. Lett. B356 (1995) 398 (update
of Burkhardt, Jegerlehner, Penso, Verzegnassi, Z. Phys. C43 (1989) 497), a fit to their
dispersion integral over e+e- -> hadrons data,

    Re Pi_had(s) = Delta alpha_had(s) = A + B ln(1 + C |s|)   piecewise in |s|  (``_BP95``).

The coefficients were read from two public transcriptions that agree digit for digit: the
``REPI95`` function of KKMC's ``vacpol`` (KeyPia = 3, "Burkhardt and Pietrzyk 1995
(Moriond)") and PHOTOS's ``Ph_Alpha_Run`` ("Ref: Phys.Lett.B356 (1995) 398-403").  The fit
gives Delta alpha_had^(5)(M_Z^2) = 0.02800, the paper's value 0.0280 +- 0.0007 (as recalled,
not re-read here); the PDG value 0.02766 is 3.4e-4 (1.2 %) lower.  At sqrt(s) = 10.58 GeV it gives
0.01525 (the 1989 parametrisation: 0.01583, tests/test_vacuum_polarization.py).  The
imaginary part is the leading-log continuation of the fitted logarithm, Im Pi_had = -pi B,
i.e. R_eff = 3 pi B / alpha = 3.25, 3.61, 3.83, 3.77 in the regions above 2 GeV; it is set
to 0 below 2 GeV (resonance region, not known from the fit); all of Im Pi_had changes
1 / |1 - Pi|^2 by 1.5e-4 (2 GeV) to 2.5e-4 (M_Z).  Accuracy of 1 / |1 - Pi|^2: ~ 1e-3 above
2 GeV away from narrow resonances (the spread of the hadronic fits, 2 x 5.8e-4 at 10.58 GeV;
two-loop leptonic terms ~ 1e-4; the approximate Im Pi_had).  The fit is smooth: the rho-omega
and phi structure between 0.6 and 1.1 GeV (seen in Pi by KLOE, arXiv:1705.08793) and the
narrow J/psi, psi(2S), Upsilon(1S-3S) are not described: near the rho, omega, phi the factor
may be off by O(1 %) (estimate, not checked), on the narrow peaks by any amount (their
resonant production is a separate process).  Valid from |s| = 0 up to (100 TeV)^2 (the fit's
last region ends at 100 TeV).

Units: s in GeV^2 (masses in GeV); Pi and the factors are dimensionless.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from fastsim.constants import ALPHA_EM
from fastsim.generators.electroweak import lepton_mass

__all__ = ["LEPTONS", "alpha_running", "pi_gamma", "pi_hadronic", "pi_lepton", "vp_factor"]

#: PDG ids of the charged leptons in the loop
LEPTONS: tuple[int, ...] = (11, 13, 15)

#: Burkhardt & Pietrzyk, Phys. Lett. B356 (1995) 398: (|s| upper edge in GeV^2, A, B, C) per
#: region; edges at sqrt|s| = 2, 4, 10, 91.2 GeV (read from KKMC vacpol REPI95 and PHOTOS
#: Ph_Alpha_Run, which agree).  The last region is used above (91.2 GeV)^2 without bound.
_BP95: tuple[tuple[float, float, float, float], ...] = (
    (2.0**2, 0.0, 0.00228770, 4.08041425),
    (4.0**2, 0.0, 0.00251507, 3.09624477),
    (10.0**2, 0.0, 0.00279328, 2.07463133),
    (91.2**2, 0.00122270, 0.00296694, 1.0),
    (math.inf, 0.00164178, 0.00292051, 1.0),
)
#: below this s (GeV^2) the imaginary part of the hadronic piece is set to 0 (sqrt(s) = 2 GeV)
_IM_HAD_S_MIN: float = 4.0


#: Pi_l(s) / (alpha / 3 pi) = sum_n c_n (s/m^2)^n for |s| < 4 m^2, from ln(1 - u) in the
#: Feynman-parameter integral: c_n = -6 B(n+2, n+2) / n (-1/5, -3/140, -1/315, ...); 12 terms
#: leave < 1e-20 at |s/m^2| < 0.1
_SERIES: tuple[float, ...] = tuple(
    -6 * math.gamma(n + 2) ** 2 / math.gamma(2 * n + 4) / n for n in range(1, 13)
)
_SERIES_Z: float = 0.1


@lru_cache(maxsize=1)
def _lepton_masses() -> tuple[float, ...]:
    return tuple(lepton_mass(pid) for pid in LEPTONS)


def pi_lepton(s: np.ndarray | float, m: float, alpha: float = ALPHA_EM) -> np.ndarray:
    """One-loop Pi(s) (complex) of a charged lepton of mass m (GeV), exact in m; s in GeV^2."""
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    m2 = m * m
    out = np.zeros(s.shape, np.complex128)
    z = s / m2
    # |s| < 0.1 m^2: the series (the closed form loses ~ (m^2/s)^2 digits to cancellation)
    small = np.abs(z) < _SERIES_Z
    zs = z[small]
    out[small] = sum(c * zs**n for n, c in enumerate(_SERIES, start=1))

    above = ~small & (s >= 4 * m2)
    r = 4 * m2 / s[above]
    b = np.sqrt(1 - r)
    # ln((1 - b)/(1 + b)) with 1 - b = r / (1 + b): no cancellation when m^2 << s
    f = 2 + b * np.log(r / (1 + b) ** 2) + 1j * np.pi * b
    out[above] = 1 / 3 - (1 + r / 2) * f

    below = ~small & (s > 0) & (s < 4 * m2)
    bb = np.sqrt(4 * m2 / s[below] - 1)
    out[below] = 1 / 3 - (1 + 2 * m2 / s[below]) * (2 - 2 * bb * np.arctan(1 / bb))

    space = ~small & (s < 0)
    r = 4 * m2 / -s[space]
    b = np.sqrt(1 + r)
    # ln((b - 1)/(b + 1)) with b - 1 = r / (b + 1)
    out[space] = 1 / 3 - (1 - r / 2) * (2 + b * np.log(r / (b + 1) ** 2))
    return alpha / (3 * np.pi) * out


def pi_hadronic(s: np.ndarray | float) -> np.ndarray:
    """Hadronic Pi(s) (complex; 5 flavours), Burkhardt & Pietrzyk 1995; s in GeV^2."""
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    t = np.abs(s)
    edges = np.array([r[0] for r in _BP95])
    k = np.minimum(np.searchsorted(edges, t, side="right"), len(_BP95) - 1)
    a = np.array([r[1] for r in _BP95])[k]
    b = np.array([r[2] for r in _BP95])[k]
    c = np.array([r[3] for r in _BP95])[k]
    im = np.where(s >= _IM_HAD_S_MIN, -np.pi * b, 0.0)
    return (a + b * np.log1p(c * t)) + 1j * im


def pi_gamma(s: np.ndarray | float) -> np.ndarray:
    """Photon vacuum polarisation Pi(s) (complex): e, mu, tau (one loop) + hadrons.

    alpha(s) = alpha(0) / (1 - Pi(s)); s in GeV^2 (> 0 timelike, < 0 spacelike)."""
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    out = pi_hadronic(s)
    for m in _lepton_masses():
        out = out + pi_lepton(s, m)
    return out


def vp_factor(s: np.ndarray | float) -> np.ndarray:
    """1 / |1 - Pi(s)|^2: the factor multiplying a pure s-channel photon |M|^2 (s in GeV^2)."""
    return 1.0 / np.abs(1.0 - pi_gamma(s)) ** 2


def alpha_running(s: np.ndarray | float) -> np.ndarray:
    """alpha(0) / (1 - Re Pi(s)): the real running coupling (s in GeV^2)."""
    return ALPHA_EM / (1.0 - pi_gamma(s).real)
