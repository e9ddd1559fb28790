"""e+e- -> tau+ tau- with one tau decaying to pi N: the heavy neutral lepton signal.

The tau pair is :class:`fastsim.generators.ee_tautau.EETauTau` (QED + Z, ISR, FSR, the full
spin state).  In every event one tau (either, with equal probability) decays here into
pi N, N the heavy neutral lepton of :mod:`fastsim.models.hnl_tau` at the card's ``mass``,
``coupling`` (|U_tau|^2) and ``dirac``, read from the card's ``models: {hnl_tau: ...}`` point
(which also registers N with its decay table); the other tau stays in the record for the tau
decay engine, generic and spin-correlated with the first.  N decays in the decay stage by the
model's table, its lifetime axis by the grid's reweighting.

Decay of the signal tau, in its lab rest frame (the frame of :mod:`fastsim.spin`):
  dGamma / dOmega ~ 1 + h . P,   h = +- alpha n_pi  (tau-: +, tau+: - , the CP image),
with P the tau's marginal polarisation and the analysing power of tau- -> pi- N for a V-A
coupling to a massive N, from the trace of the amplitude f_pi p_pi^mu [u_N-bar g_mu (1 - g5)
u_tau] with the tau spin projector (derived here; alpha = 1 for m_N = 0, tau -> pi nu):
  alpha = p [2 (E_N E_pi + p^2) + m_pi^2] / [2 E_pi (E_N E_pi + p^2) - m_pi^2 E_N],
p, E_pi, E_N the two-body momentum and energies in the tau rest frame.  The partner tau then
decays with the conditional polarisation a = (C^T h1 + P2) / (1 + P1 . h1) (or its mirror
when tau 2 is the signal; ``../shared/reference/tau.md`` sec. 1.7): its spin row becomes a
single tau with polarisation a.  The signal tau's decay length is Exp(c tau_tau) (``particle``).

Rate: sigma(e+e- -> tau tau) x 2 BR(tau -> pi N) (the model's, corrected formula of
``../shared/reference/hnl_photon.md`` sec. 0), to first order in BR.

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from fastsim import kinematics
from fastsim.constants import C_CM_PER_NS
from fastsim.events import STATUS_DECAYED, STATUS_FINAL, Collection, EventBatch, offsets_from_counts
from fastsim.generators.base import XsecTally
from fastsim.generators.ee_tautau import TAU, EETauTau
from fastsim.schema import Field

PI_PLUS = 211


def analysing_power(m_tau: float, m_pi: float, m_n: float) -> float:
    """alpha of tau- -> pi- N (module docstring); 1 for a massless N."""
    p = kinematics.two_body_momentum(np.array([m_tau]), np.array([m_pi]), np.array([m_n]))[0]
    e_pi, e_n = math.hypot(p, m_pi), math.hypot(p, m_n)
    x = e_n * e_pi + p * p
    return float(p * (2 * x + m_pi * m_pi) / (2 * e_pi * x - m_pi * m_pi * e_n))


def polarised_directions(a: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors n (m, 3) with density (1 + k (a_hat . n)) / (4 pi) about the unit vectors
    ``a`` (m, 3) (|k| <= 1; a = 0 rows: isotropic), by the inverse CDF of cos theta and a
    uniform azimuth."""
    m = len(a)
    u = rng.random((m, 2))
    k = np.clip(k, -1.0, 1.0)
    small = np.abs(k) < 1e-9
    ks = np.where(small, 1.0, k)
    disc = np.maximum(1.0 - 2.0 * ks * (1.0 - ks / 2.0 - 2.0 * u[:, 0]), 0.0)
    c = np.where(small, 2.0 * u[:, 0] - 1.0, (-1.0 + np.sqrt(disc)) / ks)
    c = np.clip(c, -1.0, 1.0)
    s = np.sqrt(1.0 - c * c)
    phi = 2.0 * math.pi * u[:, 1]
    norm = np.linalg.norm(a, axis=1)
    ahat = np.where(norm[:, None] > 0, a / np.where(norm > 0, norm, 1.0)[:, None], [0.0, 0.0, 1.0])
    # an orthonormal pair perpendicular to ahat
    helper = np.where(np.abs(ahat[:, [2]]) < 0.9, [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    e1 = np.cross(ahat, helper)
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    e2 = np.cross(ahat, e1)
    return c[:, None] * ahat + (s * np.cos(phi))[:, None] * e1 + (s * np.sin(phi))[:, None] * e2


class EETauTauHNL(EETauTau):
    name = "ee_tautau_hnl"
    doc = "e+e- -> tau+ tau-, one tau -> pi N (heavy neutral lepton of hnl_tau, spin-correlated), the other generic"
    params: ClassVar[dict[str, Field]] = dict(EETauTau.params)

    def __init__(self, params: dict[str, Any], beams: Any, particles: Any) -> None:
        super().__init__(params, beams, particles)
        from fastsim.models import get_model
        from fastsim.models.hnl_tau import HNLTau

        points = [
            get_model(name)(p, particles)
            for name, p in getattr(particles, "models", {}).values()
            if issubclass(get_model(name), HNLTau)
        ]
        if len(points) != 1:
            raise ValueError(
                "ee_tautau_hnl needs one heavy neutral lepton point in the card's models: section (hnl_tau)"
            )
        self.model = points[0]
        self.n_pdg = self.model.particle.pdg
        self.m_tau = float(particles.mass(np.array([TAU]))[0])
        self.m_pi = float(particles.mass(np.array([PI_PLUS]))[0])
        self.ctau_tau = float(particles.ctau(np.array([TAU]))[0])
        self.br = float(self.model.production().get("tau- -> pi- N", 0.0))
        self.alpha = analysing_power(self.m_tau, self.m_pi, self.model.mass) if self.br > 0 else 0.0

    def check(self) -> list[tuple[str, str]]:
        out = list(super().check())
        if self.model.mass >= self.m_tau - self.m_pi:
            out.append(("mass", f"N mass {self.model.mass:g} GeV closes tau -> pi N"))
        return out

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        batch, tally = super().generate(n_events, rng)
        scale = 2.0 * self.br  # one tau of the pair in the mode (first order in BR)
        tally = XsecTally(tally.n_trials, tally.sum_w * scale, tally.sum_w2 * scale * scale)
        return self._force_signal_tau(batch, rng), tally

    # ------------------------------------------------------------------ the signal tau
    def _force_signal_tau(self, batch: EventBatch, rng: np.random.Generator) -> EventBatch:
        mc = batch["mc"]
        n = batch.n_events
        spin = batch.collections.get("spin")
        tau_loc = _tau_pairs(mc, n)  # (n, 2) local indices of tau- and tau+
        if spin is not None:
            f = spin.fields
            i1, i2 = f["i1"].astype(np.int64), f["i2"].astype(np.int64)
            P1 = np.stack([f["p1x"], f["p1y"], f["p1z"]], axis=1)
            P2 = np.stack([f["p2x"], f["p2y"], f["p2z"]], axis=1)
            C = np.stack([f[f"c{a}{b}"] for a in "xyz" for b in "xyz"], axis=1).reshape(n, 3, 3)
        else:
            i1, i2 = tau_loc[:, 0], tau_loc[:, 1]
            P1 = P2 = np.zeros((n, 3))
            C = np.zeros((n, 3, 3))
        first = rng.random(n) < 0.5  # the signal tau: spin row's tau 1 or tau 2
        sig_loc = np.where(first, i1, i2)
        other_loc = np.where(first, i2, i1)
        P_sig = np.where(first[:, None], P1, P2)
        base = mc.offsets[:-1]
        g = base + sig_loc
        tau_p4 = np.stack([mc["px"][g], mc["py"][g], mc["pz"][g], mc["e"][g]], axis=1)
        m_tau = mc["m"][g].astype(np.float64)
        sign = np.where(mc["id"][g] > 0, 1.0, -1.0)  # +1 tau-, -1 tau+
        # the pi direction in the tau's lab rest frame, density 1 + h.P, h = sign alpha n_pi
        n_pi = polarised_directions(P_sig, sign * self.alpha * np.linalg.norm(P_sig, axis=1), rng)
        h = (sign * self.alpha)[:, None] * n_pi
        p = kinematics.two_body_momentum(m_tau, np.full(n, self.m_pi), np.full(n, self.model.mass))
        rest = np.zeros((n, 2, 4))
        rest[:, 0, :3] = p[:, None] * n_pi
        rest[:, 1, :3] = -p[:, None] * n_pi
        rest[:, 0, 3] = np.hypot(p, self.m_pi)
        rest[:, 1, 3] = np.hypot(p, self.model.mass)
        lab = kinematics.boost_to_frame_of(rest, tau_p4, mass=m_tau)
        # the partner's conditional polarisation
        a = np.where(
            first[:, None],
            (np.einsum("nij,ni->nj", C, h) + P2) / (1.0 + np.sum(P1 * h, axis=1))[:, None],
            (np.einsum("nij,nj->ni", C, h) + P1) / (1.0 + np.sum(P2 * h, axis=1))[:, None],
        )
        ct = rng.standard_exponential(n) * self.ctau_tau
        mc = _append_decay(mc, sig_loc, lab, sign, self.n_pdg, self.model.mass, self.m_pi, ct, m_tau)
        out = dict(batch.collections)
        out["mc"] = mc
        if spin is not None:
            from fastsim.spin import spin_collection

            has_partner = other_loc >= 0
            out["spin"] = spin_collection(
                np.where(has_partner, other_loc, sig_loc), np.full(n, -1), np.where(has_partner[:, None], a, 0.0),
                np.zeros((n, 3)), np.zeros((n, 3, 3)),
            )  # fmt: skip
        return EventBatch(n, batch.events, out)

    def describe(self) -> dict[str, Any]:
        point = self.model
        dirac = bool(point.params.get("dirac", False))
        return {
            **super().describe(),
            # the limits are per N nature: hnl_majorana or hnl_dirac (fastsim.models.hnl_tau)
            "signal_model": "hnl_dirac" if dirac else "hnl_majorana",
            "x_pdg": point.particle.pdg,
            "mass_gev": point.mass,
            "coupling": point.coupling,
            "dirac": dirac,
            "decay": "tau- -> pi- N",
            "signal_br": self.br,
            "analysing_power": self.alpha,
            "ctau_cm": point.ctau_cm,
            "branching_fractions": point.branching_fractions(),
        }


def _tau_pairs(mc: Collection, n: int) -> np.ndarray:
    """(n, 2) local indices of the final tau- and tau+ of each event (-1: none)."""
    out = np.full((n, 2), -1, np.int64)
    ev = mc.event_index()
    loc = mc.local_index()
    for j, pdg in enumerate((TAU, -TAU)):
        sel = np.flatnonzero((mc["id"] == pdg) & (mc["status"] == STATUS_FINAL))
        out[ev[sel], j] = loc[sel]
    return out


def _append_decay(
    mc: Collection,
    sig_loc: np.ndarray,
    lab: np.ndarray,
    sign: np.ndarray,
    n_pdg: int,
    m_n: float,
    m_pi: float,
    ct: np.ndarray,
    m_tau: np.ndarray,
) -> Collection:
    """The record with the signal tau decayed (status 2, its decay length) and pi, N appended
    to each event (tau-: pi- N, tau+: pi+ N).  The N keeps its id after a tau+ too: fastsim
    registers no antiparticle of a neutral model particle, so a Dirac Nbar decays by N's table
    (nu for nubar: l+ and l- spectra swapped, the width and every charge-symmetric quantity
    unchanged)."""
    count = mc.counts().astype(np.int64)
    new_off = offsets_from_counts(count + 2)
    ev = mc.event_index()
    loc = mc.local_index()
    out = {k: np.zeros(int(new_off[-1]), dtype=v.dtype) for k, v in mc.fields.items()}
    pos = new_off[ev] + loc
    for k, v in mc.fields.items():
        out[k][pos] = v
    g = new_off[:-1] + sig_loc  # the tau in the new record
    out["status"][g] = STATUS_DECAYED
    out["lifetime"][g] = ct
    first_d = count  # local index of the pi
    if "daughter1" in out:
        out["daughter1"][g] = first_d
        out["daughter2"][g] = first_d + 1
    tau_p = np.stack([out[f][g] for f in ("px", "py", "pz", "e")], axis=1)
    step = ct / m_tau
    vtx = np.stack([out[f][g] for f in ("vx", "vy", "vz")], axis=1) + tau_p[:, :3] * step[:, None]
    vt = out["vt"][g] + tau_p[:, 3] * step / C_CM_PER_NS
    for j, (pid, mass) in enumerate(((-PI_PLUS, m_pi), (n_pdg, m_n))):
        q = new_off[:-1] + count + j
        ids = np.where(sign > 0, pid, -pid) if pid != n_pdg else np.full(len(sig_loc), n_pdg)
        out["id"][q] = ids
        out["status"][q] = STATUS_FINAL
        out["mother1"][q] = sig_loc
        if "mother2" in out:
            out["mother2"][q] = -1
        if "daughter1" in out:
            out["daughter1"][q] = -1
            out["daughter2"][q] = -1
        for c, f in enumerate(("px", "py", "pz", "e")):
            out[f][q] = lab[:, j, c]
        out["m"][q] = mass
        for c, f in enumerate(("vx", "vy", "vz")):
            out[f][q] = vtx[:, c]
        out["vt"][q] = vt
        out["lifetime"][q] = 0.0
    return Collection(out, new_off)
