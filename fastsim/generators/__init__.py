"""Event generators: a registry of processes selectable by name in a card.

Each generator is one module (one class with a ``name``, a ``params`` schema and a ``doc``);
:data:`GENERATORS` maps the name to it, one line per generator, imported on first use
(:class:`fastsim.registry.Registry`), so no generator module imports this package.
"""

from __future__ import annotations

from typing import Any

from fastsim.registry import Registry
from fastsim.schema import Field, Section

__all__ = ["GENERATORS", "process_schema"]

#: generator name -> "module:class" (a new generator: one file and one line here)
GENERATORS = Registry(
    "generator",
    {
        "ee_mumu": "fastsim.generators.ee_mumu:EEMuMuBorn",
        "ee_tautau": "fastsim.generators.ee_tautau:EETauTau",
        "ee_tautau_hnl": "fastsim.generators.ee_tautau_hnl:EETauTauHNL",
        "ee_qqbar": "fastsim.generators.ee_qqbar:EEQQbar",
        "ups4s_bbbar": "fastsim.generators.ups4s_bbbar:Ups4SBBbar",
        "ee_mumu_born": "fastsim.generators.ee_mumu_born:EEMuMuBornAnalytic",
        "ee_mumu_zprime": "fastsim.generators.ee_llx:EEMuMuZprime",
        "ee_mumu_scalar": "fastsim.generators.ee_llx:EEMuMuScalar",
        "ee_ll_phil": "fastsim.generators.ee_ll_phil:EELLLeptophilic",
        "ee_tautau_phil": "fastsim.generators.ee_tautau_phil:EETauTauPhiL",
        "ee_gamma_alp": "fastsim.generators.ee_gamma_alp:EEGammaALP",
        "ee_gamma_aprime": "fastsim.generators.ee_gamma_aprime:EEGammaAPrime",
        "ee_4mu": "fastsim.generators.ee_4mu:EE4Mu",
        "ee_eell": "fastsim.generators.ee_eell:EEEELL",
        "ee_eegamma": "fastsim.generators.ee_eegamma:EEEEGamma",
        "ee_mumugamma": "fastsim.generators.ee_mumugamma:EEMuMuGamma",
        "ee_gammagamma": "fastsim.generators.ee_gammagamma:EEGammaGamma",
        "particle_gun": "fastsim.generators.particle_gun:ParticleGun",
        # external samples (fastsim/external/)
        "lhe": "fastsim.external.lhe:LHEGenerator",
        "lheh5": "fastsim.external.lheh5:LHEH5Generator",
        "hepmc": "fastsim.external.hepmc:HepMCGenerator",
    },
)


def process_schema(generator: str) -> Section:
    """Card schema of one process entry using ``generator``."""
    cls: Any = GENERATORS[generator]
    return Section(
        {
            "generator": Field(str, generator, "generator name", choices=tuple(sorted(GENERATORS))),
            "events": Field(int, None, "events for this process (default: run.events)", min=1, nullable=True),
            **cls.params,
        },
        doc=cls.doc,
    )
