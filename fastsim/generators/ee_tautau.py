"""e+e- -> tau+ tau- (gamma + Z, tau mass kept) with ISR, FSR and the full tau spin state.

The production is :class:`fastsim.generators.ee_mumu.EEMuMuBorn` with the tau in place of
the muon (the same analytic Born |M|^2 with the lepton mass, Kuraev-Fadin ISR envelope,
beam-energy spread and crossing angle, PHOTOS-style FSR off the taus, vacuum polarisation
of the s-channel photon where that process has it); lepton universality makes the photon
and Z couplings those of the muon.

Spin: for every kept event the helicity amplitudes M(h_e-, h_e+; h_tau-, h_tau+) are
evaluated with the helicity toolkit (:mod:`fastsim.generators.helicity`, the same
vertices and propagators as ``ee_mumu.me2_mumu``) in the hard rest frame, summed over the
beam helicities into the tau-pair density matrix, turned into (P-, P+, C) by
:func:`fastsim.spin.spin_from_helicity_density` and carried to the lab rest frames of the
taus (:func:`fastsim.spin.spin_to_lab`).  The batch gets a ``spin`` collection that the tau
decay engine (:mod:`fastsim.tau.engine`) uses, so the decays reproduce the full
correlation, longitudinal and transverse (photon exchange: C of
``../shared/reference/tau.md`` sec. 1.3, with the tau mass; the Z adds the small
polarisation and A_FB of sec. 1.5).  ``spin_correlations: false`` decays the taus
unpolarised and uncorrelated.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim.generators.ee_mumu import EEMuMuBorn
from fastsim.generators.helicity import bar, beams_cm, current, dot, p4t, schannel, uspinor, vspinor
from fastsim.schema import Field
from fastsim.spin import spin_from_helicity_density, spin_to_lab

TAU = 15


@njit(cache=True, nogil=True)
def density_ll(
    p: np.ndarray,
    M: np.ndarray,
    vp: np.ndarray,
    m_e: float,
    ce: float,
    zl: float,
    zr: float,
    mz: float,
    wz: float,
    z_on: bool,
) -> np.ndarray:
    """Helicity density matrix rho[a, b, a', b'] (n, 2, 2, 2, 2) of l-(p[:,0]) l+(p[:,1]) in
    e-(+z) e+ -> gamma/Z -> l- l+, summed over the beam helicities; index 0 is helicity -1.
    ``vp`` (n,) complex multiplies the photon exchange (1 / (1 - Pi(s)); 1 without VP)."""
    n = p.shape[0]
    rho = np.zeros((n, 2, 2, 2, 2), np.complex128)
    amp = np.empty((2, 2), np.complex128)
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        q = (M[i], 0.0, 0.0, 0.0)
        a = p4t(p[i, 0])
        b = p4t(p[i, 1])
        ub3 = (bar(uspinor(a[0], a[1], a[2], a[3], -1)), bar(uspinor(a[0], a[1], a[2], a[3], 1)))
        v4 = (vspinor(b[0], b[1], b[2], b[3], -1), vspinor(b[0], b[1], b[2], b[3], 1))
        for h1 in range(-1, 2, 2):
            u1 = uspinor(k1[0], k1[1], k1[2], k1[3], h1)
            # equal beam helicities only enter |M|^2 at O(m_e^2 / s) ~ 1e-8
            # (helicity.E_HEL_SKIP): the opposite-helicity beams carry the amplitude
            vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], -h1))
            eg, ez = schannel(vb2, u1, q, ce, zl, zr, mz, wz, z_on)
            for i3 in range(2):
                for i4 in range(2):
                    t = dot(current(ub3[i3], v4[i4], ce, ce), eg) * vp[i]
                    if z_on:
                        t += dot(current(ub3[i3], v4[i4], zl, zr), ez)
                    amp[i3, i4] = t
            for x in range(2):
                for y in range(2):
                    for u in range(2):
                        for v in range(2):
                            rho[i, x, y, u, v] += amp[x, y] * amp[u, v].conjugate()
    return rho


class EETauTau(EEMuMuBorn):
    name = "ee_tautau"
    doc = "e+e- -> tau+ tau- (QED + Z, tau mass kept) with ISR, FSR and tau spin correlations, boosted to the lab"
    lepton: ClassVar[int] = TAU
    params: ClassVar[dict[str, Field]] = {
        **EEMuMuBorn.params,
        "spin_correlations": Field(
            bool, True, "hand the taus' spin state (polarisations and correlations) to the tau decays"
        ),
    }

    def spin_state(self, pts: dict[str, np.ndarray], p_lab: np.ndarray) -> tuple | None:
        if not self.config["spin_correlations"]:
            return None
        p_hard, to_lab = self.hard_frame(pts)
        p_hard = np.ascontiguousarray(p_hard)
        M = p_hard[:, 0, 3] + p_hard[:, 1, 3]  # the hard system's mass (before FSR)
        vp = self.photon_vp(M * M)
        ew = self.ew
        rho = density_ll(p_hard, M, vp, self.m_e, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, self.z_on)
        P1, P2, C, _ = spin_from_helicity_density(rho, p_hard[:, 0], p_hard[:, 1])
        P1, P2, C = spin_to_lab(P1, P2, C, p_hard[:, 0], p_hard[:, 1], to_lab, p_lab[:, 0], p_lab[:, 1])
        return 0, 1, P1, P2, C

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "spin_correlations": bool(self.config["spin_correlations"])}
