"""The detector stage: MC particles -> tracks, ECL clusters, KLM objects.

Units: GeV, cm, ns, rad.

Steps per batch (all vectorised over the flat particle arrays, kernels in numba):
1. simulated particles: final-state MC particles (status 1; neutrinos and neutral particles
   unknown to the detector skipped) and charged decayed ones (status 2, which leave a track
   up to their decay vertex);
2. pi+- and K+- draw a decay length Exp(ctau p/m) (ctau from the particle table); charged
   particles are propagated (:func:`propagate_charged`), neutrals go straight
   (:func:`propagate_neutral`), photons may convert;
3. secondaries (conversion pairs, decay-in-flight daughters from the decay engine) are
   propagated in the next generation (up to three);
4. the finder, covariance and smearing give the ``tracks``; ECL deposits give ``clusters``;
   the KLM range model gives ``klm`` objects and the muon-ID gate; PID scores per track.

Truth links: ``mc_index`` is the event-local index of the MC particle the object comes from
(for secondaries: of the MC particle that converted or decayed in flight), ``origin`` says
0 primary, 1 conversion pair, 2 decay-in-flight daughter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from fastsim.detector.arena import blocks
from fastsim.detector.ecl import arrival_time, face_deposits, make_clusters
from fastsim.detector.geometry import Geometry
from fastsim.detector.klm import KL_PDG, klm_response
from fastsim.detector.pid import PID_FIELDS, pid_scores
from fastsim.detector.propagation import (
    END_CONVERTED,
    END_DECAYED,
    END_ECL,
    propagate_charged,
    propagate_neutral,
)
from fastsim.detector.tracking import (
    COV_FIELDS,
    HELIX_FIELDS,
    find_tracks,
    track_response,
)
from fastsim.events import STATUS_DECAYED, STATUS_FINAL, Collection, EventBatch

__all__ = ["CLUSTER_FIELDS", "KLM_FIELDS", "TRACK_FIELDS", "DetectorStage"]

ORIGIN_PRIMARY, ORIGIN_CONVERSION, ORIGIN_DECAY = 0, 1, 2
_NEUTRINOS = (12, 14, 16)
_DECAY_IN_FLIGHT = (211, 321)
# in-flight decay modes, PDG 2024 (Review of Particle Physics, pi+- and K+- listings)
_PI_MODES = [(0.999877, (-13, 14)), (1.23e-4, (-11, 12))]
_K_MODES = [
    (0.6356, (-13, 14)),
    (0.2067, (211, 111)),
    (0.0558, (211, 211, -211)),
    (0.0507, (111, -11, 12)),
    (0.0335, (111, -13, 14)),
    (0.0176, (211, 111, 111)),
]

TRACK_FIELDS: dict[str, np.dtype] = {
    **{k: np.dtype(np.float64) for k in HELIX_FIELDS},
    **{k: np.dtype(np.float64) for k in COV_FIELDS},
    "charge": np.dtype(np.int8),
    "px": np.dtype(np.float64),
    "py": np.dtype(np.float64),
    "pz": np.dtype(np.float64),
    "n_pxd": np.dtype(np.int16),
    "n_svd": np.dtype(np.int16),
    "n_cdc": np.dtype(np.int16),
    "first_hit_r": np.dtype(np.float32),
    "mc_index": np.dtype(np.int32),
    "origin": np.dtype(np.int8),
    "true_pdg": np.dtype(np.int32),
    "cluster_index": np.dtype(np.int32),
    "klm_layers": np.dtype(np.int16),
    **{k: np.dtype(np.float32) for k in PID_FIELDS},
}
CLUSTER_FIELDS: dict[str, np.dtype] = {
    "energy": np.dtype(np.float64),
    "theta": np.dtype(np.float64),
    "phi": np.dtype(np.float64),
    "x": np.dtype(np.float64),
    "y": np.dtype(np.float64),
    "z": np.dtype(np.float64),
    "time": np.dtype(np.float64),
    "region": np.dtype(np.int8),
    "n_merged": np.dtype(np.int32),
    "mc_index": np.dtype(np.int32),
    "true_pdg": np.dtype(np.int32),
    "track_index": np.dtype(np.int32),
}
KLM_FIELDS: dict[str, np.dtype] = {
    "theta": np.dtype(np.float64),
    "phi": np.dtype(np.float64),
    "n_layers": np.dtype(np.int16),
    "region": np.dtype(np.int8),
    "mc_index": np.dtype(np.int32),
    "true_pdg": np.dtype(np.int32),
    "track_index": np.dtype(np.int32),
}
UNITS = {
    "tracks": {"d0": "cm", "phi0": "rad", "omega": "1/cm", "z0": "cm", "px": "GeV", "py": "GeV", "pz": "GeV"},
    "clusters": {
        "energy": "GeV",
        "theta": "rad",
        "phi": "rad",
        "x": "cm",
        "y": "cm",
        "z": "cm",
        "time": "ns",
    },
    "klm": {"theta": "rad", "phi": "rad"},
}

_SIM_KEYS = (
    "ev",
    "mc",
    "pdg",
    "q",
    "m",
    "x",
    "y",
    "z",
    "t",
    "px",
    "py",
    "pz",
    "s3",
    "origin",
    "vx0",
    "vy0",
    "vz0",
)


#: per-particle arrays the stage needs after propagation (``found``: the track finder's mask)
_OUT_KEYS = (
    *("ev", "mc", "pdg", "q", "m", "x", "y", "z", "t", "px", "py", "pz", "origin"),
    *("end_code", "end", "path", "n_hits", "r_first", "r_last", "found"),
)


def _among(a: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    """``np.isin(a, codes)`` for a few codes, as equalities (several times faster)."""
    out = a == codes[0]
    for c in codes[1:]:
        out |= a == c
    return out


def _cat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _joined(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The ``_OUT_KEYS`` of all generations joined (no copy for a single generation)."""
    if len(parts) == 1:
        return {k: parts[0][k] for k in _OUT_KEYS}
    n = sum(len(p["pdg"]) for p in parts)
    first = parts[0]
    arrays = blocks([(first[k].dtype, (n, *first[k].shape[1:])) for k in _OUT_KEYS])
    for k, arr in zip(_OUT_KEYS, arrays, strict=True):
        np.concatenate([p[k] for p in parts], out=arr)
    return dict(zip(_OUT_KEYS, arrays, strict=True))


