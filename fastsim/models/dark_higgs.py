"""The dark Higgs S: a CP-even scalar mixing with the Higgs boson (mixing angle theta,
coupling = sin theta), so that it couples to every fermion as the Higgs does, times sin theta.

Lagrangian (../shared/reference/physics.md section 3): L > -sin(theta) S sum_f (m_f / v) f fbar,
v = 246.22 GeV (the leptophilic scalar's, fastsim.models.leptophilic_scalar).

Partial widths / sin^2(theta) (every width ~ sin^2 theta: branching fractions do not depend
on it, c*tau ~ 1 / sin^2 theta):

* leptons: Gamma(S -> l+ l-) = m_l^2 m_S / (8 pi v^2) beta_l^3 (the Higgs formula);
* m_S < 2 GeV, hadrons: Gamma(S -> pi pi) and Gamma(S -> K Kbar) from Winkler's dispersive
  calculation (M. W. Winkler, PRD 99, 015018 (2019), arXiv:1809.01876), tabulated in
  ``data/dark_higgs_width_{pipi,KK}_winkler.csv`` (as re-tabulated by scalar_portal, sorted by
  mass) and interpolated linearly; isospin: pi+ pi- : pi0 pi0 = 2 : 1, K+ K- : K0 K0bar = 1 : 1
  (the CP-even K0 K0bar state is K_S K_S + K_L K_L, half each); above 4 m_pi the multi-meson
  width C m_S^3 sqrt(1 - 16 m_pi^2 / m_S^2) (the form of scalar_portal's multimeson.py, after
  arXiv:1904.10447), with C matched at 2 GeV so that the hadronic width is continuous there,
  shared equally between 2 pi+ 2 pi- and pi+ pi- 2 pi0 [M: the split is not computed];
* m_S >= 2 GeV, perturbative QCD (Spira et al., hep-ph/9504378; Djouadi, hep-ph/0503172):
  Gamma(S -> q qbar) = 3 m_S m_q(m_S)^2 / (8 pi v^2) beta_q^3 (1 + Delta_QCD) for q = s, c, with
  the MS-bar running mass (fastsim.models.qcd), beta at the lightest open-flavour pair (2 m_K,
  2 m_D) and Delta_QCD = 5.67 a + (35.94 - 1.36 n_f) a^2 + (164.14 - 25.77 n_f + 0.259 n_f^2) a^3,
  a = alpha_s(m_S) / pi (the top-loop term Delta_t, O(alpha_s^2), is left out);
  Gamma(S -> g g) = (alpha_s / 4 pi)^2 |sum_q A_1/2(tau_q)|^2 m_S^3 / (8 pi v^2)
  (1 + (95/4 - 7 n_f / 6) alpha_s / pi), quarks c, b, t with the ``particle`` masses (PDG:
  MS-bar for c and b), A_1/2 of fastsim.models.muonphilic_scalar; tau tau by the lepton formula.

Production (closed form, :meth:`DarkHiggs.production`): the b -> s S vertex
L = sin(theta) xi_bs (m_b / v) sbar P_R b S + h.c., xi_bs = 3 sqrt(2) G_F m_t^2 V_tb V_ts* /
(16 pi^2) (top loop; Boiarska et al., arXiv:1904.10447, app. C; the form of
../shared/reference/physics.md 3a); with |V_ts| = 0.0411, |V_tb| = 1.010 (PDG 2024 CKM review,
direct determinations) and the ``particle`` top mass:

* Gamma(B -> K S) = sin^2 theta |xi_bs|^2 (m_B^2 - m_K^2)^2 f_0(m_S^2)^2 lambda^(1/2) / (64 pi v^2 m_B^3),
  f_0(q^2) = 0.330 / (1 - q^2 / 37.46 GeV^2) (Ball-Zwicky, hep-ph/0406232, as EOS fits it);
* Gamma(B -> K* S) = sin^2 theta |xi_bs|^2 A_0(m_S^2)^2 lambda^(3/2) / (64 pi v^2 m_B^3),
  A_0(q^2) = 1.364 / (1 - q^2 / m_B^2) - 0.990 / (1 - q^2 / 36.78 GeV^2) (Ball-Zwicky,
  hep-ph/0412079);
* the inclusive BR(B -> X_s S) ~ 5.6 sin^2 theta (1 - m_S^2 / m_B^2)^2 for reference
  (FORESEE's DarkHiggs model, after arXiv:1904.10447).

Units: GeV, cm, ns.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import ClassVar

import numpy as np

from fastsim.constants import G_FERMI, HBAR_GEV_NS
from fastsim.models.base import Model, NewParticle
from fastsim.models.leptophilic_scalar import VEV_GEV
from fastsim.models.muonphilic_scalar import a_half
from fastsim.models.qcd import alpha_s, running_mass
from fastsim.schema import Field

__all__ = ["DarkHiggs", "a0_b_to_kstar", "f0_b_to_k", "kallen", "winkler_width"]

ELECTRON, MUON, TAU = 11, 13, 15
PI_PLUS, PI_ZERO, K_PLUS, K_SHORT, K_LONG, D_ZERO = 211, 111, 321, 310, 130, 421
STRANGE, CHARM, BOTTOM, TOP, GLUON = 3, 4, 5, 6, 21
B_PLUS, B_ZERO, K_STAR_ZERO, K_STAR_PLUS, K_ZERO = 521, 511, 313, 323, 311
#: below this mass the hadronic widths are Winkler's tables, above perturbative QCD (GeV)
M_MATCH = 2.0
#: |V_ts|, |V_tb|: PDG 2024 CKM review (direct determinations: |V_tb| from single top, |V_ts|
#: from B_s mixing with lattice input)
V_TS, V_TB = 0.0411, 1.010


@functools.cache
def _table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(m_S, Gamma / sin^2 theta) of a Winkler table, sorted by mass (GeV)."""
    path = resources.files("fastsim.models").joinpath("data", f"dark_higgs_width_{name}_winkler.csv")
    rows = [
        line.split(",")
        for line in path.read_text().splitlines()
        if line and not line.startswith("#") and not line.startswith("m_S")
    ]
    data = np.array(rows, dtype=np.float64)
    order = np.argsort(data[:, 0], kind="stable")
    return data[order, 0].copy(), data[order, 1].copy()


