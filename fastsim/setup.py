"""Build the run's objects (beams, particle table, decay table, generators) from a card."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from fastsim.beams import BeamSetup
from fastsim.generators import GENERATORS
from fastsim.generators.base import Generator
from fastsim.particles import ParticleTable

__all__ = ["build_beams", "build_decay_table", "build_generator", "build_particle_table"]


def build_beams(card: dict[str, Any]) -> BeamSetup:
    return BeamSetup.from_card(card["beam"])


def build_particle_table(card: dict[str, Any]) -> ParticleTable:
    """PDG data from ``particle`` plus the card's new or overridden particles."""
    table = ParticleTable()
    for pdg, entry in card.get("particles", {}).items():
        table.register(
            pdg,
            entry["name"],
            mass=entry["mass"],
            ctau=entry["ctau"],
            width=entry["width"],
            charge=entry["charge"],
        )
        if entry.get("model"):
            point = dict(entry["model"])
            table.models[pdg] = (str(point.pop("name")), point)
        if entry["ctau_mixture"]:
            comps = np.array(entry["ctau_mixture"], dtype=np.float64)
            table.ctau_mixtures[pdg] = comps
            if entry["charge"] != 0:
                table.ctau_mixtures[-pdg] = comps
    return table


def build_generator(params: dict[str, Any], beams: BeamSetup, table: ParticleTable) -> Generator:
    cls = GENERATORS[params["generator"]]
    return cls(params, beams, table)


@functools.lru_cache(maxsize=4)
def _dec_table(dec_file: str) -> Any:
    from fastsim.decays import DecayTable, sm_decay_table

    if dec_file == "DECAY_BELLE2.DEC":
        return sm_decay_table()
    return DecayTable.from_dec_file(dec_file)


def build_decay_table(card: dict[str, Any]) -> Any:
    """The SM decay table (from the card's DEC file) plus the card's particles' own modes."""
    import copy

    from fastsim.decays import add_card_particle

    table = copy.deepcopy(_dec_table(card["decays"]["dec_file"]))
    particles = build_particle_table(card)
    for pdg, entry in card.get("particles", {}).items():
        if entry["decays"]:
            modes = [(d["br"], tuple(d["daughters"]), d.get("model", "PHSP")) for d in entry["decays"]]
            if entry.get("drop_closed_modes"):
                modes = [m for m in modes if _threshold(m[1], particles) < entry["mass"]]
            add_card_particle(table, pdg, modes, entry["charge"], entry["mass"])
    return table


def _threshold(ids: tuple[int, ...], particles: ParticleTable) -> float:
    """Sum of the daughters' masses (GeV)."""
    return float(particles.mass(np.array(ids, dtype=np.int64)).sum())


def stable_ids(card: dict[str, Any]) -> frozenset[int]:
    from fastsim.decays import DEFAULT_STABLE

    return frozenset(DEFAULT_STABLE) | frozenset(int(x) for x in np.asarray(card["decays"]["stable"], int))
