"""Search for a visible dark photon in e+e- -> gamma A', A' -> e+e- or mu+mu-, after BaBar,
PRL 113 (2014) 201801, arXiv:1406.2980 (514 fb^-1, 0.02 < m_A' < 10.2 GeV, 90% CL limits on the
kinetic mixing epsilon), on Belle II.

Selection (per event, vectorised).  [P] = the paper's abstract, or the reference sheet's reading
of a named source (../shared/reference/hnl_photon.md sec. 3.1); [M] = the sheet's unverified
recollection of the method; [F] = fastsim's choice, with the reason:

1. the event triggered (``triggered``, the card's L1 emulation) [fastsim trigger];
2. exactly two tracks from the interaction point (|d0| < 0.5 cm, |z0| < 2 cm), opposite charges
   [M: "two oppositely charged tracks plus one photon"; F: the prompt-track cuts of
   analysis/zprime_4mu.py];
3. both identified as electrons (pid_e > 0.5: the e+e- category) or both as muons (pid_mu >
   0.5: the mu+mu- category) [F: the same ID on both legs keeps the categories disjoint];
4. the photon: the most energetic photon candidate, E*_gamma > 0.2 GeV [F: the recoil photon of
   an A' lighter than 10.2 GeV has E* > 0.5 GeV; a soft FSR photon would be chosen only where
   the recoil one is lost];
5. a kinematic fit of l+ l- gamma to the beams' four-momentum (analysis/kinfit.py), chi^2 <
   ``chi2_max`` (4 degrees of freedom) [M: "kinematic fit to the beam four-momentum"; F: the
   value, 30, keeps ~97 % of the signal here and removes events with a further hard photon or
   a lost particle];
6. e+e- pairs from a photon conversion (their vertex at a material layer) rejected [F: e+e- ->
   gamma gamma with a converted photon peaks at m_ee ~ 0];
7. the observable: m(l+ l-) of the fitted leptons [M: BaBar hunts bumps in the reduced mass
   m_R = sqrt(m_ll^2 - 4 m_l^2); F: m_ll, so that the window of a mass hypothesis is centred on
   m_A' in both categories -- m_R re-labels the mu+mu- axis (m_R = 0.977 m at 1 GeV), which a
   common window centre cannot follow];
8. the scan skips the J/psi, psi(2S) and Upsilon(1S-3S) regions [M: "J/psi, psi(2S), Upsilon
   regions excluded"; F: the windows 3.0-3.2, 3.6-3.75 and 9.3-10.4 GeV].
One candidate per event; the two categories share one likelihood per mass window
(:class:`MassWindows` ``categories``).

Backgrounds: e+e- -> mu+ mu- gamma (ee_mumugamma, QED + Z, masses kept), e+e- -> e+e- gamma
(ee_eegamma, all eight diagrams, electron mass kept) [M: radiative QED, Bhabha-like topologies
dominating e+e-], e+e- -> gamma gamma with a conversion (ee_gammagamma).

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.kinfit import fit_to_beams, photon_covariance, track_covariance
from analysis.search import MassWindows, Search, Selected, Statistics, nominal_beams, pdg_mass
from analysis.tracks import material_conversion
from fastsim.events import EventBatch, covariances_from_fields
from fastsim.models.dark_photon import APRIME_ID

__all__ = ["Cuts", "DarkPhotonLL", "grid_selection", "select"]

M_E, M_MU = pdg_mass(11), pdg_mass(13)
GAMMA_LIST = 6  # the reco photon list's code (fastsim.reco.lists.LIST_CODES, a test checks it)
CATEGORIES = ("ee", "mumu")
#: the helix parameters the momentum depends on, in the file's covariance order
MOMENTUM_HELIX = ("phi0", "omega", "tanl")


@dataclass(frozen=True)
class Cuts:
    """Selection values (module docstring for the sources).  GeV, cm; the photon resolution of
    the fit is the Belle II ECL card's (cards/detectors/belle2.yaml)."""

    d0_max: float = 0.5
    z0_max: float = 2.0
    pid_min: float = 0.5
    photon_e_cm_min: float = 0.2
    chi2_max: float = 30.0
    ecl_resolution: tuple[float, float, float] = (0.00066, 0.0081, 0.0134)
    ecl_position_resolution: float = 0.5
    ecl_distance: float = 150.0
    require_trigger: bool = True


