"""e+e- -> gamma A': the dark photon (kinetic mixing epsilon) with a recoil photon, the signal of
the BaBar and Belle II dark-photon searches (BaBar, PRL 113 (2014) 201801, arXiv:1406.2980;
Essig, Schuster, Toro, PRD 80 (2009) 015003, arXiv:0903.3941; ../shared/reference/physics.md
section 7).

The A' couples like the photon times epsilon, L > -eps e Q_f A'_mu fbar gamma^mu f
(fastsim/models/dark_photon.py), so at tree level e-(k1) e+(k2) -> gamma(k) A'(q) is the pair
of initial-state-radiation diagrams of e+e- -> gamma gamma*: the photon and the A' both attached
to the electron line, in the two orders,
  i M = vbar(k2) [ V_A' S(k1 - k) V_gamma + V_gamma S(k - k2) V_A' ] u(k1),
with the vertices -i e Q gamma^mu (photon) and -i eps e Q gamma^mu (A'), the massive electron
propagator S(p) = i (pslash + m_e) / (p^2 - m_e^2) (helicity toolkit,
:mod:`fastsim.generators.helicity`; the electron mass is kept, which regulates the collinear
peak).  There is no s-channel diagram (the A' is emitted from the electron line; an
e+e- -> gamma* -> gamma A' vertex does not exist at tree level), hence no vacuum polarisation
(``vacuum_polarization`` is not a parameter) and no Z.

``decay`` -- what the generator does with the A':

* ``ee`` / ``mumu``: A' -> l+ l- inside the amplitude: the lepton current
  ubar(a) (-i eps e Q gamma^nu) v(b) contracted with the numerator of the A' propagator
  -i (g_{mu nu} - q_mu q_nu / m^2) (the q q term vanishes, the lepton current being conserved),
  i.e. exactly the ISR diagrams of e+e- -> gamma l+ l- (:func:`amp_mumugamma` of
  :mod:`fastsim.generators.ee_mumugamma` without its final-state-radiation diagrams and Z) with
  the virtual photon replaced by the A'.  Narrow width: |1/(q^2 - m^2 + i m Gamma)|^2 ->
  (pi / (m Gamma)) delta(q^2 - m^2), i.e. the A' mass fixed in the phase-space tree and the
  weight factor 1/(2 m Gamma_tot), Gamma_tot the model's total width, so the cross section is
  sigma(e+e- -> gamma A') x BR(A' -> l+ l-).  All spin correlations between the production and
  the decay are kept (the A' is polarised: its decay is not isotropic).  Lepton masses kept.
* ``table``: the A' is written undecayed (status 1) with |M|^2 of e+e- -> gamma A' summed over
  its three polarisations (sum eps eps* = -g + q q / m^2), and fastsim's decay stage decays it
  through the model's decay table (the card's ``models: {dark_photon: {...}}`` point registers
  the A', its width, c tau and decays -- required): sigma = sigma(e+e- -> gamma A'), every
  channel (hadrons, tau tau, chi chibar for the invisible benchmark, and also e e / mu mu, which
  then lose their spin correlation with the photon; use ``ee`` / ``mumu`` for those).  The decay
  stage places the decay at the A' decay length.

Closed form (physics.md section 7, massless electrons; used by the tests, not here): for the
photon at CM polar angle theta, r = m^2 / s,
  (1/4) sum |M|^2 = 2 e^4 eps^2 (t^2 + u^2 + 2 s m^2) / (t u),
  dsigma/dcos theta = (2 pi alpha^2 eps^2 / s)(1 - r) [(1 + cos^2) + 4 r / (1 - r)^2] / sin^2,
  sigma(|cos theta| < C) = (2 pi alpha^2 eps^2 / s)(1 - r) [2 L - 2 C + 4 r L / (1 - r)^2],
  L = ln((1 + C)/(1 - C)).
The cross section is collinear-divergent for massless electrons (regulated by m_e here, a large
logarithm): a photon cut is needed to describe a detectable recoil photon,
``photon_cos_theta_max`` (default cos 20 deg) on the hard (recoil) photon in the e+e- CM frame,
and optionally ``photon_energy_min``; ``lepton_cos_theta_max`` cuts both leptons (CM) in the
``ee`` / ``mumu`` modes.

ISR (``isr``, the Kuraev-Fadin structure function of :mod:`fastsim.generators.process`): the
hard process at s_hat > m_A'^2; the ISR photons are separate record entries (along the beams);
the matrix-element photon is the recoil photon and the cuts act on it in the CM frame;
``photon_energy_min`` also bounds the hard frame (the ISR threshold s_hat > (E_min +
sqrt(E_min^2 + m^2))^2), which drops events whose photon passes the cut only after the boost:
+1.0 % at m = 5 GeV with E_min = 0.1 GeV, 0.2 % at 9 GeV with 0.2 GeV (session-10 review).
FSR (``fsr``): PHOTOS-style radiation off the A' decay leptons (:mod:`fastsim.generators.fsr`).
alpha = alpha(0) at every vertex.

Lifetime (``ee`` / ``mumu``): the A' decays at x + (p / m) c t with c t from Exp(c tau): the
model's c tau at the point, or the particle table's where the card sets it
(``particles.<APRIME_ID>.ctau``), or the grid's mixture (``ctau_mixture``)
(:mod:`fastsim.generators.displaced`).

The model point: the generator's ``mass`` and ``coupling``, or, when they are omitted, the card's
``models: {dark_photon: {...}}`` point (whose other parameters, e.g. ``alpha_d``, ``m_chi``,
``invisible``, set the widths in every case where the card has the point).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim.events import STATUS_DECAYED, STATUS_FINAL, EventBatch
from fastsim.generators.base import XsecTally
from fastsim.generators.displaced import DecayLength, displace_decay
from fastsim.generators.electroweak import ew_couplings
from fastsim.generators.helicity import (
    bar,
    beams_cm,
    bfprop,
    bslash,
    current,
    dot,
    fprop,
    p4t,
    polvec,
    slash,
    tadd,
    tneg,
    uspinor,
    vadd,
    vspinor,
)
from fastsim.generators.isr import Radiator
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
from fastsim.models.base import final_state_name
from fastsim.models.dark_photon import APRIME_ID, DarkPhoton, sigma_ee_gamma_aprime_nb
from fastsim.schema import Field

__all__ = [
    "EEGammaAPrime",
    "amp_gamma_aprime_ll",
    "me2_gamma_aprime",
    "me2_gamma_aprime_ll",
    "ward_ratio_gamma_aprime_ll",
]

ELECTRON, MUON, PHOTON = 11, 13, 22
#: cos 20 deg: the default recoil-photon acceptance (the collinear peak is cut away)
COS_20_DEG = math.cos(math.radians(20.0))


# --------------------------------------------------------------------------- amplitudes
@njit(cache=True, nogil=True)
def _electron_current(
    k1: tuple, k2: tuple, kg: tuple, eps: tuple, h1: int, h2: int, m_e: float, ce: float, ca: float
) -> tuple:
    """J^mu of the electron line with the photon (kg, eps conjugated) emitted, the A' index mu
    open: vbar(k2) [V_A'^mu S(k1 - kg) eps-slash + eps-slash S(kg - k2) V_A'^mu] u(k1), all
    vertices -i c gamma (c = ce for the photon, ca = eps ce for the A')."""
    u1 = uspinor(k1[0], k1[1], k1[2], k1[3], h1)
    vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], h2))
    x1 = fprop(tadd(k1, tneg(kg)), m_e, 0.0, slash(eps, ce, ce, u1))
    y2 = bfprop(bslash(vb2, eps, ce, ce), tneg(tadd(k2, tneg(kg))), m_e, 0.0)
    return vadd(current(vb2, x1, ca, ca), current(y2, u1, ca, ca))


