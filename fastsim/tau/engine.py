"""The tau decay engine: every tau of every event, matrix-element decays with the full spin state.

The decay stage (:func:`fastsim.decays.decay_particles`) hands every tau it decays to
:meth:`TauDecayer.decay_block`.  Per tau:

1. **Channel** by branching fraction from the decay table's ``tau-`` modes
   (DECAY_BELLE2.DEC by default; a card may replace them), each DEC line mapped to a channel
   with its matrix element by :func:`fastsim.tau.channels.channel_for_dec_line` (lines
   without one: flat phase space).  tau+ decays are the CP images of tau- decays: products
   -> antiparticles, momenta -> -momenta, polarimeter vector h unchanged (h is axial).
2. **Unpolarised decay** at rest and its polarimeter vector h
   (:func:`fastsim.tau.channels.generate_decays`).
3. **Spin state.**  The generator's ``spin`` collection (:mod:`fastsim.spin`: P1, P2, C in
   the taus' lab rest frames) is imposed by the exact sequential method of
   ``../shared/reference/tau.md`` sec. 1.7 (3): the joint density
   dG1 dG2 (1 + P1.h1 + P2.h2 + h1.C.h2) factorises into the tau-1 marginal dG1 (1 + P1.h1)
   (the channel choice is unaffected: h averages to zero over a channel) and the tau-2
   conditional dG2 (1 + a.h2) with a = (C^T h1 + P2) / (1 + P1.h1), |a| <= 1.  A density
   dG (1 + a.h) is sampled exactly from the unpolarised decay (rotation invariant) by
   rotating the whole decay rigidly so that h makes the angle theta with a, cos theta drawn
   from (1 + |a||h| cos theta)/2 by its inverse CDF, the azimuth about a uniform (the roll
   about h is already uniform).  No rejection, every tau decays once.
   Taus without a spin row (from hadron decays, external samples, ``spin_correlations:
   false``) decay unpolarised.
4. **Lab frame.**  The rest frame is the rotation-free boost of the lab (the frame of
   :mod:`fastsim.spin`); products are boosted with the tau's generated mass (a record mass
   other than the table's, as in some external samples, gets the decay rescaled to it:
   :func:`_rescale_to_mass`).  The decay
   point: proper decay length c t ~ Exp(c tau_tau) (``particle``), vertex + (p/m) c t.
5. **Radiation.**  Single-photon O(alpha) emission off the charged products, PHOTOS-style
   (:mod:`fastsim.tau.radiation`: eikonal current with masses, collinear splitting factor,
   the products recoil as one system keeping their directions in its rest frame, so the
   spin correlation holds to O(alpha)); applied to the polarised decay at rest, before the
   boost.  The photon (above 1e-3 m_tau / 2) is a direct daughter of the tau.
6. **Record.**  The tau gets status 2 and its direct daughters (the products outside any
   resonance, a decay photon, then the resonances: rho, K*, a1 ... with status 2); each
   resonance's daughters follow.  Unstable products (pi0, eta, omega, K0 ...) are left with status 1
   for the generic decay stage.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastsim import kinematics
from fastsim.constants import ALPHA_EM, C_CM_PER_NS
from fastsim.disk_cache import cached_float
from fastsim.events import STATUS_DECAYED, STATUS_FINAL, offsets_from_counts
from fastsim.tau.channels import TauChannel, channels_for_dec_line, generate_decays
from fastsim.tau.radiation import N_UNIFORMS, charges_of, radiate_decays

__all__ = ["TAU", "TauDecayer", "polarise"]

TAU = 15


@dataclass(frozen=True)
class _Layout:
    """Record layout of one channel (tau- ids): entries in record order."""

    ids: np.ndarray  # (K,) PDG ids of the entries for a tau-
    conj_ids: np.ndarray  # (K,) the same for a tau+
    status: np.ndarray  # (K,)
    mother: np.ndarray  # (K,) -1: the tau, else entry index of the resonance
    n_direct: int  # entries [0, n_direct) are the tau's daughters
    members: tuple[tuple[int, ...], ...]  # per entry: product indices whose sum it is
    first_last: np.ndarray  # (K, 2) entry range of each resonance's daughters (-1 if none)


def _conjugate(pdg: int, particles: Any) -> int:
    """Antiparticle id (the particle's own id for self-conjugate ones)."""
    from particle import Particle
    from particle.pdgid import is_valid

    if not is_valid(pdg):
        return -pdg
    try:
        p = Particle.from_pdgid(pdg)
    except Exception:  # noqa: BLE001  (particle raises its own error types for unknown ids)
        return -pdg
    return int(p.invert().pdgid)


def _layout(ch: TauChannel, particles: Any) -> _Layout:
    inside = {i for _, d in ch.intermediates for i in d}
    direct = [("p", i) for i in range(len(ch.products)) if i not in inside]
    direct += [("r", r) for r in range(len(ch.intermediates))]
    entries = list(direct)
    mother = [-1] * len(direct)
    first_last = [[-1, -1] for _ in direct]
    for r, (_, dau) in enumerate(ch.intermediates):
        at = direct.index(("r", r))
        first_last[at] = [len(entries), len(entries) + len(dau) - 1]
        for i in dau:
            entries.append(("p", i))
            mother.append(at)
            first_last.append([-1, -1])
    ids, status, members = [], [], []
    for kind, j in entries:
        if kind == "p":
            ids.append(ch.products[j])
            status.append(STATUS_FINAL)
            members.append((j,))
        else:
            ids.append(ch.intermediates[j][0])
            status.append(STATUS_DECAYED)
            members.append(tuple(ch.intermediates[j][1]))
    ids_a = np.array(ids, np.int64)
    return _Layout(
        ids=ids_a,
        conj_ids=np.array([_conjugate(int(i), particles) for i in ids_a], np.int64),
        status=np.array(status, np.int32),
        mother=np.array(mother, np.int64),
        n_direct=len(direct),
        members=tuple(members),
        first_last=np.array(first_last, np.int64),
    )


def polarise(
    p: np.ndarray, h: np.ndarray, a: np.ndarray, u1: np.ndarray, u2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate unpolarised decays (p (n, k, 4) at rest, polarimeters h (n, 3)) rigidly so that
    they follow dG (1 + a.h): cos(h, a) from (1 + |a||h| c)/2 by inverse CDF (uniform ``u1``),
    the azimuth about a from ``u2`` (module doc, step 3).  Returns (p, h) rotated."""
    hn = np.linalg.norm(h, axis=1)
    an = np.linalg.norm(a, axis=1)
    kk = np.clip(hn * an, 0.0, 1.0)
    act = np.flatnonzero((hn > 0) & (an > 0))
    if len(act) == 0:
        return p, h
    k = kk[act]
    u = u1[act]
    # inverse CDF of (1 + k c)/2 on [-1, 1]: c = (sqrt((1 - k)^2 + 4 k u) - 1) / k
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(k > 1e-6, (np.sqrt((1 - k) ** 2 + 4 * k * u) - 1.0) / k, 2 * u - 1 + k * 2 * u * (1 - u))
    c = np.clip(c, -1.0, 1.0)
    s = np.sqrt(1.0 - c * c)
    ea = a[act] / an[act, None]
    # an orthonormal pair perpendicular to a
    ref = np.where(np.abs(ea[:, 2:3]) < 0.9, np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0]]))
    e1 = np.cross(ea, ref)
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    e2 = np.cross(ea, e1)
    phi = 2 * np.pi * u2[act]
    target = c[:, None] * ea + s[:, None] * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2)
    R = _rotation_between(h[act] / hn[act, None], target)
    p = p.copy()
    h = h.copy()
    p[act, :, :3] = np.einsum("nij,nkj->nki", R, p[act, :, :3])
    h[act] = target * hn[act, None]
    return p, h


def _rotation_between(f: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rotations (n, 3, 3) taking unit vectors f to unit vectors t (Rodrigues; about f x t,
    or by pi about an axis perpendicular to f when t = -f)."""
    v = np.cross(f, t)
    c = np.sum(f * t, axis=1)
    n = len(f)
    K = np.zeros((n, 3, 3))
    K[:, 0, 1], K[:, 0, 2] = -v[:, 2], v[:, 1]
    K[:, 1, 0], K[:, 1, 2] = v[:, 2], -v[:, 0]
    K[:, 2, 0], K[:, 2, 1] = -v[:, 1], v[:, 0]
    anti = c < -1 + 1e-12
    fac = np.where(anti, 0.0, 1.0 / np.where(anti, 1.0, 1.0 + c))
    R = np.eye(3)[None] + K + (K @ K) * fac[:, None, None]
    if np.any(anti):
        fa = f[anti]
        ref = np.where(np.abs(fa[:, 2:3]) < 0.9, np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0]]))
        ax = np.cross(fa, ref)
        ax /= np.linalg.norm(ax, axis=1)[:, None]
        R[anti] = 2 * ax[:, :, None] * ax[:, None, :] - np.eye(3)[None]
    return R


