"""The muonphilic scalar S: a CP-even scalar with a Yukawa coupling g_S to muons only.

Lagrangian (../shared/reference/physics.md section 2; e.g. Batell, Freitas, Ismail, McKeen,
arXiv:1712.10022):  L > -g_S S mubar mu.
Partial widths:
  Gamma(S -> mu+ mu-) = g_S^2 m / (8 pi) (1 - 4 m_mu^2/m^2)^(3/2)  (derived: the Higgs
      leptonic width with the Yukawa m_mu/v -> g_S);
  Gamma(S -> gamma gamma) = alpha^2 g_S^2 m^3 / (256 pi^3 m_mu^2) |A_1/2(t)|^2, t = m^2/(4 m_mu^2),
      A_1/2 = 2 [t + (t - 1) f(t)] / t^2, f = arcsin^2 sqrt(t) for t <= 1 and
      -1/4 [ln((1 + sqrt(1 - 1/t)) / (1 - sqrt(1 - 1/t))) - i pi]^2 above
      (Djouadi, Phys. Rept. 457 (2008) 1, hep-ph/0503172, eqs. 2.19-2.21, Yukawa m_mu/v -> g_S);
      alpha = alpha(0), the on-shell photons' coupling.
Above 2 m_mu the two-photon channel is below 1e-4 of the dimuon one.

Production: e+e- -> mu+ mu- S (``ee_mumu_scalar``, fastsim/generators/ee_llx.py), sigma ~ g_S^2.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import cmath
import math
from typing import ClassVar

from fastsim.constants import ALPHA_EM
from fastsim.models.base import Model, NewParticle
from fastsim.schema import Field

__all__ = ["MuonphilicScalar", "a_half"]

MUON, PHOTON = 13, 22


def a_half(t: float) -> complex:
    """Spin-1/2 loop amplitude A_1/2(t), t = m^2 / (4 m_f^2) (hep-ph/0503172 eq. 2.20)."""
    if t <= 1:
        f = complex(math.asin(math.sqrt(t)) ** 2)
    else:
        r = math.sqrt(1 - 1 / t)
        f = -0.25 * (cmath.log((1 + r) / (1 - r)) - 1j * math.pi) ** 2
    return 2 * (t + (t - 1) * f) / (t * t)


class MuonphilicScalar(Model):
    name = "muonphilic_scalar"
    title = "muonphilic scalar S (Yukawa coupling g_S to muons only)"
    coupling_label = "$g_S$"
    label = "muonphilic scalar $S$"
    particle = NewParticle(9900025, "S", spin=0.0)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="S mass", unit="GeV", min=0.0, min_exclusive=True),
        "coupling": Field(float, doc="Yukawa coupling g_S to muons", min=0.0, min_exclusive=True),
    }
    references = ("arXiv:1712.10022", "hep-ph/0503172", "arXiv:2403.02841")

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        m, g = self.mass, self.coupling
        m_mu = self.sm_mass(MUON)
        out: dict[tuple[int, ...], float] = {}
        if m > 2 * m_mu:
            out[(-MUON, MUON)] = (
                g * g * m / (8 * math.pi) * math.sqrt(max(1 - 4 * m_mu * m_mu / (m * m), 0.0)) ** 3
            )
        t = m * m / (4 * m_mu * m_mu)
        out[(PHOTON, PHOTON)] = (
            ALPHA_EM**2 * g * g * m**3 / (256 * math.pi**3 * m_mu**2) * abs(a_half(t)) ** 2
        )
        return out