@njit(cache=True, nogil=True)
def amp_gamma_aprime_ll(
    k1: tuple,
    k2: tuple,
    a: tuple,
    b: tuple,
    kg: tuple,
    eps: tuple,
    hel: tuple,
    m_e: float,
    ce: float,
    ca: float,
) -> complex:
    """i M (narrow width: without the A' propagator's denominator) of e-(k1) e+(k2) -> gamma(kg)
    A'(-> l-(a) l+(b)) for helicities hel = (e-, e+, l-, l+) and photon vector eps (conjugated);
    A' couplings ca = eps ce at both vertices, the A' mass m^2 = (a + b)^2; the lepton mass enters
    through the momenta (on shell)."""
    je = _electron_current(k1, k2, kg, eps, hel[0], hel[1], m_e, ce, ca)
    ub3 = bar(uspinor(a[0], a[1], a[2], a[3], hel[2]))
    v4 = vspinor(b[0], b[1], b[2], b[3], hel[3])
    jl = current(ub3, v4, ca, ca)
    q = tadd(a, b)
    m2 = q[0] * q[0] - q[1] * q[1] - q[2] * q[2] - q[3] * q[3]
    # numerator of the A' propagator: -i (g - q q / m^2)
    qj = dot(q, je) / m2
    num = (je[0] - q[0] * qj, je[1] - q[1] * qj, je[2] - q[2] * qj, je[3] - q[3] * qj)
    return -1j * dot(jl, num)


