"""The dark photon A': a massive vector kinetically mixed with the photon (mixing epsilon), with an
optional invisible decay into a Dirac dark-matter fermion chi.

Lagrangian (../shared/reference/physics.md section 7; DarkCast models/dark_photon.py,
x_f = -Q_f e): L > -eps e Q_f A'_mu fbar gamma^mu f  (+ g_D A'_mu chibar gamma^mu chi, alpha_D =
g_D^2 / 4 pi, when the dark channel is switched on).

Widths (alpha = alpha(0); every visible width ~ eps^2):

* leptons: Gamma(A' -> l+ l-) = eps^2 alpha m / 3 (1 + 2 m_l^2/m^2) sqrt(1 - 4 m_l^2/m^2)
  (DarkCast's C_f x_f^2 m / (12 pi) (...) with x_f = eps e; Ilten, Soreq, Williams, Xue,
  JHEP 06 (2018) 004, arXiv:1801.04847, eq. 2.13);
* hadrons, 0.28 GeV <= m <= M_MATCH = 2.0 GeV: Gamma(A' -> F) = Gamma_0 R_mu^F(m),
  Gamma_0 = eps^2 alpha m / 3 (the massless-lepton width), with DarkCast's vector-meson-dominance
  fits R_mu^F (arXiv:1801.04847 eqs. 2.15-2.18), tabulated in
  ``data/dark_photon_rmu_darkcast.csv`` (copied from all twelve DarkCast data files
  ``rf.<F>.<V>.dat``, repository micha-a-schmidt/darkcast, commit e276886575d4, at 10 MeV steps to
  1.1 GeV and 20 MeV steps to 2.0 GeV, where DarkCast's tables end; [M] pi0 gamma above 1.1 GeV,
  R < 5e-4, interpolated between the file's 1.1 and 2.0 GeV values) and interpolated linearly.
  DarkCast's total hadronic R is the sum of all columns, each with weight 1 except the omega-phi
  interference (-2) (its pars.py ``rfs`` and model.py ``width``).  Exclusive channels: pi+ pi-;
  pi+ pi- pi0 (omega + phi - 2 x omega-phi interference); pi0 gamma; K Kbar, split K+ K- : K_S K_L
  = 0.4893 : 0.3422 (the phi branching fractions DarkCast uses for its running widths) [M: the split
  is not computed off the phi peak]; 2pi+ 2pi-; pi+ pi- 2pi0; K Kbar pi (DarkCast ``K_K_pi``, from
  1.4 GeV) split by isospin for an I = 0 K* Kbar source [M]: K+ K- pi0 1/6, K_S K_L pi0 1/6,
  K_S K+ pi-, K_S K- pi+, K_L K+ pi-, K_L K- pi+ 1/6 each; and DarkCast's ``other`` final states
  (the measured R not in the channels above, from 1.48 GeV) assigned to representative channels
  [M: DarkCast gives no final state for them]: other(rho) -> eta pi+ pi- and omega pi0 (1/2 each,
  isovector), other(omega) -> omega pi+ pi- (isoscalar), other(phi) -> K+ K- pi+ pi- (s sbar).  eta,
  omega, K_S/K_L are handed to the decay stage as daughters.  Below 0.28 GeV the hadronic width (pi0
  gamma only, R < 4e-6) is neglected.  DarkCast's R is ~1.0 at 1.1 GeV, rises to ~2.6 at
  1.65-1.75 GeV (rho(1700), omega(1650), phi(1680)), dips to ~1.9 at 1.9 GeV and is 2.19 at 2.0 GeV.
* hadrons, m > M_MATCH: perturbative quark pairs, as fastsim.models.dark_higgs does above its
  matching mass (the decay engine hands quark pairs to Pythia):
  Gamma(A' -> q qbar) = 3 Q_q^2 eps^2 alpha m / 3 (1 + 2 r) beta (1 + alpha_s(m) / pi),
  r = m_h^2 / m^2, beta = sqrt(1 - 4 r) at the lightest open-flavour pair (m_h = m_pi for u, d,
  m_K for s, m_D0 for c), i.e. R = 3 sum Q_q^2 (1 + alpha_s/pi).  Matching mass 2.0 GeV: the end
  of DarkCast's tables (DarkCast itself keeps the 2.0 GeV values above), where DarkCast's R (2.188)
  and the quark-pair R (2.180) agree to 0.4 %; at 1.9-1.98 GeV DarkCast's R wanders by 10-15 %
  around the quark pairs, so no earlier point is smoother.  [M: narrow charmonia are not included.]
* invisible (``invisible: true``): Gamma(A' -> chi chibar) = alpha_D m / 3 (1 + 2 m_chi^2/m^2)
  sqrt(1 - 4 m_chi^2/m^2) for a Dirac fermion (physics.md section 7), keyed (-CHI_ID, CHI_ID).
  With alpha_D >> eps^2 alpha, BR(invisible) ~ 1.  ``m_chi`` defaults to m / 3 (the usual
  benchmark m_A' = 3 m_chi of light-dark-matter studies; the channel is then open with
  beta = 0.75).  Without ``invisible`` there is no dark channel and ``m_chi``/``alpha_d`` are
  ignored.  chi is stable, neutral and invisible to the detector; the model lists it in
  :meth:`DarkPhoton.extra_particles`.

Coupling scaling: sigma(e+e- -> gamma A') ~ eps^2 and every visible width ~ eps^2
(``production_power = width_power = 2``).  With the invisible channel Gamma ~ alpha_D does not
scale with eps, so :meth:`DarkPhoton.ctau_at` uses Gamma(eps) = Gamma_vis (eps/eps0)^2 +
Gamma_inv, and :meth:`DarkPhoton.rate_scale` scales sigma x BR(invisible) exactly.  [M: code that
reads the class attributes directly (analysis/interpretation.py) still sees 2 and 2.]

Production e+e- -> gamma A' (physics.md section 7; the q qbar -> V gamma amplitude,
|M|^2 ~ (t^2 + u^2 + 2 s m^2) / (t u)), theta the photon polar angle in the CM frame,
r = m^2 / s:
  dsigma/dcos = (2 pi alpha^2 eps^2 / s) (1 - r) [(1 + cos^2) / sin^2 + 4 r / ((1 - r)^2 sin^2)],
  sigma(|cos| < C) = (2 pi alpha^2 eps^2 / s) (1 - r) [2 L - 2 C + 4 r / (1 - r)^2 L],
  L = ln((1 + C) / (1 - C)).
Check (physics.md): C = cos 20 deg, sqrt(s) = m(Upsilon(4S)): sigma / eps^2 = 5.9, 6.3, 9.2 nb at
m = 0.5, 2, 5 GeV.  No ISR.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Any, ClassVar

import numpy as np
from particle import Particle

from fastsim.constants import ALPHA_EM, GEV2_TO_NB, HBARC_GEV_CM
from fastsim.models.base import Model, NewParticle, final_state_name
from fastsim.models.qcd import alpha_s
from fastsim.schema import Field

__all__ = [
    "APRIME_ID",
    "CHI_ID",
    "DarkPhoton",
    "darkcast_rmu",
    "dsigma_dcos_ee_gamma_aprime",
    "sigma_ee_gamma_aprime_nb",
]

#: PDG-style ids of the dark photon and of the Dirac dark-matter fermion chi (99xxxxx: new states)
APRIME_ID = 9900022
CHI_ID = 9900051

ELECTRON, MUON, TAU = 11, 13, 15
PI_PLUS, PI_ZERO, K_PLUS, K_SHORT, K_LONG, D_ZERO, PHOTON = 211, 111, 321, 310, 130, 421, 22
ETA, OMEGA = 221, 223
DOWN, UP, STRANGE, CHARM = 1, 2, 3, 4
UPSILON_4S = 300553
#: sqrt(s) of the closed-form production entry: m(Upsilon(4S)) (PDG, via particle; MeV -> GeV)
SQRT_S_Y4S = Particle.from_pdgid(UPSILON_4S).mass / 1000.0
#: photon acceptance of the closed-form production entry: |cos theta*| < cos(20 deg)
COS_MAX_20DEG = math.cos(math.radians(20.0))
#: hadronic widths from DarkCast's tables from M_HAD_MIN up to M_MATCH, quark pairs above (GeV);
#: M_MATCH = 2.0 GeV is the end of DarkCast's tables, where its R meets the quark-pair R (docstring)
M_HAD_MIN, M_MATCH = 0.28, 2.0
#: phi -> K+ K- and phi -> K_S K_L branching fractions DarkCast uses (its pars.py); they split K Kbar
BR_PHI_KK_CHARGED, BR_PHI_KK_NEUTRAL = 0.4893042, 0.3422127
#: DarkCast's dark-photon weight of each table column (single mesons 1, omega-phi interference -2)
_COLUMNS = (
    "pipi_rho",
    "3pi_omega",
    "3pi_phi",
    "3pi_omega_phi",
    "pi0gamma_omega",
    "KK_phi",
    "4pi_charged_rho",
    "4pi_neutral_rho",
    "KKpi_phi",
    "other_rho",
    "other_omega",
    "other_phi",
)
#: share of DarkCast's K Kbar pi in each charge state: isospin of an I = 0 K* Kbar source [M]
KKPI_SHARES = {
    (K_PLUS, -K_PLUS, PI_ZERO): 1 / 6,
    (K_SHORT, K_LONG, PI_ZERO): 1 / 6,
    (K_SHORT, K_PLUS, -PI_PLUS): 1 / 6,
    (K_SHORT, -K_PLUS, PI_PLUS): 1 / 6,
    (K_LONG, K_PLUS, -PI_PLUS): 1 / 6,
    (K_LONG, -K_PLUS, PI_PLUS): 1 / 6,
}


@functools.cache
def _table() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(masses in GeV, column name -> R_mu^F) of ``data/dark_photon_rmu_darkcast.csv``."""
    path = resources.files("fastsim.models").joinpath("data", "dark_photon_rmu_darkcast.csv")
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split(",")
    data = np.array([ln.split(",") for ln in lines[1:]], dtype=np.float64)
    cols = {name: data[:, i].copy() for i, name in enumerate(header)}
    return cols.pop("m_GeV"), cols


