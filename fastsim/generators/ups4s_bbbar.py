"""e+e- -> Upsilon(4S) -> B Bbar with its line shape, ISR and coherent B0 mixing.

Production (per event, with the beam-energy spread and ISR of the other processes):
  sigma(W) = 12 pi B_ee Gamma_0 Gamma(W) / ((W^2 - M^2)^2 + M^2 Gamma(W)^2)   (GeV^-2 -> nb),
a relativistic Breit-Wigner in the hadronic mass W after ISR, normalised so that
sigma(M) = 12 pi B_ee / M^2 (the unitarity peak of a J = 1 resonance, PDG review
"Cross-section formulae", eq. for a narrow resonance with B(-> B Bbar) ~ 1), with the P-wave
energy-dependent width Gamma(W) = Gamma_0 sum_f r_f (p_f(W) / p_f(M))^3 over f = B+B-, B0B0bar
(r_f their fractions; the resonance sits 20 MeV above the B0B0bar threshold, so the width,
and the line shape, fall steeply below the peak).  M, Gamma_0 and the B masses and lifetimes
come from ``particle``; B_ee = 1.57e-5 and r_{+-} : r_00 = 0.515 : 0.483 from DECAY_BELLE2.DEC
(bphysics.md sec. 3.1: the Upsilon(4S) block, VLL lines and VSS / VSS_BMIX lines).  ISR is
the Kuraev-Fadin radiator of the other processes (:class:`fastsim.generators.isr.Radiator`):
it lowers the visible peak cross section to about 1.1 nb and gives the Upsilon(4S) a small
longitudinal recoil.

Decay: the Upsilon(4S) is polarised along the beam axis (helicity +-1 only, as basf2 sets
EvtGen's spin density), so the P-wave pair goes as dN/dcos theta* ~ sin^2 theta* (theta* of
the B to the e- beam in the Upsilon(4S) rest frame), |p*| = sqrt(W^2/4 - m_B^2).

Coherent mixing (``mixing``, on by default): the B0 Bbar0 pair is in the C = -1 state, so the
flavours at the two decay times t1, t2 (each ~ Exp(tau_B0) in its own rest frame) are opposite
with probability (1 + cos(Delta m_d Delta t)) / 2 and equal (B0 B0 or Bbar0 Bbar0, half each)
with (1 - cos(Delta m_d Delta t)) / 2, Delta t = t1 - t2 (e.g. Bigi & Sanda, "CP violation",
ch. 6; the time-integrated same-sign fraction is chi_d = x^2 / (2 (1 + x^2)), x = Delta m_d
tau_B0); Delta m_d = 0.507 ps^-1 as DECAY_BELLE2.DEC defines ``dm``.  The B's in the record
carry the flavour at decay and their decay lengths c t (``lifetime``, cm), which the decay
stage uses; :func:`b_pair_info` reads Delta t (ps, first B minus second B of the record) and
the same-sign flag back from a record (event fields would not mix with other processes in
one file).  Charged pairs get decay lengths from tau_B+.
The B decays themselves (EvtGen lines by the decay engine, quark-level lines by Pythia 8)
are the decay stage's (:mod:`fastsim.decays`).

Signal B (``signal_decay``, e.g. ``"B+ -> K+ S"`` or ``"B0 -> K*0 S"`` in DEC-file syntax:
EvtGen or PDG names, names of particles the card's models register, or PDG ids): only pairs
of that B are made, one B of each pair (either, with equal probability) decays into the mode
(its charge conjugate for the antiparticle; for B0 the flavour at decay after mixing), flat
in two-body phase space, at the B's decay vertex; the other B decays generically.  In
P -> V + spin 0 (B0 -> K*0 S) the vector is in helicity 0, handed to its decay (K*0 -> K pi:
cos^2 theta_hel) through the decay stage's helicity columns.  The signal B is the first B of
the record (``delta_t_ps`` is then t_sig - t_tag).  Rate bookkeeping: the cross section
reported is sigma(Upsilon(4S) -> that pair) x 2 x BR, BR = ``signal_br`` when the card gives
it; otherwise, when a daughter is the particle of a card's ``models:`` point, the model's
rate for the mode (``Model.production()``, e.g. the dark Higgs' BR(B+ -> K+ S) at its mass
and sin theta), else 1 (the sample normalised per unit BR).  With a model point, ``/meta``
names it (``signal_model``, ``x_pdg``, ``mass_gev``, ``coupling``): the analysis layer
treats the process as that signal.

Units: GeV, cm, ns; cross sections in nb; times in ps where the name says so.
"""