@njit(cache=True, nogil=True)
def me2_gamma_aprime_ll(kin: np.ndarray, p: np.ndarray, m_e: float, ce: float, ca: float) -> np.ndarray:
    """Spin-averaged |M|^2 (n,) (A' propagator denominator removed) of e-(kin[:, 0]) e+(kin[:, 1])
    -> gamma(p[:, 0]) l-(p[:, 1]) l+(p[:, 2]), beams (n, 2, 4) and final (n, 3, 4) in any frame,
    photon polarisations and lepton helicities summed."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = p4t(kin[i, 0]), p4t(kin[i, 1])
        kg, a, b = p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2])
        tot = 0.0
        for hg in range(-1, 2, 2):
            eps = polvec(kg[0], kg[1], kg[2], kg[3], hg, True)
            for h in range(16):
                hel = (2 * (h // 8) - 1, 2 * ((h // 4) % 2) - 1, 2 * ((h // 2) % 2) - 1, 2 * (h % 2) - 1)
                amp = amp_gamma_aprime_ll(k1, k2, a, b, kg, eps, hel, m_e, ce, ca)
                tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def me2_gamma_aprime(kin: np.ndarray, p: np.ndarray, m_e: float, ce: float, ca: float) -> np.ndarray:
    """Spin-averaged |M|^2 (n,) of e-(kin[:, 0]) e+(kin[:, 1]) -> gamma(p[:, 0]) A'(p[:, 1]),
    photon and A' polarisations summed: sum_pol |eps*.J|^2 = -J.J* + |q.J|^2 / m^2."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = p4t(kin[i, 0]), p4t(kin[i, 1])
        kg, q = p4t(p[i, 0]), p4t(p[i, 1])
        m2 = q[0] * q[0] - q[1] * q[1] - q[2] * q[2] - q[3] * q[3]
        tot = 0.0
        for hg in range(-1, 2, 2):
            eps = polvec(kg[0], kg[1], kg[2], kg[3], hg, True)
            for h in range(4):
                je = _electron_current(k1, k2, kg, eps, 2 * (h // 2) - 1, 2 * (h % 2) - 1, m_e, ce, ca)
                jc = (je[0].conjugate(), je[1].conjugate(), je[2].conjugate(), je[3].conjugate())
                qj = dot(q, je)
                tot += -dot(je, jc).real + (qj.real**2 + qj.imag**2) / m2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def ward_ratio_gamma_aprime_ll(p: np.ndarray, M: np.ndarray, m_e: float, ce: float, ca: float) -> np.ndarray:
    """max_hel |M(eps -> k/E_gamma)| / max_hel |M(eps)| per event for gamma(p0) l-(p1) l+(p2) in
    the hard rest frame of mass M (0 for a gauge-invariant amplitude)."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        kg, a, b = p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2])
        kc = (kg[0] / kg[0] + 0j, kg[1] / kg[0] + 0j, kg[2] / kg[0] + 0j, kg[3] / kg[0] + 0j)
        num = 0.0
        den = 0.0
        for h in range(16):
            hel = (2 * (h // 8) - 1, 2 * ((h // 4) % 2) - 1, 2 * ((h // 2) % 2) - 1, 2 * (h % 2) - 1)
            num = max(num, abs(amp_gamma_aprime_ll(k1, k2, a, b, kg, kc, hel, m_e, ce, ca)))
            for hg in range(-1, 2, 2):
                eps = polvec(kg[0], kg[1], kg[2], kg[3], hg, True)
                den = max(den, abs(amp_gamma_aprime_ll(k1, k2, a, b, kg, eps, hel, m_e, ce, ca)))
        out[i] = num / den
    return out


class _ThresholdRadiator(Radiator):
    """The Kuraev-Fadin radiator with a third sampling component for the A' threshold: the hard
    cross section rises as 1/(s_hat - m^2) (the recoil photon going soft), so a fraction
    ``P_THRESHOLD`` of the points has x with density 1/(1 - x - r0) on [0, xmax], r0 = m^2 / s."""

    P_THRESHOLD = 0.2

    def __init__(self, s: float, m_e: float, r0: float) -> None:
        super().__init__(s, m_e)
        self.r0 = r0

    def sample(self, n: int, xmax: float, rng: np.random.Generator, p_soft: float = 0.85) -> tuple:
        x, w = super().sample(n, xmax, rng, p_soft)
        y_lo, y_hi = 1.0 - xmax - self.r0, 1.0 - self.r0
        if y_lo <= 0.0 or xmax <= 0.0:
            return x, w
        pt = self.P_THRESHOLD
        dens_old = self.F(x) / w
        lr = math.log(y_hi / y_lo)
        thr = rng.random(n) < pt
        x = np.where(thr, 1.0 - self.r0 - y_lo * np.exp(rng.random(n) * lr), x)
        x = np.clip(x, 1e-300, xmax)
        # the base density at the new points (its formula, Radiator.sample)
        b = self.beta
        lmax = -math.log1p(-xmax)
        dens_old = np.where(
            thr, p_soft * b * x ** (b - 1) / xmax**b + (1 - p_soft) / ((1 - x) * lmax), dens_old
        )
        dens = (1 - pt) * dens_old + pt / ((1.0 - x - self.r0) * lr)
        return x, self.F(x) / dens


def _state_name(ids: tuple[int, ...]) -> str:
    """``(-13, 13)`` -> ``"mu+ mu-"``; ids unknown to ``particle`` (chi) as numbers."""
    try:
        return final_state_name(ids)
    except Exception:  # noqa: BLE001 -- particle raises its own lookup errors
        return " ".join(str(i) for i in ids)


def _kin(M: np.ndarray, m_e: float) -> np.ndarray:
    """Beams (n, 2, 4) (px, py, pz, E) in the hard rest frame of mass M, e- along +z."""
    kin = np.zeros((len(M), 2, 4))
    pz = np.sqrt(np.maximum(0.25 * M * M - m_e * m_e, 0.0))
    kin[:, 0, 2], kin[:, 1, 2] = pz, -pz
    kin[:, :, 3] = 0.5 * M[:, None]
    return kin


# --------------------------------------------------------------------------- process
class EEGammaAPrime(MEProcess):
    name = "ee_gamma_aprime"
    doc = (
        "e+e- -> gamma A' (dark photon, kinetic mixing eps), A' -> e+e- / mu+mu- in the amplitude "
        "(narrow width, displaced) or decayed by the decay stage through the model's table"
    )
    params: ClassVar[dict[str, Field]] = {
        "mass": Field(
            float, None, "A' mass (omitted: the card's dark_photon point)", unit="GeV",
            min=0.0, min_exclusive=True, nullable=True,
        ),
        "coupling": Field(
            float, None, "kinetic mixing eps (omitted: the card's point); sigma scales as eps^2",
            min=0.0, min_exclusive=True, nullable=True,
        ),
        "decay": Field(
            str, "mumu",
            "ee, mumu: A' -> l+l- in the amplitude (sigma x BR(ll)); table: A' undecayed, decayed by "
            "the decay stage through the model's table (sigma(gamma A'); needs the card's models: point)",
            choices=("ee", "mumu", "table"),
        ),
        "photon_cos_theta_max": Field(
            float, COS_20_DEG,
            "recoil photon |cos theta*| acceptance (CM frame; the rate is collinear-peaked: 1 keeps "
            "the m_e-regulated forward peak)", min=0.0, max=1.0,
        ),
        "photon_energy_min": Field(
            float, 0.1, "minimum recoil-photon energy (CM frame; > 0 with ISR: the soft-photon "
            "divergence)", unit="GeV", min=0.0,
        ),
        "lepton_cos_theta_max": Field(
            float, 1.0, "ee, mumu: |cos theta*| cut on both leptons (CM frame); 1: no cut", min=0.0, max=1.0
        ),
        **COMMON_PARAMS,
    }  # fmt: skip
    TRAIN_POINTS = 20_000
    TRAIN_ITER = 3

    def __init__(self, params: dict[str, Any], beams: Any, particles: Any) -> None:
        super().__init__(params, beams, particles)
        # ISR: the hard system must be above the A' mass plus the recoil photon's minimum energy,
        # E_gamma = (s_hat - m^2) / (2 sqrt(s_hat)) > E_min (the leptons alone are lighter)
        s0 = beams.sqrt_s**2
        e_min = float(self.config["photon_energy_min"])
        thr = max((e_min + math.hypot(e_min, self.mx)) * (1 + 1e-9), float(self.config["sqrt_shat_min"]))
        self.xmax = min(self.xmax, 1.0 - thr**2 / s0)
        self.radiator = _ThresholdRadiator(s0, self.m_e, self.mx**2 / s0)

    def setup(self) -> None:
        cfg = self.config
        point = self._card_point(required=cfg["mass"] is None or cfg["coupling"] is None)
        cfg["mass"] = point["mass"] if cfg["mass"] is None else cfg["mass"]
        cfg["coupling"] = point["coupling"] if cfg["coupling"] is None else cfg["coupling"]
        self.mx = float(cfg["mass"])
        self.eps = float(cfg["coupling"])
        self.decay = str(cfg["decay"])
        self.model = DarkPhoton({**point, "mass": self.mx, "coupling": self.eps}, self.particles)
        self.gamma_tot = self.model.width_gev
        # the training cache's key: the model point too (the weight has 1 / Gamma_tot, which
        # alpha_D, m_chi and invisible change without changing the generator's parameters)
        self.cache_key_extra = (repr(sorted(self.model.params.items())),)
        self.ce = float(ew_couplings().c_gamma)
        self.ca = self.eps * self.ce
        m2 = self.mx**2
        if self.decay == "table":
            self.lepton = 0
            self.m_l = 0.0
            self.final_ids = np.array([PHOTON, APRIME_ID])
            self.final_masses = np.array([0.0, self.mx])
            trees = [Node(children=(Node(leaf=0), Node(leaf=1)), angle=a) for a in ("tu", "iso")]
        else:
            self.lepton = ELECTRON if self.decay == "ee" else MUON
            self.m_l = self.m_e if self.decay == "ee" else self.m_mu
            self.final_ids = np.array([PHOTON, self.lepton, -self.lepton])
            self.final_masses = np.array([0.0, self.m_l, self.m_l])
            # recoil photon (t/u-channel electron exchange shape, or flat for a tight cut) + the
            # A' at its mass (narrow width) -> l- l+
            trees = [
                Node(
                    children=(
                        Node(leaf=0),
                        Node(children=(Node(leaf=1), Node(leaf=2)), mass=Mass("fixed", m2)),
                    ),
                    angle=a,
                )
                for a in ("tu", "iso")
            ]
        self.phase_space = MultiChannel([Channel(t, self.final_masses, self.m_e) for t in trees])
        self.decay_length = DecayLength(APRIME_ID, self.particles, self.model.ctau_cm)
        self.ctau_cm = self.decay_length.ctau_cm

    def _card_point(self, required: bool) -> dict[str, Any]:
        points = [p for name, p in getattr(self.particles, "models", {}).values() if name == DarkPhoton.name]
        if len(points) == 1:
            return dict(points[0])
        if required:
            raise ValueError(
                "ee_gamma_aprime: give mass and coupling, or one dark_photon point in the card's models:"
            )
        return {}

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        p = np.ascontiguousarray(p)
        kin = _kin(M, self.m_e)
        if self.decay == "table":
            return me2_gamma_aprime(kin, p, self.m_e, self.ce, self.ca)
        return me2_gamma_aprime_ll(kin, p, self.m_e, self.ce, self.ca)

    def weight_factor(self) -> float:
        if self.decay == "table":
            return 1.0  # sigma(gamma A'): every decay by the decay stage
        # narrow width: int ds/(2 pi) |BW|^2 = 1/(2 m Gamma_tot) -> sigma x Gamma(ll)/Gamma_tot
        return 1.0 / (2.0 * self.mx * self.gamma_tot)

    def check(self) -> list[tuple[str, str]]:
        out = list(super().check())
        point = self._card_point(required=False)
        for key, mine in (("mass", self.mx), ("coupling", self.eps)):
            if key in point and not math.isclose(float(point[key]), mine, rel_tol=1e-12):
                # the particle table (c tau, decay table) is the card point's: they must agree
                out.append((key, f"{mine:g} differs from the card's dark_photon point ({point[key]:g})"))
        if self.mx >= self.beams.sqrt_s:
            out.append(("mass", f"m = {self.mx} GeV is above the kinematic limit sqrt(s)"))
        elif self.decay != "table" and self.mx <= 2 * self.m_l:
            out.append(("decay", f"A' -> {self.decay} is closed at m = {self.mx} GeV"))
        e_min = float(self.config["photon_energy_min"])
        if self.isr_on and e_min <= 0.0:
            out.append(("photon_energy_min", "must be > 0 with ISR (soft recoil photon: log divergence)"))
        elif (
            self.mx < self.beams.sqrt_s and 2 * self.beams.sqrt_s * e_min >= self.beams.sqrt_s**2 - self.mx**2
        ):
            out.append(("photon_energy_min", f"above the recoil-photon energy at m = {self.mx} GeV"))
        if self.decay == "table" and not bool(self.particles.knows(np.array([APRIME_ID]))[0]):
            out.append(
                ("decay", "decay: table needs the card's models: {dark_photon: ...} point (the A' decays)")
            )
        return out

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        g = p_cm[:, 0]
        cg = g[:, 2] / np.maximum(np.linalg.norm(g[:, :3], axis=1), 1e-300)
        ok = np.abs(cg) < self.config["photon_cos_theta_max"]
        if self.config["photon_energy_min"] > 0:
            ok &= g[:, 3] > self.config["photon_energy_min"]
        cmax = self.config["lepton_cos_theta_max"]
        if self.decay != "table" and cmax < 1.0:
            c = p_cm[:, 1:, 2] / np.maximum(np.linalg.norm(p_cm[:, 1:, :3], axis=2), 1e-300)
            ok &= np.all(np.abs(c) < cmax, axis=1)
        return ok

    def record_entries(self, p_lab: np.ndarray) -> list[tuple]:
        n = len(p_lab)
        zero = np.zeros(n)
        if self.decay == "table":
            # the A' is left (status 1) to the decay stage and its table
            return [
                (PHOTON, p_lab[:, 0], zero, STATUS_FINAL, 0, 1),
                (APRIME_ID, p_lab[:, 1], np.full(n, self.mx), STATUS_FINAL, 0, 1),
            ]
        ml = np.full(n, self.m_l)
        # record: beams 0, 1; recoil photon 2; A' 3; its leptons 4, 5 (mother 3)
        return [
            (PHOTON, p_lab[:, 0], zero, STATUS_FINAL, 0, 1),
            (APRIME_ID, p_lab[:, 1] + p_lab[:, 2], np.full(n, self.mx), STATUS_DECAYED, 0, 1),
            (self.lepton, p_lab[:, 1], ml, STATUS_FINAL, 3, -1),
            (-self.lepton, p_lab[:, 2], ml, STATUS_FINAL, 3, -1),
        ]

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        batch, tally = super().generate(n_events, rng)
        if self.decay == "table":
            return batch, tally
        mc = displace_decay(batch["mc"], APRIME_ID, self.decay_length.sample(batch.n_events, rng))
        return EventBatch(batch.n_events, batch.events, {**batch.collections, "mc": mc}), tally

    def describe(self) -> dict[str, Any]:
        cmax = float(self.config["photon_cos_theta_max"])
        s = self.beams.sqrt_s**2
        born = sigma_ee_gamma_aprime_nb(s, self.mx, self.eps, cmax) if cmax < 1.0 and self.mx**2 < s else None
        ll = (-self.lepton, self.lepton)
        return {
            **self.describe_common(),
            "signal_model": self.model.name,
            "x_pdg": APRIME_ID,
            "mass_gev": self.mx,
            "coupling": self.eps,
            "decay": self.decay,
            "width_gev": self.gamma_tot,
            "partial_widths_gev": {_state_name(k): v for k, v in self.model.widths.items()},
            "branching_fractions": self.model.branching_fractions(),
            "ctau_cm": self.ctau_cm,
            "sigma_is": "sigma(e+e- -> gamma A')"
            if self.decay == "table"
            else f"sigma(e+e- -> gamma A') x BR(A' -> {_state_name(ll)})",
            "sigma_born_nb": born,
            "narrow_width": True,
            "photon_cos_theta_max": cmax,
            "photon_energy_min_gev": float(self.config["photon_energy_min"]),
            "lepton_cos_theta_max": float(self.config["lepton_cos_theta_max"]),
        }
