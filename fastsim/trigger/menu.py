"""The trigger stage: TS emulation, 2D finder, neural trigger, ECL and KLM lines, the menu.

Units: GeV, cm, ns, rad.

Per event (``batch.events``): ``trg_<line>`` (bool, the line's input bit before prescale)
for every line of :data:`fastsim.trigger.card.LINE_NAMES`, ``triggered`` (bool: any line of
the card's menu with ``counts: true`` fired after its prescale), and the counters
``trg_n2d`` (2D tracks), ``trg_nz`` (neural tracks with |z_nn| < z_cut), ``trg_ecl_energy``
(GeV), ``trg_n_clusters`` (ECL trigger clusters), ``trg_n_klm`` (KLM trigger tracks).

Per 2D track (collection ``trg_tracks``): ``mc_index`` (event-local MC particle), ``pt``
(GeV, 2D), ``phi0`` (rad), ``charge``, ``n_axial`` (axial TS on the track), ``n_stereo``,
``has_nn``, ``z_nn`` (cm), ``theta_nn`` (rad), ``p_nn`` (GeV, pT / sin theta_nn), ``ztrack``
(|z_nn| < z_cut) -- NaN neural outputs when the track has too few stereo TS.  With
``store_segments`` the TS themselves are written as ``trg_segments``.

Line logic (detector.md 4.2-4.4; thresholds in the card): ``fff`` >= 3 2D tracks; ``ffo`` >= 2
with azimuthal opening > open_angle; ``ffb`` >= 2 with opening > b2b_angle; ``stt`` a neural
track with p_nn > stt_p_min and |z_nn| < z_cut; ``y`` >= 1 neural z track in an event with
>= 2 2D tracks (the published neural-trigger condition); ``yy`` >= 2 neural z tracks with
opening > open_angle; ``yyy`` >= 3 neural z tracks.  The Belle II injection veto is not
emulated.  Prescales: a passing event is kept with probability 1/prescale, drawn from the
trigger's own random stream.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fastsim.events import Collection, EventBatch
from fastsim.trigger.card import LINE_NAMES, TRIGGER_SCHEMA
from fastsim.trigger.common import TriggerStageBase, apply_menu, beam_boost, detector_collections
from fastsim.trigger.ecl_lines import ecl_lines
from fastsim.trigger.finder2d import event_pairs, find_2d
from fastsim.trigger.klm_lines import klm_lines
from fastsim.trigger.neuro import MLP, run_neuro
from fastsim.trigger.segments import N_SL, SegmentGeometry, select_charged, simulate_segments

__all__ = ["TRACK_FIELDS", "TriggerStage", "line_efficiencies"]

TRACK_FIELDS: dict[str, np.dtype] = {
    "mc_index": np.dtype(np.int32),
    "pt": np.dtype(np.float32),
    "phi0": np.dtype(np.float32),
    "charge": np.dtype(np.int8),
    "n_axial": np.dtype(np.int8),
    "n_stereo": np.dtype(np.int8),
    "has_nn": np.dtype(np.bool_),
    "z_nn": np.dtype(np.float32),
    "theta_nn": np.dtype(np.float32),
    "p_nn": np.dtype(np.float32),
    "ztrack": np.dtype(np.bool_),
}
SEGMENT_FIELDS: dict[str, np.dtype] = {
    "mc_index": np.dtype(np.int32),
    "superlayer": np.dtype(np.int8),
    "wire": np.dtype(np.int16),
    "phi": np.dtype(np.float32),
    "t_drift": np.dtype(np.float32),
    "lr": np.dtype(np.int8),
    "alpha": np.dtype(np.float32),
}


def _empty_collection(schema: dict[str, np.dtype], n_events: int) -> Collection:
    return Collection.empty(schema, n_events)


class TriggerStage(TriggerStageBase):
    """Callable ``stage(batch, rng) -> batch`` adding the trigger bits and ``trg_tracks``."""

    def __init__(self, card: dict[str, Any], particles: Any) -> None:
        from fastsim.detector.geometry import Geometry

        self.cfg = TRIGGER_SCHEMA.validate(card.get("trigger") or {}, ("trigger",), lambda _p: None)
        self.particles = particles
        self.sg = SegmentGeometry.from_cards(Geometry.from_card(card["detector"]), self.cfg)
        self.mlp = MLP.load(self.cfg["neuro"]["weights"])
        self.betagamma = beam_boost(card)

    def emulate(
        self, batch: EventBatch, rng: np.random.Generator
    ) -> tuple[dict[str, np.ndarray], dict[str, Collection]]:
        """Per-event fields and the new collections for a batch with ``mc`` (and the
        detector's ``clusters``, ``klm`` when present)."""
        cfg = self.cfg
        n_ev = batch.n_events
        ch = select_charged(batch["mc"], self.particles)
        seed = int(rng.integers(0, 2**63))
        seg = simulate_segments(
            self.sg, ch["x"], ch["y"], ch["z"], ch["px"], ch["py"], ch["pz"], ch["q"], ch["s3"], seed
        )
        f2 = find_2d(seg, self.sg, cfg["finder2d"])
        idx = np.flatnonzero(f2["found"])
        nn = run_neuro(
            self.mlp, seg, self.sg, idx, f2["w"][idx], f2["phi0"][idx], cfg["neuro"]["min_stereo_segments"]
        )
        ev_t = ch["ev"][idx]
        counts = np.bincount(ev_t, minlength=n_ev)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        pt = f2["pt"][idx]
        phi0 = f2["phi0"][idx]
        with np.errstate(invalid="ignore"):
            p_nn = pt / np.sin(nn["theta_nn"])
            ztrack = nn["has_nn"] & (np.abs(nn["z_nn"]) < cfg["neuro"]["z_cut"])
        stt_trk = ztrack & (p_nn > cfg["neuro"]["stt_p_min"])
        stereo = ~self.sg.axial
        tracks = {
            "mc_index": ch["mc"][idx],
            "pt": pt,
            "phi0": phi0,
            "charge": f2["charge"][idx],
            "n_axial": f2["n_axial"][idx],
            "n_stereo": seg.hit[idx][:, stereo].sum(axis=1),
            "has_nn": nn["has_nn"],
            "z_nn": nn["z_nn"],
            "theta_nn": nn["theta_nn"],
            "p_nn": p_nn,
            "ztrack": ztrack,
        }
        trg_tracks = Collection(
            {k: np.asarray(tracks[k]).astype(dt) for k, dt in TRACK_FIELDS.items()}, offsets
        )
        fnd = cfg["finder2d"]
        open_cut = math.radians(fnd["open_angle_deg"])
        b2b_cut = math.radians(fnd["b2b_angle_deg"])
        all_flag = np.ones(len(idx), np.bool_)
        n2d, open2d = event_pairs(offsets, all_flag, phi0.astype(np.float64))
        nz, openz = event_pairs(offsets, ztrack, phi0.astype(np.float64))
        n_stt = np.bincount(ev_t, stt_trk, n_ev)
        bits: dict[str, np.ndarray] = {
            "fff": n2d >= 3,
            "ffo": (n2d >= 2) & (open2d > open_cut),
            "ffb": (n2d >= 2) & (open2d > b2b_cut),
            "stt": n_stt >= 1,
            "y": (nz >= 1) & (n2d >= 2),
            "yy": (nz >= 2) & (openz > open_cut),
            "yyy": nz >= 3,
        }
        clusters, klm = detector_collections(batch)
        ecl = ecl_lines(clusters, cfg["ecl"], self.betagamma)
        kl = klm_lines(klm, cfg["klm"], rng)
        for name in ("hie", "c4", "single_photon", "bhabha"):
            bits[name] = ecl[name]
        bits["klm_mu"], bits["klm_b2b"] = kl["klm_mu"], kl["klm_b2b"]
        triggered = apply_menu(bits, cfg["menu"], rng, n_ev)
        events = {f"trg_{name}": np.asarray(bits[name], np.bool_) for name in LINE_NAMES}
        events.update(
            triggered=triggered,
            trg_n2d=n2d.astype(np.int16),
            trg_nz=nz.astype(np.int16),
            trg_ecl_energy=ecl["energy"].astype(np.float32),
            trg_n_clusters=ecl["n_clusters"].astype(np.int16),
            trg_n_klm=kl["n_tracks"].astype(np.int16),
        )
        cols = {"trg_tracks": trg_tracks}
        if cfg["store_segments"]:
            cols["trg_segments"] = self._segment_collection(seg, ch, n_ev)
        return events, cols

    @staticmethod
    def _segment_collection(seg: Any, ch: dict[str, np.ndarray], n_ev: int) -> Collection:
        part, sl = np.nonzero(seg.hit)
        fields = {
            "mc_index": ch["mc"][part],
            "superlayer": sl,
            "wire": seg.wire[part, sl],
            "phi": seg.phi[part, sl],
            "t_drift": seg.t_drift[part, sl],
            "lr": seg.lr[part, sl],
            "alpha": seg.alpha[part, sl],
        }
        counts = np.bincount(ch["ev"][part], minlength=n_ev)
        return Collection.from_counts(counts, {k: fields[k].astype(dt) for k, dt in SEGMENT_FIELDS.items()})


def line_efficiencies(events: dict[str, np.ndarray], weight: np.ndarray | None = None) -> dict[str, float]:
    """Fraction of events (weighted) firing each line's input bit and ``triggered``, from
    ``batch.events`` or the ``/events`` group of a file."""
    names = [f"trg_{n}" for n in LINE_NAMES if f"trg_{n}" in events] + (
        ["triggered"] * ("triggered" in events)
    )
    if not names:
        return {}
    n = len(events[names[0]])
    w = np.ones(n) if weight is None else np.asarray(weight, np.float64)
    tot = w.sum()
    return {k: float(w[np.asarray(events[k], bool)].sum() / tot) if tot > 0 else 0.0 for k in names}


assert N_SL == 9