def darkcast_rmu(column: str, m: float) -> float:
    """DarkCast's R_mu^F of one table column (e.g. ``"pipi_rho"``) at mass ``m`` (GeV), linear
    interpolation; 0 outside [0.28, 2.0] GeV.  Raw (not yet weighted, may be negative)."""
    x, cols = _table()
    if m < x[0] or m > x[-1]:
        return 0.0
    return float(np.interp(m, x, cols[column]))


def dsigma_dcos_ee_gamma_aprime(s: float, mass: float, eps: float, cos: float) -> float:
    """dsigma/dcos theta (nb) of e+e- -> gamma A' at CM energy squared ``s`` (GeV^2), A' mass
    ``mass`` (GeV), mixing ``eps``; theta is the photon's polar angle in the CM frame
    (physics.md section 7).  0 at and above threshold."""
    if mass * mass >= s or abs(cos) >= 1.0:
        return 0.0
    r = mass * mass / s
    sin2 = 1.0 - cos * cos
    bracket = (1.0 + cos * cos) / sin2 + 4.0 * r / ((1.0 - r) ** 2 * sin2)
    return 2.0 * math.pi * ALPHA_EM**2 * eps**2 / s * (1.0 - r) * bracket * GEV2_TO_NB


def sigma_ee_gamma_aprime_nb(s: float, mass: float, eps: float, cos_max: float = COS_MAX_20DEG) -> float:
    """sigma(e+e- -> gamma A') (nb) with the photon in |cos theta*| < ``cos_max`` (< 1) at CM
    energy squared ``s`` (GeV^2), A' mass ``mass`` (GeV), mixing ``eps`` (physics.md section 7:
    5.9 / 6.3 / 9.2 nb x eps^2 at 0.5 / 2 / 5 GeV for cos_max = cos 20 deg at the Upsilon(4S))."""
    if mass * mass >= s:
        return 0.0
    r = mass * mass / s
    c = cos_max
    log = math.log((1.0 + c) / (1.0 - c))
    bracket = 2.0 * log - 2.0 * c + 4.0 * r / (1.0 - r) ** 2 * log
    return 2.0 * math.pi * ALPHA_EM**2 * eps**2 / s * (1.0 - r) * bracket * GEV2_TO_NB


