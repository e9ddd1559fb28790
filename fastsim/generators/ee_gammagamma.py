"""e+e- -> gamma gamma (gamma): the QED photon-pair background at tree level.

Final states (card parameter ``photons``):

* ``photons: 2`` -- e-(k1) e+(k2) -> gamma(q1) gamma(q2): the t- and u-channel electron
  exchange diagrams (Peskin & Schroeder sec. 5.5 and problem 5.3; Berestetskii, Lifshitz,
  Pitaevskii, "Quantum Electrodynamics", sec. 88).  The electron mass is kept in the spinors
  and propagators, so the forward peak is regulated and ``cos_theta_max: 1`` gives the full
  (mass-regulated) cross section.  Massless limit, photon polarisations summed and beam spins
  averaged:  |M|^2 = 2 e^4 (u/t + t/u),  dsigma/dOmega = (alpha^2 / s)(1 + c^2)/(1 - c^2)
  per photon direction (each event counted twice over the full solid angle: symmetry 1/2!).
* ``photons: 3`` -- e+e- -> gamma gamma gamma: the exact tree-level amplitude, six diagrams
  (the 3! orderings of the photons along the electron line), electron mass kept.  Checked
  (tests/test_ee_gammagamma.py) against the compact massless formula of F.A. Berends and
  R. Kleiss, Nucl. Phys. B186 (1981) 22,
      |M|^2 = e^6 s sum_i kappa_i kappa'_i (kappa_i^2 + kappa'_i^2) / prod_j kappa_j kappa'_j,
  kappa_i = p+.q_i, kappa'_i = p-.q_i  (valid when every kappa >> m_e^2), and for gauge
  invariance (eps_i -> q_i gives 0).  Symmetry factor 1/3!.

Amplitudes are built from the helicity toolkit (:mod:`fastsim.generators.helicity`: spinors,
``polvec``, ``fprop``; Feynman rules of Peskin & Schroeder app. A.1), summed over all
helicities.  Coupling e = sqrt(4 pi alpha(0)) (``ew_couplings().c_gamma``; alpha(0) is the
coupling of real photons); m_e from the particle table (``lepton_mass``).

Cuts (CM frame, e- along +z), symmetric under photon exchange:

* the two most energetic photons: at least ``min_photons_in_acceptance`` of them (default both)
  have |cos theta*| < ``cos_theta_max``;
* ``photons: 3``: the least energetic photon has E* > ``e3_min`` and
  |cos theta*| < ``e3_cos_theta_max`` (1: no cut, the electron mass regulates the collinear
  region).

Joining 2 and 3 photons (an inclusive sample = two processes in one card, both ``isr: false``):
``photons: 2`` is the Born term, ``photons: 3`` adds the real emission of a third photon above
``e3_min``.  Not generated: the virtual one-loop correction and real emission below ``e3_min``
(soft), whose sum with the 3-photon piece is finite; at Belle II this O(alpha) correction to
the 2-photon rate is expected at the few-per-cent level (alpha/pi times logarithms of s/m_e^2
and of the cuts; not computed here).
The 2 + 3 sum is therefore tree level with an ``e3_min``-dependent normalisation, not NLO.
Alternative: ``photons: 2, isr: true`` dresses the Born process with the Kuraev-Fadin
structure function (leading-log soft + virtual + collinear ISR, :mod:`fastsim.generators.isr`;
the final photons do not radiate); do not combine it with a ``photons: 3`` process (the hard
collinear photons would be counted twice).  The ISR default is off here.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim.generators.electroweak import ew_couplings
from fastsim.generators.helicity import (
    bar,
    beams_cm,
    bslash,
    fprop,
    p4t,
    polvec,
    sdot,
    slash,
    tadd,
    tneg,
    uspinor,
    vspinor,
)
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
from fastsim.schema import Field

PHOTON = 22


# --------------------------------------------------------------------------- amplitudes
@njit(cache=True, nogil=True)
def _chain2(
    u1: tuple, vb2: tuple, k1: tuple, qa: tuple, ea: tuple, eb: tuple, m_e: float, ce: float
) -> complex:
    """vbar(k2) eps_b S(k1 - qa) eps_a u(k1): photon a attached next to the incoming e-."""
    x = fprop(tadd(k1, tneg(qa)), m_e, 0.0, slash(ea, ce, ce, u1))
    return sdot(bslash(vb2, eb, ce, ce), x)


@njit(cache=True, nogil=True)
def _chain3(
    u1: tuple,
    vb2: tuple,
    k1: tuple,
    qa: tuple,
    qb: tuple,
    ea: tuple,
    eb: tuple,
    ec: tuple,
    m_e: float,
    ce: float,
) -> complex:
    """vbar(k2) eps_c S(k1 - qa - qb) eps_b S(k1 - qa) eps_a u(k1): one ordering a, b, c."""
    ka = tadd(k1, tneg(qa))
    x = fprop(ka, m_e, 0.0, slash(ea, ce, ce, u1))
    y = fprop(tadd(ka, tneg(qb)), m_e, 0.0, slash(eb, ce, ce, x))
    return sdot(bslash(vb2, ec, ce, ce), y)


@njit(cache=True, nogil=True)
def amp_2gamma(
    k1: tuple, k2: tuple, q1: tuple, q2: tuple, e1: tuple, e2: tuple, h1: int, h2: int, m_e: float, ce: float
) -> complex:
    """i M of e-(k1, h1) e+(k2, h2) -> gamma(q1, e1) gamma(q2, e2) (e1, e2 already conjugated):
    the t- and u-channel diagrams."""
    u1 = uspinor(k1[0], k1[1], k1[2], k1[3], h1)
    vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], h2))
    return _chain2(u1, vb2, k1, q1, e1, e2, m_e, ce) + _chain2(u1, vb2, k1, q2, e2, e1, m_e, ce)


@njit(cache=True, nogil=True)
def amp_3gamma(
    k1: tuple,
    k2: tuple,
    q1: tuple,
    q2: tuple,
    q3: tuple,
    e1: tuple,
    e2: tuple,
    e3: tuple,
    h1: int,
    h2: int,
    m_e: float,
    ce: float,
) -> complex:
    """i M of e-(k1, h1) e+(k2, h2) -> gamma(q1, e1) gamma(q2, e2) gamma(q3, e3): the six
    orderings of the photons along the electron line."""
    u1 = uspinor(k1[0], k1[1], k1[2], k1[3], h1)
    vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], h2))
    a = _chain3(u1, vb2, k1, q1, q2, e1, e2, e3, m_e, ce)
    a += _chain3(u1, vb2, k1, q1, q3, e1, e3, e2, m_e, ce)
    a += _chain3(u1, vb2, k1, q2, q1, e2, e1, e3, m_e, ce)
    a += _chain3(u1, vb2, k1, q2, q3, e2, e3, e1, m_e, ce)
    a += _chain3(u1, vb2, k1, q3, q1, e3, e1, e2, m_e, ce)
    a += _chain3(u1, vb2, k1, q3, q2, e3, e2, e1, m_e, ce)
    return a


@njit(cache=True, nogil=True)
def me2_2gamma(p: np.ndarray, M: np.ndarray, m_e: float, ce: float) -> np.ndarray:
    """Spin-averaged |M|^2 (n,) of e+e- -> gamma(p0) gamma(p1), p (n, 2, 4) in the rest frame of
    mass M (e- along +z), photon polarisations summed."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        q1, q2 = p4t(p[i, 0]), p4t(p[i, 1])
        tot = 0.0
        for l1 in range(-1, 2, 2):
            e1 = polvec(q1[0], q1[1], q1[2], q1[3], l1, True)
            for l2 in range(-1, 2, 2):
                e2 = polvec(q2[0], q2[1], q2[2], q2[3], l2, True)
                for h1 in range(-1, 2, 2):
                    for h2 in range(-1, 2, 2):
                        a = amp_2gamma(k1, k2, q1, q2, e1, e2, h1, h2, m_e, ce)
                        tot += a.real**2 + a.imag**2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def me2_3gamma(p: np.ndarray, M: np.ndarray, m_e: float, ce: float) -> np.ndarray:
    """Spin-averaged |M|^2 (n,) of e+e- -> gamma(p0) gamma(p1) gamma(p2), p (n, 3, 4) in the
    rest frame of mass M (e- along +z), photon polarisations summed."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        q1, q2, q3 = p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2])
        tot = 0.0
        for l1 in range(-1, 2, 2):
            e1 = polvec(q1[0], q1[1], q1[2], q1[3], l1, True)
            for l2 in range(-1, 2, 2):
                e2 = polvec(q2[0], q2[1], q2[2], q2[3], l2, True)
                for l3 in range(-1, 2, 2):
                    e3 = polvec(q3[0], q3[1], q3[2], q3[3], l3, True)
                    for h1 in range(-1, 2, 2):
                        for h2 in range(-1, 2, 2):
                            a = amp_3gamma(k1, k2, q1, q2, q3, e1, e2, e3, h1, h2, m_e, ce)
                            tot += a.real**2 + a.imag**2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def ward_ratio_3gamma(p: np.ndarray, M: np.ndarray, m_e: float, ce: float, j: int) -> np.ndarray:
    """max_hel |M(eps_j -> q_j / E_j)| / max_hel |M| per event (0 for a gauge-invariant sum)."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        q = (p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2]))
        num = 0.0
        den = 0.0
        for h in range(32):
            h1, h2 = 2 * (h // 16) - 1, 2 * ((h // 8) % 2) - 1
            l1, l2, l3 = 2 * ((h // 4) % 2) - 1, 2 * ((h // 2) % 2) - 1, 2 * (h % 2) - 1
            e1 = polvec(q[0][0], q[0][1], q[0][2], q[0][3], l1, True)
            e2 = polvec(q[1][0], q[1][1], q[1][2], q[1][3], l2, True)
            e3 = polvec(q[2][0], q[2][1], q[2][2], q[2][3], l3, True)
            den = max(den, abs(amp_3gamma(k1, k2, q[0], q[1], q[2], e1, e2, e3, h1, h2, m_e, ce)))
            g = q[j]
            kc = (g[0] / g[0] + 0j, g[1] / g[0] + 0j, g[2] / g[0] + 0j, g[3] / g[0] + 0j)
            if j == 0:
                e1 = kc
            elif j == 1:
                e2 = kc
            else:
                e3 = kc
            num = max(num, abs(amp_3gamma(k1, k2, q[0], q[1], q[2], e1, e2, e3, h1, h2, m_e, ce)))
        out[i] = num / den
    return out


# --------------------------------------------------------------------------- process
class EEGammaGamma(MEProcess):
    name = "ee_gammagamma"
    doc = "e+e- -> gamma gamma (gamma), tree-level QED (2 or 3 photons, electron mass kept)"
    params: ClassVar[dict[str, Field]] = {
        "photons": Field(int, 2, "number of final-state photons", choices=(2, 3)),
        "cos_theta_max": Field(
            float, 0.95, "|cos theta*| acceptance of the two most energetic photons (CM)", min=0.0, max=1.0
        ),
        "min_photons_in_acceptance": Field(
            int, 2, "how many of the two most energetic photons must be inside cos_theta_max", min=0, max=2
        ),
        "e3_min": Field(
            float,
            0.1,
            "photons: 3 -- minimum CM energy of the least energetic photon",
            unit="GeV",
            min=0.0,
            min_exclusive=True,
        ),
        "e3_cos_theta_max": Field(
            float, 1.0, "photons: 3 -- |cos theta*| cut on the least energetic photon (CM)", min=0.0, max=1.0
        ),
        **COMMON_PARAMS,
        "isr": Field(bool, False, "Kuraev-Fadin ISR (leading log; not together with a photons: 3 process)"),
    }
    TRAIN_POINTS = 20_000
    TRAIN_ITER = 4

    def setup(self) -> None:
        self.n_gamma = int(self.config["photons"])
        self.final_ids = np.full(self.n_gamma, PHOTON)
        self.final_masses = np.zeros(self.n_gamma)
        self.symmetry = 0.5 if self.n_gamma == 2 else 1.0 / 6.0  # identical photons: 1/n!
        self.ce = ew_couplings().c_gamma
        if self.n_gamma == 2:
            # t/u-channel polar shape 1/(a - c) + 1/(a + c), a - 1 ~ m_e^2 / (2 E^2) (the massive
            # propagators), and a flat channel for a tight acceptance cut
            tu = Node(children=(Node(leaf=0), Node(leaf=1)), angle="tu")
            iso = Node(children=(Node(leaf=0), Node(leaf=1)))
            trees = [tu, iso]
        else:
            sqrt_s0 = self.beams.sqrt_s
            emin = float(self.config["e3_min"])
            trees = []
            for i in range(3):
                j, k = (x for x in range(3) if x != i)
                # photon i soft: E_i = (M^2 - s_jk) / 2M, |M|^2 ~ 1/E_i^2 -> density 1/(M^2 - s_jk);
                # the cap keeps E_i above ~e3_min (a little below, for ISR-lowered M)
                for angle in ("coll", "iso"):
                    pair = Node(
                        children=(Node(leaf=j), Node(leaf=k)),
                        mass=Mass("above", 0.5 * sqrt_s0 * emin, cap=1.9 * sqrt_s0 * emin),
                    )
                    trees.append(Node(children=(Node(leaf=i), pair), angle=angle))
            # hard, well separated photons
            trees.append(Node(children=(Node(leaf=0), Node(children=(Node(leaf=1), Node(leaf=2))))))
        self.phase_space = MultiChannel([Channel(t, self.final_masses, self.m_e) for t in trees])

    def check(self) -> list[tuple[str, str]]:
        errs = super().check()
        if self.n_gamma == 3 and self.config["e3_min"] >= self.beams.sqrt_s / 3:
            errs.append(("e3_min", f"e3_min must be below sqrt(s)/3 = {self.beams.sqrt_s / 3:.3f} GeV"))
        return errs

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        p = np.ascontiguousarray(p)
        if self.n_gamma == 2:
            return me2_2gamma(p, M, self.m_e, self.ce)
        return me2_3gamma(p, M, self.m_e, self.ce)

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        e = p_cm[:, :, 3]
        c = p_cm[:, :, 2] / np.maximum(np.linalg.norm(p_cm[:, :, :3], axis=2), 1e-300)
        order = np.argsort(-e, axis=1)  # most energetic first
        e = np.take_along_axis(e, order, axis=1)
        c = np.take_along_axis(c, order, axis=1)
        n_in = np.sum(np.abs(c[:, :2]) < self.config["cos_theta_max"], axis=1)
        ok = n_in >= self.config["min_photons_in_acceptance"]
        if self.n_gamma == 3:
            ok &= (e[:, 2] > self.config["e3_min"]) & (np.abs(c[:, 2]) < self.config["e3_cos_theta_max"])
        return ok

    def describe(self) -> dict[str, Any]:
        out = {
            **self.describe_common(),
            "photons": self.n_gamma,
            "cos_theta_max": self.config["cos_theta_max"],
            "min_photons_in_acceptance": self.config["min_photons_in_acceptance"],
        }
        if self.n_gamma == 3:
            out["e3_min_gev"] = self.config["e3_min"]
            out["e3_cos_theta_max"] = self.config["e3_cos_theta_max"]
        return out
