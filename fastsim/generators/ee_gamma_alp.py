"""e+e- -> gamma a, a -> gamma gamma: the photon-coupled axion-like particle (ALP) signal of the
Belle II three-photon search (PRL 125 (2020) 161806, arXiv:2007.13071).

Amplitude: tree level, the s-channel photon and the effective vertex of
L = -(g/4) a F F~ (fastsim/models/alp.py), a gamma(k1, mu) gamma(k2, nu): g eps^{mu nu rho sigma}
k1_rho k2_sigma.  For e-(p1) e+(p2) -> gamma(k) a, with electron masses dropped (O(m_e^2 / s)),
  M = (e / s) vbar(p2) gamma_mu u(p1) g eps^{mu nu rho sigma} q_rho k_sigma eps*_nu(k),  q = p1 + p2;
the spin sum (L^{mu mu'} = 4 (p1 p2' + p2 p1' - g p1.p2), photon polarisation sum -g) gives
  (1/4) sum |M|^2 = e^2 g^2 (t^2 + u^2) / (4 s),  t = (p1 - k)^2, u = (p2 - k)^2,
i.e. e^2 g^2 s / 8 (1 - m^2/s)^2 (1 + cos^2 theta) in the CM frame, so dsigma/dcos theta =
alpha g^2 / 64 (1 - m^2/s)^3 (1 + cos^2 theta) and sigma = alpha g^2 / 24 (1 - m^2/s)^3 (the
closed form of ALPaca / Merlo et al., arXiv:1905.03259; tested against a trace evaluation with
the Levi-Civita tensor in tests/test_alp.py).  alpha = alpha(0).

Decay a -> gamma gamma inside the amplitude in the narrow-width approximation:
|1/(q^2 - m^2 + i m Gamma)|^2 -> (pi / (m Gamma)) delta(q^2 - m^2), so
sigma = 1/flux int dPhi_3 |M_prod|^2 |M_dec|^2 / (2 m Gamma) x 1/2 (identical decay photons;
in the narrow width the three pairings of the three photons do not overlap, 3 / 3! = 1/2), with
sum |M_dec|^2 = g^2 m^4 / 2; it integrates to sigma(e+e- -> gamma a) x BR(a -> gamma gamma)
= sigma(e+e- -> gamma a) (BR = 1).  The a is spin 0: the decay is isotropic in its rest frame
and carries no correlation with the production.

Vacuum polarisation (``vacuum_polarization``): |M|^2 x 1/|1 - Pi(s_hat)|^2 of the s-channel photon
(:mod:`fastsim.generators.vacuum_polarization`).  ISR: the Kuraev-Fadin structure function
(``isr``, :mod:`fastsim.generators.process`), with s_hat > m_a^2.  No FSR (no charged particle).
``cos_theta_max``: every photon of the hard process (the recoil photon and the two from a) has
|cos theta| < cos_theta_max in the CM frame.

The record: the recoil photon, the a (status decayed, PDG id of fastsim.models.alp) and its two
photons.  The a decays at x + (p / m) c t with c t from Exp(c tau): the model's c tau at (mass,
coupling), or the particle table's where the card sets it (``particles.9900028.ctau``), or the
grid's mixture (``ctau_mixture``) -- prompt for the couplings Belle II probes (c tau = 4e-6 cm
at m = 1 GeV, g = 1e-3 GeV^-1).

The model point: the generator's ``mass`` and ``coupling``, or, when they are omitted, the card's
``models: {alp: {...}}`` point.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from fastsim.constants import ALPHA_EM
from fastsim.events import STATUS_DECAYED, STATUS_FINAL, EventBatch
from fastsim.generators.base import XsecTally
from fastsim.generators.displaced import DecayLength, displace_decay
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
from fastsim.generators.vacuum_polarization import pi_gamma
from fastsim.models.alp import ALP
from fastsim.models.base import final_state_name
from fastsim.schema import Field

__all__ = ["EEGammaALP", "me2_gamma_alp_production"]

PHOTON = 22
ALP_ID = ALP.particle.pdg  # PDG-style id of the model's new particle (99xxxxx)


def me2_gamma_alp_production(p: np.ndarray, M: np.ndarray, coupling: float) -> np.ndarray:
    """Spin-averaged |M|^2 (n,) of e-(+z) e+ -> gamma*(s = M^2) -> gamma(p[:, 0]) a for momenta
    p (n, k, 4) in the hard rest frame (beams along +-z, massless): e^2 g^2 (t^2 + u^2) / (4 s)
    (module docstring), e^2 = 4 pi alpha(0)."""
    e2 = 4.0 * math.pi * ALPHA_EM
    k = p[:, 0]
    half = 0.5 * M
    # t = (p1 - k)^2 = -2 p1.k, p1 = (0, 0, M/2, M/2); u = -2 p2.k, p2 = (0, 0, -M/2, M/2)
    t = -2.0 * half * (k[:, 3] - k[:, 2])
    u = -2.0 * half * (k[:, 3] + k[:, 2])
    return e2 * coupling**2 * (t * t + u * u) / (4.0 * M * M)


class EEGammaALP(MEProcess):
    name = "ee_gamma_alp"
    doc = "e+e- -> gamma a (axion-like particle, a F F~ coupling), a -> gamma gamma, narrow width"
    params: ClassVar[dict[str, Field]] = {
        "mass": Field(
            float, None, "ALP mass (omitted: the card's alp point)", unit="GeV",
            min=0.0, min_exclusive=True, nullable=True,
        ),
        "coupling": Field(
            float, None, "g_agg (omitted: the card's alp point); sigma scales as g^2", unit="GeV^-1",
            min=0.0, min_exclusive=True, nullable=True,
        ),
        "cos_theta_max": Field(
            float, 1.0, "cut on |cos theta*| of all three photons (CM frame); 1: no cut", min=0.0, max=1.0
        ),
        "vacuum_polarization": Field(bool, True, "running alpha in the s-channel photon, 1/|1 - Pi(s)|^2"),
        **COMMON_PARAMS,
        "fsr": Field(bool, False, "final-state radiation (no charged particle here: nothing to radiate)"),
    }  # fmt: skip
    #: the two photons of a are identical (the three pairings of the 3 photons: 3/3! = 1/2)
    symmetry = 0.5
    TRAIN_POINTS = 20_000
    TRAIN_ITER = 2

    def __init__(self, params: dict[str, Any], beams: Any, particles: Any) -> None:
        super().__init__(params, beams, particles)
        # ISR: the hard system must be above the a mass (the final masses alone are 0)
        s0 = beams.sqrt_s**2
        thr = max(self.mx * (1 + 1e-9), float(self.config["sqrt_shat_min"]))
        self.xmax = min(self.xmax, 1.0 - thr**2 / s0)

    def setup(self) -> None:
        cfg = self.config
        if cfg["mass"] is None or cfg["coupling"] is None:
            point = self._card_point()
            cfg["mass"] = point["mass"] if cfg["mass"] is None else cfg["mass"]
            cfg["coupling"] = point["coupling"] if cfg["coupling"] is None else cfg["coupling"]
        self.mx = float(cfg["mass"])
        self.g = float(cfg["coupling"])
        self.vp_on = bool(cfg["vacuum_polarization"])
        self.model = ALP({"mass": self.mx, "coupling": self.g}, self.particles)
        self.gamma_tot = self.model.width_gev
        self.final_ids = np.array([PHOTON, PHOTON, PHOTON])
        self.final_masses = np.zeros(3)  # photons
        # recoil photon (0) + a (fixed mass, narrow width) -> photons 1, 2 (isotropic)
        tree = Node(
            children=(
                Node(leaf=0),
                Node(children=(Node(leaf=1), Node(leaf=2)), mass=Mass("fixed", self.mx**2)),
            )
        )
        self.phase_space = MultiChannel([Channel(tree, self.final_masses, self.m_e)])
        self.decay_length = DecayLength(ALP_ID, self.particles, self.model.ctau_cm)
        self.ctau_cm = self.decay_length.ctau_cm

    def _card_point(self) -> dict[str, float]:
        points = [p for name, p in getattr(self.particles, "models", {}).values() if name == ALP.name]
        if len(points) != 1:
            raise ValueError("ee_gamma_alp: give mass and coupling, or one alp point in the card's models:")
        return {"mass": float(points[0]["mass"]), "coupling": float(points[0]["coupling"])}

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        # production x decay: sum |M_dec|^2 = g^2 m^4 / 2 (fastsim/models/alp.py)
        out = me2_gamma_alp_production(p, M, self.g) * (0.5 * self.g**2 * self.mx**4)
        if self.vp_on:
            out = out / np.abs(1.0 - pi_gamma(M * M)) ** 2
        return out

    def weight_factor(self) -> float:
        # narrow width: int ds/(2 pi) |BW|^2 = 1/(2 m Gamma)
        return 1.0 / (2.0 * self.mx * self.gamma_tot)

    def check(self) -> list[tuple[str, str]]:
        out = list(super().check())
        points = [p for name, p in getattr(self.particles, "models", {}).values() if name == ALP.name]
        for key, mine in (("mass", self.mx), ("coupling", self.g)):
            if len(points) == 1 and not math.isclose(float(points[0][key]), mine, rel_tol=1e-12):
                # the particle table (c tau) is the card point's: they must agree
                out.append((key, f"{mine:g} differs from the card's alp point ({points[0][key]:g})"))
        if self.mx >= self.beams.sqrt_s:
            out.append(("mass", f"m = {self.mx} GeV is above the kinematic limit sqrt(s)"))
        return out

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        cmax = self.config["cos_theta_max"]
        if cmax >= 1.0:
            return np.ones(len(p_cm), bool)
        c = p_cm[:, :, 2] / np.maximum(np.linalg.norm(p_cm[:, :, :3], axis=2), 1e-300)
        return np.all(np.abs(c) < cmax, axis=1)

    def record_entries(self, p_lab: np.ndarray) -> list[tuple]:
        n = len(p_lab)
        zero = np.zeros(n)
        # record: beams 0, 1; recoil photon 2; a 3; its photons 4, 5 (mother 3)
        return [
            (PHOTON, p_lab[:, 0], zero, STATUS_FINAL, 0, 1),
            (ALP_ID, p_lab[:, 1] + p_lab[:, 2], np.full(n, self.mx), STATUS_DECAYED, 0, 1),
            (PHOTON, p_lab[:, 1], zero, STATUS_FINAL, 3, -1),
            (PHOTON, p_lab[:, 2], zero, STATUS_FINAL, 3, -1),
        ]

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        batch, tally = super().generate(n_events, rng)
        mc = displace_decay(batch["mc"], ALP_ID, self.decay_length.sample(batch.n_events, rng))
        return EventBatch(batch.n_events, batch.events, {**batch.collections, "mc": mc}), tally

    def describe(self) -> dict[str, Any]:
        return {
            **self.describe_common(),
            "signal_model": self.model.name,
            "x_pdg": ALP_ID,
            "mass_gev": self.mx,
            "coupling": self.g,
            "width_gev": self.gamma_tot,
            "partial_widths_gev": {final_state_name(k): v for k, v in self.model.widths.items()},
            "branching_fractions": self.model.branching_fractions(),
            "ctau_cm": self.ctau_cm,
            "sigma_is": "sigma(e+e- -> gamma a) x BR(a -> gamma gamma)",
            "sigma_born_nb": self.model.sigma_ee_gamma_a_nb(self.beams.sqrt_s**2),
            "narrow_width": True,
            "cos_theta_max": float(self.config["cos_theta_max"]),
            "vacuum_polarization": self.vp_on,
        }
