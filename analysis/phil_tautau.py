"""Belle search for the leptophilic scalar in e+e- -> tau+ tau- phi_L, phi_L -> l+ l- (PRD 109
(2024) 032002, arXiv:2207.07476; 626 fb^-1, 0.04 <= m <= 6.5 GeV): selection, classifier
features and the m(l l) scan.

Tags: [P] the paper's abstract and the issue's summary of it (issue #17: 4 tracks, large missing
energy, a multivariate classifier whose score > 0.95 defines the signal region, 90% CL);
[M] ``../shared/reference/tau.md`` sec. 4.3, the sheet's memory of the selection (unverified);
[F] fastsim's choice with the reason.

Preselection (the events the classifier sees):
1. Exactly four good tracks, zero net charge [P], triggered (fastsim's trigger emulation).
2. A phi_L candidate: an opposite-charge pair of tracks both identified as electrons
   (``pid_e`` > 0.5) or both as muons (``pid_mu`` > 0.5) [M: "a same-flavour opposite-sign
   lepton pair"]; every such pairing of the four tracks is a candidate (the observable has up
   to four values per event; the paper's choice among them was not read).  For e+ e-: the pair
   mass above 0.03 GeV and, when the two tracks make a reconstructed vertex, not a material
   layer (the photon-conversion veto) [M: "conversion veto for ee"; F: 0.03 GeV is below the
   lowest mass, 0.04 GeV, by more than the resolution there].
3. The classifier (``mva_features``, a LightGBM model trained by ``fastsim train phil_tautau``
   on signal and background samples, :mod:`analysis.mva`), one score per candidate: score >
   0.95 [P] defines the signal region.  The features do not use the pair mass, so one
   classifier serves the whole scan [F]: the visible and missing energy, momentum, mass and
   direction in the CM frame [M: "missing energy from >= 2 nu"], event shapes (thrust,
   sphericity, aplanarity, Fox-Wolfram R2), extra neutral energy and photon count, the largest
   and smallest track momenta, the number of electron- and muon-identified tracks; of the
   candidate: its flavour, momentum, opening angle, the angle to the nearer other track (phi_L
   is radiated off a tau and flies close to its daughter) and the radius of its vertex (photon
   conversions away from the material layers).
Observable: m(l l) of each candidate above the cut, lepton masses for the tracks' four-momenta
at the point of closest approach.  Background estimate: the preselected events (all classifier
scores) x the fraction of them with a candidate above the cut (:class:`analysis.search.MassWindows` ``sideband``),
because the simulated background is small next to the data's [F].

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from analysis.search import MassWindows, Search, Selected, Statistics, nominal_beams, pdg_mass
from analysis.tracks import material_conversion, pair_vertex
from fastsim.events import EventBatch

__all__ = ["FEATURES", "Cuts", "PhiLTauTau", "features", "grid_selection", "preselect"]

PHI_IDS = (9900026,)  # phi_L of fastsim.models.leptophilic_scalar
M_E, M_MU = pdg_mass(11), pdg_mass(13)
#: the classifier shipped with the worked example (``fastsim train``; docs/analysis_phil_tautau.md)
CLASSIFIER = Path(__file__).resolve().parent / "data" / "phil_tautau_classifier.json"

#: classifier features of one candidate, in column order (module docstring); energies and
#: momenta in units of sqrt(s) (CM frame), so the same classifier serves every data set
FEATURES = (
    "e_vis",  # visible energy / sqrt(s)
    "p_miss",  # missing momentum / sqrt(s)
    "abs_cos_miss",  # |cos theta| of the missing momentum
    "m2_miss",  # missing mass squared / s
    "thrust",
    "abs_cos_thrust",
    "sphericity",
    "aplanarity",
    "fw_r2",
    "e_extra",  # neutral energy not attached to tracks / sqrt(s)
    "n_photons",
    "p_track_max",  # largest track momentum / sqrt(s)
    "p_track_min",  # smallest track momentum / sqrt(s)
    "n_electrons",
    "n_muons",
    # the candidate pair
    "pair_is_ee",  # 1: e+ e-, 0: mu+ mu-
    "pair_p",  # the pair's momentum / sqrt(s)
    "pair_cos_open",  # cos of the angle between its two leptons
    "pair_cos_near",  # cos of the angle between the pair and the nearer of the other two tracks
    "pair_r",  # transverse radius of the pair's reconstructed vertex (cm; -1: none)
)


@dataclass(frozen=True)
class Cuts:
    """Selection values (sources in the module docstring).  GeV."""

    n_tracks: int = 4
    pid_min: float = 0.5
    m_ee_min: float = 0.03
    score_min: float = 0.95
    require_trigger: bool = True


def preselect(batch: EventBatch, cuts: Cuts = Cuts()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The preselected events: (event indices (n,), candidate masses (n, 4) GeV with NaN where
    a pairing is not a candidate, the candidates' global track index pairs (n, 4, 2))."""
    n_ev = batch.n_events
    tr = batch["tracks"]
    ev = tr.event_index()
    n_tr = np.bincount(ev, minlength=n_ev)
    q_sum = np.bincount(ev, tr["charge"].astype(np.float64), minlength=n_ev)
    ok = (n_tr == cuts.n_tracks) & (q_sum == 0)
    if cuts.require_trigger:
        ok &= batch.events["triggered"].astype(bool)
    events = np.flatnonzero(ok)
    locs = tr.offsets[events][:, None] + np.arange(cuts.n_tracks)[None, :]  # (n, 4)
    q = tr["charge"][locs]
    # the two positive and the two negative tracks of each event
    order = np.argsort(-q, axis=1, kind="stable")
    plus, minus = np.take_along_axis(locs, order[:, :2], 1), np.take_along_axis(locs, order[:, 2:], 1)
    pairs = np.stack([np.stack([plus[:, i], minus[:, j]], axis=1) for i in (0, 1) for j in (0, 1)], axis=1)
    is_e = tr["pid_e"] > cuts.pid_min
    is_mu = (tr["pid_mu"] > cuts.pid_min) & ~is_e
    a, b = pairs[..., 0], pairs[..., 1]
    ee = is_e[a] & is_e[b]
    mumu = is_mu[a] & is_mu[b]
    mass = np.where(ee, M_E, M_MU)
    p4 = []
    for t in (a, b):
        p = np.stack([tr["px"][t], tr["py"][t], tr["pz"][t]], axis=-1)
        p4.append(
            np.concatenate([p, np.sqrt(np.sum(p * p, axis=-1, keepdims=True) + mass[..., None] ** 2)], -1)
        )
    tot = p4[0] + p4[1]
    m = np.sqrt(np.maximum(tot[..., 3] ** 2 - np.sum(tot[..., :3] ** 2, axis=-1), 0.0))
    # a pair with a reconstructed (displaced) vertex: the mass from the momenta at the vertex
    # (at the beam line the helices' directions of a displaced pair are off by the bending)
    v_idx = pair_vertex(batch, a, b)
    if len(batch["vertices"]["r"]):
        vx = batch["vertices"]
        has = v_idx >= 0
        vi = np.maximum(v_idx, 0)
        m = np.where(has, np.where(ee, vx["m_ee"][vi], vx["m_mumu"][vi]), m)
    good = (ee | mumu) & ~(ee & (m < cuts.m_ee_min)) & ~(ee & material_conversion(batch, a, b))
    m = np.where(good, m, np.nan)
    keep = good.any(axis=1)
    return events[keep], m[keep], pairs[keep]


