"""The heavy neutral lepton N mixing only with nu_tau (mixing |U_tau|^2, the model's coupling),
for m_N below the tau mass, where it is made in tau decays and decays through the Z only.

Sources: K. Bondarenko, A. Boyarsky, D. Gorbunov, O. Ruchayskiy, "Phenomenology of GeV-scale
heavy neutral leptons", JHEP 11 (2018) 032, arXiv:1805.08567 ("BBGR" below), with the meson
constants of FORESEE's HNLCalc (KlingFelix/FORESEE, Models/HNL/HNLCalc.py) as
../shared/reference/hnl_photon.md section 1.5 lists them; that section's table (widths computed
with HNLCalc's formulas) is the check of this module (tests/test_hnl_tau_model.py).

Dirac and Majorana (parameter ``dirac``): BBGR's widths are those of one charge channel, i.e.
of a Dirac N (N -> nu X; its antiparticle -> nubar X).  A Majorana N decays to both nu X and
nubar X, so each of its partial widths is twice the Dirac one and its c*tau half; the
branching fractions are the same, and so are the production rates BR(tau -> h N) (FORESEE's
HNLCalc is Majorana: its 96 pi^3 and 16 pi prefactors).  Final states (PDG ids) carry the
neutrino as nu_tau (16): first, e.g. (16, 13, -13), (16, 111), (16, 16, -16), but last in the
quark-level channels (q, qbar, 16): the decay engine hands those to Pythia 8 with meMode 91,
which colour-connects the first two products.  A Majorana N's table lists every channel twice,
with nu_tau (16) and with nubar_tau (-16) (the CP image of the final state), half its width each.

Partial widths of a Dirac N, per |U_tau|^2 (x_i = m_i / m_N, s_W^2 = sin^2 theta_W):

* N -> nu_tau l+ l- (l = e, mu; neutral current only, since l != tau) [BBGR sec. 3.1]:
  G_F^2 m^5 / (192 pi^3) [C1 f1(x_l) + C2 f2(x_l)], C1 = g_L^2 + g_R^2, C2 = g_L g_R with the
  Z couplings g_L = T3 - Q s_W^2, g_R = -Q s_W^2 of l (C1 = (1 - 4 s_W^2 + 8 s_W^4) / 4,
  C2 = s_W^2 (2 s_W^2 - 1) / 2), and
    f1(x) = (1 - 14 x^2 - 2 x^4 - 12 x^6) sqrt(1 - 4 x^2) + 12 x^4 (x^4 - 1) L(x),
    f2(x) = 4 [x^2 (2 + 10 x^2 - 12 x^4) sqrt(1 - 4 x^2) + 6 x^4 (1 - 2 x^2 + 2 x^4) L(x)],
    L(x) = ln[(1 - 3 x^2 - (1 - x^2) sqrt(1 - 4 x^2)) / (x^2 (1 + sqrt(1 - 4 x^2)))];
  L is evaluated as ln[4 x^4 / ((1 + r)(1 - 3 x^2 + (1 - x^2) r))], r = sqrt(1 - 4 x^2) (the
  same number: the numerator times its conjugate is 4 x^6), which does not lose the electron
  to the cancellation 1 - 3 x^2 - (1 - x^2) r = O(x^6) of the printed form;
* N -> nu_tau nu_beta nubar_beta, summed over beta [BBGR sec. 3.1]: G_F^2 m^5 / (192 pi^3),
  shared (1 + delta_tau,beta) / 4: nu_tau nu_tau nubar_tau 1/2, nu_tau nu_e nubar_e and
  nu_tau nu_mu nubar_mu 1/4 each;
* m_N <= 1 GeV, exclusive hadrons [BBGR sec. 3.2, single meson in the final state]:
  N -> nu_tau P (pi0, eta, eta'): G_F^2 f_P^2 m^3 / (32 pi) (1 - x_P^2)^2;
  N -> nu_tau V (rho0, omega, phi): G_F^2 f_V^2 kappa_V^2 m^3 / (32 pi) (1 + 2 x_V^2)(1 - x_V^2)^2,
  kappa_rho = 1 - 2 s_W^2, kappa_omega = -2 s_W^2 / 3, kappa_phi = -sqrt2 (1/2 - 2 s_W^2 / 3);
* m_N > 1 GeV, inclusive N -> nu_tau q qbar (q = u, d, s) [BBGR sec. 3.2, quark level with QCD
  corrections]:
  N_c G_F^2 m^5 / (192 pi^3) [C1^q f1(x_q) + C2^q f2(x_q)] (1 + Delta_QCD) with the quark's
  g_L, g_R, Delta_QCD = a + 5.2 a^2 + 26.4 a^3, a = alpha_s(m_N) / pi (fastsim.models.qcd:
  two-loop PDG running; HNLCalc reads a table that agrees within 2 % at 1.2-1.6 GeV), and
  s sbar times sqrt(1 - 4 m_K^2 / m_N^2), the K K threshold (HNLCalc ``Gamma_nuqq``).
  The switch at m_N = 1.0 GeV is HNLCalc's (``gen_ctau``: exclusive for m <= 1.0 GeV,
  inclusive above); at 1.5 GeV the inclusive total is 1.2 x the exclusive sum
  (hnl_photon.md section 0 item 3): a model systematic of the hadronic width.
  Quark masses are the ``particle`` package's (PDG current masses).

Production, tau- -> h- N (BR at this point, :meth:`HNLTau.production`) [BBGR sec. 2.2]:

* pseudoscalar h = pi, K: Gamma = G_F^2 f_h^2 |V_uq|^2 m_tau^3 |U|^2 / (16 pi)
  [(1 - y_N^2)^2 - y_h^2 (1 + y_N^2)] sqrt(lambda(1, y_N^2, y_h^2)), y = m / m_tau.  This is the
  correct grouping: HNLCalc's ``get_2body_br_tau`` computes sqrt(1 - A (1 - B)) for
  sqrt((1 - A)(1 - B)) and is up to 4x too large (hnl_photon.md section 0 item 1);
* vector h = rho, K*: Gamma = G_F^2 g_h^2 |V_uq|^2 m_tau^3 |U|^2 / (16 pi m_h^2)
  [(1 - y_N^2)^2 + y_h^2 (1 + y_N^2 - 2 y_h^2)] sqrt(lambda(1, y_N^2, y_h^2)), g_h = f_h m_h
  (GeV^2).  With g_rho = 0.162 GeV^2 (BBGR's table of vector-meson constants) the m_N -> 0
  limit is 25 %, PDG BR(tau -> pi pi0 nu) = 25.5 %.  HNLCalc writes 8 pi m_h^2 with
  g_rho = 0.102 GeV^2, 0.79 x this width;
* BR = Gamma tau_tau / hbar, tau_tau from ``particle``.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from fastsim.constants import G_FERMI, HBAR_GEV_NS, SIN2_THETA_W
from fastsim.models.base import Model, NewParticle
from fastsim.models.qcd import alpha_s
from fastsim.schema import Field

__all__ = ["HNLTau", "l_function", "three_body_f1", "three_body_f2"]

ELECTRON, MUON, TAU = 11, 13, 15
NU_E, NU_MU, NU_TAU = 12, 14, 16
DOWN, UP, STRANGE = 1, 2, 3
PI_PLUS, K_PLUS, PI_ZERO, ETA, ETA_PRIME = 211, 321, 111, 221, 331
RHO_PLUS, K_STAR_PLUS, RHO_ZERO, OMEGA, PHI = 213, 323, 113, 223, 333

#: at and below this N mass the hadronic width is the exclusive channels' sum, above it the
#: inclusive nu q qbar (GeV; FORESEE HNLCalc ``gen_ctau``)
HADRONIC_SWITCH_GEV = 1.0
#: number of colours
N_C = 3

#: pseudoscalar decay constants (GeV): f_pi = 130.3 MeV (PDG: 130.2(8)), f_eta = 78.4 MeV,
#: f_eta' = -95.7 MeV (the sign does not matter here), FORESEE HNLCalc ``fH`` (hnl_photon.md
#: section 1.5); f_K+ = 155.6 MeV, BBGR's table of pseudoscalar constants (FLAG: 155.7(3) MeV)
F_PSEUDOSCALAR: dict[int, float] = {
    PI_PLUS: 0.1303,
    PI_ZERO: 0.1303,
    ETA: 0.0784,
    ETA_PRIME: -0.0957,
    K_PLUS: 0.1556,
}
#: neutral vector-meson decay constants (GeV), FORESEE HNLCalc ``fH`` (hnl_photon.md 1.5):
#: f_rho0 = 220, f_omega = 195 MeV (arXiv:1005.1607), f_phi = 229 MeV
F_VECTOR_NEUTRAL: dict[int, float] = {RHO_ZERO: 0.220, OMEGA: 0.195, PHI: 0.229}
#: charged vector mesons, g_h = f_h m_h (GeV^2): g_rho = 0.162 GeV^2 (BBGR's table; f_rho+ =
#: g_rho / m_rho = 209 MeV, which gives BR(tau -> rho nu) = 25 %); for K*+ f_K* = 204 MeV
#: (FORESEE HNLCalc ``fH``) times m_K*
G_RHO_GEV2 = 0.162
F_K_STAR = 0.204
#: |V_ud|, |V_us|: PDG 2024 CKM review (superallowed 0+ -> 0+ beta decays; K_l3 / K_l2 average)
V_UD, V_US = 0.97367, 0.2243


def l_function(x: float) -> float:
    """BBGR's L(x) (x = m_l / m_N < 1/2) in the cancellation-free form of the module docstring."""
    r = math.sqrt(max(1.0 - 4.0 * x * x, 0.0))
    x2 = x * x
    return math.log(4.0 * x2 * x2 / ((1.0 + r) * (1.0 - 3.0 * x2 + (1.0 - x2) * r)))