from __future__ import annotations

import contextlib
import math
import zlib
from typing import Any, ClassVar

import numpy as np

from fastsim.constants import C_CM_PER_NS, GEV2_TO_NB
from fastsim.events import STATUS_DECAYED, STATUS_FINAL, EventBatch
from fastsim.generators.base import Generator, XsecTally
from fastsim.generators.electroweak import lepton_mass
from fastsim.generators.isr import Radiator
from fastsim.generators.process import build_record, cm_to_lab_fast
from fastsim.schema import Field

UPS4S = 300553
B0, BP = 511, 521
PHOTON = 22
#: B(Upsilon(4S) -> e+ e-), DECAY_BELLE2.DEC (PDG: (1.57 +- 0.08) x 10^-5)
B_EE = 1.57e-5
#: Upsilon(4S) -> B+ B- and B0 Bbar0 fractions of DECAY_BELLE2.DEC (VSS, VSS_BMIX lines)
R_CHARGED, R_NEUTRAL = 0.515122645, 0.483122645
#: Delta m_d in ps^-1 (DECAY_BELLE2.DEC ``Define dm 0.507e12`` s^-1)
DM_D_PS = 0.507
_PS_TO_NS = 1e-3


class Ups4SBBbar(Generator):
    name = "ups4s_bbbar"
    doc = "e+e- -> Upsilon(4S) -> B Bbar (line shape, ISR, sin^2 theta, coherent B0 mixing); B decays in the decay stage"
    params: ClassVar[dict[str, Field]] = {
        "isr": Field(bool, True, "initial-state radiation (Kuraev-Fadin structure function)"),
        "mixing": Field(bool, True, "coherent B0 Bbar0 mixing of the C = -1 pair (Delta m_d = 0.507 / ps)"),
        "window_widths": Field(
            float, 12.0, "Upsilon(4S) mass window above threshold, in widths above the pole", min=1.0
        ),
        "signal_decay": Field(
            str, "", "force one B of each pair into this mode, DEC syntax 'B+ -> K+ S' (empty: generic)"
        ),
        "signal_br": Field(
            float,
            None,
            "branching fraction of signal_decay (rate bookkeeping: sigma x 2 x BR); null: the model's "
            "rate for the mode when a daughter is a particle of the card's models: section, else 1",
            min=0.0,
            nullable=True,
        ),
    }

    def __init__(self, params: dict[str, Any], beams: Any, particles: Any) -> None:
        params = {**{k: f.default for k, f in self.params.items()}, **params}
        super().__init__(params, beams, particles)
        ids = np.array([UPS4S, B0, BP])
        self.M, self.m_b0, self.m_bp = (float(x) for x in particles.mass(ids))
        self.gamma0 = float(particles.width(np.array([UPS4S]))[0])
        self.ctau_b0, self.ctau_bp = (float(x) for x in particles.ctau(np.array([B0, BP])))
        self.tau_b0_ps = self.ctau_b0 / C_CM_PER_NS / _PS_TO_NS
        self.m_e = lepton_mass(11, particles)
        self.isr_on = bool(params["isr"])
        self.mixing = bool(params["mixing"])
        s0 = beams.sqrt_s**2
        self.radiator = Radiator(s0, self.m_e)
        self.w_lo = 2 * max(self.m_b0, self.m_bp) * (1 + 1e-9)  # both pairs open
        self.w_hi = self.M + float(params["window_widths"]) * self.gamma0
        self.xmax = max(1.0 - self.w_lo**2 / s0, 0.0)
        self.p_ref = {f: self._pstar(self.M, m) for f, m in ((BP, self.m_bp), (B0, self.m_b0))}
        self.w_max: float | None = None
        self.signal = (
            parse_signal_decay(params["signal_decay"], particles) if params["signal_decay"] else None
        )
        self.rate_factor = 1.0
        self.signal_model: Any = None  # the model point of the signal's new particle
        self.signal_br, self.signal_br_source = 1.0, "default (per unit branching fraction)"
        if self.signal is not None:
            parent, daughters = self.signal
            m_d = float(particles.mass(np.array(daughters)).sum())
            m_p = float(particles.mass(np.array([parent]))[0])
            if abs(parent) not in (B0, BP):
                raise ValueError(f"signal_decay: the parent must be a B+ or B0 (or anti), got {parent}")
            if m_d >= m_p:
                raise ValueError(f"signal_decay: the daughters' masses ({m_d:.4f} GeV) exceed the B mass")
            self.signal_model = _signal_model_point(daughters, particles)
            if params["signal_br"] is not None:
                self.signal_br, self.signal_br_source = float(params["signal_br"]), "card (signal_br)"
            elif self.signal_model is not None:
                self.signal_br = _model_rate(self.signal_model, parent, daughters, particles, self._conjugate)
                self.signal_br_source = f"model {self.signal_model.name} (production)"
            r = R_CHARGED if abs(parent) == BP else R_NEUTRAL
            self.rate_factor = r / (R_CHARGED + R_NEUTRAL) * 2 * self.signal_br

    @staticmethod
    def _pstar(W: np.ndarray | float, m: float) -> np.ndarray:
        return np.sqrt(np.maximum(0.25 * np.asarray(W) ** 2 - m * m, 0.0))

    def width(self, W: np.ndarray) -> np.ndarray:
        """Gamma(W) (GeV): P-wave running width of the module docstring."""
        rc = R_CHARGED / (R_CHARGED + R_NEUTRAL)
        return self.gamma0 * (
            rc * (self._pstar(W, self.m_bp) / self.p_ref[BP]) ** 3
            + (1 - rc) * (self._pstar(W, self.m_b0) / self.p_ref[B0]) ** 3
        )

    def sigma_born_nb(self, W: np.ndarray) -> np.ndarray:
        """sigma(e+e- -> Upsilon(4S) -> B Bbar) at hadronic mass W (GeV), nb, no ISR."""
        W = np.asarray(W, np.float64)
        g = self.width(W)
        M2 = self.M**2
        sig = 12 * math.pi * B_EE * self.gamma0 * g / ((W * W - M2) ** 2 + M2 * g * g)
        return np.where((self.w_lo < W) & (self.w_hi > W), sig * GEV2_TO_NB, 0.0)

    def check(self) -> list[tuple[str, str]]:
        if self.beams.sqrt_s <= self.w_lo:
            return [("generator", f"sqrt(s) = {self.beams.sqrt_s:.4f} GeV is below the B Bbar threshold")]
        return []

    # ------------------------------------------------------------------ sampling
    def _points(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        her, ler = self.beams.sample(n, rng)
        tot = her + ler
        s = tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1)
        if self.isr_on:
            x, w_isr = self.radiator.sample(n, self.xmax, rng)
            z1, z2 = self.radiator.split(x, rng)
        else:
            x, w_isr = np.zeros(n), np.ones(n)
            z1 = z2 = np.ones(n)
        W = np.sqrt(s * (1 - x))
        w = self.sigma_born_nb(W) * w_isr * self.rate_factor
        return {
            "her": her,
            "ler": ler,
            "s": s,
            "z1": z1,
            "z2": z2,
            "W": W,
            "w": np.where(np.isfinite(w), w, 0.0),
        }

    def _train(self) -> None:
        """w_max from 2e5 points of a generator seeded by the card's process (not the run seed)."""
        key = repr((sorted(self.config.items()), self.beams))
        pts = self._points(200_000, np.random.default_rng(zlib.crc32(key.encode())))
        self.w_max = 1.05 * float(pts["w"].max())

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        if self.w_max is None:
            self._train()
        tally = XsecTally()
        keep: dict[str, list[np.ndarray]] = {}
        need = n_events
        while need > 0:
            m = int(min(max(need * 2.5, 1000), 500_000))
            pts = self._points(m, rng)
            tally.add(pts["w"])
            sel = np.flatnonzero(rng.random(m) * self.w_max < pts["w"])[:need]
            for k, v in pts.items():
                keep.setdefault(k, []).append(v[sel])
            need -= len(sel)
        pts = {k: np.concatenate(v) for k, v in keep.items()}
        return self._events(pts, n_events, rng), tally

    def _events(self, pts: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> EventBatch:
        W = pts["W"]
        if self.signal is None:
            charged = rng.random(n) < R_CHARGED / (R_CHARGED + R_NEUTRAL)
        else:  # only pairs of the signal B
            charged = np.full(n, abs(self.signal[0]) == BP)
        m_b = np.where(charged, self.m_bp, self.m_b0)
        pst = np.sqrt(np.maximum(0.25 * W * W - m_b * m_b, 0.0))
        # sin^2 theta* by accept-reject (bound 1)
        c = np.empty(n)
        todo = np.arange(n)
        while len(todo):
            x = 2 * rng.random(len(todo)) - 1
            ok = rng.random(len(todo)) < 1 - x * x
            c[todo[ok]] = x[ok]
            todo = todo[~ok]
        phi = 2 * math.pi * rng.random(n)
        st = np.sqrt(1 - c * c)
        p = np.zeros((n, 2, 4))
        p[:, 0, 0] = pst * st * np.cos(phi)
        p[:, 0, 1] = pst * st * np.sin(phi)
        p[:, 0, 2] = pst * c
        p[:, :, 3] = 0.5 * W[:, None]
        p[:, 1, :3] = -p[:, 0, :3]
        z1, z2 = pts["z1"], pts["z2"]
        if self.isr_on:  # the ISR recoil along z, as in MEProcess
            rz = 0.5 / np.sqrt(z1 * z2)
            g, gb = ((z1 + z2) * rz)[:, None], ((z1 - z2) * rz)[:, None]
            pz, e = p[:, :, 2].copy(), p[:, :, 3].copy()
            p[:, :, 2] = g * pz + gb * e
            p[:, :, 3] = g * e + gb * pz
        parts = [p, p.sum(axis=1, keepdims=True)]
        if self.isr_on:
            eb = 0.5 * np.sqrt(pts["s"])
            gam = np.zeros((n, 2, 4))
            gam[:, 0, 2] = gam[:, 0, 3] = (1 - z1) * eb
            gam[:, 1, 2] = -(1 - z2) * eb
            gam[:, 1, 3] = (1 - z2) * eb
            parts.append(gam)
        her, ler = np.ascontiguousarray(pts["her"]), np.ascontiguousarray(pts["ler"])
        lab = cm_to_lab_fast(np.concatenate(parts, axis=1), her, ler)

        # decay times (ps) and flavours at decay
        t = rng.standard_exponential((n, 2)) * np.where(charged, self.ctau_bp, self.ctau_b0)[:, None]
        t_ps = t / C_CM_PER_NS / _PS_TO_NS  # c t (cm) -> ps
        dt = t_ps[:, 0] - t_ps[:, 1]
        first = np.where(rng.random(n) < 0.5, 1, -1)  # flavour of the first B (sign)
        same = np.zeros(n, bool)
        if self.mixing:
            same = (~charged) & (rng.random(n) < 0.5 * (1 - np.cos(DM_D_PS * dt)))
        second = np.where(same, first, -first)
        base = np.where(charged, BP, B0)
        ids1, ids2 = first * base, second * base

        entries: list[tuple] = []
        if self.isr_on:
            entries += [(PHOTON, lab[:, 3], np.zeros(n), STATUS_FINAL, 0, 1)]
            entries += [(PHOTON, lab[:, 4], np.zeros(n), STATUS_FINAL, 0, 1)]
        ups = 2 + len(entries)
        entries.append((UPS4S, lab[:, 2], W, STATUS_DECAYED, 0, 1))
        b1 = len(entries) + 2
        entries.append((ids1, lab[:, 0], m_b, STATUS_FINAL, ups, -1))
        entries.append((ids2, lab[:, 1], m_b, STATUS_FINAL, ups, -1))
        vertex = self.beams.sample_vertices(n, rng)
        if self.signal is not None:
            entries[-2] = (ids1, lab[:, 0], m_b, STATUS_DECAYED, ups, -1)
            entries += self._signal_entries(ids1, lab[:, 0], m_b, t[:, 0], b1, rng)
        mc = build_record(her, ler, vertex, entries)
        # the B's decay lengths (cm): used by the decay stage (and by the signal daughters)
        nk = len(entries) + 2
        life = mc.fields["lifetime"].reshape(n, nk)
        life[:, b1] = t[:, 0]
        life[:, b1 + 1] = t[:, 1]
        if self.signal is not None:  # the signal daughters start at the B decay vertex
            k = len(self.signal[1])
            self._vector_helicity(mc, n, nk, k, lab[:, 0])
            p_b = lab[:, 0]
            step = t[:, 0] / m_b
            for j, name in enumerate(("vx", "vy", "vz")):
                f = mc.fields[name].reshape(n, nk)
                f[:, nk - k :] += (p_b[:, j] * step)[:, None]
            f = mc.fields["vt"].reshape(n, nk)
            f[:, nk - k :] += (p_b[:, 3] * step / C_CM_PER_NS)[:, None]
        return EventBatch(n, {}, {"mc": mc})

    def _signal_entries(
        self,
        ids: np.ndarray,
        p_b: np.ndarray,
        m_b: np.ndarray,
        ct: np.ndarray,
        b_index: int,
        rng: np.random.Generator,
    ) -> list[tuple]:
        """Record entries of the signal B's daughters (flat phase space in its rest frame), the
        mode conjugated where the B is the antiparticle of the card's parent."""
        from fastsim import kinematics

        parent, daughters = self.signal  # type: ignore[misc]
        n = len(ids)
        d = np.array(daughters, np.int64)
        conj = np.array([self._conjugate(x) for x in daughters], np.int64)
        flip = np.sign(ids) != np.sign(parent)
        d_ids = np.where(flip[:, None], conj[None, :], d[None, :])
        masses = np.broadcast_to(self.particles.mass(d), (n, len(d))).copy()
        if len(d) == 2:
            p_rest = kinematics.two_body_decay(m_b, masses[:, 0], masses[:, 1], rng)
        else:
            p_rest = kinematics.n_body_phase_space(m_b, masses, rng)
        p_lab = kinematics.boost_to_frame_of(p_rest, p_b, mass=m_b)
        return [(d_ids[:, j], p_lab[:, j], masses[:, j], STATUS_FINAL, b_index, -1) for j in range(len(d))]

    def _vector_helicity(self, mc: Any, n: int, nk: int, k: int, p_b: np.ndarray) -> None:
        """P -> V + spin 0: the vector is in helicity 0 (angular momentum along the decay axis),
        so its own decay (e.g. K*0 -> K+ pi-, VSS: cos^2 theta_hel) is not flat.  Handed to the
        decay stage through its internal helicity columns (:mod:`fastsim.decays`): 1 + rho00
        and the mother's (the B's) four-momentum, which fixes the helicity axis."""
        daughters = self.signal[1]  # type: ignore[index]
        spins = [_spin(d, self.particles) for d in daughters]
        if k != 2 or sorted(spins) != [0.0, 1.0]:
            return
        j = nk - k + spins.index(1.0)
        cols = {"_pol": np.zeros((n, nk)), "_mpx": np.zeros((n, nk)), "_mpy": np.zeros((n, nk))}
        cols |= {"_mpz": np.zeros((n, nk)), "_me": np.zeros((n, nk))}
        cols["_pol"][:, j] = 2.0  # 1 + rho00, rho00 = 1
        for c, name in enumerate(("_mpx", "_mpy", "_mpz", "_me")):
            cols[name][:, j] = p_b[:, c]
        for name, v in cols.items():
            mc.fields[name] = v.reshape(-1)

    def _conjugate(self, pdg: int) -> int:
        """The antiparticle's id (the particle itself when it is its own antiparticle)."""
        return -pdg if bool(self.particles.knows(np.array([-pdg]))[0]) else pdg

    def describe(self) -> dict[str, Any]:
        if self.w_max is None:
            self._train()
        x = self.tau_b0_ps * DM_D_PS
        return {
            "isr": self.isr_on,
            "mixing": self.mixing,
            "mass_gev": self.M,
            "width_gev": self.gamma0,
            "b_ee": B_EE,
            "charged_to_neutral": R_CHARGED / R_NEUTRAL,
            "delta_m_d_per_ps": DM_D_PS,
            "chi_d": x * x / (2 * (1 + x * x)),
            "peak_sigma_nb_no_isr": float(12 * math.pi * B_EE / self.M**2 * GEV2_TO_NB),
            "signal_decay": self.config["signal_decay"] or None,
            "signal_ids": [self.signal[0], list(self.signal[1])] if self.signal else None,
            "rate_factor": self.rate_factor,
            "signal_br": self.signal_br if self.signal else None,
            "signal_br_source": self.signal_br_source if self.signal else None,
            **self._signal_meta(),
        }

    def _signal_meta(self) -> dict[str, Any]:
        """What the analysis layer reads to recognise a signal point (analysis/io.py)."""
        point = self.signal_model
        if point is None:
            return {}
        return {
            "signal_model": point.name,
            "x_pdg": point.particle.pdg,
            # the signal particle's mass and width replace the Upsilon(4S)'s (which stay under
            # upsilon_*): mass_gev names the signal point for the analysis layer
            "upsilon_mass_gev": self.M,
            "upsilon_width_gev": self.gamma0,
            "mass_gev": point.mass,
            "width_gev": point.width_gev,
            "coupling": point.coupling,
            "decay": self.config["signal_decay"],
            "ctau_cm": point.ctau_cm,
            "branching_fractions": point.branching_fractions(),
        }


def _signal_model_point(daughters: tuple[int, ...], particles: Any) -> Any:
    """The model point of the first daughter that a card's ``models:`` section registered."""
    from fastsim.models import get_model

    for d in daughters:
        entry = getattr(particles, "models", {}).get(abs(d))
        if entry is not None:
            name, params = entry
            return get_model(name)(params, particles)
    return None


def _model_rate(point: Any, parent: int, daughters: tuple[int, ...], particles: Any, conjugate: Any) -> float:
    """The model's branching fraction of the mode (``point.production()``, keys in the same DEC
    syntax, matched with the charge-conjugate mode too); a ValueError when the model has none."""
    want = sorted(daughters)
    for key, rate in point.production().items():
        try:
            kp, kd = parse_signal_decay(key, particles)
        except ValueError:
            continue  # a reference rate such as the inclusive b -> s S
        if (kp == parent and sorted(kd) == want) or (
            kp == conjugate(parent) and sorted(conjugate(x) for x in kd) == want
        ):
            return float(rate)
    modes = ", ".join(point.production()) or "none"
    raise ValueError(
        f"signal_decay: model {point.name} gives no rate for this mode (its modes: {modes}); set signal_br"
    )


def _spin(pdg: int, particles: Any) -> float:
    """Spin J of a particle: a model's new particle from its model, others from ``particle``."""
    entry = getattr(particles, "models", {}).get(abs(pdg))
    if entry is not None:
        from fastsim.models import get_model

        return float(get_model(entry[0]).particle.spin)
    from particle import Particle

    try:
        return float(Particle.from_pdgid(pdg).J)
    except Exception:  # noqa: BLE001 - an id particle does not know: treat as spin 0
        return 0.0


def parse_signal_decay(text: str, particles: Any) -> tuple[int, tuple[int, ...]]:
    """``"B+ -> K+ S"`` -> (521, (321, id of S)): names are tried as particles the run's table
    registered (models), EvtGen names, PDG names (``particle``), then integers."""
    if "->" not in text:
        raise ValueError(f"signal_decay {text!r}: expected 'parent -> daughter daughter ...'")
    left, right = text.split("->", 1)
    names = [left.strip(), *right.split()]
    if not names[0] or len(names) < 3:
        raise ValueError(f"signal_decay {text!r}: a parent and at least two daughters are needed")
    ids = [_pdg_of(name, particles, text) for name in names]
    return ids[0], tuple(ids[1:])


def _pdg_of(name: str, particles: Any, text: str) -> int:
    registered = {info.name: pdg for pdg, info in getattr(particles, "_info", {}).items()}
    if name in registered:
        return int(registered[name])
    from particle import Particle
    from particle.converters import EvtGenName2PDGIDBiMap

    try:
        return int(EvtGenName2PDGIDBiMap[name])
    except (KeyError, ValueError, TypeError):
        pass
    with contextlib.suppress(Exception):  # particle raises several kinds for unknown names
        return int(Particle.from_name(name).pdgid)
    try:
        pdg = int(name)
    except ValueError:
        raise ValueError(f"signal_decay {text!r}: unknown particle {name!r}") from None
    if not bool(particles.knows(np.array([pdg]))[0]):
        raise ValueError(f"signal_decay {text!r}: unknown particle {pdg}")
    return pdg


def b_pair_info(ids: np.ndarray, lifetime: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event of an ``mc`` record (flat ``ids``, ``lifetime`` in cm, ``offsets``): Delta t in
    ps (t of the first B minus t of the second: t_sig - t_tag with ``signal_decay``) and whether
    the pair is same-sign (B0 B0 or Bbar0 Bbar0 at decay); NaN and False for events without a
    B pair."""
    n = len(offsets) - 1
    is_b = np.isin(np.abs(ids), (B0, BP))
    ev = np.repeat(np.arange(n), np.diff(offsets))[is_b]
    dt = np.full(n, np.nan)
    same = np.zeros(n, bool)
    first = np.flatnonzero(np.r_[True, ev[1:] != ev[:-1]]) if len(ev) else np.zeros(0, np.int64)
    pair = first[(first + 1 < len(ev)) & (ev[np.minimum(first + 1, len(ev) - 1)] == ev[first])]
    b_ids, b_life = ids[is_b], lifetime[is_b]
    e = ev[pair]
    dt[e] = (b_life[pair] - b_life[pair + 1]) / C_CM_PER_NS / _PS_TO_NS
    same[e] = b_ids[pair] == b_ids[pair + 1]
    return dt, same
