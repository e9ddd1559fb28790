"""Event generators: a registry of processes selectable by name in a card.

Each generator is one module; importing this package registers them all.
"""

from __future__ import annotations

from fastsim.generators.base import Generator, XsecTally
from fastsim.schema import Field, Section

__all__ = ["GENERATORS", "Generator", "XsecTally", "process_schema", "register"]

GENERATORS: dict[str, type[Generator]] = {}


def register(cls: type[Generator]) -> type[Generator]:
    """Class decorator adding a generator to :data:`GENERATORS`."""
    GENERATORS[cls.name] = cls
    return cls


def process_schema(generator: str) -> Section:
    """Card schema of one process entry using ``generator``."""
    cls = GENERATORS[generator]
    return Section(
        {
            "generator": Field(str, generator, "generator name", choices=tuple(sorted(GENERATORS))),
            "events": Field(int, None, "events for this process (default: run.events)", min=1, nullable=True),
            **cls.params,
        },
        doc=cls.doc,
    )


from fastsim.generators import (
    ee_4mu,
    ee_llx,
    ee_mumu,
    ee_mumugamma,
)

__all__ += ["ee_4mu", "ee_llx", "ee_mumu", "ee_mumugamma"]

# External samples (LHE, LHEH5, HepMC3) register themselves as generators too.
import fastsim.external  # noqa: F401
from fastsim.generators import ee_mumu_born, particle_gun  # noqa: F401
