"""QCD inputs shared by the models and the generators: the running coupling alpha_s(mu) and
MS-bar running quark masses.

alpha_s: two-loop running (beta0, beta1 of the PDG QCD review, eqs. 9.3-9.5) from the PDG
world average alpha_s(M_Z) = 0.1180, n_f = 5 down to m_b(m_b) = 4.18 GeV and n_f = 4 below,
integrated with RK4 in ln mu^2 on a grid (1 GeV < mu < M_Z).  Running masses: one-loop
m(mu) = m(mu0) [alpha_s(mu) / alpha_s(mu0)]^(gamma0 / beta0) with gamma0 / beta0 =
12 / (33 - 2 n_f) (PDG QCD review, "quark masses"), n_f = 4, from the PDG MS-bar values the
``particle`` package gives (m_s at 2 GeV, m_c at m_c, m_b at m_b).

Units: GeV.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["ALPHA_S_MZ", "M_B_MATCH", "alpha_s", "running_mass"]

ALPHA_S_MZ = 0.1180  # PDG 2024 world average
M_B_MATCH = 4.18  # GeV, MSbar m_b (PDG): the n_f = 5 -> 4 threshold of the running


@functools.cache
def _alpha_s_table() -> tuple[np.ndarray, np.ndarray]:
    """alpha_s on a grid of log(mu / GeV) (module docstring)."""
    from particle import Particle

    mz = Particle.from_pdgid(23).mass / 1000.0

    def deriv(a: float, nf: int) -> float:
        b0 = (33 - 2 * nf) / (12 * math.pi)
        b1 = (153 - 19 * nf) / (24 * math.pi**2)
        return -(a * a) * (b0 + b1 * a)  # d alpha / d ln mu^2

    grid = np.linspace(math.log(mz), math.log(1.0), 2001)
    vals = np.empty_like(grid)
    a = ALPHA_S_MZ
    vals[0] = a
    for i in range(1, len(grid)):
        h = 2.0 * (grid[i] - grid[i - 1])  # step in ln mu^2
        nf = 5 if grid[i - 1] > math.log(M_B_MATCH) else 4
        k1 = deriv(a, nf)
        k2 = deriv(a + 0.5 * h * k1, nf)
        k3 = deriv(a + 0.5 * h * k2, nf)
        k4 = deriv(a + h * k3, nf)
        a += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        vals[i] = a
    return grid[::-1].copy(), vals[::-1].copy()


def alpha_s(mu: np.ndarray | float) -> np.ndarray:
    """alpha_s(mu) (mu in GeV, 1 < mu < M_Z; clamped at the ends)."""
    x, y = _alpha_s_table()
    return np.interp(np.log(np.asarray(mu, np.float64)), x, y)


#: the scale (GeV) at which the ``particle`` package's MS-bar mass of each quark is quoted (PDG)
_MASS_SCALE = {3: 2.0, 4: None, 5: None}  # None: m(m)


def running_mass(quark: int, mu: float) -> float:
    """MS-bar mass m_q(mu) (GeV) of quark 3 (s), 4 (c) or 5 (b) at scale ``mu`` (module docstring)."""
    from particle import Particle

    m0 = Particle.from_pdgid(quark).mass / 1000.0
    mu0 = _MASS_SCALE[quark] or m0
    power = 12.0 / 25.0  # gamma0 / beta0 for n_f = 4
    return float(m0 * (alpha_s(max(mu, 1.0)) / alpha_s(mu0)) ** power)
