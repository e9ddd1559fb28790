"""Standard-Model electroweak couplings of the charged leptons, and lepton masses.

* Z f f vertex -i (e / (s_W c_W)) gamma^mu (T3 P_L - Q s_W^2) (Peskin & Schroeder eq. 20.80);
  on-shell s_W^2 = 1 - M_W^2 / M_Z^2 with M_W, M_Z, Gamma_Z from ``particle`` (PDG);
  e = sqrt(4 pi alpha(0)).

New-physics models (widths, branching fractions, lifetimes) live in :mod:`fastsim.models`.

Units: GeV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fastsim.constants import ALPHA_EM

__all__ = ["EW", "ew_couplings", "lepton_mass"]


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
