"""Model parameters, couplings, widths and branching fractions.

* Electroweak couplings of the Z (Peskin & Schroeder eq. 20.80):
  Z f f vertex -i (e / (s_W c_W)) gamma^mu (T3 P_L - Q s_W^2); on-shell
  s_W^2 = 1 - M_W^2 / M_Z^2 with M_W, M_Z, Gamma_Z from ``particle`` (PDG).
  e = sqrt(4 pi alpha(0)).
* L_mu - L_tau Z' (../shared/reference/physics.md section 1; DarkCast model.py eq. 2.13
  with x_mu = +1, x_tau = -1, neutrinos left-handed):
  Gamma(Z' -> l+ l-) = g'^2 m / (12 pi) (1 + 2 m_l^2/m^2) sqrt(1 - 4 m_l^2/m^2),
  Gamma(Z' -> nu nubar) = g'^2 m / (24 pi) per flavour (nu_mu, nu_tau).
* Muonphilic scalar (physics.md section 2, derived for L = -g_S S mubar mu):
  Gamma(S -> mu+ mu-) = g_S^2 m / (8 pi) (1 - 4 m_mu^2/m^2)^(3/2);
  Gamma(S -> gamma gamma) = alpha^2 g_S^2 m^3 / (256 pi^3 m_mu^2) |A_1/2(t)|^2,
  t = m^2/(4 m_mu^2), A_1/2 = 2 [t + (t - 1) f(t)] / t^2 (Djouadi, Phys. Rept. 457
  (2008) 1, hep-ph/0503172, eqs. 2.19-2.21, with the Higgs Yukawa m_mu/v -> g_S).

Units: GeV.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

import numpy as np

from fastsim.constants import ALPHA_EM

__all__ = ["EW", "ew_couplings", "scalar_widths", "zprime_widths"]


def _pdg_mass_width(pdgid: int) -> tuple[float, float]:
    from particle import Particle

    p = Particle.from_pdgid(pdgid)
    return p.mass / 1000.0, (p.width or 0.0) / 1000.0


def lepton_mass(pdgid: int, particles: object | None = None) -> float:
    """Mass in GeV from the run's particle table if given, else from ``particle``."""
    if particles is not None:
        return float(particles.mass(np.array([pdgid]))[0])
    return _pdg_mass_width(pdgid)[0]


@dataclass(frozen=True)
class EW:
    """QED and Z couplings of charged leptons (cL, cR entering -i gamma^mu (cL P_L + cR P_R))."""

    e: float
    mz: float
    wz: float
    sw2: float
    c_gamma: float  # e Q for a charged lepton (Q = -1)
    z_l: float  # left-handed Z coupling of a charged lepton
    z_r: float  # right-handed


def ew_couplings(alpha: float = ALPHA_EM) -> EW:
    e = math.sqrt(4 * math.pi * alpha)
    mz, wz = _pdg_mass_width(23)
    mw, _ = _pdg_mass_width(24)
    sw2 = 1 - (mw / mz) ** 2
    gz = e / math.sqrt(sw2 * (1 - sw2))
    q = -1.0
    return EW(e, mz, wz, sw2, e * q, gz * (-0.5 - q * sw2), gz * (-q * sw2))


def _beta(m: float, ml: float) -> float:
    return math.sqrt(max(1 - 4 * ml * ml / (m * m), 0.0))


def zprime_widths(m: float, g: float, m_mu: float, m_tau: float) -> dict[str, float]:
    """Partial widths (GeV) of the L_mu - L_tau Z' of mass m and coupling g."""
    out = {}
    for name, ml in (("mumu", m_mu), ("tautau", m_tau)):
        if m > 2 * ml:
            out[name] = g * g * m / (12 * math.pi) * (1 + 2 * ml * ml / (m * m)) * _beta(m, ml)
        else:
            out[name] = 0.0
    out["nunu"] = 2 * g * g * m / (24 * math.pi)  # nu_mu + nu_tau
    return out


def _a_half(t: float) -> complex:
    if t <= 1:
        f = complex(math.asin(math.sqrt(t)) ** 2)
    else:
        r = math.sqrt(1 - 1 / t)
        f = -0.25 * (cmath.log((1 + r) / (1 - r)) - 1j * math.pi) ** 2
    return 2 * (t + (t - 1) * f) / (t * t)


def scalar_widths(m: float, g: float, m_mu: float, alpha: float = ALPHA_EM) -> dict[str, float]:
    """Partial widths (GeV) of the muonphilic scalar of mass m and Yukawa g."""
    mumu = g * g * m / (8 * math.pi) * _beta(m, m_mu) ** 3 if m > 2 * m_mu else 0.0
    t = m * m / (4 * m_mu * m_mu)
    gg = alpha**2 * g * g * m**3 / (256 * math.pi**3 * m_mu**2) * abs(_a_half(t)) ** 2
    return {"mumu": mumu, "gammagamma": gg}
