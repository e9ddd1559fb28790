"""Search for an invisible dark photon in e+e- -> gamma A', A' -> invisible (a single photon and
nothing else), with the Belle II single-photon selection; the published yardstick is BaBar,
PRL 119 (2017) 131804, arXiv:1702.03327 (53 fb^-1, m_A' <= 8 GeV, 90% CL limits on epsilon with
BR(A' -> invisible) = 1).

Selection (per event, vectorised).  [V] = the Belle II single-photon skim (basf2
skim/scripts/skim/WGs/dark.py, class SinglePhotonDark, read in ../shared/reference/
hnl_photon.md sec. 3.3); [P] = BaBar's abstract; [M] = the sheet's unverified recollection of
BaBar's method; [F] = fastsim's choice, with the reason:

1. the event triggered (``triggered``: the card's single-photon line, one cluster with E* above
   1 GeV in the barrel, 2 GeV in the endcaps, no other above 0.3 GeV [M, detector.md 4.3]);
2. no track with |d0| < 0.5 cm, |z0| < 2 cm and p_T > 0.15 GeV [V];
3. exactly one photon candidate with E* above the threshold of its polar-angle region: 0.5 GeV
   in 44-98 deg, 1.0 GeV in 30-130 deg, 2.0 GeV elsewhere in the CDC acceptance 17-150 deg
   [V: "matching HLT"; F: the lab polar angle];
4. no second cluster above 0.55 GeV [V: the skim vetoes one in time with the photon; F: every
   such cluster, as fastsim has no beam background and no out-of-time clusters];
5. the missing momentum P (the beams minus the tracks and photon candidates, all of them) must
   not point into an ECL hole -- the barrel-endcap gaps (31.4-32.2, 128.7-130.7 deg lab) or the
   beam openings (below 12.4, above 155.1 deg), with a 1.5 deg margin -- nor be a photon in a
   gap plus a photon along a beam (P - k massless in a gap, k along either beam: one solution
   per beam) [F: e+e- -> gamma gamma (gamma) with a photon lost in a gap, with or without an
   initial-state photon down the beam pipe, is the background at E* ~ sqrt(s)/2 (BaBar's
   "cracks" [M]); the veto is kinematic and costs the signal the events whose A' happens to
   fit, 20-30 %; the angles are those of cards/detectors/belle2.yaml];
6. two categories (one likelihood per mass window): "beyond the beam holes" where the photon's
   transverse momentum in the CM frame exceeds what particles escaping along the beams can
   balance, E* sin theta* > sin(theta*_hole) (sqrt(s) - E*) with theta*_hole = 21 deg, the
   largest CM angle to the beam axis of the ECL's openings over the azimuth (12.4 and 155.1 deg
   lab: 13.3-19.4 and 159.4-162.7 deg CM with the SuperKEKB boost and crossing angle [D]), and
   "within reach" otherwise [F: e+e- -> gamma gamma gamma and e+e- -> e+e- gamma with
   two particles lost along the beams cannot enter the first -- the kinematic boundary of the
   single-photon background, BaBar's low- and high-mass selections [M] in one];
7. the observable: the recoil mass against the photon, m^2 = s - 2 sqrt(s) E*_gamma [M], as
   sign(m^2) sqrt(|m^2|) so that the signal's resolution, wide at small m (sigma(m^2) = 2 sqrt(s)
   sigma_E), stays centred on m_A'.
The limit: a window of +-2 sigma(m) around each mass, sigma from the truth-matched signal, the
background from a 5x wider window, 90 % CL [P].

Backgrounds [M: BaBar's two]: e+e- -> gamma gamma (gamma) with photons lost in the ECL's gaps
and outside its acceptance (ee_gammagamma, two and three photons, one required inside), and
radiative Bhabha scattering with both electrons outside the calorimeter (ee_eegamma,
``lost_electrons: 2``).  Not simulated: the KLM as a veto of photons lost in the gaps (BaBar used
its IFR [M]), beam background, cosmic rays.

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.search import MassWindows, Search, Selected, Statistics, nominal_beams
from fastsim.events import EventBatch
from fastsim.models.dark_photon import APRIME_ID

__all__ = ["Cuts", "DarkPhotonInvisible", "grid_selection", "select"]

GAMMA_LIST = 6  # the reco photon list's code (fastsim.reco.lists.LIST_CODES, a test checks it)


@dataclass(frozen=True)
class Cuts:
    """Selection values (module docstring for the sources).  GeV, cm, degrees."""

    d0_max: float = 0.5
    z0_max: float = 2.0
    track_pt_min: float = 0.15
    #: (theta_lo, theta_hi, E*_min), tightest first: a photon takes the first region it is in
    regions: tuple[tuple[float, float, float], ...] = (
        (44.0, 98.0, 0.5),
        (30.0, 130.0, 1.0),
        (17.0, 150.0, 2.0),
    )
    second_cluster_max: float = 0.55
    #: lab polar-angle intervals (deg) where the ECL cannot see a photon, and the veto's margin
    ecl_holes_deg: tuple[tuple[float, float], ...] = (
        (0.0, 12.4),
        (31.4, 32.2),
        (128.7, 130.7),
        (155.1, 180.0),
    )
    hole_margin_deg: float = 1.5
    #: CM angle (deg) to the nearer beam beyond which nothing escapes unseen along the beams
    beam_hole_cm_deg: float = 21.0
    require_trigger: bool = True


def select(batch: EventBatch, cuts: Cuts = Cuts(), x_ids: tuple[int, ...] = (APRIME_ID,)) -> Selected:
    """The single-photon selection on one batch: selected events, their signed recoil mass
    (GeV) and, for signal, the same value (every selected signal event: the photon recoils
    against the A' or its radiation, and the resolution model takes all of them)."""
    from fastsim.beams import lab_to_cm

    n_ev = batch.n_events
    tr = batch["tracks"]
    t_ev = tr.event_index()
    pt = np.hypot(tr["px"], tr["py"])
    prompt = (np.abs(tr["d0"]) < cuts.d0_max) & (np.abs(tr["z0"]) < cuts.z0_max) & (pt > cuts.track_pt_min)
    ok = np.bincount(t_ev[prompt], minlength=n_ev) == 0
    if cuts.require_trigger:
        ok &= batch.events["triggered"].astype(bool)
    cl = batch["clusters"]
    ok &= np.bincount(cl.event_index(), cl["energy"] > cuts.second_cluster_max, n_ev) <= 1
    cand = batch["candidates"]
    c_ev = cand.event_index()
    her, ler = nominal_beams(batch)
    p4 = np.stack([cand["px"], cand["py"], cand["pz"], cand["e"]], axis=-1)
    p4_cm = lab_to_cm(p4[:, None, :], np.repeat(her, len(p4), 0), np.repeat(ler, len(p4), 0))[:, 0]
    e_cm = p4_cm[:, 3]
    theta = np.degrees(np.arctan2(np.hypot(cand["px"], cand["py"]), cand["pz"]))
    thr = np.full(len(theta), np.inf)
    for lo, hi, e_min in cuts.regions[::-1]:  # the tightest region last, so it wins
        thr = np.where((theta >= lo) & (theta <= hi), e_min, thr)
    good = (cand["list"] == GAMMA_LIST) & (e_cm > thr)
    ok &= ~_missing_momentum_in_hole(batch, her, ler, cuts)
    ok &= np.bincount(c_ev[good], minlength=n_ev) == 1
    g = np.flatnonzero(good & ok[c_ev])
    events = c_ev[g]
    tot = her + ler
    s = float(tot[0, 3] ** 2 - np.sum(tot[0, :3] ** 2))
    m2 = s - 2.0 * np.sqrt(s) * e_cm[g]
    obs = np.sign(m2) * np.sqrt(np.abs(m2))
    cm = p4_cm[g]
    pt_cm = np.hypot(cm[:, 0], cm[:, 1])
    reach = np.sin(np.radians(cuts.beam_hole_cm_deg)) * (np.sqrt(s) - e_cm[g])
    category = np.where(pt_cm > reach, 0, 1)
    truth = np.full(len(events), np.nan)
    if "mc" in batch.collections and len(events):
        mc = batch["mc"]
        is_x = np.isin(np.abs(mc["id"]), x_ids)
        has_x = np.bincount(mc.event_index()[is_x], minlength=n_ev) > 0
        truth = np.where(has_x[events], obs, np.nan)
    return Selected(events, obs, truth, category=category)


def _theta_deg(p4: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(np.hypot(p4[:, 0], p4[:, 1]), p4[:, 2]))


def _in_holes(theta: np.ndarray, holes: tuple[tuple[float, float], ...], margin: float) -> np.ndarray:
    out = np.zeros(len(theta), bool)
    for lo, hi in holes:
        out |= (theta > lo - margin) & (theta < hi + margin)
    return out


def _missing_momentum_in_hole(batch: EventBatch, her: np.ndarray, ler: np.ndarray, cuts: Cuts) -> np.ndarray:
    """Per event: True where the missing four-momentum P (the reco's CM fields, taken to the lab)
    points into an ECL hole, or where P is a massless photon in a barrel-endcap gap plus a photon
    along either beam: k = E_b (n, 1) with n a beam's direction and (P - k)^2 = 0, i.e.
    E_b = P^2 / (2 (E - n.p)), and P - k in a gap (within the margin) -- e+e- -> gamma gamma with an initial-state photon
    along the beam pipe and the partner lost in a gap."""
    from fastsim.beams import cm_to_lab

    ev = batch.events
    n = batch.n_events
    miss = np.stack([ev[f"reco_p_miss_{c}_cm"] for c in "xyz"] + [ev["reco_e_miss_cm"]], axis=1)
    lab = cm_to_lab(miss[:, None, :], np.repeat(her, n, 0), np.repeat(ler, n, 0))[:, 0]
    hole = _in_holes(_theta_deg(lab), cuts.ecl_holes_deg, cuts.hole_margin_deg)
    gaps = tuple(h for h in cuts.ecl_holes_deg if h[0] > 0.0 and h[1] < 180.0)
    m2 = lab[:, 3] ** 2 - np.sum(lab[:, :3] ** 2, axis=1)
    for beam in (her[0], ler[0]):  # a photon radiated along either beam (crossing angle kept)
        k_hat = np.r_[beam[:3] / np.linalg.norm(beam[:3]), 1.0]
        denom = lab[:, 3] - lab[:, :3] @ k_hat[:3]
        e_b = np.where(denom > 0, np.maximum(m2, 0.0) / (2.0 * np.maximum(denom, 1e-12)), -1.0)
        ok = (e_b >= 0) & (e_b < lab[:, 3])
        partner = lab - e_b[:, None] * k_hat[None, :]
        hole |= ok & _in_holes(_theta_deg(partner), gaps, cuts.hole_margin_deg)
    return hole


class DarkPhotonInvisible(Search):
    """The search as a plugin of the shared analysis layer (analysis/search.py)."""

    name = "darkphoton_invisible"
    title = "e+e- -> gamma A', A' -> invisible (single photon; Belle II selection, BaBar yardstick)"
    reference = "arXiv:1702.03327 (BaBar, PRL 119 (2017) 131804)"
    channel = "E+ E- --> GAMMA A', A' --> INVISIBLE"
    observable_label = r"$M_{\rm recoil}$ [GeV]"
    models = ("dark_photon",)
    signal_ids = (APRIME_ID,)
    #: windows of +-2 sigma(m) [F]; background from a 2x wider window [F: the windows are wide,
    #: 0.1-4.6 GeV, already], not clipped at 0 (the signed recoil mass of the gamma gamma
    #: background sits around 0) [F]
    region: ClassVar[MassWindows] = MassWindows(
        k=2.0, smooth=2.0, min_mass=-100.0, categories=("beyond_beam_holes", "within_reach")
    )
    #: 90% CL [P], counting CLs, 10% background systematic [F]
    statistics: ClassVar[Statistics] = Statistics(cl=0.90, method="cls", rel_bkg_sys=0.10)

    def __init__(self, cuts: Cuts | None = None) -> None:
        self.cuts = cuts or Cuts()

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        return select(batch, self.cuts, signal_ids)


def grid_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask of the full selection without a mass window (``grid.selection``)."""
    return DarkPhotonInvisible().grid_selection(batch)