def _vector_width(coupling2_over_4pi: float, m: float, m_f: float) -> float:
    """Gamma(V -> f fbar) = a m / 3 (1 + 2 r) sqrt(1 - 4 r), r = m_f^2 / m^2, a = g^2 / (4 pi)."""
    if m <= 2.0 * m_f:
        return 0.0
    r = m_f * m_f / (m * m)
    return coupling2_over_4pi * m / 3.0 * (1.0 + 2.0 * r) * math.sqrt(1.0 - 4.0 * r)


class DarkPhoton(Model):
    name = "dark_photon"
    title = "dark photon A' (kinetic mixing epsilon), optionally decaying to dark matter chi chibar"
    coupling_label = r"$\varepsilon$"
    label = "dark photon $A'$"
    particle = NewParticle(APRIME_ID, "A'", spin=1.0)
    #: the Dirac dark-matter fermion of the invisible channel (stable, neutral, invisible)
    chi = NewParticle(CHI_ID, "chi", spin=0.5)
    parameters: ClassVar[dict[str, Field]] = {
        "mass": Field(float, doc="A' mass", unit="GeV", min=0.0, min_exclusive=True),
        "coupling": Field(float, doc="epsilon: kinetic mixing with the photon", min=0.0, min_exclusive=True),
        "invisible": Field(bool, False, "add the dark channel A' -> chi chibar (alpha_d, m_chi)"),
        "alpha_d": Field(float, 0.5, "alpha_D = g_D^2 / 4 pi of the A' chi chibar coupling", min=0.0),
        "m_chi": Field(
            float,
            None,
            "mass of the Dirac dark-matter fermion chi (default with invisible: m / 3)",
            unit="GeV",
            min=0.0,
            nullable=True,
        ),
    }
    references = ("arXiv:1801.04847", "arXiv:1406.2980", "arXiv:1702.03327")
    production_power = 2.0  # sigma(e+e- -> gamma A') ~ eps^2 (visible case: BR(visible) = 1)
    width_power = 2.0  # every visible width ~ eps^2; see ctau_at for the invisible case

    # ------------------------------------------------------------------ parameters
    @property
    def invisible(self) -> bool:
        return bool(self.params["invisible"])

    @property
    def m_chi(self) -> float:
        """chi mass (GeV): the card's, else m / 3 (module docstring)."""
        value = self.params.get("m_chi")
        return float(value) if value is not None else self.mass / 3.0

    def extra_particles(self) -> dict[int, dict[str, Any]]:
        chi = self.chi
        if not self.invisible:
            return {}
        return {
            CHI_ID: {"name": chi.name, "mass": self.m_chi, "charge": 0.0},
            -CHI_ID: {"name": chi.name + "~", "mass": self.m_chi, "charge": 0.0},
        }

    def check(self) -> list[tuple[str, str]]:
        problems = super().check()
        if self.invisible and 2.0 * self.m_chi >= self.mass:
            problems.append(("m_chi", f"A' -> chi chibar is closed: 2 m_chi = {2 * self.m_chi:g} GeV >= m"))
        return problems

    # ------------------------------------------------------------------ widths
    def gamma0(self) -> float:
        """eps^2 alpha m / 3 (GeV): the massless-lepton width that R_mu^F multiplies."""
        return self.coupling**2 * ALPHA_EM * self.mass / 3.0

    def hadronic_r(self) -> dict[tuple[int, ...], float]:
        """R_mu^F (>= 0) per exclusive hadronic final state at this mass, M_HAD_MIN <= m <= M_MATCH
        (DarkCast's weights: 3 pi = omega + phi - 2 x interference); empty outside."""
        m = self.mass
        if m < M_HAD_MIN or m > M_MATCH:
            return {}
        r = {c: darkcast_rmu(c, m) for c in _COLUMNS}
        kk = max(r["KK_phi"], 0.0)
        f_charged = BR_PHI_KK_CHARGED / (BR_PHI_KK_CHARGED + BR_PHI_KK_NEUTRAL)
        out = {
            (PI_PLUS, -PI_PLUS): r["pipi_rho"],
            (PI_PLUS, -PI_PLUS, PI_ZERO): r["3pi_omega"] + r["3pi_phi"] - 2.0 * r["3pi_omega_phi"],
            (PI_ZERO, PHOTON): r["pi0gamma_omega"],
            (K_PLUS, -K_PLUS): kk * f_charged,
            (K_SHORT, K_LONG): kk * (1.0 - f_charged),
            (PI_PLUS, -PI_PLUS, PI_PLUS, -PI_PLUS): r["4pi_charged_rho"],
            (PI_PLUS, -PI_PLUS, PI_ZERO, PI_ZERO): r["4pi_neutral_rho"],
            # DarkCast's 'other' assigned to representative channels (module docstring) [M]
            (ETA, PI_PLUS, -PI_PLUS): 0.5 * r["other_rho"],
            (OMEGA, PI_ZERO): 0.5 * r["other_rho"],
            (OMEGA, PI_PLUS, -PI_PLUS): r["other_omega"],
            (K_PLUS, -K_PLUS, PI_PLUS, -PI_PLUS): r["other_phi"],
        }
        for key, share in KKPI_SHARES.items():
            out[key] = share * r["KKpi_phi"]
        return {k: v for k, v in out.items() if v > 0.0}

    def _quark_widths(self) -> dict[tuple[int, ...], float]:
        """Gamma(A' -> q qbar) above M_MATCH (module docstring)."""
        m = self.mass
        k = 1.0 + float(alpha_s(m)) / math.pi
        a = self.coupling**2 * ALPHA_EM
        out: dict[tuple[int, ...], float] = {}
        for q, charge, hadron in (
            (UP, 2 / 3, PI_PLUS),
            (DOWN, -1 / 3, PI_PLUS),
            (STRANGE, -1 / 3, K_PLUS),
            (CHARM, 2 / 3, D_ZERO),
        ):
            w = 3.0 * charge**2 * _vector_width(a, m, self.sm_mass(hadron)) * k
            if w > 0:
                out[(q, -q)] = w
        return out

    def visible_widths(self) -> dict[tuple[int, ...], float]:
        """The eps^2 widths (GeV): leptons and hadrons."""
        a = self.coupling**2 * ALPHA_EM
        out: dict[tuple[int, ...], float] = {}
        for lep in (ELECTRON, MUON, TAU):
            w = _vector_width(a, self.mass, self.sm_mass(lep))
            if w > 0:
                out[(-lep, lep)] = w
        if self.mass > M_MATCH:
            out.update(self._quark_widths())
        else:
            g0 = self.gamma0()
            out.update({k: g0 * v for k, v in self.hadronic_r().items()})
        return out

    def invisible_width(self) -> float:
        """Gamma(A' -> chi chibar) (GeV); 0 without the dark channel."""
        if not self.invisible:
            return 0.0
        return _vector_width(float(self.params["alpha_d"]), self.mass, self.m_chi)

    def partial_widths(self) -> dict[tuple[int, ...], float]:
        out = self.visible_widths()
        w = self.invisible_width()
        if w > 0:
            out[(-CHI_ID, CHI_ID)] = w
        return out

    def branching_fractions(self) -> dict[str, float]:
        """Final-state name -> BR; chi (unknown to ``particle``) is named ``chi`` / ``chi~``."""
        tot = self.width_gev
        names = {CHI_ID: self.chi.name, -CHI_ID: self.chi.name + "~"}
        out = {}
        for k, v in self.widths.items():
            if v > 0 and tot > 0:
                label = " ".join(names[i] if i in names else final_state_name((i,)) for i in k)
                out[label] = v / tot
        return out

    def r_hadrons(self) -> float:
        """R_mu(m) = Gamma(A' -> hadrons) / (eps^2 alpha m / 3)."""
        leptons = {(-ELECTRON, ELECTRON), (-MUON, MUON), (-TAU, TAU)}
        had = sum(v for k, v in self.visible_widths().items() if k not in leptons)
        return had / self.gamma0()

    # ------------------------------------------------------------------ coupling scaling
    def ctau_at(self, coupling: np.ndarray | float) -> np.ndarray:
        """c*tau (cm) at ``coupling`` (fixed mass): hbar c / (Gamma_vis (g/eps)^2 + Gamma_inv)."""
        g = np.asarray(coupling, np.float64)
        vis = sum(self.visible_widths().values())
        total = vis * (g / self.coupling) ** 2 + self.invisible_width()
        with np.errstate(divide="ignore"):
            return np.where(total > 0, HBARC_GEV_CM / total, np.inf)

    def rate_scale(self, coupling: np.ndarray | float) -> np.ndarray:
        """sigma x BF at ``coupling`` over this point's: (g/eps)^2 for the visible model; with the
        dark channel, sigma x BR(invisible) = (g/eps)^2 BR_inv(g) / BR_inv(eps) -- the scaling of
        the invisible signal; a visible decay of an invisible-benchmark point (BR(ll) ~ eps^2)
        scales with one more (g/eps)^2, which this method does not give (no search uses it)."""
        x = (np.asarray(coupling, np.float64) / self.coupling) ** 2
        inv = self.invisible_width()
        if inv <= 0:
            return x
        vis = sum(self.visible_widths().values())
        return x * (inv + vis) / (inv + vis * x)

    def coupling_for_rate_ratio(self, ratio: np.ndarray | float) -> np.ndarray:
        """Inverse of :meth:`rate_scale` (NaN where the ratio cannot be reached)."""
        ratio = np.asarray(ratio, np.float64)
        inv = self.invisible_width()
        if inv <= 0:
            return self.coupling * np.sqrt(ratio)
        vis = sum(self.visible_widths().values())
        br0 = inv / (inv + vis)
        denom = inv - ratio * br0 * vis
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(denom > 0, ratio * br0 * inv / denom, np.nan)
        return self.coupling * np.sqrt(x)

    # ------------------------------------------------------------------ production
    def sigma_ee_gamma_aprime_nb(self, s: float, cos_max: float = COS_MAX_20DEG) -> float:
        """sigma(e+e- -> gamma A') (nb) at this point, |cos theta_gamma*| < ``cos_max``."""
        return sigma_ee_gamma_aprime_nb(s, self.mass, self.coupling, cos_max)

    def production(self) -> dict[str, float]:
        # no photon-energy cut: the closed form grows as 1/(1 - m^2/s) towards sqrt(s) (the soft
        # recoil photon), e.g. 1065 nb x eps^2 at 10.5 GeV; generators cut E* (ee_gamma_aprime)
        s = SQRT_S_Y4S**2
        key = "sigma(e+e- -> gamma A') [nb], |cos theta*| < cos 20 deg, at sqrt(s) = m(Upsilon(4S))"
        return {key: self.sigma_ee_gamma_aprime_nb(s)}
