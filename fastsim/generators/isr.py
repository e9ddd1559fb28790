"""Initial-state radiation: the Kuraev-Fadin structure-function radiator.

sigma_obs(s) = int_0^xmax dx F(x, s) sigma_0(s (1 - x)),  x = 1 - s'/s,
F(x, s) = beta x^(beta - 1) [1 + (alpha/pi)(pi^2/3 - 1/2) + 3 beta / 4
                              - beta^2/24 (L/3 + 2 pi^2 - 37/4)]
          - beta (1 - x/2)
          + beta^2/8 [4 (2 - x) ln(1/x) + (1 + 3 (1 - x)^2)/x ln(1/(1 - x)) - 6 + x],
L = ln(s/m_e^2), beta = (2 alpha/pi)(L - 1)
(E.A. Kuraev, V.S. Fadin, Sov. J. Nucl. Phys. 41 (1985) 466, eq. 28; as in
../shared/reference/physics.md section 9).  The e+e- pair-emission term is left out
(below 1e-3 of sigma here).  The radiator uses alpha(0); vacuum polarisation of the
s-channel photon belongs to the processes (ee_mumu, ee_tautau: ``vacuum_polarization``).

Sampling: x from the mixture  p (beta x^(beta-1)/xmax^beta) + (1 - p) h(x), with h a
1/(1 - x) density on [0, xmax] for the radiative-return tail where sigma_0 ~ 1/s' grows;
the event weight is F(x, s) / density.

Photons along the beams (structure-function picture): the total energy fraction x is
shared between the two beams as z1 = (1 - x)^t, z2 = (1 - x)^(1 - t) with
t ~ Beta(beta/2, beta/2) (each beam radiates with the leading-log spectrum
(beta/2) y^(beta/2 - 1); the product of the two spectra at fixed y1 + y2 = x gives this
Beta law), so z1 z2 = 1 - x exactly.  The e- keeps the fraction z1 of its momentum and
the e+ z2; each radiates one photon exactly along its direction, and the hard system
recoils (rapidity y = ln(z1/z2)/2 along the e- direction in the CM frame).

Units: GeV.
"""

from __future__ import annotations

import math

import numpy as np

from fastsim.constants import ALPHA_EM

__all__ = ["Radiator"]


class Radiator:
    """Kuraev-Fadin radiator at CM energy squared s (GeV^2) with electron mass m_e (GeV)."""

    def __init__(self, s: float, m_e: float, alpha: float = ALPHA_EM) -> None:
        self.alpha = alpha
        self.m_e = m_e
        self.set_s(s)

    def set_s(self, s: float) -> None:
        a = self.alpha
        self.L = math.log(s / self.m_e**2)
        b = 2 * a / math.pi * (self.L - 1)
        self.beta = b
        self.norm = (
            1
            + a / math.pi * (math.pi**2 / 3 - 0.5)
            + 0.75 * b
            - b * b / 24 * (self.L / 3 + 2 * math.pi**2 - 37 / 4)
        )

    def F(self, x: np.ndarray) -> np.ndarray:
        """The radiator F(x, s) (per unit x)."""
        b = self.beta
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            hard = -b * (1 - x / 2) + b * b / 8 * (
                4 * (2 - x) * np.log(1 / x) + (1 + 3 * (1 - x) ** 2) / x * np.log(1 / (1 - x)) - 6 + x
            )
            return b * x ** (b - 1) * self.norm + hard

    def sample(self, n: int, xmax: float, rng: np.random.Generator, p_soft: float = 0.85) -> tuple:
        """x (n,) on [0, xmax] and weights F(x)/density (n,)."""
        b = self.beta
        u = rng.random(n)
        soft = rng.random(n) < p_soft
        x_soft = xmax * u ** (1 / b)
        # h(x) = 1 / ((1 - x) ln(1/(1 - xmax))) on [0, xmax]
        lmax = -math.log1p(-xmax)
        x_tail = -np.expm1(-u * lmax)
        x = np.where(soft, x_soft, x_tail)
        x = np.clip(x, 1e-300, xmax)
        dens = p_soft * b * x ** (b - 1) / xmax**b + (1 - p_soft) / ((1 - x) * lmax)
        return x, self.F(x) / dens

    def split(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Momentum fractions z1 (e-) and z2 (e+) with z1 z2 = 1 - x."""
        t = rng.beta(self.beta / 2, self.beta / 2, len(x))
        lz = np.log1p(-x)
        return np.exp(t * lz), np.exp((1 - t) * lz)
