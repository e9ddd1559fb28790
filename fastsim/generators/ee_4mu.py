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

from fastsim.generators import register
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


@njit(cache=True)
def _line2(
    ub: tuple, v: tuple, e1: tuple, e2: tuple, pa: tuple, pb: tuple, q1: tuple, m: float, c: float
) -> complex:
    """ubar(pa) [E1 S(pa + q1) E2 + E2 S(-(pb + q1)) E1] v(pb): a line with two vector insertions,
    E1 carrying momentum q1 out of the line and E2 the rest."""
    x = fprop(tadd(pa, q1), m, 0.0, slash(e2, c, c, v))
    t1 = sdot(bslash(ub, e1, c, c), x)
    y = fprop(tneg(tadd(pb, q1)), m, 0.0, slash(e1, c, c, v))
    return t1 + sdot(bslash(ub, e2, c, c), y)


@njit(cache=True)
def me2_4mu(p: np.ndarray, M: np.ndarray, m_e: float, m_mu: float, ce: float) -> np.ndarray:
    """Spin-averaged |M|^2 of e-(k1) e+(k2) -> mu-(p0) mu-(p1) mu+(p2) mu+(p3), QED."""
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


@register
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
