"""Physics models: one module per model, each declaring its new particles, parameters, partial
widths, branching fractions, lifetime, closed-form production rates and coupling scaling
(:class:`fastsim.models.base.Model`).

:data:`MODELS` maps a model's name to its class, one line per model, imported on first use.
Generators take their widths from these classes; the card's ``models:`` section adds a model
point's particle with its decay table to a run; ``fastsim models`` prints them; the analysis
layer interprets limits through them.  Adding a model: docs/adding_a_model.md.
"""

from __future__ import annotations

from typing import Any

from fastsim.registry import Registry

__all__ = ["MODELS", "get_model", "model_for_pdg"]

#: model name -> "module:class" (a new model: one file and one line here)
MODELS = Registry(
    "model",
    {
        "zprime": "fastsim.models.zprime:ZPrime",
        "muonphilic_scalar": "fastsim.models.muonphilic_scalar:MuonphilicScalar",
        "leptophilic_scalar": "fastsim.models.leptophilic_scalar:LeptophilicScalar",
        "dark_higgs": "fastsim.models.dark_higgs:DarkHiggs",
        "alp": "fastsim.models.alp:ALP",
        "alp_w": "fastsim.models.alp_w:ALPW",
        "hnl_tau": "fastsim.models.hnl_tau:HNLTau",
        "hnl_majorana": "fastsim.models.hnl_tau:HNLTauMajorana",
        "hnl_dirac": "fastsim.models.hnl_tau:HNLTauDirac",
        "dark_photon": "fastsim.models.dark_photon:DarkPhoton",
    },
)

#: names written by earlier fastsim versions (files, cards) -> model name
ALIASES = {"scalar": "muonphilic_scalar"}


def get_model(name: str) -> Any:
    """The model class called ``name`` (or one of its :data:`ALIASES`)."""
    return MODELS[ALIASES.get(name, name)]


def model_for_pdg(pdg: int) -> str | None:
    """The name of the model whose new particle has PDG id ``|pdg|`` (None if none)."""
    for name in MODELS:
        if MODELS[name].particle.pdg == abs(int(pdg)):
            return name
    return None