def winkler_width(channel: str, m: float) -> float:
    """Gamma(S -> pi pi or K Kbar, all charges) / sin^2 theta (GeV) at m_S = ``m`` (GeV) from
    Winkler's table (``channel`` "pipi" or "KK"): 0 below the table, NaN above it."""
    x, y = _table(channel)
    if m < x[0]:
        return 0.0
    if m > x[-1]:
        return math.nan
    return float(np.interp(m, x, y))


def _beta(m_s: float, m: float) -> float:
    """Velocity of each of two particles of mass ``m`` from a parent of mass ``m_s``."""
    return math.sqrt(max(1.0 - 4.0 * m * m / (m_s * m_s), 0.0))


def kallen(a: float, b: float, c: float) -> float:
    """Kallen function lambda(a, b, c) = a^2 + b^2 + c^2 - 2 (ab + ac + bc)."""
    return a * a + b * b + c * c - 2.0 * (a * b + a * c + b * c)


def f0_b_to_k(q2: float) -> float:
    """Scalar B -> K form factor f_0(q^2) = 0.330 / (1 - q^2 / 37.46 GeV^2) (Ball-Zwicky,
    hep-ph/0406232, as EOS fits it); ``q2`` in GeV^2."""
    return 0.330 / (1 - q2 / 37.46)


def a0_b_to_kstar(q2: float, m_b: float) -> float:
    """B -> K* form factor A_0(q^2) = 1.364 / (1 - q^2 / m_B^2) - 0.990 / (1 - q^2 / 36.78 GeV^2)
    (Ball-Zwicky, hep-ph/0412079); ``q2`` in GeV^2, ``m_b`` (the B mass) in GeV."""
    return 1.364 / (1 - q2 / (m_b * m_b)) - 0.990 / (1 - q2 / 36.78)