def features(batch: EventBatch, cuts: Cuts = Cuts()) -> tuple[np.ndarray, np.ndarray]:
    """One row per candidate of the preselected events: (their event indices (m,), features
    (m, len(FEATURES)) in FEATURES order); rows in event order, within an event in the
    candidates' column order of :func:`preselect`."""
    events, masses, pairs = preselect(batch, cuts)
    rows, cols = np.nonzero(np.isfinite(masses))
    return events[rows], _candidate_features(batch, events, pairs, cuts)[rows, cols]


def _candidate_features(batch: EventBatch, events: np.ndarray, pairs: np.ndarray, cuts: Cuts) -> np.ndarray:
    """(n, 4, len(FEATURES)) features of every pairing of the preselected events."""
    from fastsim.beams import lab_to_cm

    e = batch.events
    her, ler = nominal_beams(batch)
    tot = (her + ler)[0]
    sqrt_s = float(np.sqrt(tot[3] ** 2 - np.sum(tot[:3] ** 2)))
    n = len(events)
    tr = batch["tracks"]
    locs = tr.offsets[events][:, None] + np.arange(cuts.n_tracks)[None, :]
    is_e = tr["pid_e"] > cuts.pid_min
    is_mu = (tr["pid_mu"] > cuts.pid_min) & ~is_e
    # CM four-momenta of all tracks (pion mass; the pair's own with its leptons' masses is
    # close enough for angles and momenta)
    g = locs.ravel()
    p = np.stack([tr["px"][g], tr["py"][g], tr["pz"][g]], axis=-1)
    p4 = np.concatenate([p, np.sqrt(np.sum(p * p, axis=-1, keepdims=True) + pdg_mass(211) ** 2)], -1)
    cm = np.zeros((len(g), 4))
    if len(g):
        cm = lab_to_cm(p4[:, None, :], np.repeat(her, len(g), 0), np.repeat(ler, len(g), 0))[:, 0]
    cm = cm.reshape(n, cuts.n_tracks, 4)
    ptr = np.linalg.norm(cm[..., :3], axis=-1)
    pm = np.stack([e[f"reco_p_miss_{c}_cm"][events] for c in "xyz"], axis=1)
    event_cols = [
        e["reco_e_vis_cm"][events] / sqrt_s,
        np.linalg.norm(pm, axis=1) / sqrt_s,
        np.abs(e["reco_cos_theta_miss_cm"][events]),
        e["reco_m2_miss"][events] / sqrt_s**2,
        e["reco_thrust"][events],
        np.abs(e["reco_cos_theta_thrust_cm"][events]),
        e["reco_sphericity"][events],
        e["reco_aplanarity"][events],
        e["reco_fw_r2"][events],
        e["reco_e_extra"][events] / sqrt_s,
        e["reco_n_photons"][events],
        ptr.max(axis=1) if n else np.zeros(0),
        ptr.min(axis=1) if n else np.zeros(0),
        is_e[locs].sum(axis=1),
        is_mu[locs].sum(axis=1),
    ]
    ev_x = np.stack([np.asarray(c, np.float64) for c in event_cols], axis=1).reshape(n, -1)
    ev_x[:, 11:13] /= sqrt_s
    # the pairings: local positions of the two leptons and of the two other tracks
    pos = pairs - tr.offsets[events][:, None, None]  # (n, 4, 2) in 0..3
    rows = np.arange(n)[:, None]
    a, b = cm[rows, pos[..., 0]], cm[rows, pos[..., 1]]  # (n, 4, 4)
    other = np.ones((n, 4, cuts.n_tracks), bool)
    np.put_along_axis(other, pos[..., :1], False, axis=2)
    np.put_along_axis(other, pos[..., 1:], False, axis=2)
    o_idx = np.argsort(~other, axis=2, kind="stable")[..., :2]  # (n, 4, 2)
    pair = a[..., :3] + b[..., :3]
    unit = lambda v: v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    near = np.full((n, 4), -1.0)
    for j in range(2):
        oth = cm[rows, o_idx[..., j]][..., :3]
        near = np.maximum(near, np.sum(unit(pair) * unit(oth), axis=-1))
    pair_cols = np.stack(
        [
            is_e[pairs[..., 0]].astype(np.float64),
            np.linalg.norm(pair, axis=-1) / sqrt_s,
            np.sum(unit(a[..., :3]) * unit(b[..., :3]), axis=-1),
            near,
            _pair_radius(batch, pairs),
        ],
        axis=-1,
    )
    return np.concatenate([np.repeat(ev_x[:, None, :], 4, axis=1), pair_cols], axis=-1)


