"""The axion-like particle a_W coupled to the SU(2)_L gauge bosons (coupling g_aW), produced in
B -> K a and B -> K* a through the W-top loop and decaying a -> gamma gamma.

Lagrangian (../shared/reference/physics.md section 6b; Izaguirre, Lin, Shuve, PRL 118 (2017)
111802, arXiv:1611.09355):
  L > -(g_aW / 4) a W^b_{mu nu} W~^{b mu nu},   g_aW in GeV^-1,
and no other coupling at the scale where it is defined (no tree-level a F F~ from hypercharge,
no gluon or fermion coupling).  Distinct from the photon-coupled ALP of fastsim.models.alp
(its own particle id, 9900029 here against 9900028 there).

Decay.  After electroweak symmetry breaking W^3 = c_W Z + s_W A, so the a F F~ term is
-(s_W^2 g_aW / 4) a F F~: g_agg = s_W^2 g_aW [D: from the Lagrangian; physics.md 6b tags it
U], with s_W^2 = sin^2 theta_W = 0.23121 (MS-bar at M_Z, fastsim.constants.SIN2_THETA_W, PDG 2024
electroweak review).  Then, as for the photon-coupled ALP (fastsim.models.alp; arXiv:2007.13071,
arXiv:1709.00009),
  Gamma(a -> gamma gamma) = g_agg^2 m_a^3 / (64 pi),
the only channel kept, so BR(a -> gamma gamma) = 1, as the Belle search for B -> K(*) a,
a -> gamma gamma (arXiv:2507.01249, JHEP 12 (2025) 109) and Izaguirre-Lin-Shuve assume for a
W-only coupling below the W mass.  Neglected: the loop-induced couplings to fermions (O(alpha^2 /
s_W^4) g_aW ln(m_a^2 / m_W^2) -- the W-loop term of ALPaca's effective fermion coupling,
alpaca/decays effcouplings; a -> l+ l- is further helicity suppressed, ~m_l^2), and so the
hadronic channels (a -> 3 pi, pi pi gamma, ...) which need a gluon or quark coupling; the
running of s_W^2 from M_Z down to m_a; the Z gamma and W loop corrections to g_agg.  c*tau ~ 1 /
g_aW^2 m_a^3: 74 um at m_a = 1 GeV, g_aW = 1e-4 GeV^-1; 0.9 cm at 0.2 GeV, and 0.7 cm at 1 GeV
with g_aW = 1e-5 (displaced vertices matter at the couplings of the Belle limits).

Production.  The W loop with up-type quarks gives the flavour-changing coupling
L > g_abs (d_mu a) sbar gamma^mu P_L b + h.c. (Izaguirre-Lin-Shuve eq. (4), as physics.md 6b
restates it [U there]):
  g_abs = -(3 sqrt(2) G_F m_W^2 g_aW / (16 pi^2)) sum_{alpha = c, t} V_{alpha b} V*_{alpha s}
          f(m_alpha^2 / m_W^2),     f(x) = x [1 + x (ln x - 1)] / (1 - x)^2.
Checks of the normalisation: ALPINIST (github jjerhot/ALPINIST, ALP_rescale/alp/
effective_coupling.py, arXiv:2201.05170) uses the same f(x) with g_abs = 3 alpha_W^2
sum V V* f(x) C_WW / Lambda, which is the formula above for g_aW = 16 pi alpha_W C_WW / Lambda
(the coupling g^2 C_WW a / Lambda W W~); the resulting exclusive BR(B+ -> K+ a) is 9 % of
FORESEE's inclusive BR(B -> X_s a) = 2.3e4 (g_aW GeV)^2 (1 - m_a^2 / m_B^2)^2 (physics.md 6b), about
the exclusive fraction of the dark Higgs (fastsim.models.dark_higgs: 0.47 / 5.6 = 8 %).
Inputs: G_F from fastsim.constants; m_t, m_W and m_c (MS-bar m_c(m_c)) from ``particle`` (PDG);
|V_ts| = 0.0411, |V_tb| = 1.010 (PDG 2024, as fastsim.models.dark_higgs); the charm term through
unitarity, V_cb V*_cs = -V_tb V*_ts (V_ub V*_us, 2 % of it, dropped), so
|g_abs| = 3 sqrt(2) G_F m_W^2 g_aW |V_tb V_ts| (f(x_t) - f(x_c)) / (16 pi^2); the charm lowers it
by 2e-4.  Numbers: f(x_t) = 1.22 and |g_abs| = 1.02e-4 g_aW (physics.md: 9.9e-5 with |V_ts| =
0.0394, V_tb = 1.019 and m_t = 174 GeV).  The one-loop formula has no renormalisation-group
running; ALPaca's matched-and-run couplings can differ by O(1) logarithms (physics.md 6b).

Widths (ALPaca alpaca/decays/mesons BtoKa, B0toKsta, citing Izaguirre:2016dfi), r_X = m_X^2 / m_B^2:
  Gamma(B -> K a)  = m_B^3 |g_abs|^2 / (64 pi) f_0^2(m_a^2) (1 - r_K)^2 lambda^(1/2)(1, r_K, r_a),
  Gamma(B -> K* a) = m_B^3 |g_abs|^2 / (64 pi) A_0^2(m_a^2) lambda^(3/2)(1, r_K*, r_a),
with the light-cone sum-rule form factors of fastsim.models.dark_higgs (f_0: Ball-Zwicky
hep-ph/0406232; A_0: hep-ph/0412079), BR = Gamma tau_B / hbar with the ``particle`` lifetimes.
BR(B+ -> K+ a) = 2.0e-5 (g_aW / 1e-4 GeV^-1)^2 at small m_a (physics.md: 1.9e-5).  The K0 mode is
B0 -> K0 a (as fastsim.models.dark_higgs gives B0 -> K0 S).

production_power = 2 (BR ~ g_aW^2, BR(gamma gamma) = 1), width_power = 2 (Gamma ~ g_aW^2).

Units: GeV, cm, ns; couplings in GeV^-1.
"""

