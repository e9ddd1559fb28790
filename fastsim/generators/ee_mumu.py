"""e+e- -> mu+ mu- (gamma): one-photon (+ Z) annihilation from helicity amplitudes,
muon and electron masses kept, with ISR (Kuraev-Fadin) and the beam-energy spread.

The analytic Born cross section of pure QED, used by the tests as the independent check,
dsigma/dcos(theta*) = (pi alpha^2 beta / (2 s)) [1 + cos^2 theta* + (1 - beta^2) sin^2 theta*],
sigma = (4 pi alpha^2 / 3 s) beta (3 - beta^2) / 2 (Peskin & Schroeder eq. 5.12 and
problem 5.2; PDG review "Cross-section formulae for specific processes", massless limit).
alpha = alpha(0).  The Z exchange (on by default, ``z_exchange``) changes sigma by
< 1e-4 at 10.58 GeV and gives the forward-backward asymmetry (about -0.8 %).
Hard-photon emission is the separate process ``ee_mumugamma``; ISR photons are
collinear (structure function).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.generators import register
from fastsim.generators.helicity import (
    bar,
    beams_cm,
    current,
    dot,
    p4t,
    schannel,
    uspinor,
    vspinor,
)
from fastsim.generators.models import ew_couplings
from fastsim.generators.phase_space import Channel, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
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


@njit(cache=True)
def me2_mumu(
    p: np.ndarray,
    M: np.ndarray,
    m_e: float,
    ce: float,
    zl: float,
    zr: float,
    mz: float,
    wz: float,
    z_on: bool,
) -> np.ndarray:
    """Spin-averaged |M|^2 of e-(k1) e+(k2) -> mu-(p[:,0]) mu+(p[:,1]) (gamma + Z)."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        q = (M[i], 0.0, 0.0, 0.0)
        a = p4t(p[i, 0])
        b = p4t(p[i, 1])
        tot = 0.0
        for h1 in range(-1, 2, 2):
            u1 = uspinor(k1[0], k1[1], k1[2], k1[3], h1)
            for h2 in range(-1, 2, 2):
                vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], h2))
                eg, ez = schannel(vb2, u1, q, ce, zl, zr, mz, wz, z_on)
                for h3 in range(-1, 2, 2):
                    ub3 = bar(uspinor(a[0], a[1], a[2], a[3], h3))
                    for h4 in range(-1, 2, 2):
                        v4 = vspinor(b[0], b[1], b[2], b[3], h4)
                        amp = dot(current(ub3, v4, ce, ce), eg)
                        if z_on:
                            amp += dot(current(ub3, v4, zl, zr), ez)
                        tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


@register
class EEMuMuBorn(MEProcess):
    name = "ee_mumu"
    doc = "e+e- -> mu+mu- (QED + Z, masses kept) with ISR, boosted to the lab"
    params: ClassVar[dict[str, Field]] = {
        "cos_theta_max": Field(
            float,
            1.0,
            "cut on |cos theta*| of both muons in the CM frame",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "z_exchange": Field(bool, True, "include the s-channel Z"),
        **COMMON_PARAMS,
    }
    TRAIN_POINTS = 20_000
    TRAIN_ITER = 1

    def setup(self) -> None:
        self.final_ids = np.array([MUON, -MUON])
        self.final_masses = np.array([self.m_mu, self.m_mu])
        self.cos_max = self.config["cos_theta_max"]
        self.ew = ew_couplings()
        self.z_on = bool(self.config["z_exchange"])
        tree = Node(children=(Node(leaf=0), Node(leaf=1)))
        self.phase_space = MultiChannel([Channel(tree, self.final_masses)])

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        ew = self.ew
        return me2_mumu(
            np.ascontiguousarray(p), M, self.m_e, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, self.z_on
        )

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        if self.cos_max >= 1.0:
            return np.ones(len(p_cm), bool)
        c = p_cm[:, :, 2] / np.linalg.norm(p_cm[:, :, :3], axis=2)
        return np.all(np.abs(c) < self.cos_max, axis=1)

    def describe(self) -> dict[str, Any]:
        return {**self.describe_common(), "z_exchange": self.z_on, "sin2_theta_w_onshell": self.ew.sw2}
