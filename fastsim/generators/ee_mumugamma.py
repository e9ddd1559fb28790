"""e+e- -> mu+ mu- gamma with a hard photon (QED + Z, masses kept).

All four tree diagrams (photon off e-, e+, mu-, mu+; gamma* and Z in the s-channel),
from the helicity toolkit; the photon is required to have E_gamma > ``photon_energy_min``
and |cos theta_gamma| < ``photon_cos_theta_max`` in the CM frame (it is the source of the
photon-conversion background, so it must reach the detector).  Gauge invariance is
tested (Ward identity: the amplitude vanishes for eps -> k).

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
    bfprop,
    bsinsert,
    bslash,
    current,
    dot,
    fprop,
    p4t,
    polvec,
    schannel,
    sdot,
    sinsert,
    slash,
    tadd,
    tneg,
    uspinor,
    vadd,
    vprop,
    vspinor,
)
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
from fastsim.schema import Field

MUON, PHOTON = 13, 22


@njit(cache=True, nogil=True)
def amp_mumugamma(
    k1: tuple,
    k2: tuple,
    a: tuple,
    b: tuple,
    kg: tuple,
    eps: tuple,
    hel: tuple,
    m_e: float,
    m_mu: float,
    ew: tuple,
    z_on: bool,
) -> complex:
    """i M of e-(k1) e+(k2) -> mu-(a) mu+(b) gamma(kg) for helicities hel and photon vector eps (conjugated)."""
    ce, zl, zr, mz, wz = ew
    u1 = uspinor(k1[0], k1[1], k1[2], k1[3], hel[0])
    vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], hel[1]))
    ub3 = bar(uspinor(a[0], a[1], a[2], a[3], hel[2]))
    v4 = vspinor(b[0], b[1], b[2], b[3], hel[3])
    # initial-state emission: e+e- -> gamma + (gamma*/Z)(a + b)
    x1 = fprop(tadd(k1, tneg(kg)), m_e, 0.0, slash(eps, ce, ce, u1))
    y2 = bfprop(bslash(vb2, eps, ce, ce), tneg(tadd(k2, tneg(kg))), m_e, 0.0)
    qm = tadd(a, b)
    jg = vadd(current(vb2, x1, ce, ce), current(y2, u1, ce, ce))
    amp = dot(current(ub3, v4, ce, ce), vprop(jg, qm, 0.0, 0.0))
    if z_on:
        jz = vadd(current(vb2, x1, zl, zr), current(y2, u1, zl, zr))
        amp += dot(current(ub3, v4, zl, zr), vprop(jz, qm, mz, wz))
    # final-state emission
    eg, ez = schannel(vb2, u1, tadd(k1, k2), ce, zl, zr, mz, wz, z_on)
    x = fprop(tadd(a, kg), m_mu, 0.0, sinsert(eg, ez, v4, ce, zl, zr, z_on))
    amp += sdot(bslash(ub3, eps, ce, ce), x)
    y = fprop(tneg(tadd(b, kg)), m_mu, 0.0, slash(eps, ce, ce, v4))
    amp += sdot(bsinsert(ub3, eg, ez, ce, zl, zr, z_on), y)
    return amp


@njit(cache=True, nogil=True)
def me2_mumugamma_frame(
    kin: np.ndarray, p: np.ndarray, m_e: float, m_mu: float, ew: tuple, z_on: bool
) -> np.ndarray:
    """As :func:`me2_mumugamma` for beams kin (n, 2, 4) and final p (n, 3, 4) in any frame."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = p4t(kin[i, 0]), p4t(kin[i, 1])
        a, b, kg = p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2])
        tot = 0.0
        for hg in range(-1, 2, 2):
            eps = polvec(kg[0], kg[1], kg[2], kg[3], hg, True)
            for h in range(16):
                hel = (2 * (h // 8) - 1, 2 * ((h // 4) % 2) - 1, 2 * ((h // 2) % 2) - 1, 2 * (h % 2) - 1)
                amp = amp_mumugamma(k1, k2, a, b, kg, eps, hel, m_e, m_mu, ew, z_on)
                tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def me2_mumugamma(p: np.ndarray, M: np.ndarray, m_e: float, m_mu: float, ew: tuple, z_on: bool) -> np.ndarray:
    """Spin-averaged |M|^2 of e+e- -> mu-(p0) mu+(p1) gamma(p2), photon polarisations summed."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        a, b, kg = p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2])
        tot = 0.0
        for hg in range(-1, 2, 2):
            eps = polvec(kg[0], kg[1], kg[2], kg[3], hg, True)
            for h in range(16):
                hel = (2 * (h // 8) - 1, 2 * ((h // 4) % 2) - 1, 2 * ((h // 2) % 2) - 1, 2 * (h % 2) - 1)
                amp = amp_mumugamma(k1, k2, a, b, kg, eps, hel, m_e, m_mu, ew, z_on)
                tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def ward_ratio_mumugamma(
    p: np.ndarray, M: np.ndarray, m_e: float, m_mu: float, ew: tuple, z_on: bool
) -> np.ndarray:
    """max_hel |M(eps -> k/E_gamma)| / max_hel |M(eps)| per event (0 for an exactly gauge-invariant amplitude)."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        a, b, kg = p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2])
        kc = (kg[0] + 0j, kg[1] + 0j, kg[2] + 0j, kg[3] + 0j)
        num = 0.0
        den = 0.0
        for h in range(16):
            hel = (2 * (h // 8) - 1, 2 * ((h // 4) % 2) - 1, 2 * ((h // 2) % 2) - 1, 2 * (h % 2) - 1)
            num = max(num, abs(amp_mumugamma(k1, k2, a, b, kg, kc, hel, m_e, m_mu, ew, z_on)) / kg[0])
            for hg in range(-1, 2, 2):
                eps = polvec(kg[0], kg[1], kg[2], kg[3], hg, True)
                den = max(den, abs(amp_mumugamma(k1, k2, a, b, kg, eps, hel, m_e, m_mu, ew, z_on)))
        out[i] = num / den
    return out


class EEMuMuGamma(MEProcess):
    name = "ee_mumugamma"
    doc = "e+e- -> mu+ mu- gamma, hard photon in acceptance (QED + Z, all tree diagrams)"
    params: ClassVar[dict[str, Field]] = {
        "photon_energy_min": Field(
            float, 0.5, "minimum photon energy in the CM frame", unit="GeV", min=0.0, min_exclusive=True
        ),
        "photon_cos_theta_max": Field(
            float, 0.95, "photon |cos theta*| acceptance (CM frame)", min=0.0, max=1.0
        ),
        "cos_theta_max": Field(float, 1.0, "cut on |cos theta*| of both muons (CM frame)", min=0.0, max=1.0),
        "z_exchange": Field(bool, True, "include the s-channel Z"),
        **COMMON_PARAMS,
        # the hard photon is in the matrix element: no FSR shower on top by default
        "fsr": Field(bool, False, "final-state radiation off the muon pair (PHOTOS-style, fsr.py)"),
    }
    TRAIN_POINTS = 30_000
    TRAIN_ITER = 4

    def setup(self) -> None:
        self.final_ids = np.array([MUON, -MUON, PHOTON])
        self.final_masses = np.array([self.m_mu, self.m_mu, 0.0])
        self.ew = ew_couplings()
        self.z_on = bool(self.config["z_exchange"])
        m2 = self.m_mu**2
        s0 = self.beams.sqrt_s**2
        emin = self.config["photon_energy_min"]

        def fsr(rad: int, other: int) -> Node:
            # 2 p_mu.k >~ E_min m_mu^2 / E_beam for a photon above E_min: the pole offset
            sub = Node(
                children=(Node(leaf=rad), Node(leaf=2)), mass=Mass("pole", m2 - emin * m2 / np.sqrt(s0))
            )
            return Node(children=(Node(leaf=other), sub))

        # photon energy E = (M^2 - s_Y) / 2M > E_min: s_Y < M^2 - 2 M E_min
        isr_y = Node(
            children=(Node(leaf=0), Node(leaf=1)),
            mass=Mass("above", 0.5 * np.sqrt(s0) * emin, cap=1.9 * np.sqrt(s0) * emin),
        )
        isr = Node(children=(Node(leaf=2), isr_y), angle="coll")
        # radiative return: a hard photon leaves a light mu mu pair, |M|^2 ~ sigma_0(s_Y) ~ 1/s_Y
        # (the virtual photon's propagator), so s_Y is sampled with density 1/s_Y
        return_y = Node(
            children=(Node(leaf=0), Node(leaf=1)), mass=Mass("pole", 0.0, cap=1.9 * np.sqrt(s0) * emin)
        )
        ret = Node(children=(Node(leaf=2), return_y), angle="coll")
        self.phase_space = MultiChannel(
            [Channel(t, self.final_masses, self.m_e) for t in (fsr(0, 1), fsr(1, 0), isr, ret)]
        )

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        ew = self.ew
        return me2_mumugamma(
            np.ascontiguousarray(p),
            M,
            self.m_e,
            self.m_mu,
            (ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz),
            self.z_on,
        )

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        g = p_cm[:, 2]
        cg = g[:, 2] / np.maximum(np.linalg.norm(g[:, :3], axis=1), 1e-300)
        ok = (g[:, 3] > self.config["photon_energy_min"]) & (np.abs(cg) < self.config["photon_cos_theta_max"])
        cmax = self.config["cos_theta_max"]
        if cmax < 1.0:
            c = p_cm[:, :2, 2] / np.linalg.norm(p_cm[:, :2, :3], axis=2)
            ok &= np.all(np.abs(c) < cmax, axis=1)
        return ok

    def describe(self) -> dict[str, Any]:
        return {**self.describe_common(), "z_exchange": self.z_on}
