"""Multichannel importance sampling of n-body phase space (vectorised numpy).

A *channel* is a binary tree of two-body splittings (the topology of one Feynman
diagram): every internal node has an invariant mass drawn from a density adapted to
its propagator (1/(s - a) poles, flat, or a fixed narrow mass), and every splitting has
a direction drawn isotropically in the parent rest frame, except the root, whose polar
angle may follow the t/u-channel shape 1/(a - cos) + 1/(a' + cos).

Phase-space measure (PDG "Kinematics" 49.4.3):
    dPhi_n = prod_nodes dPhi_2 * prod_internal ds/(2 pi),
    dPhi_2 = |p*| / (4 pi M) * dOmega / (4 pi),
so a channel's density with respect to dPhi_n is
    g_c = prod_splits [4 pi M / |p*| * rho_Omega] * prod_masses [2 pi g(s)],
with rho_Omega = 2 rho(cos) for a non-uniform polar density rho and 1 when isotropic.
Points are drawn from g = sum_c alpha_c g_c (Kleiss & Pittau, Comput. Phys. Commun.
83 (1994) 141, hep-ph/9405257); the phase-space weight of a point is 1/g, and the
channel weights alpha_c adapt to minimise the variance (their eq. 10).

Units: GeV.  Four-vectors (n, k, 4) ordered (px, py, pz, E).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fastsim import kinematics

__all__ = ["Channel", "Mass", "MultiChannel", "Node", "two_body_dirs"]


@dataclass(frozen=True)
class Mass:
    """Density of an internal invariant mass squared s on [lo, hi].

    ``kind``: ``"flat"``; ``"pole"`` density 1/(s - a) (a < lo, a propagator
    1/(s - a) of a light particle); ``"above"`` density 1/(b - s) with b = (root mass)^2
    + ``a`` (soft-photon energy spectrum); ``"fixed"``: s = a (narrow resonance, no
    density factor).
    """

    kind: str = "flat"
    a: float = 0.0
    #: if > 0: upper limit lowered to (root mass)^2 - cap (e.g. a minimum photon energy)
    cap: float = 0.0


@dataclass
class Node:
    """A tree node: a leaf (``leaf`` = final-state index) or a split into two children."""

    leaf: int = -1
    children: tuple[Node, Node] | None = None
    mass: Mass = field(default_factory=Mass)
    #: polar-angle density of the first child at the root: "iso", "tu" (t/u-channel
    #: exchange of the beam particle) or "coll" (first child massless, emitted
    #: collinear to either beam: both peaks use its parameter)
    angle: str = "iso"

    def leaves(self) -> list[int]:
        if self.children is None:
            return [self.leaf]
        return self.children[0].leaves() + self.children[1].leaves()


def _sample_s(u: np.ndarray, lo: np.ndarray, hi: np.ndarray, m: Mass, root_s: np.ndarray) -> tuple:
    """s values and their density g(s) on [lo, hi] (normalised)."""
    if m.cap > 0:
        hi = np.minimum(hi, root_s - m.cap)
    hi = np.maximum(hi, lo * (1 + 1e-15) + 1e-300)
    if m.kind == "flat":
        s = lo + u * (hi - lo)
        return s, 1.0 / (hi - lo)
    if m.kind == "pole":
        a = m.a
        r = np.log((hi - a) / (lo - a))
        s = a + (lo - a) * np.exp(u * r)
        return s, 1.0 / ((s - a) * r)
    if m.kind == "above":
        b = root_s + m.a
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log((b - lo) / (b - hi))
            s = b - (b - lo) * np.exp(-u * r)
            return s, 1.0 / ((b - s) * r)
    msg = f"unknown mass density {m.kind}"
    raise ValueError(msg)


def _density_s(s: np.ndarray, lo: np.ndarray, hi: np.ndarray, m: Mass, root_s: np.ndarray) -> np.ndarray:
    if m.cap > 0:
        hi = np.minimum(hi, root_s - m.cap)
    hi = np.maximum(hi, lo * (1 + 1e-15) + 1e-300)
    inside = (s >= lo * (1 - 1e-12)) & (s <= hi * (1 + 1e-12))
    if m.kind == "flat":
        g = 1.0 / (hi - lo)
    elif m.kind == "pole":
        g = 1.0 / ((s - m.a) * np.log((hi - m.a) / (lo - m.a)))
    else:
        b = root_s + m.a
        with np.errstate(divide="ignore", invalid="ignore"):
            g = 1.0 / ((b - s) * np.log((b - lo) / (b - hi)))
    return np.where(inside, g, 0.0)


def two_body_dirs(cos_t: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit vectors (n, 3) from polar cosines and azimuths."""
    s = np.sqrt(np.maximum(1.0 - cos_t * cos_t, 0.0))
    return np.stack([s * np.cos(phi), s * np.sin(phi), cos_t], axis=1)


