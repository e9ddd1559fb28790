"""The reconstruction stage: tracks, clusters and PID -> ``vertices``, ``candidates`` and
per-event kinematics (``batch.events`` fields ``reco_*``).

Units: GeV, cm, ns, rad.  Fields and definitions in docs/reco.md.  The stage draws no
random numbers (reconstruction is deterministic given the detector output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastsim.beams import BeamSetup
from fastsim.detector.tracking import HELIX_FIELDS
from fastsim.events import Collection, EventBatch
from fastsim.reco.card import RECO_SCHEMA
from fastsim.reco.displaced import find_displaced
from fastsim.reco.kinematics_cm import event_kinematics, recoil_mass, to_cm
from fastsim.reco.lists import (
    CANDIDATE_FIELDS,
    HYPOTHESES,
    LIST_CODES,
    best_hypothesis,
    charged_lists,
    cluster_momenta,
    photon_list,
    pi0_list,
    v0_lists,
)
from fastsim.reco.vertex_fit import covariances_from_fields

__all__ = ["RecoStage", "reco_config"]

_MATERIAL_SYSTEMS = ("beampipe", "pxd", "svd", "wall")


def reco_config(card: dict[str, Any]) -> dict[str, Any]:
    """The validated ``reco`` section of a card (defaults when the card has none)."""
    raw = card.get("reco")
    if raw is None:
        raw = {}
    # validating an already validated section again is harmless (values unchanged)
    return RECO_SCHEMA.validate(raw, ("reco",), lambda _p: None)


class RecoStage:
    """Callable ``stage(batch, rng) -> batch`` adding ``vertices``, ``candidates`` and ``reco_*``."""

    def __init__(self, card: dict[str, Any], particles: Any) -> None:
        self.cfg = reco_config(card)
        det = card["detector"]
        self.bz = float(det["solenoid"]["field_t"])
        radii = self.cfg["displaced"]["material_radii"]
        if not radii:
            radii = [
                layer["radius"]
                for layer in det["tracker"]["layers"]
                if layer["system"] in _MATERIAL_SYSTEMS
                and layer["radius"] < det["tracker"]["cdc"]["radius"][-1]
            ]
        self.material_radii = np.asarray(radii, np.float64)
        beams = BeamSetup.from_card(card["beam"])
        self.her, self.ler = beams.nominal()
        self.sqrt_s = beams.sqrt_s
        self.ip = np.asarray(beams.region_mean, np.float64)
        ids = {"e": 11, "mu": 13, "pi": 211, "K": 321, "p": 2212}
        mass = particles.mass(np.array(list(ids.values()), np.int64))
        self.masses = {k: float(m) for k, m in zip(ids, mass, strict=True)}

    def __call__(self, batch: EventBatch, rng: np.random.Generator) -> EventBatch:
        if "tracks" not in batch.collections or "clusters" not in batch.collections:
            return batch
        vertices, candidates, events = self.reconstruct(
            batch["tracks"], batch["clusters"], batch.collections.get("mc")
        )
        batch.collections["vertices"] = vertices
        batch.collections["candidates"] = candidates
        batch.events.update(events)
        return batch

    def reconstruct(
        self, tracks: Collection, clusters: Collection, mc: Collection | None = None
    ) -> tuple[Collection, Collection, dict[str, np.ndarray]]:
        """(vertices, candidates, per-event fields) for one batch."""
        cfg = self.cfg
        n_events = tracks.n_events
        helix = np.stack([tracks[k] for k in HELIX_FIELDS], axis=1)
        cov = covariances_from_fields(tracks.fields, HELIX_FIELDS)
        vertices = find_displaced(
            tracks, helix, cov, cfg["displaced"], cfg["vertex_fit"], self.bz, self.material_radii,
            self.ip, self.masses, mc,
        )  # fmt: skip
        best = best_hypothesis(tracks, cfg["charged"]["pid_min"])
        cl_p4 = cluster_momenta(clusters, self.ip)
        ev_c, f_c = charged_lists(tracks, cfg["charged"], self.masses)
        is_photon, ev_g, f_g = photon_list(clusters, cfg["photons"], cl_p4)
        ev_p, f_p = pi0_list(clusters, cfg["pi0"], cl_p4, mc)
        ev_v, f_v = v0_lists(vertices, cfg["v0"], best, tracks, self.masses)
        ev = np.concatenate([ev_c, ev_g, ev_p, ev_v])
        fields = {k: np.concatenate([f[k] for f in (f_c, f_g, f_p, f_v)]) for k in CANDIDATE_FIELDS}
        order = np.argsort(ev, kind="stable")
        ev = ev[order]
        fields = {k: v[order] for k, v in fields.items()}
        p4 = np.stack([fields["px"], fields["py"], fields["pz"], fields["e"]], axis=1)
        fields["m_recoil"] = recoil_mass(p4, self.her, self.ler)
        # extra ECL energy: photon-list clusters of the event not used by the candidate
        e_gamma = np.where(is_photon, clusters["energy"], 0.0)
        e_tot = np.bincount(clusters.event_index(), weights=e_gamma, minlength=n_events)
        used = np.zeros(len(ev))
        for key in ("cluster1", "cluster2"):
            loc = fields[key]
            has = (loc >= 0) & (fields["charge"] == 0)
            g = clusters.offsets[ev[has]] + loc[has]
            used[has] += e_gamma[g]
        fields["e_extra"] = e_tot[ev] - used
        candidates = Collection.from_counts(
            np.bincount(ev, minlength=n_events),
            {k: fields[k].astype(dt) for k, dt in CANDIDATE_FIELDS.items()},
        )
        # event kinematics: tracks with their best mass hypothesis + photons
        hyp_mass = np.array([self.masses[h] for h in HYPOTHESES])[best]
        pt = np.stack([tracks["px"], tracks["py"], tracks["pz"]], axis=1)
        t4 = np.concatenate([pt, np.sqrt(np.sum(pt**2, axis=1) + hyp_mass**2)[:, None]], axis=1)
        vis_lab = np.concatenate([t4, cl_p4[is_photon]])
        vis_ev = np.concatenate([tracks.event_index(), clusters.event_index()[is_photon]])
        events = event_kinematics(to_cm(vis_lab, self.her, self.ler), vis_ev, n_events, self.sqrt_s)
        events["reco_n_tracks"] = tracks.counts().astype(np.int32)
        events["reco_n_photons"] = np.bincount(clusters.event_index()[is_photon], minlength=n_events).astype(
            np.int32
        )
        events["reco_e_extra"] = e_tot
        return vertices, candidates, events


def list_code(name: str) -> int:
    """The ``list`` code of a candidate list name (e, mu, pi, K, p, gamma, pi0, K0S, Lambda, displaced)."""
    return LIST_CODES[name]
