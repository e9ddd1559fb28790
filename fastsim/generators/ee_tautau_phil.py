"""e+e- -> tau+ tau- phi_L, phi_L -> l+ l-: the leptophilic scalar signal of the Belle and BaBar
searches (Belle arXiv:2207.07476, BaBar arXiv:2005.01885).

Amplitude: the exact tree-level e+e- -> gamma*/Z -> tau+ tau- phi_L of
:mod:`fastsim.generators.ee_llx` (the tau mass kept in spinors, propagators and phase space;
phi_L off the tau- or the tau+ line, the two diagrams interfering), with the phi_L -> l+ l-
decay inside the amplitude in the narrow-width approximation, so that
sigma = sigma(e+e- -> tau tau phi_L) x BR(phi_L -> l+ l-).  Couplings of the model
(:mod:`fastsim.models.leptophilic_scalar`): xi m_tau / v at the production vertex, xi m_l / v
at the decay vertex.  The tau pair's spin state (polarisations and correlations from the
helicity amplitudes: the scalar emission flips a helicity, so the correlation differs from
gamma* -> tau tau) goes to the tau decay engine (``_EELLX.spin_state``).

``decay``: ``ee``, ``mumu``, or ``ll`` -- the phi_L -> l+ l- decays a four-track search sees:
e+ e- below 2 m_mu; mu+ mu- above, where e+ e- is Gamma(ee)/Gamma(mumu) = (m_e/m_mu)^2
beta_e^3/beta_mu^3 <= 2.4e-5 of it and left out.  phi_L -> gamma gamma (below 2 m_mu, a few %
there) and tau tau (above 2 m_tau) are not generated; they count in the BR.  ``all``: every
decay -- phi_L leaves the generator undecayed (sigma = sigma(e+e- -> tau tau phi_L)) and the
decay stage decays it by the model's table (the card's ``models: {leptophilic_scalar: ...}``
point registers it), isotropically, which is exact for a scalar in the narrow-width limit (the
production kinematics are those of the ``ll`` amplitude, whose decay integrates out; taus from
phi_L decay unpolarised).

The phi_L decays at a displaced vertex: its proper decay length c t is drawn from Exp(c tau)
-- the model's c tau at (mass, coupling), or the particle table's where the card sets it
(``particles.9900026.ctau``) -- or from the grid's mixture (``ctau_mixture``, lifetime
reweighting), and its decay products (with their FSR photons) start at
x + (p / m) c t, t + (E / m) t / c.

Vacuum polarisation (``vacuum_polarization``): |M|^2 x 1/|1 - Pi(s_hat)|^2 (the running of
alpha in the s-channel photon, :mod:`fastsim.generators.vacuum_polarization`; applied to the
Z part too, which is ~1e-3 of the rate at 10.58 GeV).

The model point: the generator's ``mass`` and ``coupling``, or, when they are omitted, the
card's ``models: {leptophilic_scalar: {...}}`` point (which also registers phi_L, so that a
grid can put a lifetime axis on ``particles.9900026.ctau``).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from fastsim.events import STATUS_FINAL, EventBatch
from fastsim.generators.base import XsecTally
from fastsim.generators.displaced import DecayLength, displace_decay
from fastsim.generators.ee_llx import _EELLX, _X_PARAMS
from fastsim.generators.vacuum_polarization import pi_gamma
from fastsim.models.leptophilic_scalar import LeptophilicScalar
from fastsim.schema import Field

__all__ = ["EETauTauPhiL"]

ELECTRON, MUON = 11, 13


class EETauTauPhiL(_EELLX):
    name = "ee_tautau_phil"
    doc = (
        "e+e- -> tau+ tau- phi_L (leptophilic scalar), phi_L -> e+e- or mu+mu- in the amplitude, "
        "displaced by its lifetime, tau spin state to the tau decays"
    )
    params: ClassVar[dict[str, Field]] = {
        **_X_PARAMS,
        "mass": Field(
            float, None, "phi_L mass (omitted: the card's leptophilic_scalar point)", unit="GeV",
            min=0.0, min_exclusive=True, nullable=True,
        ),
        "coupling": Field(
            float, None, "xi (Yukawa xi m_l / v; omitted: the card's point); sigma scales as xi^2",
            min=0.0, min_exclusive=True, nullable=True,
        ),
        "decay": Field(
            str, "ll", "phi_L decay generated (ll: e+e- below 2 m_mu, mu+mu- above; all: by the decay stage)",
            choices=("ee", "mumu", "ll", "all"),
        ),
        "vacuum_polarization": Field(bool, True, "running alpha in the s-channel photon, 1/|1 - Pi(s)|^2"),
    }  # fmt: skip
    vector = False
    model_class = LeptophilicScalar
    x_id = LeptophilicScalar.particle.pdg

    def setup(self) -> None:
        cfg = self.config
        if cfg["mass"] is None or cfg["coupling"] is None:
            point = self._card_point()
            cfg["mass"] = point["mass"] if cfg["mass"] is None else cfg["mass"]
            cfg["coupling"] = point["coupling"] if cfg["coupling"] is None else cfg["coupling"]
        self.requested_decay = cfg["decay"]
        self.decay_all = cfg["decay"] == "all"
        if cfg["decay"] in ("ll", "all"):
            cfg["decay"] = "ee" if cfg["mass"] < 2 * self.m_mu else "mumu"
        cfg["lepton"] = "tau"
        super().setup()
        self.vp_on = bool(cfg["vacuum_polarization"])
        self.decay_length = DecayLength(self.x_id, self.particles, self.model.ctau_cm)
        self.ctau_cm = self.decay_length.ctau_cm

    def _card_point(self) -> dict[str, float]:
        points = [
            p for name, p in getattr(self.particles, "models", {}).values() if name == LeptophilicScalar.name
        ]
        if len(points) != 1:
            raise ValueError(
                "ee_tautau_phil: give mass and coupling, or one leptophilic_scalar point in the card's models:"
            )
        return {"mass": float(points[0]["mass"]), "coupling": float(points[0]["coupling"])}

    def couplings(self) -> tuple[float, float, float]:
        model: LeptophilicScalar = self.model  # type: ignore[assignment]
        decay = model.yukawa(ELECTRON if self.decay == "ee" else MUON)
        return model.yukawa(15), decay, decay

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        out = super().me2(p, M)
        if self.vp_on:
            out = out / np.abs(1.0 - pi_gamma(M * M)) ** 2
        return out

    def weight_factor(self) -> float:
        if self.decay_all:  # sigma(tau tau phi_L): the amplitude's decay integrated out
            return super().weight_factor() / self.widths[self.decay] * self.gamma_tot
        return super().weight_factor()

    def record_entries(self, p_lab: np.ndarray) -> list[tuple]:
        entries = super().record_entries(p_lab)
        if not self.decay_all:
            return entries
        x_id, x_p4, x_m, _status, m1, m2 = entries[2]
        return [*entries[:2], (x_id, x_p4, x_m, STATUS_FINAL, m1, m2)]  # decayed by the decay stage

    def _final_positions(self, off: int) -> list[int]:
        if not self.decay_all:
            return super()._final_positions(off)
        return [2 + off, 3 + off, -1, -1]  # the taus; phi_L's daughters come from the decay stage

    def check(self) -> list[tuple[str, str]]:
        out = list(super().check())
        if self.decay_all and not bool(self.particles.knows(np.array([self.x_id]))[0]):
            out.append(
                (
                    "decay",
                    "decay: all needs the card's models: {leptophilic_scalar: ...} point (phi_L's decays)",
                )
            )
        return out

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        batch, tally = super().generate(n_events, rng)
        if self.decay_all:
            return batch, tally
        mc = displace_decay(batch["mc"], self.x_id, self.decay_length.sample(batch.n_events, rng))
        return EventBatch(batch.n_events, batch.events, {**batch.collections, "mc": mc}), tally

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "decay": "all" if self.decay_all else self.decay,
            "decay_requested": self.requested_decay,
            "sigma_is": "sigma(e+e- -> tau tau phi_L)"
            if self.decay_all
            else f"sigma(e+e- -> tau tau phi_L) x BR(phi_L -> {self.decay})",
            "ctau_cm": self.ctau_cm,
            "vacuum_polarization": self.vp_on,
        }