def select(batch: EventBatch, cuts: Cuts = Cuts(), x_ids: tuple[int, ...] = (APRIME_ID,)) -> Selected:
    """The l+ l- gamma selection on one batch: selected events, their fitted m(l+ l-) (GeV),
    category (0: e+e-, 1: mu+mu-) and, for signal, the same where both leptons come from the A'."""
    from fastsim.beams import lab_to_cm

    n_ev = batch.n_events
    tr = batch["tracks"]
    ev = tr.event_index()
    good = (np.abs(tr["d0"]) < cuts.d0_max) & (np.abs(tr["z0"]) < cuts.z0_max)
    ev_ok = (np.bincount(ev[good], minlength=n_ev) == 2) & (tr.counts() == 2)
    if cuts.require_trigger:
        ev_ok &= batch.events["triggered"].astype(bool)
    # the photon: the most energetic photon candidate of the event
    cand = batch["candidates"]
    c_ev = cand.event_index()
    is_g = cand["list"] == GAMMA_LIST
    e_g = np.where(is_g, cand["e"], -1.0)
    best = np.full(n_ev, -1)
    order = np.lexsort((e_g, c_ev))  # by event, then energy: the last of an event is its best
    last = np.r_[c_ev[order][1:] != c_ev[order][:-1], True]
    top = order[last]
    best[c_ev[top]] = np.where(e_g[top] > 0, top, -1)
    ev_ok &= best >= 0
    events = np.flatnonzero(ev_ok)
    t = np.flatnonzero(good & ev_ok[ev]).reshape(-1, 2)  # tracks are grouped by event
    q = tr["charge"][t]
    is_e = np.all(tr["pid_e"][t] > cuts.pid_min, axis=1)
    is_mu = np.all(tr["pid_mu"][t] > cuts.pid_min, axis=1) & ~is_e
    ok = (q.sum(axis=1) == 0) & (is_e | is_mu)
    ok &= ~(is_e & material_conversion(batch, t[:, 0], t[:, 1]))
    events, t, is_e = events[ok], t[ok], is_e[ok]
    g = best[events]
    n = len(events)
    p_tr = np.stack([tr["px"][t], tr["py"][t], tr["pz"][t]], axis=-1)  # (n, 2, 3)
    p_g = np.stack([cand["px"][g], cand["py"][g], cand["pz"][g]], axis=-1)  # (n, 3)
    her, ler = nominal_beams(batch)
    beams = her + ler
    e_cm = lab_to_cm(np.concatenate([p_g, cand["e"][g][:, None]], axis=1)[:, None, :], her, ler)[:, 0, 3]
    m_l = np.where(is_e, M_E, M_MU)
    cov = np.zeros((n, 3, 3, 3))
    cov[:, 0] = photon_covariance(
        p_g, np.full(n, cuts.ecl_distance), cuts.ecl_resolution, cuts.ecl_position_resolution
    )
    helix_cov = covariances_from_fields(tr.fields, MOMENTUM_HELIX)  # (n_tracks, 3, 3)
    for k in (0, 1):
        cov[:, k + 1] = track_covariance(p_tr[:, k], tr["omega"][t[:, k]], helix_cov[t[:, k]])
    masses = np.stack([np.zeros(n), m_l, m_l], axis=1)
    fitted, chi2 = fit_to_beams(np.concatenate([p_g[:, None], p_tr], axis=1), cov, masses, beams)
    e_l = np.sqrt(np.sum(fitted[:, 1:] ** 2, axis=2) + m_l[:, None] ** 2)
    p_ll = fitted[:, 1] + fitted[:, 2]
    m_ll = np.sqrt(np.maximum((e_l.sum(axis=1)) ** 2 - np.sum(p_ll**2, axis=1), 0.0))
    keep = (chi2 < cuts.chi2_max) & (e_cm > cuts.photon_e_cm_min) & np.isfinite(chi2)
    events, t, m_ll, is_e = events[keep], t[keep], m_ll[keep], is_e[keep]
    truth = _truth(batch, events, t, m_ll, x_ids)
    return Selected(events, m_ll, truth, category=np.where(is_e, 0, 1))


def _truth(
    batch: EventBatch, events: np.ndarray, t: np.ndarray, m_ll: np.ndarray, x_ids: tuple[int, ...]
) -> np.ndarray:
    """m_ll where both tracks' MC particles are daughters of one signal particle (NaN: not)."""
    out = np.full(len(events), np.nan)
    if "mc" not in batch.collections or len(events) == 0:
        return out
    mc, tr = batch["mc"], batch["tracks"]
    mci = tr["mc_index"][t]
    base = mc.offsets[events][:, None]
    gi = np.where(mci >= 0, base + mci, 0)
    mother = np.where(mci >= 0, mc["mother1"][gi], -1)
    gm = np.where(mother >= 0, base + mother, 0)
    from_x = (mother >= 0) & np.isin(np.abs(mc["id"][gm]), x_ids)
    hit = from_x[:, 0] & from_x[:, 1] & (mother[:, 0] == mother[:, 1])
    out[hit] = m_ll[hit]
    return out


class DarkPhotonLL(Search):
    """The search as a plugin of the shared analysis layer (analysis/search.py)."""

    name = "darkphoton_ll"
    title = "e+e- -> gamma A', A' -> e+e-, mu+mu- (visible dark photon, after BaBar)"
    reference = "arXiv:1406.2980 (BaBar, PRL 113 (2014) 201801)"
    channel = "E+ E- --> GAMMA A', A' --> L+ L-"
    observable_label = r"$m_{\ell\ell}$ [GeV]"
    models = ("dark_photon",)
    signal_ids = (APRIME_ID,)
    #: windows of +-2 sigma(m) [F]; background from a 20x wider window [F: the m_ll spectra are
    #: smooth on that scale, 0.1-0.35 GeV, and the simulated background is sparse]; the charmonium and
    #: bottomonium regions skipped [M]; e+e- and mu+mu- in one likelihood [F: BaBar combines them]
    region: ClassVar[MassWindows] = MassWindows(
        k=2.0, smooth=20.0, vetoes=((3.0, 3.2), (3.6, 3.75), (9.3, 10.4)), categories=CATEGORIES
    )
    #: 90% CL [P], asymptotic CLs of the categories' likelihood; 2 % background systematic
    #: [F: a bump hunt takes its background from a fit of the smooth m_ll spectrum around the
    #: window, whose uncertainty is that fit's statistics -- 1-2 % for the 10^3-10^5 events per
    #: window here -- not the 10 % assumed for backgrounds taken from simulation; with 10 % the
    #: limits are 1.5-2 times weaker (docs/analysis_darkphoton.md)]
    statistics: ClassVar[Statistics] = Statistics(cl=0.90, method="cls", rel_bkg_sys=0.02)

    def __init__(self, cuts: Cuts | None = None) -> None:
        self.cuts = cuts or Cuts()

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        return select(batch, self.cuts, signal_ids)


def grid_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask of the full selection without a mass window (``grid.selection``)."""
    return DarkPhotonLL().grid_selection(batch)
