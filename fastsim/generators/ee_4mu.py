"""Standard-Model e+e- -> mu+ mu- mu+ mu- (QED), all tree-level diagrams.

For each of the two ways of pairing the muons into mu- mu+ lines, {(1,3), (2,4)} and
{(1,4), (2,3)} (mu-: 1, 2; mu+: 3, 4), six diagrams:
  * double photon conversion (2): e+e- -> gamma*(q_a) gamma*(q_b) by t- and u-channel
    electron exchange, each gamma* -> mu+ mu-;
  * annihilation (4): e+e- -> gamma* -> mu+ mu- on one line, the other pair radiated by a
    virtual photon off either end of that line.
The two pairings enter with a relative minus sign (Fermi statistics of identical
muons), and the phase space of two identical mu- and two identical mu+ carries the
factor 1/(2! 2!).  Z exchange is left out (an O(s/M_Z^2 x g_V) ~ 1e-3 effect).
Electron helicity-flip configurations, suppressed by (m_e/E)^2 ~ 1e-8, are skipped
(helicity.E_HEL_SKIP).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim.generators.helicity import (
    E_HEL_SKIP,
    bar,
    beams_cm,
    bslash,
    current,
    fprop,
    p4t,
    sdot,
    slash,
    tadd,
    tneg,
    uspinor,
    vnorm2,
    vprop,
    vspinor,
)
from fastsim.generators.phase_space import Channel, Mass, MultiChannel, Node
from fastsim.generators.process import COMMON_PARAMS, MEProcess
from fastsim.schema import Field

MUON = 13


@njit(cache=True, nogil=True)
def _line2(
    ub: tuple, v: tuple, e1: tuple, e2: tuple, pa: tuple, pb: tuple, q1: tuple, m: float, c: float
) -> complex:
    """ubar(pa) [E1 S(pa + q1) E2 + E2 S(-(pb + q1)) E1] v(pb): a line with two vector insertions,
    E1 carrying momentum q1 out of the line and E2 the rest."""
    x = fprop(tadd(pa, q1), m, 0.0, slash(e2, c, c, v))
    t1 = sdot(bslash(ub, e1, c, c), x)
    y = fprop(tneg(tadd(pb, q1)), m, 0.0, slash(e1, c, c, v))
    return t1 + sdot(bslash(ub, e2, c, c), y)


@njit(cache=True, nogil=True)
def me2_4mu_direct(p: np.ndarray, M: np.ndarray, m_e: float, m_mu: float, ce: float) -> np.ndarray:
    """Spin-averaged |M|^2 of e-(k1) e+(k2) -> mu-(p0) mu-(p1) mu+(p2) mu+(p3), QED: every
    diagram evaluated for every helicity configuration (the reference of ``me2_4mu``)."""
    n = p.shape[0]
    out = np.empty(n)
    pairs = ((0, 2), (1, 3), (0, 3), (1, 2))
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        qs = (M[i], 0.0, 0.0, 0.0)
        mom = (p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2]), p4t(p[i, 3]))
        ub = []
        vv = []
        for h in range(2):
            ub.append(bar(uspinor(mom[0][0], mom[0][1], mom[0][2], mom[0][3], 2 * h - 1)))
        for h in range(2):
            ub.append(bar(uspinor(mom[1][0], mom[1][1], mom[1][2], mom[1][3], 2 * h - 1)))
        for h in range(2):
            vv.append(vspinor(mom[2][0], mom[2][1], mom[2][2], mom[2][3], 2 * h - 1))
        for h in range(2):
            vv.append(vspinor(mom[3][0], mom[3][1], mom[3][2], mom[3][3], 2 * h - 1))
        # photon 'polarisations' of the four mu- mu+ pairs: E[pair*4 + ha*2 + hb]
        qp = []
        for k in range(4):
            a, b = pairs[k]
            qp.append(tadd(mom[a], mom[b]))
        epair = []
        for k in range(4):
            a, b = pairs[k]
            for ha in range(2):
                for hb in range(2):
                    j = current(ub[2 * a + ha], vv[2 * (b - 2) + hb], ce, ce)
                    epair.append(vprop(j, qp[k], 0.0, 0.0))
        u1s = []
        vb2s = []
        ess = []
        nrm = np.empty(4)
        for he in range(4):
            u1s.append(uspinor(k1[0], k1[1], k1[2], k1[3], 2 * (he // 2) - 1))
            vb2s.append(bar(vspinor(k2[0], k2[1], k2[2], k2[3], 2 * (he % 2) - 1)))
            ess.append(vprop(current(vb2s[he], u1s[he], ce, ce), qs, 0.0, 0.0))
            nrm[he] = vnorm2(ess[he])
        tot = 0.0
        for he in range(4):
            if nrm[he] < E_HEL_SKIP * nrm.max():
                continue
            u1, vb2, es = u1s[he], vb2s[he], ess[he]
            for hm in range(16):
                h = (hm // 8, (hm // 4) % 2, (hm // 2) % 2, hm % 2)
                amp = 0j
                for pr in range(2):
                    ka, kb = 2 * pr, 2 * pr + 1
                    a, b = pairs[ka]
                    c, d = pairs[kb]
                    ea = epair[4 * ka + 2 * h[a] + h[b]]
                    eb = epair[4 * kb + 2 * h[c] + h[d]]
                    qa, qb = qp[ka], qp[kb]
                    # conversion: electron line with both photons (t and u channel)
                    conv = _line2(vb2, u1, ea, eb, tneg(k2), tneg(k1), qa, m_e, ce)
                    # annihilation: s-channel photon on line (a, b) with pair (c, d) radiated, and vice versa
                    ann = _line2(
                        ub[2 * a + h[a]], vv[2 * (b - 2) + h[b]], eb, es, mom[a], mom[b], qb, m_mu, ce
                    )
                    ann += _line2(
                        ub[2 * c + h[c]], vv[2 * (d - 2) + h[d]], ea, es, mom[c], mom[d], qa, m_mu, ce
                    )
                    sgn = 1.0 if pr == 0 else -1.0
                    amp += sgn * (conv + ann)
                tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


@njit(cache=True, nogil=True)
def me2_4mu(p: np.ndarray, M: np.ndarray, m_e: float, m_mu: float, ce: float) -> np.ndarray:
    """Spin-averaged |M|^2 of e-(k1) e+(k2) -> mu-(p0) mu-(p1) mu+(p2) mu+(p3), QED.

    The same diagram sum as ``me2_4mu_direct`` with the sub-amplitudes cached: each
    fermion-line piece (row spinor with one vector inserted, propagator times a column
    spinor with one vector inserted) depends on the helicities of at most three external
    particles and is computed once, then contracted for the 16 muon helicities."""
    n = p.shape[0]
    out = np.empty(n)
    pairs = ((0, 2), (1, 3), (0, 3), (1, 2))
    for i in range(n):
        k1, k2 = beams_cm(M[i], m_e)
        qs = (M[i], 0.0, 0.0, 0.0)
        mom = (p4t(p[i, 0]), p4t(p[i, 1]), p4t(p[i, 2]), p4t(p[i, 3]))
        # ub[a][h] (a = 0, 1: mu-), vv[b - 2][h] (b = 2, 3: mu+)
        ub = []
        vv = []
        for a in range(2):
            for h in range(2):
                ub.append(bar(uspinor(mom[a][0], mom[a][1], mom[a][2], mom[a][3], 2 * h - 1)))
        for b in range(2):
            for h in range(2):
                vv.append(vspinor(mom[b + 2][0], mom[b + 2][1], mom[b + 2][2], mom[b + 2][3], 2 * h - 1))
        qp = []
        epair = []  # E[4 k + 2 h_a + h_b]
        for k in range(4):
            a, b = pairs[k]
            qp.append(tadd(mom[a], mom[b]))
        for k in range(4):
            a, b = pairs[k]
            for ha in range(2):
                for hb in range(2):
                    j = current(ub[2 * a + ha], vv[2 * (b - 2) + hb], ce, ce)
                    epair.append(vprop(j, qp[k], 0.0, 0.0))
        # annihilation pieces independent of the e+e- helicities: for the line (a, b) of pair
        # ka with the pair kb radiated: BE = ubar_a Eb (h_a, h_kb), YB = S(-(p_b + q_kb)) Eb v_b (h_b, h_kb)
        be = []  # index ((pr * 2 + line) * 2 + h_a) * 4 + h_kb
        yb = []  # index ((pr * 2 + line) * 2 + h_b) * 4 + h_kb
        for pr in range(2):
            for line in range(2):
                kl = 2 * pr + line  # pair forming the line
                kr = 2 * pr + 1 - line  # pair radiated
                a, b = pairs[kl]
                for ha in range(2):
                    for hr in range(4):
                        be.append(bslash(ub[2 * a + ha], epair[4 * kr + hr], ce, ce))
                for hb in range(2):
                    for hr in range(4):
                        yb.append(
                            fprop(
                                tneg(tadd(mom[b], qp[kr])),
                                m_mu,
                                0.0,
                                slash(epair[4 * kr + hr], ce, ce, vv[2 * (b - 2) + hb]),
                            )
                        )
        nrm = np.empty(4)
        ess = []
        u1s = []
        vb2s = []
        for he in range(4):
            u1s.append(uspinor(k1[0], k1[1], k1[2], k1[3], 2 * (he // 2) - 1))
            vb2s.append(bar(vspinor(k2[0], k2[1], k2[2], k2[3], 2 * (he % 2) - 1)))
            ess.append(vprop(current(vb2s[he], u1s[he], ce, ce), qs, 0.0, 0.0))
            nrm[he] = vnorm2(ess[he])
        amps = np.empty((2, 4, 4), np.complex128)  # [pr, h_ka, h_kb]
        tot = 0.0
        for he in range(4):
            if nrm[he] < E_HEL_SKIP * nrm.max():
                continue
            u1, vb2, es = u1s[he], vb2s[he], ess[he]
            bv = []  # vbar(k2) E_k (4 k + h)
            su = []  # E_k u(k1)
            for kh in range(16):
                bv.append(bslash(vb2, epair[kh], ce, ce))
                su.append(slash(epair[kh], ce, ce, u1))
            for pr in range(2):
                ka, kb = 2 * pr, 2 * pr + 1
                qa = qp[ka]
                xc = []  # S(q_a - k2) E_kb u1   (h_kb)
                yc = []  # S(k1 - q_a) E_ka u1   (h_ka)
                for h in range(4):
                    xc.append(fprop(tadd(qa, tneg(k2)), m_e, 0.0, su[4 * kb + h]))
                    yc.append(fprop(tadd(k1, tneg(qa)), m_e, 0.0, su[4 * ka + h]))
                # annihilation: line pieces with the s-channel photon es
                xa = []  # [line][h_b]: S(p_a + q_kr) Es v_b
                bs = []  # [line][h_a]: ubar_a Es
                for line in range(2):
                    kl = 2 * pr + line
                    kr = 2 * pr + 1 - line
                    a, b = pairs[kl]
                    pq = tadd(mom[a], qp[kr])
                    for h in range(2):
                        xa.append(fprop(pq, m_mu, 0.0, slash(es, ce, ce, vv[2 * (b - 2) + h])))
                        bs.append(bslash(ub[2 * a + h], es, ce, ce))
                for h1 in range(4):
                    for h2 in range(4):
                        conv = sdot(bv[4 * ka + h1], xc[h2]) + sdot(bv[4 * kb + h2], yc[h1])
                        # line ka (helicities h1 = 2 h_a + h_b) radiating pair kb (h2), and vice versa
                        base0 = (pr * 2 + 0) * 2
                        base1 = (pr * 2 + 1) * 2
                        ann = sdot(be[(base0 + h1 // 2) * 4 + h2], xa[h1 % 2]) + sdot(
                            bs[h1 // 2], yb[(base0 + h1 % 2) * 4 + h2]
                        )
                        ann += sdot(be[(base1 + h2 // 2) * 4 + h1], xa[2 + h2 % 2]) + sdot(
                            bs[2 + h2 // 2], yb[(base1 + h2 % 2) * 4 + h1]
                        )
                        amps[pr, h1, h2] = conv + ann
            for hm in range(16):
                h0, h1, h2, h3 = hm // 8, (hm // 4) % 2, (hm // 2) % 2, hm % 2
                # pairing 0: (0,2)(1,3); pairing 1: (0,3)(1,2), relative sign -1
                amp = amps[0, 2 * h0 + h2, 2 * h1 + h3] - amps[1, 2 * h0 + h3, 2 * h1 + h2]
                tot += amp.real**2 + amp.imag**2
        out[i] = 0.25 * tot
    return out


class EE4Mu(MEProcess):
    name = "ee_4mu"
    doc = "e+e- -> mu+ mu- mu+ mu- (QED, all tree diagrams: annihilation and double conversion)"
    params: ClassVar[dict[str, Field]] = {
        "cos_theta_max": Field(
            float, 1.0, "cut on |cos theta*| of all four muons (CM frame)", min=0.0, max=1.0
        ),
        **COMMON_PARAMS,
    }
    symmetry = 0.25
    TRAIN_POINTS = 30_000
    TRAIN_ITER = 5

    def setup(self) -> None:
        self.final_ids = np.array([MUON, MUON, -MUON, -MUON])
        self.final_masses = np.full(4, self.m_mu)
        m2 = self.m_mu**2
        chans = []
        for (a, b), (c, d) in (((0, 2), (1, 3)), ((0, 3), (1, 2))):
            ya = Node(children=(Node(leaf=a), Node(leaf=b)), mass=Mass("pole", 0.0))
            yb = Node(children=(Node(leaf=c), Node(leaf=d)), mass=Mass("pole", 0.0))
            chans.append(Node(children=(ya, yb), angle="tu"))
            for rad_pair, line in (((a, b), (c, d)), ((c, d), (a, b))):
                for rad, other in ((line[0], line[1]), (line[1], line[0])):
                    y = Node(
                        children=(Node(leaf=rad_pair[0]), Node(leaf=rad_pair[1])), mass=Mass("pole", 0.0)
                    )
                    x = Node(children=(Node(leaf=rad), y), mass=Mass("pole", 0.98 * m2))
                    chans.append(Node(children=(Node(leaf=other), x)))
            # a soft, light pair radiated off the hard pair (annihilation diagrams): pair mass
            # squared with density 1/s, its energy with the eikonal 1/E spectrum through the
            # hard pair's mass (s_hard = M^2 - 2 M E_soft + s_soft, density 1/(M^2 - s_hard))
            for soft, hard in (((a, b), (c, d)), ((c, d), (a, b))):
                ys = Node(children=(Node(leaf=soft[0]), Node(leaf=soft[1])), mass=Mass("pole", 0.0))
                yh = Node(children=(Node(leaf=hard[0]), Node(leaf=hard[1])), mass=Mass("above", 0.0))
                chans.append(Node(children=(ys, yh)))
        self.phase_space = MultiChannel([Channel(t, self.final_masses, self.m_e) for t in chans])

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        from fastsim.constants import ALPHA_EM

        e = np.sqrt(4 * np.pi * ALPHA_EM)
        return me2_4mu(np.ascontiguousarray(p), M, self.m_e, self.m_mu, -e)

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        cmax = self.config["cos_theta_max"]
        if cmax >= 1.0:
            return np.ones(len(p_cm), bool)
        c = p_cm[:, :, 2] / np.linalg.norm(p_cm[:, :, :3], axis=2)
        return np.all(np.abs(c) < cmax, axis=1)

    def describe(self) -> dict[str, Any]:
        return {**self.describe_common(), "z_exchange": False, "diagrams": 12}
