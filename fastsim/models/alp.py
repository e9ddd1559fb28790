"""The axion-like particle a (ALP) coupled to photons: a CP-odd scalar with coupling g_agg.

Lagrangian (../shared/reference/physics.md section 6a; Belle II, PRL 125 (2020) 161806,
arXiv:2007.13071; Dolan, Ferber, Hearty, Kahlhoefer, Schmidt-Hoberg, JHEP 12 (2017) 094,
arXiv:1709.00009):
  L > -(g_agg / 4) a F_{mu nu} F~^{mu nu},  F~^{mu nu} = (1/2) eps^{mu nu rho sigma} F_{rho sigma},
so the a gamma(k1, mu) gamma(k2, nu) vertex is g_agg eps^{mu nu rho sigma} k1_rho k2_sigma
(up to a phase).

Width (the only channel of a photon-coupled ALP, so BR(a -> gamma gamma) = 1):
  Gamma(a -> gamma gamma) = g_agg^2 m^3 / (64 pi)   (arXiv:2007.13071 eq. 2, arXiv:1709.00009);
  from the vertex: sum_pol |M|^2 = g^2 m^4 / 2, Gamma = |M|^2 / (2 m) / (8 pi) / 2 (identical photons).
Check (physics.md 6a): g = 1e-3 GeV^-1: c*tau = 5e-6 m at m = 0.2 GeV, 4e-8 m at 1 GeV (prompt).

Production: e+e- -> gamma* -> gamma a, the s-channel photon (massless electrons),
  sigma(e+e- -> gamma a) = alpha g_agg^2 / 24 (1 - m^2 / s)^3,
  dsigma / dcos theta = alpha g_agg^2 / 64 (1 - m^2 / s)^3 (1 + cos^2 theta)
(ALPaca ``sigmaNR_gammaALP``, citing Merlo, Pobbe, Rigolin, Sumensari, JHEP 06 (2019) 091,
arXiv:1905.03259, and the INSPIRE key DiLuzio:2024jip); alpha = alpha(0).
Numbers (physics.md 6a): 0.118 pb at g = 1e-3 GeV^-1 for m << sqrt(s); 0.056 pb at m = 5 GeV
(sqrt(s) = 10.58 GeV).  fastsim's generator ``ee_gamma_alp`` (fastsim/generators/ee_gamma_alp.py)
generates it with a -> gamma gamma.  sigma ~ g^2 and Gamma ~ g^2.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
from typing import ClassVar

from particle import Particle

from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.models.base import Model, NewParticle
from fastsim.schema import Field

__all__ = ["ALP", "sigma_ee_gamma_a_nb"]

PHOTON = 22
UPSILON_4S = 300553
#: sqrt(s) of the closed-form production entry: m(Upsilon(4S)) (PDG, via particle; MeV -> GeV)
SQRT_S_Y4S = Particle.from_pdgid(UPSILON_4S).mass / 1000.0


def sigma_ee_gamma_a_nb(s: float, mass: float, coupling: float) -> float:
    """sigma(e+e- -> gamma a) (nb) at CM energy squared ``s`` (GeV^2), ALP mass ``mass`` (GeV)
    and g_agg = ``coupling`` (GeV^-1): alpha g^2 / 24 (1 - m^2/s)^3 (ALPaca sigmaNR_gammaALP;
    arXiv:1905.03259), alpha = alpha(0); 0 at and above threshold m^2 >= s."""
    if mass * mass >= s:
        return 0.0
    return ALPHA_EM * coupling**2 / 24.0 * (1.0 - mass * mass / s) ** 3 * GEV2_TO_NB


class ALP(Model):
    name = "alp"
    title = "axion-like particle a coupled to photons (-(g_agg/4) a F F~)"
    coupling_label = r"$g_{a\gamma\gamma}$ [GeV$^{-1}$]"
    label = "axion-like particle $a$"
    particle = NewParticle(9900028, "a", spin=0.0)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="ALP mass", unit="GeV", min=0.0, min_exclusive=True),
        "coupling": Field(
            float, doc="g_agg: the a F F~ coupling", unit="GeV^-1", min=0.0, min_exclusive=True
        ),
    }
    references = ("arXiv:2007.13071", "arXiv:1709.00009", "arXiv:1905.03259")
    production_power = 2.0  # sigma(e+e- -> gamma a) ~ g^2, BR(gamma gamma) = 1
    width_power = 2.0  # Gamma ~ g^2

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        # Gamma(a -> gamma gamma) = g^2 m^3 / (64 pi) (arXiv:2007.13071, arXiv:1709.00009)
        return {(PHOTON, PHOTON): self.coupling**2 * self.mass**3 / (64.0 * math.pi)}

    def sigma_ee_gamma_a_nb(self, s: float) -> float:
        """sigma(e+e- -> gamma a) (nb) at this point and CM energy squared ``s`` (GeV^2)."""
        return sigma_ee_gamma_a_nb(s, self.mass, self.coupling)

    def production(self) -> dict[str, float]:
        s = SQRT_S_Y4S**2
        return {"sigma(e+e- -> gamma a) [nb] at sqrt(s) = m(Upsilon(4S))": self.sigma_ee_gamma_a_nb(s)}