from __future__ import annotations

import math
from typing import ClassVar

from fastsim.constants import G_FERMI, HBAR_GEV_NS, SIN2_THETA_W
from fastsim.models.base import Model, NewParticle
from fastsim.models.dark_higgs import V_TB, V_TS, a0_b_to_kstar, f0_b_to_k, kallen
from fastsim.schema import Field

__all__ = ["ALPW", "loop_f"]

PHOTON = 22
CHARM, TOP, W_BOSON = 4, 6, 24
B_PLUS, B_ZERO, K_PLUS, K_ZERO, K_STAR_PLUS, K_STAR_ZERO = 521, 511, 321, 311, 323, 313
#: FORESEE's inclusive BR(B -> X_s a) / (g_aW GeV)^2 at m_a -> 0 (physics.md 6b), a reference only
INCLUSIVE_FORESEE = 2.3e4


def loop_f(x: float) -> float:
    """Izaguirre-Lin-Shuve loop function f(x) = x [1 + x (ln x - 1)] / (1 - x)^2, x = m_q^2 / m_W^2."""
    return x * (1.0 + x * (math.log(x) - 1.0)) / (1.0 - x) ** 2


class ALPW(Model):
    name = "alp_w"
    title = "axion-like particle a_W coupled to SU(2)_L gauge bosons (-(g_aW/4) a W W~), B -> K(*) a"
    coupling_label = r"$g_{aW}$ [GeV$^{-1}$]"
    label = "axion-like particle $a$ ($W$ coupling)"
    particle = NewParticle(9900029, "a_W", spin=0.0)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="ALP mass", unit="GeV", min=0.0, min_exclusive=True),
        "coupling": Field(float, doc="g_aW: the a W W~ coupling", unit="GeV^-1", min=0.0, min_exclusive=True),
    }
    references = ("arXiv:1611.09355", "arXiv:2507.01249", "arXiv:2201.05170", "arXiv:2007.13071")
    production_power = 2.0  # BR(B -> K(*) a) ~ g_aW^2, BR(a -> gamma gamma) = 1
    width_power = 2.0  # Gamma(a -> gamma gamma) ~ g_aW^2

    # ------------------------------------------------------------------ widths
    @property
    def g_agg(self) -> float:
        """The induced photon coupling g_agg = s_W^2 g_aW (GeV^-1)."""
        return SIN2_THETA_W * self.coupling

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        return {(PHOTON, PHOTON): self.g_agg**2 * self.mass**3 / (64.0 * math.pi)}

    # ------------------------------------------------------------------ production
    def g_abs(self, top_only: bool = False) -> float:
        """|g_abs| (GeV^-1) of the b -> s a vertex (module docstring): top and charm (through
        unitarity), or the top alone."""
        m_w2 = self.sm_mass(W_BOSON) ** 2
        loop = loop_f(self.sm_mass(TOP) ** 2 / m_w2)
        if not top_only:
            loop -= loop_f(self.sm_mass(CHARM) ** 2 / m_w2)
        return 3 * math.sqrt(2) * G_FERMI * m_w2 * self.coupling * V_TB * V_TS * loop / (16 * math.pi**2)

    def width_b_to_k(self, b: int, k: int, vector: bool) -> float:
        """Gamma(B -> K a) (``vector`` False) or Gamma(B -> K* a) (True), GeV; 0 where closed."""
        m_b, m_k, m = self.sm_mass(b), self.sm_mass(k), self.mass
        if m >= m_b - m_k:
            return 0.0
        q2 = m * m
        lam = max(kallen(1.0, (m_k / m_b) ** 2, q2 / (m_b * m_b)), 0.0)
        norm = m_b**3 * self.g_abs() ** 2 / (64 * math.pi)
        if vector:
            return norm * a0_b_to_kstar(q2, m_b) ** 2 * lam**1.5
        return norm * f0_b_to_k(q2) ** 2 * (1 - (m_k / m_b) ** 2) ** 2 * math.sqrt(lam)

    def _br(self, b: int, k: int, vector: bool) -> float:
        from particle import Particle

        tau_ns = float(Particle.from_pdgid(b).lifetime)  # ns, as the particle package gives it
        return self.width_b_to_k(b, k, vector) * tau_ns / HBAR_GEV_NS

    def production(self) -> dict[str, float]:
        a = self.particle.name
        out = {
            f"B+ -> K+ {a}": self._br(B_PLUS, K_PLUS, False),
            f"B0 -> K0 {a}": self._br(B_ZERO, K_ZERO, False),
            f"B+ -> K*+ {a}": self._br(B_PLUS, K_STAR_PLUS, True),
            f"B0 -> K*0 {a}": self._br(B_ZERO, K_STAR_ZERO, True),
        }
        m_b = self.sm_mass(B_ZERO)
        if self.mass < m_b:
            out[f"B -> X_s {a} (inclusive, FORESEE reference)"] = (
                INCLUSIVE_FORESEE * self.coupling**2 * (1 - self.mass**2 / m_b**2) ** 2
            )
        return out
