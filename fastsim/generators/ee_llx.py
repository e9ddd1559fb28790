"""e+e- -> l+ l- X, X -> f fbar: the L_mu - L_tau Z' and the muonphilic scalar S.

X is radiated off the final-state lepton line of e+e- -> gamma*/Z -> l+ l- (two
diagrams: X off l- or off l+; the electron does not couple to X).  The decay X -> f fbar
is part of the amplitude (full spin correlation for the vector; the scalar decays
isotropically, which the amplitude reproduces).  Narrow-width approximation:
|1/(q^2 - m^2 + i m Gamma)|^2 -> (pi / (m Gamma)) delta(q^2 - m^2), so that
sigma = 1/flux int dPhi_3 dPhi_2 |N|^2 / (2 m Gamma_tot) = sigma(e+e- -> l l X) BR(X -> f f)
with N the amplitude with the propagator denominator removed.  Interference between the
two ways of pairing identical muons into X (X -> mu mu) is suppressed by Gamma/m and
left out.  Every coupling enters squared in the production and cancels in the BR, so
sigma = g^2 sigma(g = 1) exactly (tested).

Couplings and widths come from the models (fastsim/models/zprime.py, muonphilic_scalar.py):
Z' mu mu: g' gamma^mu, Z' tau tau: -g' gamma^mu, Z' nu nu: +-g' gamma^mu P_L (nu_mu, nu_tau);
S mu mu: g_S.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim.events import STATUS_DECAYED, STATUS_FINAL
from fastsim.generators.electroweak import ew_couplings
from fastsim.generators.helicity import (
    E_HEL_SKIP,
    bar,
    beams_cm,
    bsinsert,
    bslash,
    current,
    fprop,
    p4t,
    sbil,
    schannel,
    sdot,
    sinsert,
    slash,
    tadd,
    tneg,
    uspinor,
    vnorm2,
    vspinor,
)
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
from fastsim.models.base import Model, final_state_name
from fastsim.models.muonphilic_scalar import MuonphilicScalar
from fastsim.models.zprime import ZPrime
from fastsim.schema import Field
from fastsim.spin import spin_from_helicity_density, spin_to_lab

ELECTRON, MUON, TAU, NU_MU, NU_TAU = 11, 13, 15, 14, 16
ZPRIME_ID = ZPrime.particle.pdg  # PDG-style ids of new particles (PDG MC numbering, 99xxxxx)
SCALAR_ID = MuonphilicScalar.particle.pdg
#: the decay a process generates -> the model's final states it sums
_DECAY_STATES = {
    "ee": ((-ELECTRON, ELECTRON),),
    "mumu": ((-MUON, MUON),),
    "tautau": ((-TAU, TAU),),
    "nunu": ((NU_MU, -NU_MU), (NU_TAU, -NU_TAU)),
}


@njit(cache=True, nogil=True)
def me2_llx(
    p: np.ndarray,
    M: np.ndarray,
    m_e: float,
    m_l: float,
    ew: tuple,
    z_on: bool,
    vector: bool,
    gx: float,
    cdl: float,
    cdr: float,
    mx: float,
    rho_l: np.ndarray,
    rho_d: np.ndarray,
) -> np.ndarray:
    """Spin-averaged |N|^2 of e- e+ -> l-(p0) l+(p1) X(-> f(p2) fbar(p3)), propagator numerator only.

    ``vector``: Z' (numerator -g + q q/m^2, couplings gx to l, (cdl, cdr) to f);
    else scalar (gx to l, cdl to f).  ``ew`` = (c_gamma, z_l, z_r, m_Z, Gamma_Z).
    ``rho_l`` / ``rho_d``: (n, 2, 2, 2, 2) arrays filled with the helicity density matrix of
    the l- l+ pair / the f fbar pair (summed over all other helicities; index 0 = helicity -1,
    :func:`fastsim.spin.spin_from_helicity_density`), or arrays of length 0 to skip.
    """
    ce, zl, zr, mz, wz = ew
    n = p.shape[0]
    out = np.empty(n)
    xs = np.empty((4, 4, 4), np.complex128)  # X_el: [e, l] spinor
    bs = np.empty((4, 4, 4), np.complex128)  # B_el row
    ys = np.empty((4, 4, 4), np.complex128)  # Y_ld
    rs = np.empty((4, 4, 4), np.complex128)  # R_ld row
    ds = np.empty(4, np.complex128)
    zpa = np.empty((4, 4), np.complex128)  # decay current per decay helicity
    ega = np.empty((4, 4), np.complex128)  # e+e- photon / Z currents per beam helicity
    eza = np.empty((4, 4), np.complex128)
    nrm = np.empty(4)
    use = np.empty(4, np.bool_)
    A = np.zeros((4, 4, 4), np.complex128)  # amplitudes [beam, lepton, decay helicities]
    want_l = rho_l.shape[0] > 0
    want_d = rho_d.shape[0] > 0
    for i in range(n):
        if want_l or want_d:
            A[:] = 0
        k1, k2 = beams_cm(M[i], m_e)
        qs = (M[i], 0.0, 0.0, 0.0)
        a = p4t(p[i, 0])
        b = p4t(p[i, 1])
        f = p4t(p[i, 2])
        fb = p4t(p[i, 3])
        q = tadd(f, fb)
        pa = tadd(a, q)
        pb = tneg(tadd(b, q))
        # decay pieces
        for hd in range(4):
            h3 = 2 * (hd // 2) - 1
            h4 = 2 * (hd % 2) - 1
            ub3 = bar(uspinor(f[0], f[1], f[2], f[3], h3))
            v4 = vspinor(fb[0], fb[1], fb[2], fb[3], h4)
            if vector:
                jd = current(ub3, v4, cdl, cdr)
                qj = (q[0] * jd[0] - q[1] * jd[1] - q[2] * jd[2] - q[3] * jd[3]) / (mx * mx)
                zp = (
                    -1j * (jd[0] - q[0] * qj),
                    -1j * (jd[1] - q[1] * qj),
                    -1j * (jd[2] - q[2] * qj),
                    -1j * (jd[3] - q[3] * qj),
                )
                ds[hd] = 0
            else:
                zp = (0j, 0j, 0j, 0j)
                ds[hd] = 1j * sbil(ub3, v4, cdl)
            for c in range(4):
                zpa[hd, c] = zp[c]
        # e+e- currents; helicity-flip configurations (|J|^2 ~ (m_e/E)^2) are skipped
        for he in range(4):
            u1 = uspinor(k1[0], k1[1], k1[2], k1[3], 2 * (he // 2) - 1)
            vb2 = bar(vspinor(k2[0], k2[1], k2[2], k2[3], 2 * (he % 2) - 1))
            eg, ez = schannel(vb2, u1, qs, ce, zl, zr, mz, wz, z_on)
            for c in range(4):
                ega[he, c] = eg[c]
                eza[he, c] = ez[c]
            nrm[he] = vnorm2(eg)
        nmax = nrm.max()
        for he in range(4):
            use[he] = nrm[he] >= E_HEL_SKIP * nmax
        tot = 0.0
        for hl in range(4):
            h1 = 2 * (hl // 2) - 1
            h2 = 2 * (hl % 2) - 1
            ub1 = bar(uspinor(a[0], a[1], a[2], a[3], h1))
            v2 = vspinor(b[0], b[1], b[2], b[3], h2)
            for he in range(4):
                if not use[he]:
                    continue
                eg = (ega[he, 0], ega[he, 1], ega[he, 2], ega[he, 3])
                ez = (eza[he, 0], eza[he, 1], eza[he, 2], eza[he, 3])
                x = fprop(pa, m_l, 0.0, sinsert(eg, ez, v2, ce, zl, zr, z_on))
                bb = bsinsert(ub1, eg, ez, ce, zl, zr, z_on)
                for c in range(4):
                    xs[he, hl, c] = x[c]
                    bs[he, hl, c] = bb[c]
            for hd in range(4):
                if vector:
                    zp = (zpa[hd, 0], zpa[hd, 1], zpa[hd, 2], zpa[hd, 3])
                    y = fprop(pb, m_l, 0.0, slash(zp, gx, gx, v2))
                    r = bslash(ub1, zp, gx, gx)
                else:
                    y = fprop(
                        pb, m_l, 0.0, (-1j * gx * v2[0], -1j * gx * v2[1], -1j * gx * v2[2], -1j * gx * v2[3])
                    )
                    r = (-1j * gx * ub1[0], -1j * gx * ub1[1], -1j * gx * ub1[2], -1j * gx * ub1[3])
                for c in range(4):
                    ys[hl, hd, c] = y[c]
                    rs[hl, hd, c] = r[c]
            for he in range(4):
                if not use[he]:
                    continue
                xx = (xs[he, hl, 0], xs[he, hl, 1], xs[he, hl, 2], xs[he, hl, 3])
                bb = (bs[he, hl, 0], bs[he, hl, 1], bs[he, hl, 2], bs[he, hl, 3])
                if vector:
                    for hd in range(4):
                        yy = (ys[hl, hd, 0], ys[hl, hd, 1], ys[hl, hd, 2], ys[hl, hd, 3])
                        rr = (rs[hl, hd, 0], rs[hl, hd, 1], rs[hl, hd, 2], rs[hl, hd, 3])
                        amp = sdot(rr, xx) + sdot(bb, yy)
                        tot += amp.real**2 + amp.imag**2
                        A[he, hl, hd] = amp
                else:
                    yy = (ys[hl, 0, 0], ys[hl, 0, 1], ys[hl, 0, 2], ys[hl, 0, 3])
                    rr = (rs[hl, 0, 0], rs[hl, 0, 1], rs[hl, 0, 2], rs[hl, 0, 3])
                    amp = sdot(rr, xx) + sdot(bb, yy)
                    dsum = 0.0
                    for hd in range(4):
                        dsum += ds[hd].real ** 2 + ds[hd].imag ** 2
                        A[he, hl, hd] = amp * ds[hd]
                    tot += (amp.real**2 + amp.imag**2) * dsum
        out[i] = 0.25 * tot
        if want_l or want_d:
            _pair_density(A, rho_l, rho_d, i, want_l, want_d)
    return out


@njit(cache=True, nogil=True)
def _pair_density(
    A: np.ndarray, rho_l: np.ndarray, rho_d: np.ndarray, i: int, want_l: bool, want_d: bool
) -> None:
    """Event i's density matrices of the lepton and decay pairs from A[beam, lepton, decay]."""
    for x in range(4):
        for y in range(4):
            if want_l:
                acc = 0j
                for he in range(4):
                    for hd in range(4):
                        acc += A[he, x, hd] * A[he, y, hd].conjugate()
                rho_l[i, x // 2, x % 2, y // 2, y % 2] = acc
            if want_d:
                acc = 0j
                for he in range(4):
                    for hl in range(4):
                        acc += A[he, hl, x] * A[he, hl, y].conjugate()
                rho_d[i, x // 2, x % 2, y // 2, y % 2] = acc


_NO_RHO = np.zeros((0, 2, 2, 2, 2), np.complex128)


class _EELLX(MEProcess):
    """Shared code of the Z' and scalar processes."""

    vector: ClassVar[bool] = True
    model_class: ClassVar[type[Model]] = ZPrime
    x_id: ClassVar[int] = ZPRIME_ID
    TRAIN_POINTS = 40_000
    TRAIN_ITER = 4

    def setup(self) -> None:
        cfg = self.config
        self.mx = float(cfg["mass"])
        self.g = float(cfg["coupling"])
        self.lepton = cfg.get("lepton", "mu")
        self.decay = cfg.get("decay", "mumu")
        self.m_l = self.m_mu if self.lepton == "mu" else self.m_tau
        lid = MUON if self.lepton == "mu" else TAU
        if self.decay == "ee":
            self.md, did = self.m_e, ELECTRON
        elif self.decay == "mumu":
            self.md, did = self.m_mu, MUON
        elif self.decay == "tautau":
            self.md, did = self.m_tau, TAU
        else:
            self.md, did = 0.0, NU_MU
        self.final_ids = np.array([lid, -lid, did, -did])
        self.final_masses = np.array([self.m_l, self.m_l, self.md, self.md])
        self.model = self.model_class({"mass": self.mx, "coupling": self.g}, self.particles)
        mw = self.model.widths
        self.widths = {d: sum(mw.get(fs, 0.0) for fs in states) for d, states in _DECAY_STATES.items()}
        self.gamma_tot = self.model.width_gev
        self.ew = ew_couplings()
        self.z_on = bool(cfg["z_exchange"])
        m2 = self.mx**2

        def tree(rad: int, other: int) -> Node:
            x = Node(children=(Node(leaf=2), Node(leaf=3)), mass=Mass("fixed", m2))
            sub = Node(children=(Node(leaf=rad), x), mass=Mass("pole", 0.98 * self.m_l**2))
            return Node(children=(Node(leaf=other), sub))

        # soft X: the l+ l- pair takes almost all the energy; s_pair = M^2 - 2 M E_X + m_X^2,
        # sampled with density 1/(M^2 + m_X^2 - s_pair) = 1/(2 M E_X) (the eikonal spectrum)
        soft = Node(
            children=(
                Node(children=(Node(leaf=2), Node(leaf=3)), mass=Mass("fixed", m2)),
                Node(children=(Node(leaf=0), Node(leaf=1)), mass=Mass("above", m2)),
            )
        )
        self.phase_space = MultiChannel(
            [
                Channel(tree(0, 1), self.final_masses, self.m_e),
                Channel(tree(1, 0), self.final_masses, self.m_e),
                Channel(soft, self.final_masses, self.m_e),
            ]
        )

    def couplings(self) -> tuple[float, float, float]:
        """(g to the produced lepton, cL and cR of the decay fermion)."""
        raise NotImplementedError

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        ew = self.ew
        gx, cdl, cdr = self.couplings()
        return me2_llx(
            np.ascontiguousarray(p),
            M,
            self.m_e,
            self.m_l,
            (ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz),
            self.z_on,
            self.vector,
            gx,
            cdl,
            cdr,
            self.mx,
            _NO_RHO,
            _NO_RHO,
        )

    def spin_state(self, pts: dict[str, np.ndarray], p_lab: np.ndarray) -> list | None:
        """Tau pairs among (l-, l+) and (f, fbar): their spin states from the amplitudes
        (module doc of :mod:`fastsim.spin`).  With four taus each pair keeps its own
        correlation; correlations across the two pairs are not passed on."""
        pairs = [j for j, on in ((0, self.lepton == "tau"), (2, self.decay == "tautau")) if on]
        if not pairs:
            return None
        p_hard, to_lab = self.hard_frame(pts)
        p_hard = np.ascontiguousarray(p_hard)
        M = p_hard[:, :, 3].sum(axis=1)
        n = len(M)
        rho = {j: np.zeros((n, 2, 2, 2, 2), np.complex128) for j in pairs}
        ew = self.ew
        gx, cdl, cdr = self.couplings()
        me2_llx(
            p_hard,
            M,
            self.m_e,
            self.m_l,
            (ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz),
            self.z_on,
            self.vector,
            gx,
            cdl,
            cdr,
            self.mx,
            rho.get(0, _NO_RHO),
            rho.get(2, _NO_RHO),
        )
        out = []
        for j in pairs:
            P1, P2, C, _ = spin_from_helicity_density(rho[j], p_hard[:, j], p_hard[:, j + 1])
            P1, P2, C = spin_to_lab(
                P1, P2, C, p_hard[:, j], p_hard[:, j + 1], to_lab, p_lab[:, j], p_lab[:, j + 1]
            )
            out.append((j, j + 1, P1, P2, C))
        return out

    def weight_factor(self) -> float:
        # narrow width: int ds/(2 pi) |BW|^2 = 1/(2 m Gamma); x2 for the two neutrino flavours
        return (2.0 if self.decay == "nunu" else 1.0) / (2 * self.mx * self.gamma_tot)

    def check(self) -> list[tuple[str, str]]:
        out = []
        if self.gamma_tot <= 0 or self.widths.get(self.decay, 0.0) <= 0:
            out.append(("decay", f"X -> {self.decay} is closed at m = {self.mx} GeV"))
        if self.mx + 2 * self.m_l >= self.beams.sqrt_s:
            out.append(("mass", f"m = {self.mx} GeV is above the kinematic limit sqrt(s) - 2 m_l"))
        return out

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        cmax = self.config["cos_theta_max"]
        if cmax >= 1.0:
            return np.ones(len(p_cm), bool)
        charged = [0, 1] + ([2, 3] if self.decay != "nunu" else [])
        pc = p_cm[:, charged]
        c = pc[:, :, 2] / np.linalg.norm(pc[:, :, :3], axis=2)
        return np.all(np.abs(c) < cmax, axis=1)

    def record_entries(self, p_lab: np.ndarray) -> list[tuple]:
        n = len(p_lab)
        ids = self.final_ids
        x = p_lab[:, 2] + p_lab[:, 3]
        d_id: Any = ids[2]
        if self.decay == "nunu":
            # both flavours have the same amplitude: alternate nu_mu and nu_tau (deterministic)
            d_id = np.where(np.arange(n) % 2 == 0, NU_MU, NU_TAU)
        return [
            (int(ids[0]), p_lab[:, 0], np.full(n, self.m_l), STATUS_FINAL, 0, 1),
            (int(ids[1]), p_lab[:, 1], np.full(n, self.m_l), STATUS_FINAL, 0, 1),
            (self.x_id, x, np.full(n, self.mx), STATUS_DECAYED, 0, 1),
            (d_id, p_lab[:, 2], np.full(n, self.md), STATUS_FINAL, 4, -1),
            (-d_id, p_lab[:, 3], np.full(n, self.md), STATUS_FINAL, 4, -1),
        ]

    def describe(self) -> dict[str, Any]:
        return {
            **self.describe_common(),
            "signal_model": self.model.name,
            "x_pdg": self.x_id,
            "mass_gev": self.mx,
            "coupling": self.g,
            "production_lepton": self.lepton,
            "decay": self.decay,
            "width_gev": self.gamma_tot,
            "partial_widths_gev": {final_state_name(k): v for k, v in self.model.widths.items()},
            "branching_fractions": self.model.branching_fractions(),
            "ctau_cm": self.model.ctau_cm,
            "sigma_is": f"sigma(e+e- -> {self.lepton} {self.lepton} X) x BR(X -> {self.decay})",
            "narrow_width": True,
            "z_exchange": self.z_on,
        }


_X_PARAMS: dict[str, Field] = {
    "mass": Field(float, 1.0, "mass of X", unit="GeV", min=0.0, min_exclusive=True),
    "coupling": Field(
        float,
        1.0,
        "the model's coupling (g' or g_S); sigma scales as its square",
        min=0.0,
        min_exclusive=True,
    ),
    "cos_theta_max": Field(
        float, 1.0, "cut on |cos theta*| of all charged leptons (CM frame)", min=0.0, max=1.0
    ),
    "z_exchange": Field(bool, True, "include the s-channel Z"),
    **COMMON_PARAMS,
}


class EEMuMuZprime(_EELLX):
    name = "ee_mumu_zprime"
    doc = "e+e- -> l+ l- Z' (L_mu - L_tau), Z' -> mu mu / tau tau / nu nu, narrow width, spin correlated"
    params: ClassVar[dict[str, Field]] = {
        **_X_PARAMS,
        "lepton": Field(str, "mu", "lepton pair radiating the Z'", choices=("mu", "tau")),
        "decay": Field(str, "mumu", "Z' decay generated", choices=("mumu", "tautau", "nunu")),
    }
    vector = True
    x_id = ZPRIME_ID

    def couplings(self) -> tuple[float, float, float]:
        gx = self.g if self.lepton == "mu" else -self.g
        if self.decay == "mumu":
            return gx, self.g, self.g
        if self.decay == "tautau":
            return gx, -self.g, -self.g
        return gx, self.g, 0.0


class EEMuMuScalar(_EELLX):
    name = "ee_mumu_scalar"
    doc = "e+e- -> mu+ mu- S (muonphilic scalar), S -> mu+ mu-, narrow width"
    params: ClassVar[dict[str, Field]] = {
        **_X_PARAMS,
        "decay": Field(str, "mumu", "S decay generated", choices=("mumu",)),
    }
    vector = False
    model_class = MuonphilicScalar
    x_id = SCALAR_ID

    def couplings(self) -> tuple[float, float, float]:
        return self.g, self.g, self.g