def _pair_radius(batch: EventBatch, pairs: np.ndarray) -> np.ndarray:
    """(n, 4) transverse radius (cm) of the reconstructed vertex of each track pair, -1: none."""
    v = pair_vertex(batch, pairs[..., 0], pairs[..., 1])
    r = batch["vertices"]["r"]
    return np.where(v >= 0, r[np.maximum(v, 0)] if len(r) else -1.0, -1.0)


class PhiLTauTau(Search):
    """The search as a plugin of the shared analysis layer (analysis/search.py)."""

    name = "phil_tautau"
    title = "Belle e+e- -> tau+ tau- phi_L, phi_L -> l+ l- (classifier)"
    reference = "arXiv:2207.07476 (PRD 109 (2024) 032002)"
    channel = "E+ E- --> TAU+ TAU- PHI_L, PHI_L --> L+ L-"
    observable_label = "$m_{\\ell\\ell}$ [GeV]"
    models = ("leptophilic_scalar",)
    signal_ids = PHI_IDS
    mva_features = FEATURES
    #: windows of +-2 sigma(m) [F], background from a 5x wider window of the preselection
    #: times the fraction of preselected events with a candidate above the classifier cut,
    #: measured within 25 window half-widths [F: the simulated background is a small fraction
    #: of the data's, and the preselection's composition changes with m(l l): below 0.2 GeV
    #: (photon conversions) 1 of 6956 events passes, above 27 of 3636]
    #: the lifetime grid starts at 1e-4 cm, prompt for this selection (no vertex requirement):
    #: shorter c*tau (phi_L -> mu mu at xi ~ 1) have its efficiency
    region: ClassVar[MassWindows] = MassWindows(
        k=2.0, smooth=5.0, min_mass=0.0, sideband=True, prompt_below_grid=True, local_pass_fraction=25.0
    )
    #: 90% CL [P], counting CLs, 20% background systematic [F]
    statistics: ClassVar[Statistics] = Statistics(cl=0.90, method="cls", rel_bkg_sys=0.20)

    def __init__(self, cuts: Cuts | None = None, classifier: str | Path | None = None) -> None:
        self.cuts = cuts or Cuts()
        self._classifier_path = Path(classifier) if classifier else CLASSIFIER
        self._classifier = None

    @property
    def classifier(self):  # analysis.mva.Classifier, imported lazily
        if self._classifier is None:
            from analysis.mva import load_classifier

            if not self._classifier_path.is_file():
                raise FileNotFoundError(
                    f"{self._classifier_path}: no trained classifier (run `fastsim train phil_tautau ...`)"
                )
            self._classifier = load_classifier(self._classifier_path, list(FEATURES))
        return self._classifier

    def features(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        return features(batch, self.cuts)

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        events, masses, pairs = preselect(batch, self.cuts)
        x = _candidate_features(batch, events, pairs, self.cuts)
        cand = np.isfinite(masses)
        score = np.zeros(masses.shape)
        if cand.any():
            score[cand] = self.classifier.score(x[cand])
        loose = score <= self.cuts.score_min  # candidates below the cut: the loose selection
        truth = _truth_mass(batch, np.where(loose, np.nan, masses), pairs, signal_ids)
        return Selected(events, masses, truth, sideband=loose)


def _truth_mass(batch: EventBatch, masses: np.ndarray, pairs: np.ndarray, ids: tuple[int, ...]) -> np.ndarray:
    """The mass of the candidate made of the signal particle's two daughters (NaN: none)."""
    out = np.full(len(masses), np.nan)
    if "mc" not in batch.collections or len(masses) == 0:
        return out
    mc, tr = batch["mc"], batch["tracks"]
    t_ev = tr.event_index()
    gi = np.where(tr["mc_index"] >= 0, mc.offsets[t_ev] + tr["mc_index"], -1)
    mother = np.where(gi >= 0, mc["mother1"][np.maximum(gi, 0)], -1)
    mother_g = np.where(mother >= 0, mc.offsets[t_ev] + mother, -1)
    from_x = (mother_g >= 0) & np.isin(np.abs(mc["id"][np.maximum(mother_g, 0)]), ids)
    a, b = pairs[..., 0], pairs[..., 1]
    hit = from_x[a] & from_x[b] & (mother_g[a] == mother_g[b]) & np.isfinite(masses)
    row = hit.any(axis=1)
    out[row] = masses[row, np.argmax(hit[row], axis=1)]
    return out


def grid_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask of the preselection (``grid.selection``, ``run.selection`` of skims)."""
    mask = np.zeros(batch.n_events, bool)
    mask[preselect(batch)[0]] = True
    return mask