@njit(cache=True, nogil=True, fastmath={"contract"})
def _event_and_local(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every item of a collection with these offsets: its event and its index within the
    event (as :meth:`Collection.event_index` and :meth:`Collection.local_index`)."""
    n = offsets[-1]
    ev = np.empty(n, np.int64)
    local = np.empty(n, np.int64)
    for e in range(len(offsets) - 1):
        for k in range(offsets[e + 1] - offsets[e]):
            ev[offsets[e] + k] = e
            local[offsets[e] + k] = k
    return ev, local


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _flight_lengths(idx, at, aid, px, py, pz, m, ctau_pi, ctau_k, expo, s3):  # fmt: skip
    """Decay lengths (cm) of the pi+- / K+- ``idx`` (MC indices; |PDG id| ``aid``) written to
    ``s3[at]``: Exp(1) draws ``expo`` times c tau p / m (c tau of pi+- and K+- given)."""
    for j in range(len(idx)):
        i = idx[j]
        p = math.sqrt(px[i] * px[i] + py[i] * py[i] + pz[i] * pz[i])
        ctau = ctau_pi if aid[i] == 211 else ctau_k
        s3[at[j]] = expo[j] * ctau * p / max(m[i], 1e-9)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _links(idx: np.ndarray, ev: np.ndarray, n_events: int) -> tuple[np.ndarray, np.ndarray]:
    """Objects made from the particles ``idx`` (in a stable order by event; ``ev`` the
    particles' events): the number of objects per event and, per particle, the event-local
    index of its object (-1 if none)."""
    counts = np.zeros(n_events, np.int64)
    of_sim = np.full(len(ev), -1, np.int32)
    for j in range(len(idx)):
        e = ev[idx[j]]
        of_sim[idx[j]] = counts[e]
        counts[e] += 1
    return counts, of_sim


@njit(cache=True, nogil=True, fastmath={"contract"})
def _counts(idx: np.ndarray, ev: np.ndarray, n_events: int) -> np.ndarray:
    """Number of objects per event for objects made from the particles ``idx`` (``ev``: the
    particles' events)."""
    counts = np.zeros(n_events, np.int64)
    for j in range(len(idx)):
        counts[ev[idx[j]]] += 1
    return counts


@njit(cache=True, nogil=True, fastmath={"contract"})
def _links_of(idx, mc, pdg, track_of_sim, out):  # fmt: skip
    """Truth and track links of the objects made from the particles ``idx``: rows of ``out``
    (int32) mc_index, true_pdg, track_index."""
    for j in range(len(idx)):
        i = idx[j]
        out[0, j], out[1, j], out[2, j] = mc[i], pdg[i], track_of_sim[i]


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _klm_columns(ik, kl_det, theta_face, phi_end, layers_had, dk, lo, hi, blo, bhi, f8, n_layers, region):  # fmt: skip
    """KLM objects from the particles ``ik``: polar angle (at the ECL face) and azimuth of the
    end point, K_L ones displaced by the normals ``dk`` (2, number of K_L) in order; layers
    (1 for K_L) and region (:func:`klm_region` of the unsmeared angle: 0 outside the polar
    range lo-hi (deg), 1 barrel blo-bhi, 2 endcap).  Writes the rows of ``f8`` (theta, phi),
    ``n_layers`` and ``region``."""
    m = 0
    for j in range(len(ik)):
        i = ik[j]
        th = theta_face[i]
        deg = th * (180.0 / np.pi)
        region[j] = (1 if blo <= deg <= bhi else 2) if lo <= deg <= hi else 0
        ph = phi_end[i]
        if kl_det[i]:
            th += dk[0, m]
            ph += dk[1, m]
            m += 1
            n_layers[j] = 1
        else:
            n_layers[j] = layers_had[i]
        f8[0, j] = th
        f8[1, j] = ph


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _track_columns(it, n_hits, r_first, mc, origin, pdg, cluster_of_sim, layers_mu, min_layers, f4, i4, i2, i1):  # fmt: skip
    """Per track ``it[j]``: hit counts, first-hit radius, truth links, cluster link and KLM
    layers written into the track columns (``f4[0]``: first_hit_r; ``i4``: mc_index,
    true_pdg, cluster_index; ``i2``: n_pxd, n_svd, n_cdc, klm_layers; ``i1[1]``: origin).
    Returns the KLM muon gate for the PID."""
    nt = len(it)
    klm_ok = np.empty(nt, np.bool_)
    for j in range(nt):
        i = it[j]
        i2[0, j], i2[1, j], i2[2, j] = n_hits[i, 0], n_hits[i, 1], n_hits[i, 2]
        f4[0, j] = r_first[i]
        i4[0, j], i4[1, j], i4[2, j] = mc[i], pdg[i], cluster_of_sim[i]
        i2[3, j] = layers_mu[i]
        klm_ok[j] = layers_mu[i] >= min_layers
        i1[1, j] = origin[i]
    return klm_ok


class DetectorStage:
    """Callable ``stage(batch, rng) -> batch`` adding ``tracks``, ``clusters`` and ``klm``."""

    def __init__(self, det: dict[str, Any], particles: Any) -> None:
        self.det = det
        self.geom = Geometry.from_card(det)
        self.particles = particles
        self._engine: tuple | None = None
        self.m_mu = float(particles.mass(np.array([13]))[0])
        self.m_e = float(particles.mass(np.array([11]))[0])

    # ------------------------------------------------------------------ helpers
    def _decay_engine(self) -> tuple:
        """(table for pi/K in-flight decays, prompt particle table, stable set, SM table)."""
        if self._engine is None:
            from fastsim.decays import DEFAULT_STABLE, DecayTable, sm_decay_table
            from fastsim.particles import ParticleTable

            table = DecayTable()
            for pdg, modes in ((211, _PI_MODES), (321, _K_MODES)):
                table.add(pdg, modes)
                table.add(-pdg, [(br, tuple(-d if d not in (111,) else d for d in dau)) for br, dau in modes])
            prompt = ParticleTable()
            for pdg in (211, 321):
                info = self.particles.info(pdg)
                prompt.register(pdg, info.name, mass=info.mass, ctau=0.0, charge=info.charge)
            stable = frozenset(DEFAULT_STABLE) - {211, -211, 321, -321}
            self._engine = (table, prompt, stable, sm_decay_table(), DEFAULT_STABLE)
        return self._engine

    def _decay_in_flight(
        self, parents: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Daughters (final state) of pi/K decaying at the given points, via the decay engine."""
        from fastsim.decays import decay_particles
        from fastsim.events import MC_FIELDS

        table, prompt, stable, sm, default_stable = self._decay_engine()
        n = len(parents["pdg"])
        f = {k: np.zeros(n, dt) for k, dt in MC_FIELDS.items()}
        f["id"] = parents["pdg"].astype(np.int32)
        f["status"][:] = STATUS_FINAL
        for k in ("mother1", "mother2", "daughter1", "daughter2"):
            f[k][:] = -1
        for k in ("px", "py", "pz"):
            f[k] = parents[k].copy()
        f["m"] = parents["m"].copy()
        f["e"] = np.sqrt(parents["px"] ** 2 + parents["py"] ** 2 + parents["pz"] ** 2 + parents["m"] ** 2)
        f["vx"], f["vy"], f["vz"], f["vt"] = parents["x"], parents["y"], parents["z"], parents["t"]
        col = Collection.from_counts(np.ones(n, np.int64), f)
        col = decay_particles(col, table, rng, prompt, stable, max_generations=1, warn_unfinished=False)
        col = decay_particles(col, sm, rng, self.particles, default_stable)
        keep = (col["status"] == STATUS_FINAL) & (col.local_index() > 0)
        keep &= ~_among(np.abs(col["id"]), _NEUTRINOS)
        owner = col.event_index()[keep]
        ids = col["id"][keep].astype(np.int64)
        return {
            "ev": parents["ev"][owner],
            "mc": parents["mc"][owner],
            "pdg": ids,
            "q": self.particles.charge(ids).astype(np.float64),
            "m": col["m"][keep].astype(np.float64),
            "x": col["vx"][keep],
            "y": col["vy"][keep],
            "z": col["vz"][keep],
            "t": col["vt"][keep],
            "px": col["px"][keep],
            "py": col["py"][keep],
            "pz": col["pz"][keep],
            "s3": np.full(int(keep.sum()), np.inf),
            "origin": np.full(int(keep.sum()), ORIGIN_DECAY, np.int8),
            "vx0": col["vx"][keep],
            "vy0": col["vy"][keep],
            "vz0": col["vz"][keep],
        }

    def _primaries(self, mc: Collection, rng: np.random.Generator) -> dict[str, np.ndarray]:
        ids = mc["id"].astype(np.int64)
        aid = np.abs(ids)
        status = mc["status"]
        known = self.particles.knows(ids)
        if known.all():
            q = np.asarray(self.particles.charge(ids), dtype=np.float64)
        else:
            q = np.zeros(len(ids))
            q[known] = self.particles.charge(ids[known])
        final = (status == STATUS_FINAL) & known & ~_among(aid, _NEUTRINOS)
        # neutral final-state particles the detector sees: photons, K_L, neutrons (others invisible)
        final &= (q != 0) | _among(aid, (22, KL_PDG, 2112))
        ev, local = _event_and_local(mc.offsets)
        # charged decayed particles leave a track up to the vertex of their first daughter
        decayed = (status == STATUS_DECAYED) & (q != 0) & (mc["daughter1"] >= 0)
        sel = np.flatnonzero(final | decayed)
        take = (lambda a: a) if len(sel) == len(ids) else (lambda a: a[sel])  # no copy if all
        s3 = np.full(len(sel), np.inf)
        dec = decayed[sel]
        if dec.any():
            d_global = mc.offsets[ev[sel][dec]] + mc["daughter1"][sel][dec]
            s3[dec] = np.sqrt(
                (mc["vx"][d_global] - mc["vx"][sel][dec]) ** 2
                + (mc["vy"][d_global] - mc["vy"][sel][dec]) ** 2
                + (mc["vz"][d_global] - mc["vz"][sel][dec]) ** 2
            )
        sel_ids = take(ids)
        fly = np.flatnonzero(_among(take(aid), _DECAY_IN_FLIGHT) & ~dec)
        if len(fly):
            ctau_pi, ctau_k = self.particles.ctau(np.array(_DECAY_IN_FLIGHT))
            _flight_lengths(
                sel[fly], fly, aid, mc["px"], mc["py"], mc["pz"], mc["m"], float(ctau_pi), float(ctau_k),
                rng.exponential(1.0, len(fly)), s3,
            )  # fmt: skip
        return {
            "ev": take(ev),
            "mc": take(local).astype(np.int64, copy=False),
            "pdg": sel_ids,
            "q": take(q),
            "m": take(mc["m"]).astype(np.float64, copy=False),
            "x": take(mc["vx"]),
            "y": take(mc["vy"]),
            "z": take(mc["vz"]),
            "t": take(mc["vt"]),
            "px": take(mc["px"]),
            "py": take(mc["py"]),
            "pz": take(mc["pz"]),
            "s3": s3,
            "origin": np.zeros(len(sel), np.int8),
            "vx0": take(mc["vx"]),
            "vy0": take(mc["vy"]),
            "vz0": take(mc["vz"]),
        }

    # ------------------------------------------------------------------ propagation
    def propagate(self, sim: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Propagate particles and their secondaries; returns all simulated particles with results
        (and ``found``, the track finder's mask, :func:`find_tracks`)."""
        g = self.geom
        done: list[dict[str, np.ndarray]] = []
        gen = sim
        for generation in range(3):
            n = len(gen["pdg"])
            if n == 0:
                break
            charged = gen["q"] != 0
            seed_c, seed_n = (np.uint64(s) for s in rng.integers(0, 2**63, 2))
            ic = np.flatnonzero(charged)
            every = len(ic) == n  # all charged: the kernel's arrays are the results
            res = (
                {"frac": np.zeros(n)}
                if every
                else {
                    "end_code": np.zeros(n, np.int8),
                    "end": np.zeros((n, 6)),
                    "path": np.zeros(n),
                    "vxd_mask": np.zeros(n, np.int32),
                    "n_hits": np.zeros((n, 3), np.int16),
                    "sl_hits": np.zeros((n, max(g.n_superlayers, 1)), np.int16),
                    "r_first": np.full(n, -1.0),
                    "r_last": np.full(n, -1.0),
                    "frac": np.zeros(n),
                }
            )
            if len(ic):
                c = (
                    gen
                    if every
                    else {k: gen[k][ic] for k in ("x", "y", "z", "px", "py", "pz", "q", "m", "s3")}
                )
                out = propagate_charged(
                    c["x"], c["y"], c["z"], c["px"], c["py"], c["pz"], c["q"], c["m"], c["s3"], seed_c,
                    g.radius, g.z_min, g.z_max, g.x0, g.dedx_x0, g.efficiency, g.kind, g.superlayer,
                    g.pxd_index, g.svd_index, g.blk_end, g.blk_zlo, g.blk_zhi, g.blk_zlo_min, g.blk_zhi_max,
                    g.bz, g.ecl_radius, g.ecl_z_fwd, g.ecl_z_bwd, g.n_superlayers,
                )  # fmt: skip
                for key, arr in zip(
                    ("end_code", "end", "path", "vxd_mask", "n_hits", "sl_hits", "r_first", "r_last"),
                    out[:8],
                    strict=True,
                ):
                    if every:
                        res[key] = arr
                    else:
                        res[key][ic] = arr
            ineu = np.flatnonzero(~charged)
            if len(ineu):
                conv = gen["pdg"][ineu] == 22
                code, end3, path, frac = propagate_neutral(
                    gen["x"][ineu], gen["y"][ineu], gen["z"][ineu],
                    gen["px"][ineu], gen["py"][ineu], gen["pz"][ineu], conv, seed_n,
                    g.radius, g.z_min, g.z_max, g.x0, g.kind, g.ecl_radius, g.ecl_z_fwd, g.ecl_z_bwd,
                )  # fmt: skip
                res["end_code"][ineu] = code
                res["end"][ineu, :3] = end3
                res["end"][ineu, 3] = gen["px"][ineu]
                res["end"][ineu, 4] = gen["py"][ineu]
                res["end"][ineu, 5] = gen["pz"][ineu]
                res["path"][ineu] = path
                res["frac"][ineu] = frac
            res["found"] = find_tracks(
                g,
                self.det["tracker"]["finder"],
                gen["px"],
                gen["py"],
                gen["q"],
                res["sl_hits"],
                res["vxd_mask"],
            )
            done.append({**gen, **res})
            # secondaries
            nxt = []
            ic_conv = np.flatnonzero(res["end_code"] == END_CONVERTED)
            if len(ic_conv):
                nxt.append(self._pairs(gen, res, ic_conv))
            fly = (res["end_code"] == END_DECAYED) & _among(np.abs(gen["pdg"]), _DECAY_IN_FLIGHT)
            fly &= gen["origin"] == ORIGIN_PRIMARY if generation == 0 else np.zeros(n, bool)
            fly &= np.isfinite(gen["s3"])
            idx = np.flatnonzero(fly)
            if len(idx):
                par = {k: gen[k][idx] for k in ("ev", "mc", "pdg", "m")}
                e6 = res["end"][idx]
                par.update(x=e6[:, 0], y=e6[:, 1], z=e6[:, 2], px=e6[:, 3], py=e6[:, 4], pz=e6[:, 5])
                beta = self._beta(par["px"], par["py"], par["pz"], par["m"])
                par["t"] = arrival_time(gen["t"][idx], res["path"][idx], beta)
                nxt.append(self._decay_in_flight(par, rng))
            gen = _cat(nxt) if nxt else {k: np.zeros(0) for k in _SIM_KEYS}
        return _joined(done)

    @staticmethod
    def _beta(px, py, pz, m):
        p2 = px**2 + py**2 + pz**2
        return np.sqrt(p2 / (p2 + m**2))

    def _pairs(
        self, gen: dict[str, np.ndarray], res: dict[str, np.ndarray], idx: np.ndarray
    ) -> dict[str, np.ndarray]:
        """e- and e+ of converted photons, collinear with the photon, energy fractions x, 1-x."""
        me = self.m_e
        px, py, pz = gen["px"][idx], gen["py"][idx], gen["pz"][idx]
        e = np.sqrt(px**2 + py**2 + pz**2)
        x = np.clip(res["frac"][idx], me / e, 1 - me / e)
        out = []
        for pdg, f in ((11, x), (-11, 1 - x)):
            ee = np.maximum(f * e, me * 1.000001)
            scale = np.sqrt(ee**2 - me**2) / e
            pos = res["end"][idx, :3]
            beta = np.ones(len(idx))
            out.append(
                {
                    "ev": gen["ev"][idx],
                    "mc": gen["mc"][idx],
                    "pdg": np.full(len(idx), pdg, np.int64),
                    "q": np.full(len(idx), -1.0 if pdg == 11 else 1.0),
                    "m": np.full(len(idx), me),
                    "x": pos[:, 0],
                    "y": pos[:, 1],
                    "z": pos[:, 2],
                    "t": arrival_time(gen["t"][idx], res["path"][idx], beta),
                    "px": px * scale,
                    "py": py * scale,
                    "pz": pz * scale,
                    "s3": np.full(len(idx), np.inf),
                    "origin": np.full(len(idx), ORIGIN_CONVERSION, np.int8),
                    "vx0": pos[:, 0],
                    "vy0": pos[:, 1],
                    "vz0": pos[:, 2],
                }
            )
        return _cat(out)

    # ------------------------------------------------------------------ the stage
    def __call__(self, batch: EventBatch, rng: np.random.Generator) -> EventBatch:
        out = self.simulate(batch["mc"], rng)
        batch.collections.update(out)
        return batch

    def simulate(self, mc: Collection, rng: np.random.Generator) -> dict[str, Collection]:
        """``tracks``, ``clusters`` and ``klm`` collections for the MC record ``mc``."""
        n_events = mc.n_events
        sim = self.propagate(self._primaries(mc, rng), rng)
        ev = sim["ev"]
        # secondaries come after all primaries: a stable order by event, then simulation order
        order = None if np.all(ev[1:] >= ev[:-1]) else np.argsort(ev, kind="stable")

        def by_event(mask: np.ndarray) -> np.ndarray:
            """Indices of the particles in ``mask`` in a stable order by event."""
            return np.flatnonzero(mask) if order is None else order[mask[order]]

        g = self.geom
        det = self.det
        # ---------------------------------------------------------- finding
        found = sim["found"]
        # ---------------------------------------------------------- ECL
        at_ecl = by_event(sim["end_code"] == END_ECL)
        ecl = det["ecl"]
        dep, face, t_arr = face_deposits(
            ecl, at_ecl, sim["end"], sim["m"], sim["q"], sim["pdg"], sim["t"], sim["path"], rng
        )
        cl = make_clusters(ecl, ev[at_ecl], dep, face, t_arr, rng)
        cl_sim = at_ecl[cl["seed"]]  # simulated particle that seeded each cluster
        # ---------------------------------------------------------- KLM
        theta_face, layers_mu, layers_had, kl_det, phi_end = klm_response(
            det["klm"],
            sim["end"],
            sim["end_code"],
            END_ECL,
            sim["m"],
            sim["q"],
            sim["pdg"],
            self.m_mu,
            rng,
            with_phi=True,
        )
        # ---------------------------------------------------------- tracks
        it = by_event(found)
        nt = len(it)
        tr_counts, track_of_sim = _links(it, ev, n_events)
        # cluster <-> track links
        cl_counts, cluster_of_sim = _links(cl_sim, ev, n_events)
        # all track columns carved from one block, written in place by the kernels
        f8, f4, i4, i2, i1 = blocks(
            [
                (np.float64, (23, nt)),
                (np.float32, (6, nt)),
                (np.int32, (3, nt)),
                (np.int16, (4, nt)),
                (np.int8, (2, nt)),
            ]
        )
        truth = np.empty((2, nt))  # true momentum and polar angle of the tracks, for the PID
        tracks = track_response(
            g, it,
            *(sim[k] for k in ("x", "y", "z", "px", "py", "pz", "q", "m", "n_hits", "r_first", "r_last")),
            rng, out=(f8, i1[0]), truth=truth,
        )  # fmt: skip
        klm_ok = _track_columns(
            it, sim["n_hits"], sim["r_first"], sim["mc"], sim["origin"], sim["pdg"], cluster_of_sim, layers_mu,
            det["klm"]["min_layers_muon"], f4, i4, i2, i1,
        )  # fmt: skip
        tracks.update(
            first_hit_r=f4[0], mc_index=i4[0], true_pdg=i4[1], cluster_index=i4[2], n_pxd=i2[0], n_svd=i2[1],
            n_cdc=i2[2], klm_layers=i2[3], origin=i1[1],
        )  # fmt: skip
        tracks.update(pid_scores(det["pid"], klm_ok, i4[1], truth[0], truth[1], rng, out=f4[1:]))
        cl_fields = {
            k: cl[k] for k in ("energy", "theta", "phi", "x", "y", "z", "time", "region", "n_merged")
        }
        (cl_links,) = blocks([(np.int32, (3, len(cl_sim)))])
        _links_of(cl_sim, sim["mc"], sim["pdg"], track_of_sim, cl_links)
        cl_fields.update(mc_index=cl_links[0], true_pdg=cl_links[1], track_index=cl_links[2])
        # KLM objects: charged particles reaching >= 1 layer, detected K_L
        klm = det["klm"]
        ik = by_event((layers_had > 0) | kl_det)
        nk = len(ik)
        klm_counts = _counts(ik, ev, n_events)
        # K_L: angular resolution
        dk = klm["kl_angular_resolution"] * rng.standard_normal((2, int(np.count_nonzero(kl_det))))
        k8, k4, k2, k1 = blocks(
            [(np.float64, (2, nk)), (np.int32, (3, nk)), (np.int16, (nk,)), (np.int8, (nk,))]
        )
        _klm_columns(
            ik, kl_det, theta_face, phi_end, layers_had, dk, *klm["theta_deg"][:2], *klm["barrel_theta_deg"][:2],
            k8, k2, k1,
        )  # fmt: skip
        _links_of(ik, sim["mc"], sim["pdg"], track_of_sim, k4)
        klm_fields = {
            "theta": k8[0],
            "phi": k8[1],
            "n_layers": k2,
            "region": k1,
            "mc_index": k4[0],
            "true_pdg": k4[1],
            "track_index": k4[2],
        }
        return {
            "tracks": Collection.from_counts(
                tr_counts, {k: np.ascontiguousarray(tracks[k], dtype=dt) for k, dt in TRACK_FIELDS.items()}
            ),
            "clusters": Collection.from_counts(
                cl_counts,
                {k: np.ascontiguousarray(cl_fields[k], dtype=dt) for k, dt in CLUSTER_FIELDS.items()},
            ),
            "klm": Collection.from_counts(
                klm_counts,
                {k: np.ascontiguousarray(klm_fields[k], dtype=dt) for k, dt in KLM_FIELDS.items()},
            ),
        }


def build(det: dict[str, Any], particles: Any) -> Callable[[EventBatch, np.random.Generator], EventBatch]:
    return DetectorStage(det, particles)