class DarkHiggs(Model):
    name = "dark_higgs"
    title = "dark Higgs S (scalar mixing with the Higgs, coupling sin theta)"
    coupling_label = r"$\sin\theta$"
    label = "dark Higgs $S$"
    particle = NewParticle(9900027, "S", spin=0.0)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="S mass", unit="GeV", min=0.0, min_exclusive=True),
        "coupling": Field(
            float, doc="sin theta (mixing with the Higgs)", min=0.0, min_exclusive=True, max=1.0
        ),
    }
    references = ("arXiv:1809.01876", "arXiv:1904.10447", "hep-ph/9504378", "arXiv:2306.02830")

    # ------------------------------------------------------------------ widths
    def _lepton_width(self, lepton: int) -> float:
        m, ml = self.mass, self.sm_mass(lepton)
        if m <= 2 * ml:
            return 0.0
        return ml * ml * m / (8 * math.pi * VEV_GEV**2) * _beta(m, ml) ** 3

    def _quark_width(self, quark: int, hadron: int) -> float:
        """Gamma(S -> q qbar) / sin^2 theta above the open-flavour threshold 2 m_hadron."""
        m = self.mass
        m_h = self.sm_mass(hadron)
        if m <= 2 * m_h:
            return 0.0
        a = float(alpha_s(m)) / math.pi
        nf = 4
        delta = 5.67 * a + (35.94 - 1.36 * nf) * a * a + (164.14 - 25.77 * nf + 0.259 * nf * nf) * a**3
        mq = running_mass(quark, m)
        return 3 * m * mq * mq / (8 * math.pi * VEV_GEV**2) * _beta(m, m_h) ** 3 * (1 + delta)

    def _gluon_width(self) -> float:
        m = self.mass
        a_s = float(alpha_s(m))
        amp = sum(a_half(m * m / (4 * self.sm_mass(q) ** 2)) for q in (CHARM, BOTTOM, TOP))
        nf = 4
        k = 1 + (95.0 / 4.0 - 7.0 * nf / 6.0) * a_s / math.pi
        return (a_s / (4 * math.pi)) ** 2 * abs(amp) ** 2 * m**3 / (8 * math.pi * VEV_GEV**2) * k

    def _perturbative_hadronic(self) -> float:
        """s sbar + c cbar + g g (/ sin^2 theta) at this mass."""
        return self._quark_width(STRANGE, K_PLUS) + self._quark_width(CHARM, D_ZERO) + self._gluon_width()

    @functools.cached_property
    def _multimeson_c(self) -> float:
        """C of the multi-meson width: the hadronic width is continuous at M_MATCH."""
        at = self.with_params(mass=M_MATCH)
        assert isinstance(at, DarkHiggs)
        excl = winkler_width("pipi", M_MATCH) + winkler_width("KK", M_MATCH)
        m_pi = self.sm_mass(PI_PLUS)
        phase = M_MATCH**3 * math.sqrt(1 - 16 * m_pi * m_pi / M_MATCH**2)
        return max(at._perturbative_hadronic() - excl, 0.0) / phase

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        m = self.mass
        s2 = self.coupling**2
        out: dict[tuple[int, ...], float] = {}
        for lep in (ELECTRON, MUON, TAU):
            w = self._lepton_width(lep)
            if w > 0:
                out[(-lep, lep)] = s2 * w
        if m < M_MATCH:
            pipi, kk = winkler_width("pipi", m), winkler_width("KK", m)
            if pipi > 0:
                out[(PI_PLUS, -PI_PLUS)] = s2 * pipi * 2 / 3
                out[(PI_ZERO, PI_ZERO)] = s2 * pipi / 3
            if kk > 0:
                out[(K_PLUS, -K_PLUS)] = s2 * kk / 2
                out[(K_SHORT, K_SHORT)] = s2 * kk / 4
                out[(K_LONG, K_LONG)] = s2 * kk / 4
            m_pi = self.sm_mass(PI_PLUS)
            if m > 4 * m_pi:
                w4 = self._multimeson_c * m**3 * math.sqrt(1 - 16 * m_pi * m_pi / (m * m))
                if w4 > 0:
                    out[(PI_PLUS, -PI_PLUS, PI_PLUS, -PI_PLUS)] = s2 * w4 / 2
                    out[(PI_PLUS, -PI_PLUS, PI_ZERO, PI_ZERO)] = s2 * w4 / 2
        else:
            for q, h in ((STRANGE, K_PLUS), (CHARM, D_ZERO)):
                w = self._quark_width(q, h)
                if w > 0:
                    out[(q, -q)] = s2 * w
            out[(GLUON, GLUON)] = s2 * self._gluon_width()
        return out

    # ------------------------------------------------------------------ production
    def xi_bs(self) -> float:
        """|xi_bs| of the b -> s S vertex (module docstring)."""
        m_t = self.sm_mass(TOP)
        return 3 * math.sqrt(2) * G_FERMI * m_t * m_t * V_TB * V_TS / (16 * math.pi**2)

    def _b_to_k(self, b: int, k: int, vector: bool) -> float:
        """BR(B -> K(*) S) at this point: width x tau_B / hbar."""
        m_b, m_k, m = self.sm_mass(b), self.sm_mass(k), self.mass
        if m >= m_b - m_k:
            return 0.0
        q2 = m * m
        lam = kallen(m_b * m_b, m_k * m_k, q2)
        xi2 = self.coupling**2 * self.xi_bs() ** 2
        if vector:
            a0 = a0_b_to_kstar(q2, m_b)
            width = xi2 * a0 * a0 * lam**1.5 / (64 * math.pi * VEV_GEV**2 * m_b**3)
        else:
            f0 = f0_b_to_k(q2)
            width = (
                xi2
                * (m_b * m_b - m_k * m_k) ** 2
                * f0
                * f0
                * math.sqrt(lam)
                / (64 * math.pi * VEV_GEV**2 * m_b**3)
            )
        return width * self._tau_ns(b) / HBAR_GEV_NS

    def _tau_ns(self, pdg: int) -> float:
        from particle import Particle

        return float(Particle.from_pdgid(pdg).lifetime)  # ns, as the particle package gives it

    def production(self) -> dict[str, float]:
        m_b = self.sm_mass(B_ZERO)
        out = {
            "B+ -> K+ S": self._b_to_k(B_PLUS, K_PLUS, False),
            "B0 -> K0 S": self._b_to_k(B_ZERO, K_ZERO, False),
            "B+ -> K*+ S": self._b_to_k(B_PLUS, K_STAR_PLUS, True),
            "B0 -> K*0 S": self._b_to_k(B_ZERO, K_STAR_ZERO, True),
        }
        if self.mass < m_b:
            out["B -> X_s S (inclusive, reference)"] = (
                5.6 * self.coupling**2 * (1 - self.mass**2 / m_b**2) ** 2
            )
        return out
