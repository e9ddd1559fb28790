"""Particle gun: particles of one species shot from the interaction point.

The standard tool of detector studies (basf2's ParticleGun, Geant4's G4ParticleGun):
``multiplicity`` particles per event with momentum flat in [p_min, p_max] (lab, GeV),
cos(theta) flat in [cos_theta_min, cos_theta_max] (lab polar angle), phi flat, from the
luminous region of the card's beams.  A long-lived particle registered in the card's
``particles:`` section is decayed by the decay engine with its c*tau, so the gun also
serves lifetime and acceptance scans.  There is no physical cross section: events
carry the user's ``sigma_nb`` as their normalisation.  With ``signal_model`` and ``coupling``
the sample is a signal point of that model (fastsim models) for ``fastsim analyze``:
``sigma_nb`` is then the user's production cross section x BF at that coupling (e.g. from a
closed-form rate of the model), which the analysis rescales with the coupling.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from fastsim.events import MC_FIELDS, STATUS_FINAL, Collection, EventBatch
from fastsim.generators.base import Generator, XsecTally
from fastsim.schema import Field


class ParticleGun(Generator):
    name = "particle_gun"
    doc = "particles of one species with flat momentum and cos(theta) from the interaction point"
    params: ClassVar[dict[str, Field]] = {
        "pdg": Field(int, doc="PDG id of the particles"),
        "multiplicity": Field(int, 1, "particles per event", min=1, max=100),
        "p_min": Field(float, doc="lowest lab momentum", unit="GeV", min=0.0),
        "p_max": Field(float, doc="highest lab momentum", unit="GeV", min=0.0),
        "cos_theta_min": Field(float, -1.0, "lowest lab cos(theta)", min=-1.0, max=1.0),
        "cos_theta_max": Field(float, 1.0, "highest lab cos(theta)", min=-1.0, max=1.0),
        "sigma_nb": Field(float, 1.0, "normalisation attached to the sample", unit="nb", min=0.0),
        "signal_model": Field(
            str, None, "model (fastsim models) whose particle the gun shoots: a signal point", nullable=True
        ),
        "coupling": Field(
            float,
            None,
            "the model's coupling sigma_nb stands for",
            min=0.0,
            min_exclusive=True,
            nullable=True,
        ),
    }

    def __init__(self, params: dict[str, Any], beams: Any, particles: Any) -> None:
        super().__init__(params, beams, particles)
        self.pdg = params["pdg"]

    def check(self) -> list[tuple[str, str]]:
        c = self.config
        problems = []
        try:
            self.mass = float(self.particles.mass(np.array([self.pdg]))[0])
        except KeyError:
            problems.append(("pdg", f"unknown particle {self.pdg} (register it under particles:)"))
        if c["p_max"] < c["p_min"]:
            problems.append(("p_max", f"must be >= p_min ({c['p_min']})"))
        if c["cos_theta_max"] < c["cos_theta_min"]:
            problems.append(("cos_theta_max", f"must be >= cos_theta_min ({c['cos_theta_min']})"))
        if c["signal_model"] is not None:
            from fastsim.models import ALIASES, MODELS, get_model
            from fastsim.registry import UnknownPlugin

            if c["signal_model"] not in MODELS and c["signal_model"] not in ALIASES:
                problems.append(
                    ("signal_model", str(UnknownPlugin("model", c["signal_model"], list(MODELS))))
                )
            elif abs(self.pdg) != get_model(c["signal_model"]).particle.pdg:
                want = get_model(c["signal_model"]).particle.pdg
                problems.append(("pdg", f"{c['signal_model']}'s particle is {want}, not {self.pdg}"))
            if c["coupling"] is None:
                problems.append(("coupling", "required with signal_model"))
        return problems

    def describe(self) -> dict[str, Any]:
        c = self.config
        if c["signal_model"] is None:
            return {}
        from fastsim.models import ALIASES

        return {
            "signal_model": ALIASES.get(c["signal_model"], c["signal_model"]),
            "x_pdg": abs(int(self.pdg)),
            "mass_gev": float(self.particles.mass(np.array([self.pdg]))[0]),
            "coupling": c["coupling"],
            "sigma_is": "the card's sigma_nb (production x BF at the coupling)",
        }

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        c = self.config
        k = c["multiplicity"]
        n = n_events * k
        mass = float(self.particles.mass(np.array([self.pdg]))[0])
        p = c["p_min"] + (c["p_max"] - c["p_min"]) * rng.random(n)
        cos_t = c["cos_theta_min"] + (c["cos_theta_max"] - c["cos_theta_min"]) * rng.random(n)
        phi = 2.0 * np.pi * rng.random(n)
        sin_t = np.sqrt(1.0 - cos_t**2)
        vertex = np.repeat(self.beams.sample_vertices(n_events, rng), k, axis=0)
        fields = {name: np.zeros(n, dt) for name, dt in MC_FIELDS.items()}
        fields["id"][:] = self.pdg
        fields["status"][:] = STATUS_FINAL
        for name in ("mother1", "mother2", "daughter1", "daughter2"):
            fields[name][:] = -1
        fields["px"] = p * sin_t * np.cos(phi)
        fields["py"] = p * sin_t * np.sin(phi)
        fields["pz"] = p * cos_t
        fields["e"] = np.sqrt(p * p + mass * mass)
        fields["m"][:] = mass
        for i, name in enumerate(("vx", "vy", "vz", "vt")):
            fields[name] = np.ascontiguousarray(vertex[:, i])
        tally = XsecTally()
        tally.add(np.full(n_events, c["sigma_nb"]))
        mc = Collection.from_counts(np.full(n_events, k), fields)
        return EventBatch(n_events, {}, {"mc": mc}), tally