def _tu_params(M: np.ndarray, ma: np.ndarray, mb: np.ndarray, p: np.ndarray, m_beam: float) -> tuple:
    """a, a' of the t/u-channel polar density for a root split M -> A B (beam mass m_beam)."""
    e_beam = 0.5 * M
    p_beam = np.sqrt(np.maximum(e_beam**2 - m_beam**2, 1e-300))
    p = np.maximum(p, 1e-150)
    ea = np.sqrt(p * p + ma * ma)
    eb = np.sqrt(p * p + mb * mb)
    # |t - m^2| = 2 p_beam p (a - cos) with a = (2 E E_a - m_a^2) / (2 p_beam p)
    a1 = (2 * e_beam * ea - ma * ma) / (2 * p_beam * p)
    a2 = (2 * e_beam * eb - mb * mb) / (2 * p_beam * p)
    return np.maximum(a1, 1 + 1e-12), np.maximum(a2, 1 + 1e-12)


def _tu_norms(a1: np.ndarray, a2: np.ndarray) -> tuple:
    return np.log((a1 + 1) / (a1 - 1)), np.log((a2 + 1) / (a2 - 1))


class Channel:
    """One phase-space channel: a tree over ``k`` final-state particles with masses."""

    def __init__(self, tree: Node, masses: np.ndarray, m_beam: float = 0.0) -> None:
        self.tree = tree
        self.masses = np.asarray(masses, dtype=np.float64)
        self.k = len(self.masses)
        self.m_beam = m_beam
        self.n_random = self._count(tree)

    def _count(self, node: Node) -> int:
        if node.children is None:
            return 0
        own = 2 + (
            1 if node.children[0].children is not None and node.children[0].mass.kind != "fixed" else 0
        )
        own += 1 if node.children[1].children is not None and node.children[1].mass.kind != "fixed" else 0
        return own + self._count(node.children[0]) + self._count(node.children[1])

    def _min_mass(self, node: Node) -> float:
        if node.children is None:
            return float(self.masses[node.leaf])
        if node.mass.kind == "fixed":
            return float(np.sqrt(node.mass.a))
        return self._min_mass(node.children[0]) + self._min_mass(node.children[1])

    # ------------------------------------------------------------------ generation
    def generate(self, u: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Momenta (n, k, 4) in the rest frame of the root (mass M, (n,)) from uniforms u."""
        n = len(M)
        out = np.zeros((n, self.k, 4))
        rest = np.zeros((n, 4))
        rest[:, 3] = M
        self._col = 0
        with np.errstate(all="ignore"):  # degenerate points at threshold get weight 0
            self._gen(self.tree, u, M, rest, out, True, M * M)
        return out

    def _take(self, u: np.ndarray) -> np.ndarray:
        c = u[:, self._col]
        self._col += 1
        return c

    def _gen(
        self, node: Node, u: np.ndarray, M: np.ndarray, p4: np.ndarray, out: np.ndarray, root: bool, rs
    ) -> None:
        if node.children is None:
            out[:, node.leaf] = p4
            return
        a, b = node.children
        mina, minb = self._min_mass(a), self._min_mass(b)
        if a.children is None:
            ma = np.full_like(M, mina)
        elif a.mass.kind == "fixed":
            ma = np.full_like(M, np.sqrt(a.mass.a))
        else:
            sa, _ = _sample_s(self._take(u), np.full_like(M, mina**2), (M - minb) ** 2, a.mass, rs)
            ma = np.sqrt(sa)
        if b.children is None:
            mb = np.full_like(M, minb)
        elif b.mass.kind == "fixed":
            mb = np.full_like(M, np.sqrt(b.mass.a))
        else:
            sb, _ = _sample_s(self._take(u), np.full_like(M, minb**2), (M - ma) ** 2, b.mass, rs)
            mb = np.sqrt(sb)
        p = kinematics.two_body_momentum(M, ma, mb)
        uc, uphi = self._take(u), self._take(u)
        if root and node.angle in ("tu", "coll"):
            a1, a2 = _tu_params(M, ma, mb, p, self.m_beam)
            if node.angle == "coll":
                a2 = a1
            l1, l2 = _tu_norms(a1, a2)
            first = uc * (l1 + l2) < l1
            v = np.where(first, uc * (l1 + l2) / l1, (uc * (l1 + l2) - l1) / l2)
            v = np.clip(v, 0.0, 1.0)
            c1 = a1 - (a1 + 1) * np.exp(-v * l1)
            c2 = -(a2 - (a2 + 1) * np.exp(-v * l2))
            cos_t = np.where(first, c1, c2)
            cos_t = np.clip(np.where(np.isfinite(cos_t), cos_t, 2.0 * uc - 1.0), -1.0, 1.0)
        else:
            cos_t = 2.0 * uc - 1.0
        d = two_body_dirs(cos_t, 2.0 * np.pi * uphi) * p[:, None]
        pa = np.empty((len(M), 4))
        pb = np.empty((len(M), 4))
        pa[:, :3], pb[:, :3] = d, -d
        pa[:, 3] = np.sqrt(p * p + ma * ma)
        pb[:, 3] = np.sqrt(p * p + mb * mb)
        if not root:
            pa = kinematics.boost_to_frame_of(pa, p4, M)
            pb = kinematics.boost_to_frame_of(pb, p4, M)
        self._gen(a, u, ma, pa, out, False, rs)
        self._gen(b, u, mb, pb, out, False, rs)

    # ------------------------------------------------------------------ density
    def density(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Density g_c (n,) of momenta p (n, k, 4) (root rest frame) w.r.t. dPhi_n.

        At a vanishing two-body momentum the density is infinite (zero phase-space
        volume), giving the point weight 0."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            g = self._dens(self.tree, p, M, True, M * M)
        return np.where(np.isnan(g), 0.0, g)

    def _dens(self, node: Node, p: np.ndarray, M: np.ndarray, root: bool, rs) -> np.ndarray:
        """Density of the sub-tree ``node`` of mass M; ``p`` in the root rest frame."""
        if node.children is None:
            return np.ones(len(M))
        a, b = node.children
        pa = p[:, a.leaves()].sum(axis=1)
        pb = p[:, b.leaves()].sum(axis=1)
        mina, minb = self._min_mass(a), self._min_mass(b)
        g = np.ones(len(M))
        if a.children is not None and a.mass.kind != "fixed":
            sa = kinematics.invariant_mass2(pa)
            g = g * 2 * np.pi * _density_s(sa, np.full_like(M, mina**2), (M - minb) ** 2, a.mass, rs)
            ma = np.sqrt(np.maximum(sa, 0))
        else:
            ma = np.full_like(M, mina if a.children is None else np.sqrt(a.mass.a))
        if b.children is not None and b.mass.kind != "fixed":
            sb = kinematics.invariant_mass2(pb)
            g = g * 2 * np.pi * _density_s(sb, np.full_like(M, minb**2), (M - ma) ** 2, b.mass, rs)
            mb = np.sqrt(np.maximum(sb, 0))
        else:
            mb = np.full_like(M, minb if b.children is None else np.sqrt(b.mass.a))
        pst = kinematics.two_body_momentum(M, ma, mb)
        g = g * 4 * np.pi * M / np.maximum(pst, 1e-300)
        if root and node.angle in ("tu", "coll"):
            a1, a2 = _tu_params(M, ma, mb, pst, self.m_beam)
            if node.angle == "coll":
                a2 = a1
            l1, l2 = _tu_norms(a1, a2)
            c = pa[:, 2] / np.maximum(kinematics.momentum(pa), 1e-300)
            rho = (1 / (a1 - c) + 1 / (a2 + c)) / (l1 + l2)
            g = g * 2 * rho
        # below the root every direction is isotropic and every factor is Lorentz invariant
        # (invariant masses, two-body momenta): the sub-trees need no boost to their rest frames
        if a.children is not None:
            g = g * self._dens(a, p, ma, False, rs)
        if b.children is not None:
            g = g * self._dens(b, p, mb, False, rs)
        return g


class MultiChannel:
    """A set of channels with adaptive weights alpha (Kleiss & Pittau 1994)."""

    def __init__(self, channels: list[Channel]) -> None:
        self.channels = channels
        self.alpha = np.full(len(channels), 1.0 / len(channels))
        self.n_random = max(c.n_random for c in channels)

    def generate(self, M: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Momenta (n, k, 4), phase-space weights 1/g (n,) and the per-channel densities (n, C)."""
        n = len(M)
        pick = np.searchsorted(np.cumsum(self.alpha), rng.random(n) * np.sum(self.alpha), side="right")
        pick = np.minimum(pick, len(self.channels) - 1)
        u = rng.random((n, self.n_random))
        k = self.channels[0].k
        p = np.empty((n, k, 4))
        for c, ch in enumerate(self.channels):
            sel = np.flatnonzero(pick == c)
            if len(sel):
                p[sel] = ch.generate(u[sel], M[sel])
        dens = np.stack([ch.density(p, M) for ch in self.channels], axis=1)
        with np.errstate(invalid="ignore"):
            g = dens @ self.alpha
        with np.errstate(divide="ignore"):
            wps = np.where((g > 0) & np.isfinite(g), 1.0 / g, 0.0)
        return p, wps, np.where(np.isfinite(dens), dens, 0.0)

    def adapt(self, f_w: np.ndarray, dens: np.ndarray) -> None:
        """One Kleiss-Pittau step from weights w = f/g (n,) and densities g_c (n, C)."""
        g = dens @ self.alpha
        with np.errstate(over="ignore", invalid="ignore"):
            wc = np.mean(dens * (f_w**2)[:, None] / np.maximum(g, 1e-300)[:, None], axis=0)
        wc = np.where(np.isfinite(wc), wc, 0.0)
        new = self.alpha * np.sqrt(np.maximum(wc, 0.0))
        if new.sum() > 0:
            new = new / new.sum()
            self.alpha = np.maximum(new, 0.02 / len(new))
            self.alpha /= self.alpha.sum()
