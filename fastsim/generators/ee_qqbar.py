"""e+e- -> q qbar (u, d, s, c): the continuum under the Upsilon(4S), at parton level.

The production is :class:`fastsim.generators.ee_mumu.EEMuMuBorn` with quarks: the same
analytic gamma + Z Born |M|^2 with the quark mass kept, the quark's charge and Z couplings
(Z f f vertex of Peskin & Schroeder eq. 20.80 with T3 and Q of the quark), a colour factor
N_c = 3 and the massless QCD correction to the vector current,
  K = 1 + a + c2 a^2 + c3 a^3,  a = alpha_s(s') / pi,  c2 = 1.9857 - 0.1152 n_f,
  c3 = -6.63694 - 1.20013 n_f - 0.00518 n_f^2 - 1.240 eta  (eta = (sum Q)^2 / (3 sum Q^2))
(PDG review "Quantum Chromodynamics", eq. for R(s) / the ratio of hadronic to muon-pair
cross sections; Chetyrkin, Kataev, Tkachov; Gorishny, Kataev, Larin), with n_f = 4 and
alpha_s(s') from two-loop running of alpha_s(M_Z) = 0.1180 (PDG 2024) with n_f = 5 down to
m_b and n_f = 4 below (continuous at m_b).  ISR (Kuraev-Fadin, with the flavour sum in the
envelope), beam-energy spread, crossing angle and vacuum polarisation are those of
``ee_mumu``; the flavour of each event is drawn from sigma_q(s') / sum_q sigma_q(s'), then
its angle from that flavour's angular coefficients.  A flavour contributes only above twice
its lightest meson's mass (c cbar above the D Dbar threshold, 3.73 GeV: below it the pair
cannot fragment into open charm, and e+e- -> hadrons there is charmonium, not continuum).

The quarks (status 1, masses from ``particle``) are showered and fragmented by Pythia 8 with
the Belle II tune in the decay stage (:mod:`fastsim.decays` -> :mod:`fastsim.hadronization`),
and the hadrons decayed by the decay table (DECAY_BELLE2.DEC) as basf2 does.  The hadronic
mass after ISR is at least ``sqrt_shat_min`` (default 2 GeV: below it e+e- -> hadrons is
resonances, not quark pairs).

Cross sections at the Belle II point (sqrt(s) = 10.58 GeV, ISR and VP on; measured by the
tests against the official Belle II weights u 1.605, d 0.401, s 0.383, c 1.329 nb,
bphysics.md sec. 3.6): see docs/hadronic.md.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from fastsim.constants import ALPHA_EM
from fastsim.events import STATUS_FINAL
from fastsim.generators.ee_mumu import EEMuMuBorn, sigma0_nb
from fastsim.generators.electroweak import lepton_mass
from fastsim.generators.vacuum_polarization import pi_gamma
from fastsim.models.qcd import alpha_s
from fastsim.schema import Field

FLAVOURS: dict[str, int] = {"d": 1, "u": 2, "s": 3, "c": 4}
#: the lightest meson of each flavour: a q qbar pair below twice its mass cannot fragment into
#: open flavour (for c cbar: below the D Dbar threshold e+e- -> hadrons is charmonium)
LIGHTEST_MESON: dict[int, int] = {1: 211, 2: 211, 3: 321, 4: 421}
CHARGE: dict[int, float] = {1: -1 / 3, 2: 2 / 3, 3: -1 / 3, 4: 2 / 3}
N_COLOURS = 3


def qcd_factor(sp: np.ndarray, nf: int = 4) -> np.ndarray:
    """K(s') = 1 + a + c2 a^2 + c3 a^3 of the module docstring (a = alpha_s(sqrt(s'))/pi)."""
    a = alpha_s(np.sqrt(np.maximum(sp, 1.0))) / math.pi
    c2 = 1.9857 - 0.1152 * nf
    q = [CHARGE[f] for f in range(1, nf + 1)]
    eta = sum(q) ** 2 / (3 * sum(x * x for x in q))
    c3 = -6.63694 - 1.20013 * nf - 0.00518 * nf * nf - 1.240 * eta
    return 1 + a + c2 * a * a + c3 * a**3


class EEQQbar(EEMuMuBorn):
    name = "ee_qqbar"
    doc = (
        "e+e- -> q qbar (u, d, s, c; gamma + Z, QCD-corrected) with ISR; showered and hadronised by Pythia 8"
    )
    params: ClassVar[dict[str, Field]] = {
        **EEMuMuBorn.params,
        "flavours": Field(list, ["u", "d", "s", "c"], "quark flavours produced (u, d, s, c)"),
        "sqrt_shat_min": Field(
            float, 2.0, "minimum q qbar mass after ISR (below it hadrons are resonances)", unit="GeV", min=0.0
        ),
    }

    def setup(self) -> None:
        names = self.config["flavours"]
        bad = [f for f in names if f not in FLAVOURS]
        if bad or not names or len(set(names)) != len(names):
            raise ValueError(f"flavours must be distinct names among {sorted(FLAVOURS)}, got {names}")
        self.quarks = np.array(sorted(FLAVOURS[f] for f in names), np.int64)
        self.m_quarks = np.array([lepton_mass(int(q), self.particles) for q in self.quarks])
        meson = np.array([LIGHTEST_MESON[int(q)] for q in self.quarks])
        self.thresholds = 2 * np.asarray(self.particles.mass(meson), np.float64)
        # the muon-pair set-up with the lightest quark as "the lepton" (threshold, phase space)
        self.lepton = int(self.quarks[np.argmin(self.m_quarks)])
        super().setup()
        e = math.sqrt(4 * math.pi * ALPHA_EM)
        gz = e / math.sqrt(self.ew.sw2 * (1 - self.ew.sw2))
        self.couplings = []
        for q in self.quarks.tolist():
            Q = CHARGE[q]
            t3 = 0.5 if Q > 0 else -0.5
            self.couplings.append((e * Q, gz * (t3 - Q * self.ew.sw2), gz * (-Q * self.ew.sw2)))
        self.born_extra = {}

    def flavour_sigmas(self, sp: np.ndarray, cos_max: float = 1.0) -> tuple[np.ndarray, list]:
        """sigma_q(s') (n_flavours, n) in nb with colour and QCD factors, and each flavour's
        angular coefficients (A, B, D, beta)."""
        k = N_COLOURS * qcd_factor(sp)
        vp = pi_gamma(sp).reshape(np.shape(sp)) if self.vp_on else False  # once for all flavours
        sigs, coefs = [], []
        for m, fc, thr in zip(self.m_quarks, self.couplings, self.thresholds, strict=True):
            sig, c = sigma0_nb(sp, float(m), self.m_e, self.ew, self.z_on, cos_max, vp, fc)
            sigs.append(np.where(sp > thr * thr, sig * k, 0.0))
            coefs.append(c)
        return np.array(sigs), coefs

    def born(self, sp: np.ndarray, cos_max: float, rng: np.random.Generator | None = None) -> tuple:
        sigs, coefs = self.flavour_sigmas(sp, cos_max)
        total = sigs.sum(axis=0)
        if rng is None:
            return total, coefs[0]
        cum = np.cumsum(sigs, axis=0)
        u = rng.random(len(total)) * total
        pick = np.minimum((cum < u[None, :]).sum(axis=0), len(self.quarks) - 1)
        rows = np.arange(len(total))
        a, b, d, beta = (np.stack([c[j] for c in coefs])[pick, rows] for j in range(4))
        self.born_extra = {"flavour": pick}
        return total, (a, b, d, beta)

    def record_entries_of(self, p_lab: np.ndarray, pts: dict[str, np.ndarray]) -> list[tuple]:
        q = self.quarks[pts["flavour"]]
        m = self.m_quarks[pts["flavour"]]
        return [(q, p_lab[:, 0], m, STATUS_FINAL, 0, 1), (-q, p_lab[:, 1], m, STATUS_FINAL, 0, 1)]

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.beams.sqrt_s <= self.config["sqrt_shat_min"]:
            out.append(("generator", f"sqrt(s) = {self.beams.sqrt_s:.4f} GeV is below sqrt_shat_min"))
        return out

    def describe(self) -> dict[str, Any]:
        s0 = np.array([self.beams.sqrt_s**2])
        sigs, _ = self.flavour_sigmas(s0)
        return {
            **super().describe(),
            "flavours": [k for k, v in FLAVOURS.items() if v in self.quarks.tolist()],
            "born_sigma_nb_at_sqrt_s": {
                k: float(sigs[list(self.quarks).index(v), 0])
                for k, v in FLAVOURS.items()
                if v in self.quarks.tolist()
            },
            "qcd_factor_at_sqrt_s": float(qcd_factor(s0)[0]),
            "hadronisation": "Pythia 8 (Belle II tune) in the decay stage",
        }
