"""Common machinery of the matrix-element generators: beams, ISR, multichannel phase
space, cross-section tally, unweighting and the MC record.

For each trial point (all randomness from the chunk's rng):
  1. beam four-momenta with the energy spread (``BeamSetup.sample``);
  2. ISR (if on): x from the Kuraev-Fadin radiator, s' = s (1 - x), the beams' momentum
     fractions z1, z2 (``isr.Radiator``);
  3. the hard final state in its rest frame from the multichannel phase space;
  4. weight  w = |M|^2 / flux * (1/g) * w_ISR * cuts  in nb, with the flux
     2 lambda^(1/2)(s', m_e^2, m_e^2) and |M|^2 averaged over the beam helicities
     (PDG "Cross-section formulae" eq. 49.32 for the normalisation);
  5. boost along the beam axis by the ISR recoil, then to the lab (``cm_to_lab``);
  6. after unweighting, final-state radiation off the charged-lepton pairs (if on;
     ``fsr.py``, PHOTOS-style dipoles): it only moves the leptons and adds photons, the
     event weight and the cross section are unchanged.
Every trial weight (0 if cut) enters the :class:`XsecTally`.  Events are unweighted by
hit-or-miss against w_max (chosen in training so that the points above it carry < 1e-3 of
the cross section and are < 1e-3 of the points, or the largest weight if that costs < 5 %
efficiency); a point with w > w_max is kept with event weight w / w_max
(the file's ``weight``), so distributions stay exact; the fraction of such points is
reported.  With ``weighted: true`` every non-zero trial point is kept with weight
w / w_max (relative weights; the cross section is in /meta).

Adaptive training: the channel weights alpha and w_max are fixed on first use from
``TRAIN_POINTS`` points drawn from a generator seeded by a hash of the process
parameters and the nominal beams (not by the run's seed), so every chunk and worker
uses the same grid and the output depends only on the card.  The result is cached per
process (the run loop builds each generator twice).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numba import njit

from fastsim import kinematics
from fastsim.constants import GEV2_TO_NB
from fastsim.events import MC_FIELDS, STATUS_BEAM, STATUS_FINAL, Collection, EventBatch
from fastsim.generators.base import Generator, XsecTally
from fastsim.generators.electroweak import lepton_mass
from fastsim.generators.fsr import FSR_PARAMS, pair_dipoles, radiate_regular
from fastsim.generators.isr import Radiator
from fastsim.generators.phase_space import MultiChannel
from fastsim.schema import Field
from fastsim.spin import spin_collection

__all__ = ["COMMON_PARAMS", "MEProcess", "build_record", "cm_to_lab_fast"]

ELECTRON = 11
PHOTON = 22

COMMON_PARAMS: dict[str, Field] = {
    "isr": Field(bool, True, "initial-state radiation (Kuraev-Fadin structure function)"),
    "sqrt_shat_min": Field(
        float, 0.0, "minimum mass of the hard system after ISR (0: threshold)", unit="GeV", min=0.0
    ),
    "weighted": Field(bool, False, "keep weighted events (weight = w/w_max) instead of unweighting"),
    **FSR_PARAMS,
}

_TRAIN_CACHE: dict[Any, tuple[np.ndarray, float]] = {}


@njit(cache=True, nogil=True)
def cm_to_lab_fast(p_cm: np.ndarray, her: np.ndarray, ler: np.ndarray) -> np.ndarray:
    """Four-vectors (n, k, 4) in the CM frame (e- along +z) -> lab; the same transformation
    as :func:`fastsim.beams.cm_to_lab` (rotate +z onto the e- direction in the beams' rest
    frame, R = Rz(phi) Ry(theta), then boost with the total beam momentum; PDG "Kinematics"
    49.1 with eta = gamma beta), fused into one pass."""
    n, k, _ = p_cm.shape
    out = np.empty_like(p_cm)
    for i in range(n):
        tx = her[i, 0] + ler[i, 0]
        ty = her[i, 1] + ler[i, 1]
        tz = her[i, 2] + ler[i, 2]
        te = her[i, 3] + ler[i, 3]
        m = math.sqrt(te * te - tx * tx - ty * ty - tz * tz)
        g = te / m
        ex, ey, ez = tx / m, ty / m, tz / m
        # e- in the beams' rest frame (boost by -eta)
        ep = ex * her[i, 0] + ey * her[i, 1] + ez * her[i, 2]
        f = her[i, 3] - ep / (g + 1.0)
        dx = her[i, 0] - ex * f
        dy = her[i, 1] - ey * f
        dz = her[i, 2] - ez * f
        theta = math.atan2(math.hypot(dx, dy), dz)
        phi = math.atan2(dy, dx)
        ct, st, cp, sp = math.cos(theta), math.sin(theta), math.cos(phi), math.sin(phi)
        for j in range(k):
            px, py, pz, e = p_cm[i, j, 0], p_cm[i, j, 1], p_cm[i, j, 2], p_cm[i, j, 3]
            rx = cp * ct * px - sp * py + cp * st * pz
            ry = sp * ct * px + cp * py + sp * st * pz
            rz = -st * px + ct * pz
            q = ex * rx + ey * ry + ez * rz
            f = e + q / (g + 1.0)
            out[i, j, 0] = rx + ex * f
            out[i, j, 1] = ry + ey * f
            out[i, j, 2] = rz + ez * f
            out[i, j, 3] = g * e + q
    return out


def build_record(
    her: np.ndarray,
    ler: np.ndarray,
    vertex: np.ndarray,
    entries: list[tuple[int, np.ndarray, np.ndarray, int, int, int]],
    radiate: Callable[[dict[str, np.ndarray]], Collection] | None = None,
) -> Collection:
    """MC record: the 2 beams then ``entries`` = (id, p4 (n,4), mass (n,), status, mother1, mother2).

    ``id`` is an int or an (n,) array of per-event ids.  ``radiate`` (FSR): builds the
    collection from the (n, k) field arrays instead (``fsr.radiate_regular``).

    Daughter ranges are derived from the mother indices (daughters must be contiguous).
    """
    n = len(her)
    k = len(entries) + 2
    ids = np.empty((n, k), np.int32)
    ids[:, 0], ids[:, 1] = ELECTRON, -ELECTRON
    for j, e in enumerate(entries):
        ids[:, j + 2] = e[0]  # a PDG id, or one per event
    status = np.array([STATUS_BEAM, STATUS_BEAM] + [e[3] for e in entries], np.int32)
    m1 = np.array([-1, -1] + [e[4] for e in entries], np.int32)
    m2 = np.array([-1, -1] + [e[5] for e in entries], np.int32)
    d1 = np.full(k, -1, np.int32)
    d2 = np.full(k, -1, np.int32)
    for i in range(k):
        kids = [j for j in range(k) if i in (m1[j], m2[j])]
        if kids:
            d1[i], d2[i] = min(kids), max(kids)
    p = np.empty((n, k, 4))
    p[:, 0], p[:, 1] = her, ler
    mm = np.empty((n, k))
    m_e = np.sqrt(np.maximum(kinematics.invariant_mass2(her), 0.0))
    mm[:, 0] = m_e
    mm[:, 1] = m_e
    for j, e in enumerate(entries):
        p[:, j + 2] = e[1]
        mm[:, j + 2] = e[2]
    shape = (n, k)
    fields = {
        "id": ids,
        "status": np.broadcast_to(status, shape),
        "mother1": np.broadcast_to(m1, shape),
        "mother2": np.broadcast_to(m2, shape),
        "daughter1": np.broadcast_to(d1, shape),
        "daughter2": np.broadcast_to(d2, shape),
        "px": p[:, :, 0],
        "py": p[:, :, 1],
        "pz": p[:, :, 2],
        "e": p[:, :, 3],
        "m": mm,
    }
    for i, name in enumerate(("vx", "vy", "vz", "vt")):
        fields[name] = np.broadcast_to(vertex[:, i : i + 1], shape)
    fields["lifetime"] = np.zeros(shape)
    if radiate is not None:
        return radiate(fields)
    ordered = {name: np.ascontiguousarray(fields[name], dtype=dt) for name, dt in MC_FIELDS.items()}
    return Collection.from_regular(ordered)


class MEProcess(Generator):
    """Base class of the matrix-element processes (see the module docstring).

    Subclasses set ``final_ids``, ``final_masses`` (k,), build ``self.phase_space``
    (a :class:`MultiChannel`) in ``setup()``, and implement ``me2`` and optionally
    ``cut`` and ``record_entries``.
    """

    #: symmetry factor of identical final-state particles
    symmetry: float = 1.0
    TRAIN_POINTS: ClassVar[int] = 60_000
    TRAIN_ITER: ClassVar[int] = 4

    def __init__(self, params: dict[str, Any], beams: Any, particles: Any) -> None:
        super().__init__(params, beams, particles)
        self.m_e = lepton_mass(ELECTRON, particles)
        self.m_mu = lepton_mass(13, particles)
        self.m_tau = lepton_mass(15, particles)
        params = {**{k: f.default for k, f in self.params.items()}, **params}
        self.config = params
        self.isr_on = bool(params["isr"])
        self.weighted = bool(params["weighted"])
        self.fsr_on = bool(params["fsr"])
        self.fsr_cutoff = float(params["fsr_cutoff"])
        self.fsr_multiphoton = bool(params["fsr_multiphoton"])
        s0 = beams.sqrt_s**2
        self.radiator = Radiator(s0, self.m_e)
        self.setup()
        thr = max(float(np.sum(self.final_masses)) * (1 + 1e-9), params["sqrt_shat_min"])
        self.xmax = 1.0 - thr**2 / s0
        self._overweight = 0
        self._trials = 0
        self._trained = False  # trained on first use: card checks build generators without it

    def _ensure_trained(self) -> None:
        if not self._trained and not self.check():
            self._train()

    # ----------------------------------------------------------------- subclass API
    final_ids: np.ndarray
    final_masses: np.ndarray
    phase_space: MultiChannel

    def setup(self) -> None:
        raise NotImplementedError

    def me2(self, p: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Spin-averaged |M|^2 (n,) for final momenta p (n, k, 4) in the hard rest frame."""
        raise NotImplementedError

    def cut(self, p_cm: np.ndarray) -> np.ndarray:
        """Acceptance (n,) bool of final momenta in the CM frame (e- along +z)."""
        return np.ones(len(p_cm), bool)

    def record_entries(self, p_lab: np.ndarray) -> list[tuple]:
        """Hard-process record entries: default all final-state particles from the beams."""
        return [
            (int(pid), p_lab[:, j], np.full(len(p_lab), self.final_masses[j]), STATUS_FINAL, 0, 1)
            for j, pid in enumerate(self.final_ids)
        ]

    def record_entries_of(self, p_lab: np.ndarray, pts: dict[str, np.ndarray]) -> list[tuple]:
        """:meth:`record_entries` for the kept points ``pts`` (a process whose final state
        differs per event overrides this one)."""
        del pts
        return self.record_entries(p_lab)

    def fsr_dipoles(self, ids: np.ndarray, mothers: np.ndarray, p_lab: np.ndarray) -> np.ndarray:
        """FSR dipoles (n, nd, 2): the l- l+ pairs that radiate, as indices into ``ids``.

        ``ids``, ``mothers`` (k,) and ``p_lab`` (n, k, 4, GeV) describe the status-1 charged
        leptons of the record; default: :func:`fsr.pair_dipoles` (same-flavour pairs from
        one vertex)."""
        return pair_dipoles(ids, mothers, p_lab)

    def weight_factor(self) -> float:
        """Extra constant factor of the weight (narrow-width factors, branching fractions)."""
        return 1.0

    def check(self) -> list[tuple[str, str]]:
        if self.beams.sqrt_s <= float(np.sum(self.final_masses)):
            return [("generator", f"sqrt(s) = {self.beams.sqrt_s:.4f} GeV is below the threshold")]
        return []

    # ----------------------------------------------------------------- core
    def incoming(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """e- (along +z) and e+ four-momenta (n, 4) in the hard rest frame of mass M."""
        n = len(M)
        pz = np.sqrt(np.maximum(0.25 * M * M - self.m_e**2, 0.0))
        a = np.zeros((n, 4))
        b = np.zeros((n, 4))
        a[:, 2], a[:, 3] = pz, 0.5 * M
        b[:, 2], b[:, 3] = -pz, 0.5 * M
        return a, b

    def _points(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        her, ler = self.beams.sample(n, rng)
        s = kinematics.invariant_mass2(her + ler)
        if self.isr_on:
            x, w_isr = self.radiator.sample(n, self.xmax, rng)
            z1, z2 = self.radiator.split(x, rng)
        else:
            x = np.zeros(n)
            w_isr = np.ones(n)
            z1 = z2 = np.ones(n)
        M = np.sqrt(s * (1 - x))
        p, wps, dens = self.phase_space.generate(M, rng)
        # to the CM frame: boost along z by the ISR recoil
        if self.isr_on:
            beta = np.zeros((n, 3))
            beta[:, 2] = (z1 - z2) / (z1 + z2)
            p_cm = kinematics.boost(p, beta)
        else:
            p_cm = p
        # the matrix element only where the cuts pass
        ok = np.flatnonzero(self.cut(p_cm))
        me2 = np.zeros(n)
        me2[ok] = self.me2(p[ok], M[ok])
        lam = np.sqrt(np.maximum((M * M - 4 * self.m_e**2) * M * M, 0.0))
        w = me2 * wps / (2 * lam) * GEV2_TO_NB * w_isr * self.symmetry * self.weight_factor()
        w = np.where(np.isfinite(w), w, 0.0)
        return {
            "her": her,
            "ler": ler,
            "s": s,
            "z1": z1,
            "z2": z2,
            "p_cm": p_cm,
            "w": w,
            "dens": dens,
            "wps": wps,
        }

    def _train(self) -> None:
        # FSR acts after unweighting: its parameters do not change the grid
        key = (
            type(self).__name__,
            getattr(self, "fast", None),
            repr(sorted((k, repr(v)) for k, v in self.config.items() if not k.startswith("fsr"))),
            self.beams,
        )
        # what else sets the weights (e.g. a model point's width); appended only when a
        # generator declares it, so that the others' keys -- which seed the training -- stay
        extra = getattr(self, "cache_key_extra", ())
        if extra:
            key = (*key, extra)
        self._trained = True
        if key in _TRAIN_CACHE:
            self.phase_space.alpha, self.w_max = _TRAIN_CACHE[key]
            return
        rng = np.random.default_rng(zlib.crc32(repr(key).encode()))
        n = self.TRAIN_POINTS
        for _ in range(self.TRAIN_ITER):
            pts = self._points(n, rng)
            self.phase_space.adapt(pts["w"], pts["dens"])
        pts = self._points(2 * n, rng)
        w = np.sort(pts["w"])
        tot = w.sum()
        if tot <= 0:
            self.w_max = 1.0
        else:
            # smallest w_max whose excess sum(w - w_max, w > w_max) is below 1e-3 of the total
            excess = np.cumsum(w[::-1])[::-1] - w * np.arange(len(w), 0, -1)
            ok = np.flatnonzero(excess < 1e-3 * tot)
            self.w_max = float(w[ok[0]]) if len(ok) else float(w[-1])
            # ... and at most 1e-3 of the points above it (matters for flat weights)
            self.w_max = max(self.w_max, float(w[int(0.999 * (len(w) - 1))]))
            # a nearly flat weight distribution (e.g. analytic sampling): the largest weight
            # (x 1.001) costs < 5 % efficiency and leaves (almost) no overweight events
            if w[-1] * 1.001 <= self.w_max / 0.95:
                self.w_max = float(w[-1]) * 1.001
        _TRAIN_CACHE[key] = (self.phase_space.alpha.copy(), self.w_max)

    def generate(self, n_events: int, rng: np.random.Generator) -> tuple[EventBatch, XsecTally]:
        self._ensure_trained()
        tally = XsecTally()
        keep: dict[str, list[np.ndarray]] = {}
        weights: list[np.ndarray] = []
        need = n_events
        eff = 0.2
        while need > 0:
            m = int(min(max(need / max(eff, 0.01) * 1.1, 1000), 200_000))
            pts = self._points(m, rng)
            w = pts["w"]
            tally.add(w)
            self._trials += m
            if self.weighted:
                sel = np.flatnonzero(w > 0)[:need]
            else:
                sel = np.flatnonzero(rng.random(m) * self.w_max < w)[:need]
            eff = max(len(np.flatnonzero(w > 0) if self.weighted else sel) / m, 1e-3)
            for k, v in pts.items():
                keep.setdefault(k, []).append(v[sel])
            weights.append(w[sel] / self.w_max)
            need -= len(sel)
        pts = {k: np.concatenate(v) for k, v in keep.items()}
        ew = np.concatenate(weights)
        if not self.weighted:
            self._overweight += int(np.sum(ew > 1))
            ew = np.maximum(ew, 1.0)
        n = n_events
        her, ler = pts["her"], pts["ler"]
        parts = [pts["p_cm"]]
        if self.isr_on:
            eb = 0.5 * np.sqrt(pts["s"])
            g = np.zeros((n, 2, 4))
            g[:, 0, 2] = (1 - pts["z1"]) * eb
            g[:, 0, 3] = (1 - pts["z1"]) * eb
            g[:, 1, 2] = -(1 - pts["z2"]) * eb
            g[:, 1, 3] = (1 - pts["z2"]) * eb
            parts.append(g)
        lab = cm_to_lab_fast(
            np.concatenate(parts, axis=1), np.ascontiguousarray(her), np.ascontiguousarray(ler)
        )
        k = len(self.final_ids)
        entries = []
        if self.isr_on:
            # ISR photons: [0] radiated by the e- (along it), [1] by the e+
            entries += [(PHOTON, lab[:, k], np.zeros(n), STATUS_FINAL, 0, 1)]
            entries += [(PHOTON, lab[:, k + 1], np.zeros(n), STATUS_FINAL, 0, 1)]
        hard = self.record_entries_of(lab[:, :k], pts)
        off = len(entries)
        for pid, p4, mass, status, mo1, mo2 in hard:
            mo1s = mo1 + off if mo1 >= 2 else mo1
            mo2s = mo2 + off if mo2 >= 2 else mo2
            entries.append((pid, p4, mass, status, mo1s, mo2s))
        vertex = self.beams.sample_vertices(n, rng)
        radiate = self._fsr_step(entries, rng) if self.fsr_on else None
        mc = build_record(her, ler, vertex, entries, radiate)
        events = {"weight": ew} if (self.weighted or np.any(ew != 1.0)) else {}
        collections = {"mc": mc}
        spin = self.spin_state(pts, lab[:, :k])
        if spin is not None:
            collections["spin"] = self._spin_rows(spin if isinstance(spin, list) else [spin], off)
        return EventBatch(n, events, collections), tally

    def _spin_rows(self, states: list[tuple], off: int) -> Collection:
        """The ``spin`` collection of :meth:`spin_state`'s pairs, one row per pair and event."""
        # record positions: 2 beams, then the entries (FSR photons go after them); the hard
        # particles' entries follow record_entries, which may insert entries (a Z' before its
        # daughters): map final_ids positions through the entry ids
        pos = self._final_positions(off)
        cols = [
            spin_collection(pos[j1], pos[j2] if j2 >= 0 else -1, P1, P2, C) for j1, j2, P1, P2, C in states
        ]
        if len(cols) == 1:
            return cols[0]
        n = len(cols[0].offsets) - 1
        fields = {k: np.stack([c.fields[k] for c in cols], axis=1).reshape(-1) for k in cols[0].fields}
        return Collection(fields, np.arange(n + 1, dtype=np.int64) * len(cols))

    def _final_positions(self, off: int) -> list[int]:
        """Record position of each ``final_ids`` entry (2 beams + ``off`` ISR entries first)."""
        ids = [
            int(np.ravel(e[0])[0]) if np.ndim(e[0]) else int(e[0])
            for e in self.record_entries(self._probe_p4())
        ]
        out, used = [], set()
        for fid in self.final_ids.tolist():
            j = next(i for i, x in enumerate(ids) if x == fid and i not in used)
            used.add(j)
            out.append(2 + off + j)
        return out

    def _probe_p4(self) -> np.ndarray:
        p = np.zeros((1, len(self.final_ids), 4))
        p[..., 3] = 1.0
        return p

    def spin_state(self, pts: dict[str, np.ndarray], p_lab: np.ndarray) -> tuple | list | None:
        """Spin state of the produced taus (:mod:`fastsim.spin`), or None (unpolarised decays).

        ``pts``: the kept points (``her``, ``ler``, ``z1``, ``z2``, ``p_cm`` ...); ``p_lab``
        (n, k, 4): the final-state momenta in the lab, in ``final_ids`` order.  Returns
        (j1, j2, P1, P2, C), or a list of them: the positions of the two taus in ``final_ids``
        (j2 = -1 for a single tau) and their state in the lab rest frames."""
        return None

    def hard_frame(self, pts: dict[str, np.ndarray]) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        """Final-state momenta (n, k, 4) in the hard rest frame (beams along +-z) and the
        transformation hard frame -> lab of four-vectors (n, m, 4): the ISR recoil boost along z
        and :func:`cm_to_lab_fast`, the same steps the momenta take in :meth:`generate`."""
        her = np.ascontiguousarray(pts["her"])
        ler = np.ascontiguousarray(pts["ler"])
        beta = np.zeros((len(her), 3))
        if self.isr_on:
            beta[:, 2] = (pts["z1"] - pts["z2"]) / (pts["z1"] + pts["z2"])
        p_hard = kinematics.boost(pts["p_cm"], -beta) if self.isr_on else pts["p_cm"]

        def to_lab(v: np.ndarray) -> np.ndarray:
            v = kinematics.boost(v, beta) if self.isr_on else v
            return cm_to_lab_fast(np.ascontiguousarray(v), her, ler)

        return p_hard, to_lab

    def _fsr_step(self, entries: list[tuple], rng: np.random.Generator) -> Callable | None:
        """FSR for the record of ``entries`` (``build_record``'s ``radiate``), None if no dipole."""
        lep = [
            j
            for j, e in enumerate(entries)
            if e[3] == STATUS_FINAL and np.ndim(e[0]) == 0 and abs(int(e[0])) in (11, 13, 15)
        ]
        if not lep:
            return None
        ids = np.array([int(entries[j][0]) for j in lep])
        mothers = np.array([entries[j][4] for j in lep])
        p = np.stack([entries[j][1] for j in lep], axis=1)
        dip = self.fsr_dipoles(ids, mothers, p)
        if dip.shape[1] == 0:
            return None
        rec = np.array(lep, np.int64) + 2  # the record starts with the two beams
        dip = rec[dip]
        return lambda fields: radiate_regular(fields, dip, rng, self.fsr_cutoff, self.fsr_multiphoton)

    def describe_common(self) -> dict[str, Any]:
        self._ensure_trained()
        return {
            "isr": self.isr_on,
            "fsr": self.fsr_on,
            "fsr_cutoff": self.fsr_cutoff if self.fsr_on else None,
            "fsr_multiphoton": self.fsr_multiphoton if self.fsr_on else None,
            "channel_weights": [float(a) for a in self.phase_space.alpha],
            "w_max_nb": self.w_max,
            "alpha_em": "alpha(0)",
        }
