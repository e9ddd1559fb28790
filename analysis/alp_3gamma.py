"""Belle II search for an axion-like particle in e+e- -> gamma a, a -> gamma gamma (three
photons; PRL 125 (2020) 161806, arXiv:2007.13071; 445 pb^-1 of the 2018 commissioning run,
0.2 < m_a < 9.7 GeV, 95% CL limits on g_agg).

Selection (per event, vectorised).  [P] = the paper's abstract or what the reference sheet
(../shared/reference/hnl_photon.md sec. 2) read in a named source; [M] = the sheet's unverified
recollection of the paper body, which could not be read here; [F] = fastsim's choice, with the
reason:

1. the event triggered (``triggered``, the card's L1 emulation) [fastsim trigger: the paper's
   trigger is ECL-based, energy sum and cluster-multiplicity bits, Bhabha-vetoed [M]];
2. no track [M: "no tracks"; a photon converting in the beam pipe or the vertex detector loses
   the event, ~8 % here];
3. photon candidates (the reco photon list) with E_lab > 0.65 GeV in the CDC acceptance,
   17-150 deg [M: thresholds "about 0.65-1 GeV" in the barrel and near-barrel; V: the 17-150 deg
   acceptance of the Belle II ALP3Gamma skim]; exactly three of them [M: "exactly three photons";
   F: exactly, so that e+e- -> gamma gamma gamma gamma does not enter through its three hardest];
4. the three photons' invariant mass and CM energy sum in 0.88-1.03 sqrt(s) [M: windows of about
   0.88-1.03 sqrt(s); V: the skim's 0.8-1.05 E_cms is looser];
5. the a candidates: the three pairings (i, j; recoil photon k).  The observable is the diphoton
   mass m(ij), or, where the recoil mass is above ``recoil_above`` (6.85 GeV), the recoil mass
   sqrt(s - 2 sqrt(s) E*_k) [M: the paper fits m(gamma gamma) on one side and the recoil mass on
   the other of a switch near 6.85 GeV; F: the recoil mass on the high side, where the recoil
   photon is soft (0.8-2 GeV) and measured to ~25 MeV, while m(gamma gamma) of two ~5 GeV photons
   has sigma ~ 1.5 % of m -- the sheet's wording has the sides the other way round, which the
   resolutions do not support].
An event counts in a mass window when any of its three candidates falls in it.

Backgrounds: e+e- -> gamma gamma gamma (QED, ee_gammagamma ``photons: 3``) [M: the dominant one,
BabaYaga@NLO in the paper].  Not simulated: e+e- -> e+e- gamma (gamma) with both tracks lost,
gamma gamma plus a beam-background photon (no beam background in fastsim), and the peaking
e+e- -> gamma pi0 / gamma eta / gamma eta' [M]: the limits near 0.135, 0.55 and 0.96 GeV are
therefore optimistic.

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.search import MassWindows, Search, Selected, Statistics, nominal_beams
from fastsim.events import EventBatch
from fastsim.models.alp import ALP

__all__ = ["ALP3Gamma", "Cuts", "grid_selection", "select"]

ALP_ID = ALP.particle.pdg
GAMMA_LIST = 6  # the reco photon list's code (fastsim.reco.lists.LIST_CODES, a test checks it)
#: the three pairings (i, j) of the a candidate and the recoil photon k
_PAIRINGS = ((1, 2, 0), (0, 2, 1), (0, 1, 2))


@dataclass(frozen=True)
class Cuts:
    """Selection values (module docstring for the sources).  GeV, degrees."""

    photon_e_min: float = 0.65
    theta_min_deg: float = 17.0
    theta_max_deg: float = 150.0
    n_photons: int = 3
    m3_frac: tuple[float, float] = (0.88, 1.03)
    e3_frac: tuple[float, float] = (0.88, 1.03)
    recoil_above: float = 6.85
    require_trigger: bool = True


def _mass(p4: np.ndarray) -> np.ndarray:
    m2 = p4[..., 3] ** 2 - p4[..., 0] ** 2 - p4[..., 1] ** 2 - p4[..., 2] ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def select(batch: EventBatch, cuts: Cuts = Cuts(), x_ids: tuple[int, ...] = (ALP_ID,)) -> Selected:
    """The three-photon selection on one batch: selected events, their three a-candidate
    observables (GeV) and, for signal, the observable of the pairing of a's two photons."""
    from fastsim.beams import lab_to_cm

    n_ev = batch.n_events
    ev_ok = batch.events["reco_n_tracks"] == 0
    if cuts.require_trigger:
        ev_ok &= batch.events["triggered"].astype(bool)
    cand = batch["candidates"]
    c_ev = cand.event_index()
    px, py, pz, e = cand["px"], cand["py"], cand["pz"], cand["e"]
    theta = np.degrees(np.arctan2(np.hypot(px, py), pz))
    good = (
        (cand["list"] == GAMMA_LIST)
        & (e > cuts.photon_e_min)
        & (theta > cuts.theta_min_deg)
        & (theta < cuts.theta_max_deg)
    )
    n_good = np.bincount(c_ev[good], minlength=n_ev)
    ev_ok &= n_good == cuts.n_photons
    g = np.flatnonzero(good & ev_ok[c_ev]).reshape(-1, cuts.n_photons)  # candidates grouped by event
    events = c_ev[g[:, 0]]
    p4 = np.stack([px[g], py[g], pz[g], e[g]], axis=-1)  # (n, 3, 4) lab
    her, ler = nominal_beams(batch)
    cm = lab_to_cm(p4, np.repeat(her, len(g), 0), np.repeat(ler, len(g), 0))
    sqrt_s = float(_mass(her + ler)[0])
    m3 = _mass(p4.sum(axis=1))
    e3 = cm[:, :, 3].sum(axis=1)
    ok = (m3 > cuts.m3_frac[0] * sqrt_s) & (m3 < cuts.m3_frac[1] * sqrt_s)
    ok &= (e3 > cuts.e3_frac[0] * sqrt_s) & (e3 < cuts.e3_frac[1] * sqrt_s)
    g, events, p4, cm = g[ok], events[ok], p4[ok], cm[ok]
    obs = np.empty((len(g), 3))
    for c, (i, j, k) in enumerate(_PAIRINGS):
        m_pair = _mass(p4[:, i] + p4[:, j])
        m2_rec = sqrt_s**2 - 2.0 * sqrt_s * cm[:, k, 3]
        m_rec = np.sqrt(np.maximum(m2_rec, 0.0))
        obs[:, c] = np.where(m_rec > cuts.recoil_above, m_rec, m_pair)
    truth = _truth(batch, g, events, obs, x_ids)
    return Selected(events, obs, truth)


