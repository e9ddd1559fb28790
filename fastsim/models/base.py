"""What a physics model is in fastsim: new particles, parameters, widths, rates, coupling scaling.

A model is one module in :mod:`fastsim.models` with one subclass of :class:`Model`.  An
instance is a *model point* (the parameters fixed, e.g. ``ZPrime(mass=1.0, coupling=1e-3)``)
and answers what a theorist asks first:

* :meth:`Model.partial_widths` -- Gamma per final state (GeV), the one method a model must
  write; from it the total width, c*tau, the branching fractions and the decay table the
  decay engine uses (:meth:`Model.decay_table`, through the card's ``models:`` section);
* :meth:`Model.production` -- rates of production channels with a closed form (e.g.
  BR(B+ -> K+ S)), at this point; empty where production needs a generator;
* :attr:`Model.production_power` and :attr:`Model.width_power` -- how production rates and
  widths scale with the coupling at fixed mass (sigma ~ g^n, Gamma ~ g^k, so
  c*tau ~ g^-k); the analysis layer uses them to turn a limit on sigma x BF into a limit on
  the coupling (:meth:`Model.rate_scale`, :meth:`Model.ctau_at`).

Final states are tuples of PDG ids; their names (``"mu+ mu-"``) are the ``particle``
package's.  Masses of Standard-Model particles come from ``particle`` (PDG), or from a run's
particle table when one is given (cards may override masses).

Units: GeV, cm, ns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from fastsim.constants import HBARC_GEV_CM
from fastsim.schema import CardError, Field, Section

__all__ = ["Model", "NewParticle", "final_state_name", "particle_name"]


@dataclass(frozen=True)
class NewParticle:
    """A particle a model adds: PDG-style id (PDG MC numbering scheme, 99xxxxx for new
    states), name, spin and electric charge (units of e)."""

    pdg: int
    name: str
    spin: float
    charge: float = 0.0


def particle_name(pdg: int) -> str:
    """Name of a Standard-Model particle from ``particle`` (e.g. -13 -> ``mu+``)."""
    from particle import Particle

    return str(Particle.from_pdgid(pdg).name)


def final_state_name(ids: tuple[int, ...]) -> str:
    """``(-13, 13)`` -> ``"mu+ mu-"``."""
    return " ".join(particle_name(i) for i in ids)


class Model:
    """Base class of a model; subclasses set the class attributes and :meth:`partial_widths`.

    ``parameters`` is a card schema (:class:`fastsim.schema.Field` per key) that must contain
    ``mass`` (GeV) and ``coupling``; a model may add more (e.g. a mixing flavour).  The same
    schema validates the card's ``models.<name>`` section and ``fastsim models --set``.
    """

    name: ClassVar[str]
    title: ClassVar[str]  # one line: what the model is
    label: ClassVar[str] = ""  # the model in matplotlib mathtext, for plots (default: the title)
    coupling_label: ClassVar[str]  # the coupling in matplotlib mathtext, e.g. "$g'$"
    particle: ClassVar[NewParticle]
    parameters: ClassVar[dict[str, Field]]
    references: ClassVar[tuple[str, ...]] = ()
    #: sigma(production) x BF ~ coupling^production_power at fixed mass
    production_power: ClassVar[float] = 2.0
    #: every width ~ coupling^width_power at fixed mass (so c*tau ~ coupling^-width_power)
    width_power: ClassVar[float] = 2.0

    def __init__(self, params: Mapping[str, Any] | None = None, particles: Any = None, **kw: Any) -> None:
        raw = {**(params or {}), **kw}
        where = f"model {self.name}"
        self.params: dict[str, Any] = Section(dict(self.parameters)).validate(raw, (), lambda _p: where)
        self.mass = float(self.params["mass"])
        self.coupling = float(self.params["coupling"])
        self._particles = particles

    # ------------------------------------------------------------------ to implement
    def partial_widths(self) -> dict[tuple[int, ...], float]:
        """Gamma (GeV) per final state (tuple of PDG ids); closed channels may be left out."""
        raise NotImplementedError

    def production(self) -> dict[str, float]:
        """Closed-form production rates at this point, channel name -> rate (a branching
        fraction or a cross section in nb, as the channel name says)."""
        return {}

    def extra_particles(self) -> dict[int, dict[str, Any]]:
        """Further new states this point's decays produce, beside :attr:`particle` (e.g. a
        dark-matter fermion): PDG id -> ``{"name", "mass" (GeV), "charge" (e)}``, each stable;
        antiparticles listed with their own (negative) id.  None by default.  The card's
        ``models:`` section adds them to the run's particle table (fastsim/cards.py)."""
        return {}

    def check(self) -> list[tuple[str, str]]:
        """Problems of this point as (parameter, reason); by default: no open decay channel."""
        if self.width_gev <= 0:
            return [("mass", f"no decay channel of {self.particle.name} is open at m = {self.mass:g} GeV")]
        return []

    # ------------------------------------------------------------------ derived
    def sm_mass(self, pdg: int) -> float:
        """Mass (GeV) of a Standard-Model particle: the run's particle table, else PDG."""
        if self._particles is not None:
            return float(self._particles.mass(np.array([pdg]))[0])
        from particle import Particle

        return float(Particle.from_pdgid(pdg).mass) / 1000.0

    @cached_property
    def widths(self) -> dict[tuple[int, ...], float]:
        return {k: float(v) for k, v in self.partial_widths().items()}

    @property
    def width_gev(self) -> float:
        """Total width (GeV)."""
        return float(sum(self.widths.values()))

    @property
    def ctau_cm(self) -> float:
        """Proper decay length c*tau = hbar c / Gamma (cm); inf for a stable particle."""
        g = self.width_gev
        return HBARC_GEV_CM / g if g > 0 else math.inf

    def branching_fractions(self) -> dict[str, float]:
        """Final-state name -> branching fraction (the open channels)."""
        tot = self.width_gev
        return {final_state_name(k): (v / tot if tot > 0 else 0.0) for k, v in self.widths.items() if v > 0}

    def branching_fraction(self, final_state: tuple[int, ...]) -> float:
        tot = self.width_gev
        return self.widths.get(tuple(final_state), 0.0) / tot if tot > 0 else 0.0

    def decay_table(self) -> list[tuple[float, tuple[int, ...]]]:
        """(BR, daughters) of the open channels, for the decay engine."""
        tot = self.width_gev
        return [(v / tot, k) for k, v in self.widths.items() if v > 0 and tot > 0]

    def decay_model(self, final_state: tuple[int, ...]) -> str:
        """The decay engine's matrix element for a final state (a model name of
        :mod:`fastsim.decay_models`, e.g. ``"HNL_NU_LL"``); ``"PHSP"`` (phase space) by default."""
        return "PHSP"

    def with_params(self, **changes: Any) -> Model:
        """The same model at other parameters."""
        return type(self)({**self.params, **changes}, self._particles)

    def rate_scale(self, coupling: np.ndarray | float) -> np.ndarray:
        """sigma x BF at ``coupling`` over sigma x BF at this point's coupling (fixed mass)."""
        return (np.asarray(coupling, np.float64) / self.coupling) ** self.production_power

    def coupling_for_rate_ratio(self, ratio: np.ndarray | float) -> np.ndarray:
        """The coupling at which sigma x BF is ``ratio`` times this point's (inverse of
        :meth:`rate_scale`)."""
        return self.coupling * np.asarray(ratio, np.float64) ** (1.0 / self.production_power)

    def ctau_at(self, coupling: np.ndarray | float) -> np.ndarray:
        """c*tau (cm) at ``coupling`` (fixed mass): c*tau x (g / coupling)^width_power."""
        return self.ctau_cm * (self.coupling / np.asarray(coupling, np.float64)) ** self.width_power

    def summary(self) -> dict[str, Any]:
        """The point as plain data (the ``fastsim models NAME --json`` output)."""
        ctau = self.ctau_cm
        return {
            "model": self.name,
            "mass_gev": self.mass,
            "coupling": self.coupling,
            "parameters": dict(self.params),
            "particle": {"pdg": self.particle.pdg, "name": self.particle.name, "spin": self.particle.spin},
            "width_gev": self.width_gev,
            "ctau_cm": ctau if math.isfinite(ctau) else None,
            "branching_fractions": self.branching_fractions(),
            "production": self.production(),
        }

    @classmethod
    def from_card(cls, params: Mapping[str, Any], particles: Any = None, path: tuple = ()) -> Model:
        """A model point from validated card parameters; problems raise :class:`CardError`."""
        model = cls(params, particles)
        for key, reason in model.check():
            raise CardError(reason, (*path, key))
        return model
