"""e+ e- -> mu+ mu- at Born level (one-photon annihilation, QED), muon mass kept.

dsigma/dcos(theta*) = (pi alpha^2 beta / (2 s)) [1 + cos^2 theta* + (1 - beta^2) sin^2 theta*],
integrating to sigma = (4 pi alpha^2 / 3 s) beta (3 - beta^2) / 2, with beta the muon
velocity in the CM frame (Peskin & Schroeder eq. 5.12 and problem 5.2 for the mass
terms; PDG review "Cross-section formulae for specific processes", eq. 51.4 in the
massless limit).  alpha = alpha(0); Z exchange, ISR and FSR are left to the full QED
generator (``ee_mumu``, built on the helicity amplitudes); this analytic one is the
fast reference.  The beam-energy spread is sampled per event; events are unweighted
against sigma(s), and the quoted cross section is the mean of sigma(s) over the
sampled beam energies.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from fastsim.beams import cm_to_lab
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.events import EventBatch
from fastsim.generators.base import Generator, XsecTally, hard_process_record
from fastsim.schema import Field

MUON = 13


def born_sigma_nb(s: np.ndarray, m_mu: float, cos_max: float = 1.0) -> np.ndarray:
    """Born sigma(e+e- -> mu+mu-) in nb for |cos theta*| < cos_max at CM energy squared s (GeV^2)."""
    s = np.asarray(s, dtype=np.float64)
    beta2 = np.clip(1.0 - 4.0 * m_mu**2 / s, 0.0, None)
    beta = np.sqrt(beta2)
    c = cos_max
    angular = 2 * c + 2 * c**3 / 3 + (1 - beta2) * (2 * c - 2 * c**3 / 3)
    return np.pi * ALPHA_EM**2 * beta / (2.0 * s) * angular * GEV2_TO_NB


def sample_cos_theta(beta2: np.ndarray, cos_max: float, rng: np.random.Generator) -> np.ndarray:
    """cos(theta*) from (2 - beta^2) + beta^2 cos^2 on [-cos_max, cos_max] (accept-reject, bound 2)."""
    n = len(beta2)
    out = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        x = cos_max * (2.0 * rng.random(len(todo)) - 1.0)
        f = (2.0 - beta2[todo]) + beta2[todo] * x * x
        ok = 2.0 * rng.random(len(todo)) < f
        out[todo[ok]] = x[ok]
        todo = todo[~ok]
    return out


class EEMuMuBornAnalytic(Generator):
    name = "ee_mumu_born"
    doc = "e+e- -> mu+mu- at Born level (QED, muon mass kept), boosted to the lab"
    params: ClassVar[dict[str, Field]] = {
        "cos_theta_max": Field(
            float,
            1.0,
            "cut on |cos theta*| of the muons in the CM frame",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
    }

    def __init__(self, params: dict[str, Any], beams: Any, particles: Any) -> None:
        super().__init__(params, beams, particles)
        self.m_mu = float(particles.mass(np.array([MUON]))[0])
        self.cos_max = params["cos_theta_max"]
        s0 = beams.sqrt_s**2
        # Unweighting bound: sigma ~ 1/s and the sqrt(s) spread is ~5e-4 relative,
        # so 2% above the nominal value is beyond any sampled fluctuation.
        self.w_max = 1.02 * float(born_sigma_nb(s0, self.m_mu, self.cos_max))

    def check(self) -> list[tuple[str, str]]:
        if self.beams.sqrt_s <= 2 * self.m_mu:
            return [("generator", f"sqrt(s) = {self.beams.sqrt_s:.4f} GeV is below the mu+mu- threshold")]
        return []

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        tally = XsecTally()
        her_parts, ler_parts = [], []
        need = n_events
        while need > 0:
            m = int(need * 1.05) + 16
            her, ler = self.beams.sample(m, rng)
            tot = her + ler
            s = tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1)
            w = born_sigma_nb(s, self.m_mu, self.cos_max)
            tally.add(w)
            keep = np.flatnonzero(rng.random(m) * self.w_max < w)[:need]
            her_parts.append(her[keep])
            ler_parts.append(ler[keep])
            need -= len(keep)
        her = np.concatenate(her_parts)
        ler = np.concatenate(ler_parts)
        tot = her + ler
        s = tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1)
        beta2 = 1.0 - 4.0 * self.m_mu**2 / s
        cos_t = sample_cos_theta(beta2, self.cos_max, rng)
        phi = 2.0 * np.pi * rng.random(n_events)
        sin_t = np.sqrt(1.0 - cos_t**2)
        p = 0.5 * np.sqrt(s * beta2)
        e = 0.5 * np.sqrt(s)
        p4 = np.empty((n_events, 2, 4))
        p4[:, 0, 0] = p * sin_t * np.cos(phi)  # mu- along theta* w.r.t. the e- beam
        p4[:, 0, 1] = p * sin_t * np.sin(phi)
        p4[:, 0, 2] = p * cos_t
        p4[:, 0, 3] = e
        p4[:, 1, :3] = -p4[:, 0, :3]
        p4[:, 1, 3] = e
        lab = cm_to_lab(p4, her, ler)
        vertex = self.beams.sample_vertices(n_events, rng)
        mc = hard_process_record(
            her, ler, np.array([MUON, -MUON]), lab, np.array([self.m_mu, self.m_mu]), vertex
        )
        return EventBatch(n_events, {}, {"mc": mc}), tally