def _truth(
    batch: EventBatch, g: np.ndarray, events: np.ndarray, obs: np.ndarray, x_ids: tuple[int, ...]
) -> np.ndarray:
    """The observable of the pairing whose two photons both come from the signal particle (their
    clusters' seed particles are its daughters); NaN when there is none."""
    out = np.full(len(g), np.nan)
    if "mc" not in batch.collections or len(g) == 0:
        return out
    mc, cand = batch["mc"], batch["candidates"]
    mci = cand["mc_index"][g]
    base = mc.offsets[events][:, None]
    gi = np.where(mci >= 0, base + mci, 0)
    mother = np.where(mci >= 0, mc["mother1"][gi], -1)
    gm = np.where(mother >= 0, base + mother, 0)
    from_x = (mother >= 0) & np.isin(np.abs(mc["id"][gm]), x_ids)
    for c, (i, j, _k) in enumerate(_PAIRINGS):
        hit = from_x[:, i] & from_x[:, j] & (mother[:, i] == mother[:, j])
        out[hit] = obs[hit, c]
    return out


class ALP3Gamma(Search):
    """The search as a plugin of the shared analysis layer (analysis/search.py)."""

    name = "alp_3gamma"
    title = "Belle II e+e- -> gamma a, a -> gamma gamma (three photons)"
    reference = "arXiv:2007.13071 (PRL 125 (2020) 161806)"
    channel = "E+ E- --> GAMMA A, A --> GAMMA GAMMA"
    observable_label = r"$m_a$ [GeV]"
    models = ("alp",)
    signal_ids = (ALP_ID,)
    #: windows of +-2 sigma(m) [F: the paper fits the peak with its resolution]; background from
    #: a 5x wider window [F]; no vetoes (the peaking gamma pi0 / eta / eta' are not simulated)
    region: ClassVar[MassWindows] = MassWindows(k=2.0, smooth=5.0, min_mass=0.0)
    #: 95% CL [P: abstract], counting CLs, 10% background systematic [F: assumed]
    statistics: ClassVar[Statistics] = Statistics(cl=0.95, method="cls", rel_bkg_sys=0.10)

    def __init__(self, cuts: Cuts | None = None) -> None:
        self.cuts = cuts or Cuts()

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        return select(batch, self.cuts, signal_ids)


def grid_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask of the full selection without a mass window (``grid.selection``)."""
    return ALP3Gamma().grid_selection(batch)
