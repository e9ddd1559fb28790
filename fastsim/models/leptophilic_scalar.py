"""The leptophilic scalar phi_L: a CP-even scalar with Yukawa couplings proportional to the
lepton masses, xi m_l / v, to e, mu and tau.

Lagrangian (../shared/reference/physics.md section 4; Batell, Freitas, Ismail, McKeen,
arXiv:1712.10022; Chen, Davoudiasl, Marciano, Zhang, PRD 93 (2016) 035006):
  L > -xi sum_{l = e, mu, tau} (m_l / v) phi_L lbar l,   v = (sqrt(2) G_F)^(-1/2) = 246.22 GeV.
Partial widths:
  Gamma(phi_L -> l+ l-) = xi^2 m_l^2 m / (8 pi v^2) (1 - 4 m_l^2/m^2)^(3/2)  (the muonphilic
      scalar's width with g_S -> xi m_l / v);
  Gamma(phi_L -> gamma gamma) = alpha^2 xi^2 m^3 / (256 pi^3 v^2) |sum_l A_1/2(t_l)|^2,
      t_l = m^2/(4 m_l^2) (hep-ph/0503172 eqs. 2.19-2.21, the three lepton loops added
      coherently); alpha = alpha(0).
Check (physics.md section 4): m = 0.1 GeV, xi = 1: Gamma(e e) = 1.7e-14 GeV, c*tau = 1.2 cm.

Production: e+e- -> tau+ tau- phi_L dominates (coupling ~ m_tau); fastsim's generator
``ee_ll_phil`` radiates phi_L off a mu or tau pair (fastsim/generators/ee_ll_phil.py).
sigma ~ xi^2 and every width ~ xi^2.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import math
from typing import ClassVar

from particle import Particle

from fastsim.constants import ALPHA_EM, G_FERMI
from fastsim.models.base import Model, NewParticle
from fastsim.models.muonphilic_scalar import a_half
from fastsim.schema import Field

__all__ = ["VEV_GEV", "LeptophilicScalar"]

#: Higgs vacuum expectation value v = (sqrt(2) G_F)^(-1/2), GeV (G_F from PDG via scipy)
VEV_GEV = (math.sqrt(2.0) * G_FERMI) ** -0.5
M_TAU_GEV = Particle.from_pdgid(15).mass / 1000.0  # PDG, via particle (MeV -> GeV)
ELECTRON, MUON, TAU, PHOTON = 11, 13, 15, 22


class LeptophilicScalar(Model):
    name = "leptophilic_scalar"
    title = "leptophilic scalar phi_L (Yukawa couplings xi m_l / v to the charged leptons)"
    coupling_label = r"$\xi$"
    label = r"leptophilic scalar $\phi_L$"
    particle = NewParticle(9900026, "phi_L", spin=0.0)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="phi_L mass", unit="GeV", min=0.0, min_exclusive=True),
        # max: the tau Yukawa xi m_tau / v perturbative, below sqrt(4 pi) -> xi < sqrt(4 pi) v / m_tau
        # = 491 [D] (a coupling island of a search ends there)
        "coupling": Field(
            float,
            doc="xi: the Yukawa couplings are xi m_l / v",
            min=0.0,
            min_exclusive=True,
            max=math.sqrt(4 * math.pi) * VEV_GEV / M_TAU_GEV,
        ),
    }
    references = ("arXiv:1712.10022", "hep-ph/0503172", "arXiv:2207.07476")

    def yukawa(self, lepton: int) -> float:
        """xi m_l / v for lepton ``lepton`` (PDG id)."""
        return self.coupling * self.sm_mass(lepton) / VEV_GEV

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        m = self.mass
        out: dict[tuple[int, ...], float] = {}
        amp = 0j
        for lep in (ELECTRON, MUON, TAU):
            ml = self.sm_mass(lep)
            if m > 2 * ml:
                y = self.yukawa(lep)
                out[(-lep, lep)] = y * y * m / (8 * math.pi) * math.sqrt(1 - 4 * ml * ml / (m * m)) ** 3
            amp += a_half(m * m / (4 * ml * ml))
        xi = self.coupling
        out[(PHOTON, PHOTON)] = ALPHA_EM**2 * xi**2 * m**3 / (256 * math.pi**3 * VEV_GEV**2) * abs(amp) ** 2
        return out