def three_body_f1(x: float) -> float:
    """BBGR's f1(x) of the N -> nu f fbar widths (module docstring); 1 at x = 0, 0 at x = 1/2."""
    if x <= 0.0:
        return 1.0
    if x >= 0.5:
        return 0.0
    x2 = x * x
    r = math.sqrt(1.0 - 4.0 * x2)
    return (1 - 14 * x2 - 2 * x2**2 - 12 * x2**3) * r + 12 * x2**2 * (x2**2 - 1) * l_function(x)


def three_body_f2(x: float) -> float:
    """BBGR's f2(x) (with its factor 4; module docstring); 0 at x = 0 and at x = 1/2."""
    if x <= 0.0 or x >= 0.5:
        return 0.0
    x2 = x * x
    r = math.sqrt(1.0 - 4.0 * x2)
    return 4 * (x2 * (2 + 10 * x2 - 12 * x2**2) * r + 6 * x2**2 * (1 - 2 * x2 + 2 * x2**2) * l_function(x))


def _z_couplings(t3: float, charge: float) -> tuple[float, float]:
    """(g_L, g_R) of a fermion to the Z: T3 - Q s_W^2 and -Q s_W^2."""
    return t3 - charge * SIN2_THETA_W, -charge * SIN2_THETA_W


def _kallen(a: float, b: float, c: float) -> float:
    return a * a + b * b + c * c - 2.0 * (a * b + a * c + b * c)