class TauDecayer:
    """Tau decays by channel, with matrix elements and the spin state (module doc).

    ``modes``: the decay table's ``tau-`` modes (``DecayTable.modes(15)``); ``particles``:
    the run's particle table (masses, c*tau); ``radiation``: single-photon emission in the
    decays (:mod:`fastsim.tau.radiation`, photons above ``radiation_cutoff`` x m_tau / 2)."""

    def __init__(
        self, modes: tuple, particles: Any, radiation: bool = True, radiation_cutoff: float = 1e-3
    ) -> None:
        chans: list[TauChannel] = []
        brs: list[float] = []
        for m in modes:
            got = channels_for_dec_line(tuple(int(d) for d in m.daughters))
            for frac, ch in _expand(got):
                chans.append(ch)
                brs.append(m.br * frac)
        if not chans:
            msg = "no tau- decay modes"
            raise ValueError(msg)
        self.channels = chans
        br = np.array(brs, np.float64)
        self.br = br / br.sum()
        self.cum = np.cumsum(self.br)
        self.cum[-1] = 1.0
        self.layouts = [_layout(ch, particles) for ch in chans]
        # the same channels with a decay photon (a direct daughter of the tau)
        self.layouts_gamma = [
            _layout(
                TauChannel(ch.name, ch.dec_daughters, (*ch.products, 22), ch.intermediates, ch.model),
                particles,
            )
            for ch in chans
        ]
        self.charges = [charges_of(np.array(ch.products, np.int64)) for ch in chans]
        self.radiation_cutoff = float(radiation_cutoff)
        self.masses = [
            np.asarray(particles.mass(np.array(ch.products, np.int64)), np.float64) for ch in chans
        ]
        self.m_tau = float(particles.mass(np.array([TAU]))[0])
        self.ctau = float(particles.ctau(np.array([TAU]))[0])
        self.radiates = [bool(radiation) and self._single_emission_ok(c) for c in range(len(chans))]

    #: channels whose one-trial crude emission probability (fastsim.tau.radiation) reaches this
    #: on a fixed-seed probe radiate no photon: tau -> e e e nu nu (2.2) and the 5-prong lines
    #: (1.0-1.1), 9e-4 of all decays; single emission needs it well below 1
    CRUDE_MAX: float = 0.7

    def _single_emission_ok(self, c: int) -> bool:
        """Whether channel c radiates: one or two charged products always (their crude bound
        stays below 0.5), five or more never (>= 1: the 5-prong lines), three or four when a
        fixed-seed probe keeps below :attr:`CRUDE_MAX`."""
        n_charged = int(np.count_nonzero(self.charges[c]))
        if n_charged == 0 or n_charged >= 5:
            return False
        if n_charged <= 2:
            return True
        return (
            _crude_emission_max_cached(
                self.channels[c], tuple(self.masses[c].tolist()), self.m_tau, self.radiation_cutoff
            )
            < self.CRUDE_MAX
        )

    # ------------------------------------------------------------------ one group of taus
    def _rest_decays(
        self, chan: np.ndarray, sign: np.ndarray, a: np.ndarray, rng: np.random.Generator
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Per channel: rows, decays at rest (CP-conjugated for tau+, polarised with a) and h."""
        rows_of: dict[int, np.ndarray] = {}
        p_of: dict[int, np.ndarray] = {}
        h_of: dict[int, np.ndarray] = {}
        u = rng.random((len(chan), 2))
        for c in np.unique(chan).tolist():
            rows = np.flatnonzero(chan == c)
            seed = int(rng.integers(0, 2**63 - 1))
            p, h = generate_decays(self.channels[c], len(rows), seed, self.masses[c], self.m_tau)
            p = np.array(p, dtype=np.float64, copy=True)
            h = np.asarray(h, dtype=np.float64)
            plus = sign[rows] < 0
            p[plus, :, :3] *= -1.0  # CP image for tau+ (h unchanged: axial)
            p, h = polarise(p, h, a[rows], u[rows, 0], u[rows, 1])
            rows_of[c], p_of[c], h_of[c] = rows, p, h
        return rows_of, p_of, h_of

    def decay_block(
        self,
        fields: dict[str, np.ndarray],
        ev: np.ndarray,
        loc: np.ndarray,
        sel: np.ndarray,
        count: np.ndarray,
        n_ev: int,
        rng: np.random.Generator,
        pol: np.ndarray | None = None,
        partner: np.ndarray | None = None,
        corr: np.ndarray | None = None,
        partner_pol: np.ndarray | None = None,
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Decay the taus ``sel`` (indices into the block ``fields``; updated in place) and
        return the block of their decay products (fields, event index, local index), in the
        format of :func:`fastsim.decays._decay_generation`.

        Spin (optional, per item of ``sel``): ``pol`` (n, 3) its polarisation; ``partner``
        (n,) position in ``sel`` of its partner when this tau decays first (-1 otherwise),
        with ``corr`` (n, 3, 3) C (this tau's index first) and ``partner_pol`` (n, 3) the
        partner's polarisation."""
        n = len(sel)
        ids = fields["id"][sel].astype(np.int64)
        sign = np.where(ids > 0, 1, -1)  # +1 tau-, -1 tau+
        chan = np.minimum(np.searchsorted(self.cum, rng.random(n), side="right"), len(self.cum) - 1)
        a = np.zeros((n, 3)) if pol is None else np.asarray(pol, np.float64).copy()
        second = np.zeros(n, bool)
        if partner is not None:
            has = partner >= 0
            second[partner[has]] = True
            a[second] = 0.0
        first_rows = np.flatnonzero(~second)
        row_maps: list[list[np.ndarray]] = [[] for _ in self.channels]
        p_parts: list[list[np.ndarray]] = [[] for _ in self.channels]
        h_all = np.zeros((n, 3))
        # stage A: taus decaying first (and single taus)
        r_of, p_of, h_of = self._rest_decays(chan[first_rows], sign[first_rows], a[first_rows], rng)
        for c, rows in r_of.items():
            row_maps[c].append(first_rows[rows])
            p_parts[c].append(p_of[c])
            h_all[first_rows[rows]] = h_of[c]
        # stage B: partners, conditional polarisation a = (C^T h1 + P2) / (1 + P1.h1)
        if partner is not None and np.any(second):
            firsts = np.flatnonzero(partner >= 0)
            seconds = partner[firsts]
            h1 = h_all[firsts]
            P1 = a[firsts]
            num = np.einsum("nij,ni->nj", corr[firsts], h1) + partner_pol[firsts]
            den = 1.0 + np.sum(P1 * h1, axis=1)
            a2 = np.zeros((n, 3))
            a2[seconds] = num / np.where(den > 0, den, 1.0)[:, None]
            r_of, p_of, h_of = self._rest_decays(chan[seconds], sign[seconds], a2[seconds], rng)
            for c, rows in r_of.items():
                row_maps[c].append(seconds[rows])
                p_parts[c].append(p_of[c])
                h_all[seconds[rows]] = h_of[c]

        # decay points
        P = np.stack([fields[f][sel] for f in ("px", "py", "pz", "e")], axis=1).astype(np.float64)
        M = fields["m"][sel].astype(np.float64)
        ct = rng.standard_exponential(n) * self.ctau
        scale = ct / M
        vtx = np.stack(
            [
                fields["vx"][sel] + P[:, 0] * scale,
                fields["vy"][sel] + P[:, 1] * scale,
                fields["vz"][sel] + P[:, 2] * scale,
                fields["vt"][sel] + P[:, 3] * scale / C_CM_PER_NS,
            ],
            axis=1,
        )

        # per channel: all its taus, their decays (+ a decay photon), record layout per tau
        groups = []
        K = np.zeros(n, np.int64)
        for c in range(len(self.channels)):
            if not row_maps[c]:
                continue
            rows = np.concatenate(row_maps[c])
            p = np.concatenate(p_parts[c])
            photon = None
            if self.radiates[c]:
                u = rng.random((len(rows), N_UNIFORMS))
                try:
                    p, photon = radiate_decays(
                        p, self.charges[c], self.m_tau, u, cutoff=self.radiation_cutoff
                    )
                except ValueError:  # a decay beyond the probe's crude bound: no photon in this group
                    photon = np.zeros((len(rows), 4))
                emitted = photon[:, 3] > 0
                if np.any(emitted):
                    p = p.copy()
                    p_g = np.concatenate([p[emitted], photon[emitted][:, None, :]], axis=1)
                    groups.append(
                        (c, rows[emitted], p_g, self.layouts_gamma[c], np.append(self.masses[c], 0.0))
                    )
                rows, p = rows[~emitted], p[~emitted]
            if len(rows):
                groups.append((c, rows, p, self.layouts[c], self.masses[c]))
        for _, rows, _, lay, _ in groups:
            K[rows] = len(lay.ids)
        start = offsets_from_counts(K)
        n_d = int(start[-1])
        n_direct = np.zeros(n, np.int64)
        d_id = np.empty(n_d, np.int64)
        d_st = np.empty(n_d, np.int32)
        d_p4 = np.empty((n_d, 4))
        d_m = np.empty(n_d)
        d_mo = np.empty(n_d, np.int64)  # -1: the tau; else entry offset within the tau's block
        d_fl = np.empty((n_d, 2), np.int64)
        for _c, rows, p_rest, lay, masses in groups:
            kk = len(lay.ids)
            p = _rescale_to_mass(p_rest, M[rows])
            lab = kinematics.boost_to_frame_of(p, P[rows], mass=M[rows])  # (n_c, k, 4)
            ent = np.stack([lab[:, list(mem), :].sum(axis=1) for mem in lay.members], axis=1)
            mass = np.empty((len(rows), kk))
            for e, mem in enumerate(lay.members):
                if len(mem) == 1:
                    mass[:, e] = masses[mem[0]]
                else:
                    q = p[:, list(mem), :].sum(axis=1)
                    mass[:, e] = np.sqrt(np.maximum(q[:, 3] ** 2 - np.sum(q[:, :3] ** 2, axis=1), 0.0))
            pos = start[rows][:, None] + np.arange(kk)[None, :]
            plus = sign[rows] < 0
            d_id[pos] = np.where(plus[:, None], lay.conj_ids[None, :], lay.ids[None, :])
            d_st[pos] = lay.status[None, :]
            d_p4[pos.reshape(-1)] = ent.reshape(-1, 4)
            d_m[pos] = mass
            d_mo[pos] = lay.mother[None, :]
            d_fl[pos.reshape(-1)] = np.tile(lay.first_last, (len(rows), 1))
            n_direct[rows] = lay.n_direct

        # local indices: after everything already in the event (sel is in event order)
        tau_of_d = np.repeat(np.arange(n), K)
        d_ev = ev[sel][tau_of_d]
        n_new = np.bincount(d_ev, minlength=n_ev)
        first_in_block = offsets_from_counts(n_new)
        rank = np.arange(n_d) - first_in_block[d_ev]
        d_loc = count[d_ev] + rank
        count += n_new
        base = d_loc[start[:-1]]  # local index of each tau's first entry

        fields["status"][sel] = STATUS_DECAYED
        fields["lifetime"][sel] = ct
        fields["daughter1"][sel] = base
        fields["daughter2"][sel] = base + n_direct - 1

        new: dict[str, np.ndarray] = {name: np.zeros(n_d, dtype=arr.dtype) for name, arr in fields.items()}
        new["id"][:] = d_id
        new["status"][:] = d_st
        b = base[tau_of_d]
        new["mother1"][:] = np.where(d_mo < 0, loc[sel][tau_of_d], b + d_mo)
        new["mother2"][:] = -1
        new["daughter1"][:] = np.where(d_fl[:, 0] < 0, -1, b + d_fl[:, 0])
        new["daughter2"][:] = np.where(d_fl[:, 1] < 0, -1, b + d_fl[:, 1])
        new["px"][:], new["py"][:], new["pz"][:], new["e"][:] = d_p4.T
        new["m"][:] = d_m
        for j, name in enumerate(("vx", "vy", "vz", "vt")):
            new[name][:] = vtx[tau_of_d, j]
        new["lifetime"][:] = 0.0
        self.last_polarimeters = h_all  # for tests: h of every tau of the last call (lab rest frames)
        self.last_channels = chan
        return new, d_ev, d_loc


def _crude_emission_max_cached(
    channel: TauChannel, masses: tuple[float, ...], m_tau: float, cutoff: float
) -> float:
    """:func:`_crude_emission_max` through the per-user cache (:mod:`fastsim.disk_cache`): the
    probe generates 2000 decays of a channel, seconds per process for the 3- and 4-prong
    lines, which every worker would otherwise pay."""
    return cached_float(
        "tau_crude",
        repr((channel, masses, m_tau, cutoff)),
        lambda: _crude_emission_max(channel, masses, m_tau, cutoff),
    )


@functools.cache
def _crude_emission_max(channel: TauChannel, masses: tuple[float, ...], m_tau: float, cutoff: float) -> float:
    """Largest one-trial crude emission probability of a channel on a fixed-seed probe of
    2000 unpolarised decays (once per process and channel)."""
    from fastsim.tau.radiation import _radiate_kernel

    n = 2000
    p, _ = generate_decays(channel, n, 0x7A05EED, np.array(masses), m_tau)
    u = np.random.default_rng(0x7A05EED).random((n, N_UNIFORMS))
    q = charges_of(np.array(channel.products, np.int64)).astype(np.float64)
    _, _, crude, _ = _radiate_kernel(
        np.ascontiguousarray(p), q, np.full(n, m_tau), u, np.full(n, cutoff), ALPHA_EM, False
    )
    return float(crude.max())


def _rescale_to_mass(p: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Decays generated at the table's tau mass, for taus whose record mass M differs (external
    samples: e.g. 1.777 in an LHE file): the rest-frame momenta are scaled by one factor xi per
    decay, solving sum_i sqrt(m_i^2 + xi^2 p_i^2) = M by Newton's method (the RAMBO mass
    step, Kleiss-Stirling-Ellis, Comput. Phys. Commun. 40 (1986) 359), so momentum and energy
    are conserved exactly; the distribution is the one at the table mass (|M/m - 1| ~ 1e-4)."""
    e_sum = p[:, :, 3].sum(axis=1)
    rows = np.flatnonzero(np.abs(e_sum - M) > 1e-12 * M)
    if len(rows) == 0:
        return p
    q = p[rows]
    m2 = np.maximum(q[:, :, 3] ** 2 - np.sum(q[:, :, :3] ** 2, axis=2), 0.0)
    k2 = np.sum(q[:, :, :3] ** 2, axis=2)
    xi = np.ones(len(rows))
    for _ in range(8):
        e = np.sqrt(m2 + xi[:, None] ** 2 * k2)
        f = e.sum(axis=1) - M[rows]
        df = np.sum(xi[:, None] * k2 / np.where(e > 0, e, 1.0), axis=1)
        xi = xi - f / np.where(df > 0, df, 1.0)
    out = p.copy()
    out[rows, :, :3] *= xi[:, None, None]
    out[rows, :, 3] = np.sqrt(m2 + xi[:, None] ** 2 * k2)
    return out


def _expand(got: Any) -> list[tuple[float, TauChannel]]:
    """A channel, or a list of (fraction, channel) splitting one DEC line."""
    if isinstance(got, TauChannel):
        return [(1.0, got)]
    return [(float(f), ch) for f, ch in got]
