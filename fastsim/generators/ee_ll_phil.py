"""e+e- -> l+ l- phi_L, phi_L -> mu+ mu-: the leptophilic scalar radiated off a muon or tau pair.

The exact tree-level amplitude of fastsim/generators/ee_llx.py (gamma*/Z -> l+ l-, the scalar
off either lepton line, its decay inside the amplitude, narrow width) with the leptophilic
scalar's couplings (fastsim/models/leptophilic_scalar.py): xi m_l / v at the production vertex
and xi m_mu / v at the decay vertex.  sigma = sigma(e+e- -> l l phi_L) x BR(phi_L -> mu mu),
sigma ~ xi^2.  With ``lepton: tau`` the taus carry their spin state from the amplitude (the
scalar emission flips helicity: the pair's correlation differs from gamma* -> tau tau) to the
tau decay engine (``_EELLX.spin_state``).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import ClassVar

from fastsim.generators.ee_llx import _EELLX, _X_PARAMS
from fastsim.models.leptophilic_scalar import LeptophilicScalar
from fastsim.schema import Field

__all__ = ["EELLLeptophilic"]


class EELLLeptophilic(_EELLX):
    name = "ee_ll_phil"
    doc = "e+e- -> l+ l- phi_L (leptophilic scalar off a mu or tau pair), phi_L -> mu+ mu-, narrow width"
    params: ClassVar[dict[str, Field]] = {
        **_X_PARAMS,
        "coupling": Field(
            float, 1.0, "xi (Yukawa xi m_l / v); sigma scales as its square", min=0.0, min_exclusive=True
        ),
        "lepton": Field(str, "mu", "lepton pair radiating phi_L", choices=("mu", "tau")),
        "decay": Field(str, "mumu", "phi_L decay generated", choices=("mumu",)),
    }
    vector = False
    model_class = LeptophilicScalar
    x_id = LeptophilicScalar.particle.pdg

    def couplings(self) -> tuple[float, float, float]:
        model: LeptophilicScalar = self.model  # type: ignore[assignment]
        production = model.yukawa(13 if self.lepton == "mu" else 15)
        decay = model.yukawa(13)
        return production, decay, decay
