"""Belle's Level-1 trigger (KEKB, 1999-2010): CDC short and full tracks, TOF multiplicity,
ECL energy sums and isolated clusters with the Bhabha veto, the KLM muon bit, and the Global
Decision Logic (GDL) lines built from them.

Units: GeV, cm, ns, rad.

Sub-triggers (thresholds in the card's ``trigger.belle`` section, each with its source and
tag there; docs/trigger.md has the efficiency curves):

* **CDC r-phi track trigger.**  A charged particle leaves a track segment in an axial
  superlayer when its helix crosses the superlayer's middle layer inside that layer's z
  extent before it decays (the detector card's geometry), kept with the segment efficiency.
  A *short track* has segments in the inner ``short_superlayers`` axial superlayers, a *full
  track* in all axial superlayers up to ``full_superlayers`` (Belle's track-segment finder
  fed the short- and full-track logic from the axial superlayers); the curvature needed to
  reach the outer layers sets the pT thresholds (~0.2 GeV for short, ~0.3 GeV for full
  tracks in 1.5 T), measured in docs/trigger.md rather than imposed.
* **TOF (TSC) multiplicity.**  A charged particle reaching the TOF radius inside its z range
  fires the counter at its azimuth (``tof_segments`` in phi), and so does a photon that
  converts in the material in front of it; the multiplicity counts distinct counters.
* **ECL.**  The cluster energy sum (HiE / LoE thresholds), the number of isolated clusters
  (ICN) above ``icn_threshold`` and the Bhabha veto (two back-to-back clusters in the CM):
  :func:`fastsim.trigger.ecl_lines.cluster_cm` and the Bhabha kernel of Belle II's lines with
  Belle's numbers.
* **KLM.**  A muon reaching ``klm_min_layers`` layers (:mod:`fastsim.trigger.klm_lines`).

Per event (``batch.events``): ``trg_<line>`` for every line of :data:`BELLE_LINE_NAMES`,
``triggered`` (any counting line of the menu after its prescale) and the counters
``trg_n_short``, ``trg_n_full``, ``trg_n_tof``, ``trg_ecl_energy`` (GeV), ``trg_n_icn``,
``trg_n_klm``.  Per CDC trigger track (collection ``trg_tracks``): ``mc_index``, ``pt``
(GeV), ``phi0`` (rad), ``charge``, ``n_axial`` (axial superlayers with a segment), ``short``,
``full``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from fastsim.detector.geometry import KIND_CDC, Geometry
from fastsim.detector.propagation import _helix, _next, _seed
from fastsim.events import Collection, EventBatch
from fastsim.trigger.common import TriggerStageBase, apply_menu, beam_boost, detector_collections
from fastsim.trigger.ecl_lines import _bhabha_kernel, cluster_cm
from fastsim.trigger.finder2d import event_pairs
from fastsim.trigger.fmath import asin
from fastsim.trigger.klm_lines import klm_lines
from fastsim.trigger.segments import select_charged

__all__ = ["BELLE_LINE_NAMES", "BELLE_TRACK_FIELDS", "BelleTriggerStage", "axial_crossings"]

#: the GDL lines the emulation computes (``trg_<name>``)
BELLE_LINE_NAMES = (
    "multi_track",  # >= 3 short tracks, >= 1 full track, TSC timing, not Bhabha [M]
    "two_track",  # >= 2 full tracks opening > 135 deg, TSC timing, LoE or a cluster or KLM [M]
    "hie",  # ECL energy sum above HiE, not Bhabha [V]
    "icn",  # >= 4 isolated ECL clusters, not Bhabha [V]
    "mu_pair",  # a full track and a KLM muon, TSC timing [M]
    "bhabha",  # the Bhabha condition (calibration, prescaled by 100 [V])
)

BELLE_TRACK_FIELDS: dict[str, np.dtype] = {
    "mc_index": np.dtype(np.int32),
    "pt": np.dtype(np.float32),
    "phi0": np.dtype(np.float32),
    "charge": np.dtype(np.int8),
    "n_axial": np.dtype(np.int8),
    "short": np.dtype(np.bool_),
    "full": np.dtype(np.bool_),
}


@njit(cache=True, nogil=True, error_model="numpy")
def _crossings_kernel(x, y, z, px, py, pz, q, s3, seed, radius, z_min, z_max, eff, bz, hit, phi0_out):  # fmt: skip
    """hit[i, j] = 1 where particle i crosses cylinder j (radius, z range) before travelling
    the 3-D path s3[i], kept with probability eff[j]; phi0_out[i]: the helix azimuth at the
    point of closest approach to the z axis."""
    n = len(x)
    for i in range(n):
        pt = math.sqrt(px[i] * px[i] + py[i] * py[i])
        if pt < 1e-6:
            continue
        w, cp0, sp0, d0, z0, tanl, s0 = _helix(x[i], y[i], z[i], px[i], py[i], pz[i], q[i], bz)
        phi0_out[i] = math.atan2(sp0, cp0)
        sec = math.sqrt(1.0 + tanl * tanl)
        s_max = s0 + s3[i] / sec
        st = _seed(seed, i)
        inv_1mwd0 = 1.0 / (1.0 - w * d0)
        for j in range(len(radius)):
            R = radius[j]
            if abs(d0) >= R:
                continue
            num = (R * R - d0 * d0) * inv_1mwd0  # arc from the POCA to radius R (segments.py)
            if num < 0.0:
                break
            a = 0.5 * w * math.sqrt(num)
            if abs(a) > 1.0:
                break  # curls inside R: larger radii are not reached either
            sT = 2.0 * asin(a) / w
            if -sT > s0:
                s = -sT
            elif sT > s0:
                s = sT
            else:
                continue
            if s > s_max:
                continue
            zc = z0 + tanl * s
            if zc < z_min[j] or zc > z_max[j]:
                continue
            st, u = _next(st)
            if u < eff[j]:
                hit[i, j] = 1


def axial_crossings(
    geom: Geometry,
    ch: dict[str, np.ndarray],
    efficiency: float,
    tof: tuple[float, float, float, float],
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments of the charged particles ``ch`` (:func:`fastsim.trigger.segments.select_charged`)
    in each axial CDC superlayer (middle layer, its z extent) and a hit in the TOF cylinder
    ``tof`` = (radius, z_min, z_max, efficiency) [cm].  Returns (hits (n, n_axial) bool, tof
    hit (n,) bool, phi0 (n,) rad)."""
    is_cdc = geom.kind == KIND_CDC
    idx = np.flatnonzero(is_cdc)
    sl = geom.superlayer[is_cdc]
    mid = []
    for s in np.flatnonzero(geom.sl_axial):
        layers = idx[sl == s]
        mid.append(layers[len(layers) // 2])
    mid = np.array(mid, np.int64)
    radius = np.concatenate([geom.radius[mid], [tof[0]]])
    z_min = np.concatenate([geom.z_min[mid], [tof[1]]])
    z_max = np.concatenate([geom.z_max[mid], [tof[2]]])
    eff = np.concatenate([np.full(len(mid), efficiency), [tof[3]]])
    n = len(ch["x"])
    hit = np.zeros((n, len(radius)), np.int8)
    phi0 = np.zeros(n)
    f64 = lambda a: np.ascontiguousarray(a, np.float64)
    _crossings_kernel(
        f64(ch["x"]), f64(ch["y"]), f64(ch["z"]), f64(ch["px"]), f64(ch["py"]), f64(ch["pz"]),
        f64(ch["q"]), f64(ch["s3"]), np.uint64(seed), radius, z_min, z_max, eff, geom.bz, hit, phi0,
    )  # fmt: skip
    return hit[:, :-1].astype(bool), hit[:, -1].astype(bool), phi0


@njit(cache=True, nogil=True)
def _distinct_segments(offsets, flag, phi, n_seg):  # fmt: skip
    """Per event: distinct azimuthal segments (of n_seg) among the flagged items."""
    n_ev = len(offsets) - 1
    out = np.zeros(n_ev, np.int32)
    seen = np.zeros(n_seg, np.bool_)
    for e in range(n_ev):
        seen[:] = False
        c = 0
        for i in range(offsets[e], offsets[e + 1]):
            if flag[i]:
                k = int((phi[i] + math.pi) / (2.0 * math.pi) * n_seg) % n_seg
                if not seen[k]:
                    seen[k] = True
                    c += 1
        out[e] = c
    return out


def _converted_photons(
    mc: Collection, b: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(event index, azimuth) of the final-state photons above ``tof_photon_e_min`` that head
    into the TOF's z range (straight line from their production point) and convert in front
    of the counters, with probability ``tof_photon_conversion`` each."""
    sel = np.flatnonzero((mc["id"] == 22) & (mc["status"] == 1) & (mc["e"] > b["tof_photon_e_min"]))
    px, py, pz = mc["px"][sel], mc["py"][sel], mc["pz"][sel]
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_at = mc["vz"][sel] + pz / pt * (b["tof_radius"] - np.hypot(mc["vx"][sel], mc["vy"][sel]))
    ok = (pt > 0) & (z_at > b["tof_z_min"]) & (z_at < b["tof_z_max"])
    ok &= rng.random(len(sel)) < b["tof_photon_conversion"]
    return mc.event_index()[sel[ok]], np.arctan2(py[ok], px[ok])


class BelleTriggerStage(TriggerStageBase):
    """Callable ``stage(batch, rng) -> batch`` adding Belle's trigger bits and ``trg_tracks``."""

    def __init__(self, card: dict[str, Any], cfg: dict[str, Any], particles: Any) -> None:
        self.cfg = cfg
        self.belle = cfg["belle"]
        self.particles = particles
        self.geom = Geometry.from_card(card["detector"])
        # (the superlayer counts against the detector: fastsim.trigger.check_card, at validation)
        self.betagamma = beam_boost(card)

    def emulate(
        self, batch: EventBatch, rng: np.random.Generator
    ) -> tuple[dict[str, np.ndarray], dict[str, Collection]]:
        b = self.belle
        n_ev = batch.n_events
        mc = batch["mc"]
        ch = select_charged(mc, self.particles)
        tof = (b["tof_radius"], b["tof_z_min"], b["tof_z_max"], b["tof_efficiency"])
        seed = int(rng.integers(0, 2**63))
        seg, tof_hit, phi0 = axial_crossings(self.geom, ch, b["segment_efficiency"], tof, seed)
        n_axial = seg.sum(axis=1)
        pt = np.hypot(ch["px"], ch["py"])
        short = seg[:, : b["short_superlayers"]].all(axis=1) & (pt > b["short_pt_min"])
        full = short & seg[:, : b["full_superlayers"]].all(axis=1) & (pt > b["full_pt_min"])
        offsets = np.concatenate([[0], np.cumsum(np.bincount(ch["ev"], minlength=n_ev))]).astype(np.int64)
        phi = np.ascontiguousarray(phi0)
        n_short, _ = event_pairs(offsets, short, phi)
        n_full, open_full = event_pairs(offsets, full, phi)
        # photons converting in the ACC/TOF material in front of the counters fire them too
        ph_ev, ph_phi = _converted_photons(mc, b, rng)
        ev_all = np.concatenate([ch["ev"][tof_hit], ph_ev])
        order = np.argsort(ev_all, kind="stable")
        phi_all = np.concatenate([phi[tof_hit], ph_phi])[order]
        off_all = np.concatenate([[0], np.cumsum(np.bincount(ev_all, minlength=n_ev))]).astype(np.int64)
        n_tof = _distinct_segments(off_all, np.ones(len(phi_all), np.bool_), phi_all, int(b["tof_segments"]))

        clusters, klm = detector_collections(batch)
        e = clusters["energy"]
        ev_c = clusters.event_index()
        energy = np.bincount(ev_c, e, n_ev)
        icn = np.bincount(ev_c, e > b["icn_threshold"], n_ev).astype(np.int32)
        e_cm, th_cm, ph_cm = cluster_cm(e, clusters["theta"], clusters["phi"], self.betagamma)
        bhabha = _bhabha_kernel(
            clusters.offsets, e > b["icn_threshold"], e_cm, th_cm, ph_cm, b["bhabha_e_min"],
            b["bhabha_e_sum"], math.radians(b["bhabha_dtheta_deg"]), math.radians(b["bhabha_dphi_deg"]),
        )  # fmt: skip
        kl = klm_lines(
            klm,
            {"min_layers": b["klm_min_layers"], "efficiency": b["klm_efficiency"], "b2b_angle_deg": 150.0},
            rng,
        )
        loe = energy > b["loe_energy"]
        timing = n_tof >= b["tof_min_hits"]  # the track lines' event time comes from the TSC
        bits = {
            "multi_track": (n_short >= 3) & (n_full >= 1) & timing & ~bhabha,
            "two_track": (n_full >= 2)
            & (open_full > math.radians(b["two_track_open_deg"]))
            & timing
            & (loe | (icn >= 1) | kl["klm_mu"])
            & ~bhabha,
            "hie": (energy > b["hie_energy"]) & ~bhabha,
            "icn": (icn >= b["icn_clusters"]) & ~bhabha,
            "mu_pair": (n_full >= 1) & kl["klm_mu"] & timing,
            "bhabha": bhabha,
        }
        triggered = apply_menu(bits, b["menu"], rng, n_ev)
        events = {f"trg_{name}": np.asarray(bits[name], np.bool_) for name in BELLE_LINE_NAMES}
        events.update(
            triggered=triggered,
            trg_n_short=n_short.astype(np.int16),
            trg_n_full=n_full.astype(np.int16),
            trg_n_tof=n_tof.astype(np.int16),
            trg_ecl_energy=energy.astype(np.float32),
            trg_n_icn=icn.astype(np.int16),
            trg_n_klm=kl["n_tracks"].astype(np.int16),
        )
        track = short  # a trigger track: at least a short track
        counts = np.bincount(ch["ev"][track], minlength=n_ev)
        fields = {
            "mc_index": ch["mc"][track],
            "pt": pt[track],
            "phi0": phi0[track],
            "charge": ch["q"][track],
            "n_axial": n_axial[track],
            "short": short[track],
            "full": full[track],
        }
        tracks = Collection.from_counts(
            counts, {k: np.asarray(fields[k]).astype(dt) for k, dt in BELLE_TRACK_FIELDS.items()}
        )
        return events, {"trg_tracks": tracks}
