"""The L_mu - L_tau Z': a vector boson coupled with strength g' to L_mu - L_tau.

Lagrangian (../shared/reference/physics.md section 1; Shuve & Yavin, arXiv:1403.2727;
Altmannshofer et al., arXiv:1609.04026):
  L > g' Z'_a [mubar g^a mu - taubar g^a tau + nubar_mu g^a P_L nu_mu - nubar_tau g^a P_L nu_tau].
Partial widths (DarkCast, arXiv:1801.04847, model.py eq. 2.13 with x_mu = +1, x_tau = -1,
neutrinos left-handed):
  Gamma(Z' -> l+ l-)       = g'^2 m / (12 pi) (1 + 2 m_l^2/m^2) sqrt(1 - 4 m_l^2/m^2),  l = mu, tau;
  Gamma(Z' -> nu nubar)    = g'^2 m / (24 pi) per flavour (nu_mu, nu_tau).
So BR(mu mu) = BR(invisible) = 1/2 between the muon and tau thresholds.  The loop-induced
kinetic mixing with the photon (eps ~ g'/70) and hence Z' -> e+ e- are neglected.

Production: e+e- -> mu+ mu- Z' (and tau+ tau- Z') has no closed form; fastsim's generator
is ``ee_mumu_zprime`` (fastsim/generators/ee_llx.py).  sigma ~ g'^2 exactly at tree level
and every width ~ g'^2, so BRs do not depend on g' (production_power = width_power = 2).

Units: GeV, cm, ns.
"""

from __future__ import annotations

import math
from typing import ClassVar

from fastsim.models.base import Model, NewParticle
from fastsim.schema import Field

__all__ = ["ZPrime"]

MUON, TAU, NU_MU, NU_TAU = 13, 15, 14, 16


class ZPrime(Model):
    name = "zprime"
    title = "L_mu - L_tau Z' (vector coupled to muon minus tau lepton number)"
    coupling_label = "$g'$"
    label = r"$L_\mu - L_\tau$ $Z'$"
    particle = NewParticle(9900023, "Z'", spin=1.0)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="Z' mass", unit="GeV", min=0.0, min_exclusive=True),
        "coupling": Field(float, doc="gauge coupling g'", min=0.0, min_exclusive=True),
    }
    references = ("arXiv:1403.2727", "arXiv:1609.04026", "arXiv:1801.04847 (DarkCast)", "arXiv:2403.02841")

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        m, g = self.mass, self.coupling
        out: dict[tuple[int, ...], float] = {}
        for lep in (MUON, TAU):
            ml = self.sm_mass(lep)
            if m > 2 * ml:
                r = ml * ml / (m * m)
                out[(-lep, lep)] = g * g * m / (12 * math.pi) * (1 + 2 * r) * math.sqrt(1 - 4 * r)
        for nu in (NU_MU, NU_TAU):
            out[(nu, -nu)] = g * g * m / (24 * math.pi)
        return out