#: T3 and charge (units of e) of the final-state fermions of the nu f fbar channels
_WEAK_CHARGES: dict[int, tuple[float, float]] = {
    ELECTRON: (-0.5, -1.0),
    MUON: (-0.5, -1.0),
    UP: (0.5, 2.0 / 3.0),
    DOWN: (-0.5, -1.0 / 3.0),
    STRANGE: (-0.5, -1.0 / 3.0),
}
#: kappa_V of the N -> nu V widths (module docstring)
_KAPPA: dict[int, float] = {
    RHO_ZERO: 1.0 - 2.0 * SIN2_THETA_W,
    OMEGA: -2.0 * SIN2_THETA_W / 3.0,
    PHI: -math.sqrt(2.0) * (0.5 - 2.0 * SIN2_THETA_W / 3.0),
}


def _with_nubar(final_state: tuple[int, ...]) -> tuple[int, ...]:
    """The CP image of a Dirac final state (module docstring): its first nu_tau made nubar_tau."""
    i = final_state.index(NU_TAU)
    return (*final_state[:i], -NU_TAU, *final_state[i + 1 :])


class HNLTau(Model):
    """Heavy neutral lepton N with |U_tau|^2 mixing only (module docstring for the formulas).

    Parameters: ``mass`` m_N (GeV), ``coupling`` |U_tau|^2 (dimensionless, 0 < |U|^2 <= 1),
    ``dirac`` (False: Majorana N).  Majorana widths are twice the Dirac ones in every channel
    (N -> nu X and nubar X), the branching fractions and BR(tau -> h N) are the same.  Every
    width and every production rate is proportional to |U_tau|^2.
    """

    name = "hnl_tau"
    title = "heavy neutral lepton N mixing with nu_tau (coupling |U_tau|^2)"
    coupling_label = r"$|U_\tau|^2$"
    label = r"HNL $N$ ($|U_\tau|^2$)"
    #: 9900018: Pythia 8 uses 9900012/14/16 for right-handed neutrinos (heavy resonances), and
    #: N's quark-level decays go through Pythia
    particle = NewParticle(9900018, "N", spin=0.5)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="N mass", unit="GeV", min=0.0, min_exclusive=True),
        "coupling": Field(
            float, doc="|U_tau|^2 (mixing with nu_tau, squared)", min=0.0, min_exclusive=True, max=1.0
        ),
        "dirac": Field(
            bool,
            default=False,
            doc="a Dirac N (true) or a Majorana N (false: every width twice the Dirac one)",
        ),
    }
    references = ("arXiv:1805.08567", "arXiv:2402.02580", "arXiv:1908.09719", "FORESEE HNLCalc")
    #: BR(tau -> h N) ~ |U|^2
    production_power = 1.0
    #: Gamma ~ |U|^2, c*tau ~ 1 / |U|^2
    width_power = 1.0

    @property
    def dirac(self) -> bool:
        """True for a Dirac N, False for a Majorana N (twice the Dirac widths)."""
        return bool(self.params["dirac"])

    # ------------------------------------------------------------------ widths
    def _nu_ffbar(self, fermion: int, mass: float) -> float:
        """Gamma(N -> nu_tau f fbar) / |U|^2 through the Z, one charge channel, colour summed,
        fermion mass ``mass`` (GeV), without QCD correction."""
        m = self.mass
        if m <= 2.0 * mass:
            return 0.0
        g_l, g_r = _z_couplings(*_WEAK_CHARGES[fermion])
        x = mass / m
        colours = N_C if fermion in (UP, DOWN, STRANGE) else 1
        shape = (g_l * g_l + g_r * g_r) * three_body_f1(x) + g_l * g_r * three_body_f2(x)
        return colours * G_FERMI**2 * m**5 / (192 * math.pi**3) * shape

    def _three_nu(self) -> float:
        """Gamma(N -> nu_tau nu nubar), summed over flavours, / |U|^2, one charge channel."""
        return G_FERMI**2 * self.mass**5 / (192 * math.pi**3)

    def _nu_pseudoscalar(self, meson: int) -> float:
        m, m_p = self.mass, self.sm_mass(meson)
        if m <= m_p:
            return 0.0
        x2 = (m_p / m) ** 2
        return G_FERMI**2 * F_PSEUDOSCALAR[meson] ** 2 * m**3 / (32 * math.pi) * (1 - x2) ** 2

    def _nu_vector(self, meson: int) -> float:
        m, m_v = self.mass, self.sm_mass(meson)
        if m <= m_v:
            return 0.0
        x2 = (m_v / m) ** 2
        f, kappa = F_VECTOR_NEUTRAL[meson], _KAPPA[meson]
        return G_FERMI**2 * f * f * kappa * kappa * m**3 / (32 * math.pi) * (1 + 2 * x2) * (1 - x2) ** 2

    def qcd_factor(self) -> float:
        """1 + Delta_QCD of the inclusive nu q qbar width at mu = m_N (module docstring)."""
        a = float(alpha_s(self.mass)) / math.pi
        return 1.0 + a + 5.2 * a * a + 26.4 * a**3

    def dirac_widths(self) -> dict[tuple[int, ...], float]:
        """Gamma / |U|^2 (GeV) of a Dirac N per final state (module docstring for the order)."""
        m = self.mass
        out: dict[tuple[int, ...], float] = {}
        for lep in (ELECTRON, MUON):
            w = self._nu_ffbar(lep, self.sm_mass(lep))
            if w > 0:
                out[(NU_TAU, lep, -lep)] = w
        nu3 = self._three_nu()
        out[(NU_TAU, NU_TAU, -NU_TAU)] = nu3 / 2
        out[(NU_TAU, NU_E, -NU_E)] = nu3 / 4
        out[(NU_TAU, NU_MU, -NU_MU)] = nu3 / 4
        if m <= HADRONIC_SWITCH_GEV:
            for p in (PI_ZERO, ETA, ETA_PRIME):
                w = self._nu_pseudoscalar(p)
                if w > 0:
                    out[(NU_TAU, p)] = w
            for v in (RHO_ZERO, OMEGA, PHI):
                w = self._nu_vector(v)
                if w > 0:
                    out[(NU_TAU, v)] = w
        else:
            qcd = self.qcd_factor()
            for q in (UP, DOWN, STRANGE):
                w = self._nu_ffbar(q, self.sm_mass(q)) * qcd
                if q == STRANGE:
                    m_k = self.sm_mass(K_PLUS)
                    w *= math.sqrt(max(1.0 - 4.0 * m_k * m_k / (m * m), 0.0))
                if w > 0:
                    out[(q, -q, NU_TAU)] = w
        return out

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        u2 = self.coupling
        out: dict[tuple[int, ...], float] = {}
        for fs, w in self.dirac_widths().items():
            out[fs] = u2 * w
            if not self.dirac:  # Majorana: the CP-image final state with nubar_tau as well
                out[_with_nubar(fs)] = u2 * w
        return out

    def decay_model(self, final_state: tuple[int, ...]) -> str:
        """``HNL_NU_LL`` (the V-A matrix element of fastsim.decay_models) for nu l+ l-."""
        ids = [abs(int(i)) for i in final_state]
        if len(ids) == 3 and ids[0] == NU_TAU and ids[1] == ids[2] and ids[1] in (ELECTRON, MUON):
            return "HNL_NU_LL"
        return "PHSP"

    # ------------------------------------------------------------------ production
    def _tau_width_gev(self) -> float:
        """The tau's total width (GeV) from its ``particle`` lifetime (ns)."""
        from particle import Particle

        return HBAR_GEV_NS / float(Particle.from_pdgid(TAU).lifetime)

    def tau_to_meson_width(self, meson: int) -> float:
        """Gamma(tau- -> h- N) (GeV) at this point, h = pi-, K-, rho-, K*- (module docstring)."""
        m_tau, m_h, m = self.sm_mass(TAU), self.sm_mass(meson), self.mass
        if m >= m_tau - m_h:
            return 0.0
        yn2, yh2 = (m / m_tau) ** 2, (m_h / m_tau) ** 2
        root = math.sqrt(max(_kallen(1.0, yn2, yh2), 0.0))
        ckm = V_US if meson in (K_PLUS, K_STAR_PLUS) else V_UD
        pre = self.coupling * G_FERMI**2 * ckm**2 * m_tau**3
        if meson in (PI_PLUS, K_PLUS):
            f = F_PSEUDOSCALAR[meson]
            return pre * f * f / (16 * math.pi) * ((1 - yn2) ** 2 - yh2 * (1 + yn2)) * root
        g = G_RHO_GEV2 if meson == RHO_PLUS else F_K_STAR * m_h
        return pre * g * g / (16 * math.pi * m_h * m_h) * ((1 - yn2) ** 2 + yh2 * (1 + yn2 - 2 * yh2)) * root

    def production(self) -> dict[str, float]:
        """BR(tau- -> h- N) at this point (the same for tau+ -> h+ N, and for Dirac or Majorana N)."""
        gamma_tau = self._tau_width_gev()
        return {
            f"tau- -> {name} N": self.tau_to_meson_width(h) / gamma_tau
            for name, h in (("pi-", PI_PLUS), ("K-", K_PLUS), ("rho-", RHO_PLUS), ("K*-", K_STAR_PLUS))
        }

    def check(self) -> list[tuple[str, str]]:
        """No production in tau -> pi N at m_N >= m_tau - m_pi; m_N > 0 (the schema's too)."""
        m_tau, m_pi = self.sm_mass(TAU), self.sm_mass(PI_PLUS)
        if self.mass <= 0.0:
            return [("mass", f"m_N must be > 0, got {self.mass:g} GeV")]
        if self.mass >= m_tau - m_pi:
            reason = (
                f"m_N = {self.mass:g} GeV >= m_tau - m_pi = {m_tau - m_pi:.4f} GeV: N is not made "
                "in tau -> pi N, and its charged-current decays are not modelled"
            )
            return [("mass", reason)]
        return super().check()


class HNLTauMajorana(HNLTau):
    """:class:`HNLTau` with a Majorana N, as a model of its own: a search's limits name it
    (``hnl_majorana``) and its points need only mass and |U_tau|^2."""

    name = "hnl_majorana"
    title = "Majorana heavy neutral lepton N mixing with nu_tau (coupling |U_tau|^2)"
    label = r"Majorana $N$ ($|U_\tau|^2$)"
    parameters: ClassVar[dict[str, Field]] = {k: v for k, v in HNLTau.parameters.items() if k != "dirac"}
    fixed_dirac: ClassVar[bool] = False

    def __init__(self, params: Any = None, particles: Any = None, **kw: Any) -> None:
        super().__init__(params, particles, **kw)
        self.params["dirac"] = self.fixed_dirac


class HNLTauDirac(HNLTauMajorana):
    """:class:`HNLTau` with a Dirac N (``hnl_dirac``)."""

    name = "hnl_dirac"
    title = "Dirac heavy neutral lepton N mixing with nu_tau (coupling |U_tau|^2)"
    label = r"Dirac $N$ ($|U_\tau|^2$)"
    fixed_dirac: ClassVar[bool] = True
