"""Physics checks of a validated card: decay thresholds, known particles, process thresholds.

Called by :func:`fastsim.cards.validate_card` after the schema checks, so that a card
asking for an impossible decay or a process above the beam energy fails before any work.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fastsim.schema import CardError

__all__ = ["check_card_physics"]


def check_card_physics(card: dict[str, Any], origin: Any) -> None:
    """Raise :class:`CardError` on the first unphysical setting."""
    from fastsim.setup import build_beams, build_generator, build_particle_table

    table = build_particle_table(card)
    for pdg, entry in card["particles"].items():
        total_br = sum(d["br"] for d in entry["decays"])
        if entry["decays"] and not math.isclose(total_br, 1.0, rel_tol=1e-6):
            path = ("particles", pdg, "decays")
            raise CardError(f"branching fractions add up to {total_br:.6g}, not 1", path, origin(path))
        n_open = 0
        for i, mode in enumerate(entry["decays"]):
            path = ("particles", pdg, "decays", i, "daughters")
            try:
                masses = table.mass(np.array(mode["daughters"], dtype=np.int64))
            except KeyError as exc:
                raise CardError(
                    f"unknown particle {exc.args[0]} among the daughters", path, origin(path)
                ) from None
            charge = table.charge(np.array(mode["daughters"], dtype=np.int64)).sum()
            if not math.isclose(charge, entry["charge"], abs_tol=1e-9):
                raise CardError(
                    f"daughters' charge {charge:g} differs from the parent's {entry['charge']:g}",
                    path,
                    origin(path),
                )
            threshold = float(masses.sum())
            if entry["mass"] <= threshold and not entry.get("drop_closed_modes"):
                p = ("particles", pdg, "mass")
                raise CardError(
                    f"mass {entry['mass']:g} GeV is below the threshold {threshold:.6g} GeV of decay mode {i} "
                    f"{mode['daughters']}",
                    p,
                    origin(p),
                )
            n_open += entry["mass"] > threshold
        if entry["decays"] and n_open == 0:
            p = ("particles", pdg, "mass")
            raise CardError(
                f"mass {entry['mass']:g} GeV is below the threshold of every decay mode", p, origin(p)
            )
    beams = build_beams(card)
    for name, params in card["processes"].items():
        try:
            gen = build_generator(params, beams, table)
        except (ArithmeticError, ValueError) as exc:  # e.g. a mass so large that widths overflow
            path = ("processes", name)
            raise CardError(f"cannot set up the process ({exc})", path, origin(path)) from None
        for key, reason in gen.check():
            path = ("processes", name, key)
            raise CardError(reason, path, origin(path))
    from fastsim.trigger import check_card as check_trigger

    for path, reason in check_trigger(card):
        raise CardError(reason, path, origin(path))
