"""Belle search for a heavy neutral lepton in tau -> pi N, N -> mu+ mu- nu_tau at a displaced
vertex (PRD 109 (2024) L111102, arXiv:2402.02580; 915 fb^-1, 0.3 < m_N < 1.6 GeV): selection
and the two-fold m_N reconstruction.

Tags: [P] the paper's abstract (../shared/reference/hnl_photon.md sec. 1.1); [M] the sheet's
summary of the selection, unverified (its sec. 1.3: the paper's body was not readable); [F]
fastsim's choice with the reason.

1. Exactly four good tracks, zero net charge [P: signal side pi + (mu mu), one-prong tag].
2. The displaced vertex (DV): a two-track vertex of the reconstruction (opposite charges, fit
   chi2, DCA) with both tracks identified as muons (``pid_mu`` > 0.5) [M], at a transverse
   radius 15 < r < 80 cm [M: "of order 10-15 cm up to about 80 cm", the inner edge inferred
   from the published contour, sec. 1.6], not at a material layer [M], not pointing back to
   the beam line (transverse cos < 0.9999) [M: "must not point back to the IP, since a nu is
   missing"; F: the boosted N's neutrino turns the mu mu momentum by only ~0.1 rad or less
   (83 % of the signal vertices have cos > 0.995 at 1 GeV), so the cut only removes two-body
   V0s pointing within the vertex's direction resolution], and its mass in the pion hypothesis
   outside 0.42-0.52 GeV (the K0S veto) [P].  The reconstruction's vertex finder runs
   without its pointing requirement for this search (the cards' ``reco.displaced``).
3. The pion: one of the other two tracks, not a muon and not an electron (``pid_mu``,
   ``pid_e`` < 0.5), in the DV's hemisphere of the CM frame (cos angle(pi, p_DV) > 0) [M];
   the tag: the remaining track, in the other hemisphere [M].
4. The event triggered (fastsim's Belle trigger emulation).
Events passing 1-4 without the muon ID of the DV form the loose selection (``sideband``
candidates), from which the background is estimated (the region's ``sideband``): its count
times the squared fraction of its DV tracks passing the muon ID (``probe_pass``).
Observable: m_N from the pion and the DV direction [P: "the full kinematics reconstructed up
to a two-fold ambiguity"; Dib et al., arXiv:1908.09719]: with n the unit vector from the
interaction point to the DV (lab), p_N = k n, and the tau's energy in the CM frame sqrt(s)/2
(ISR neglected, a resolution effect), the two conditions
    gamma (E_pi + E_N - beta . (p_pi + k n)) = sqrt(s) / 2,    (p_pi + p_N)^2 = m_tau^2
make E_N linear in k and k a root of a quadratic; each root k > 0 with m_N^2 = E_N^2 - k^2 > 0
is a candidate (both count, as in the paper's m_N^+ and m_N^-).  The beams: the batch mean of
the simulated beam particles (their nominal four-momenta within the spread / sqrt(n)).

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.search import MassWindows, Search, Selected, Statistics, nominal_beams, pdg_mass
from fastsim.events import VETO_MATERIAL, EventBatch

__all__ = ["Cuts", "HNLTauSearch", "full_selection", "grid_selection", "select", "two_fold_mass"]

N_IDS = (9900018,)  # the N of fastsim.models.hnl_tau


M_MU, M_PI, M_TAU = pdg_mass(13), pdg_mass(211), pdg_mass(15)


@dataclass(frozen=True)
class Cuts:
    """Selection values (sources in the module docstring).  GeV, cm."""

    n_tracks: int = 4
    pid_min: float = 0.5
    r_min: float = 15.0
    r_max: float = 80.0
    max_cos_pointing: float = 0.9999
    k0s_veto: tuple[float, float] = (0.42, 0.52)
    require_trigger: bool = True


def two_fold_mass(p_pi: np.ndarray, n_hat: np.ndarray, her: np.ndarray, ler: np.ndarray) -> np.ndarray:
    """(n, 2) m_N candidates (NaN where a root is unphysical) from the pion's lab four-momentum
    ``p_pi`` (n, 4), the lab unit vector to the DV ``n_hat`` (n, 3) and the beams (1, 4)
    (module docstring)."""
    tot = (her + ler)[0]
    sqrt_s = float(np.sqrt(tot[3] ** 2 - np.sum(tot[:3] ** 2)))
    beta = tot[:3] / tot[3]
    gamma = tot[3] / sqrt_s
    e_pi = p_pi[:, 3]
    b = n_hat @ beta
    a = sqrt_s / (2 * gamma) - e_pi + p_pi[:, :3] @ beta  # E_N = a + k b
    c_ = a + e_pi
    d = np.sum(p_pi[:, :3] * n_hat, axis=1)
    p2 = np.sum(p_pi[:, :3] ** 2, axis=1)
    qa = b * b - 1.0
    qb = 2.0 * (c_ * b - d)
    qc = c_ * c_ - M_TAU**2 - p2
    disc = qb * qb - 4 * qa * qc
    out = np.full((len(p_pi), 2), np.nan)
    ok = disc >= 0
    sq = np.sqrt(np.where(ok, disc, 0.0))
    for j, s in enumerate((1.0, -1.0)):
        k = (-qb + s * sq) / (2 * qa)
        e_n = a + k * b
        m2 = e_n * e_n - k * k
        good = ok & (k > 0) & (m2 > 0) & (e_n > 0)
        out[good, j] = np.sqrt(m2[good])
    return out


def _p4(p: np.ndarray, m: float) -> np.ndarray:
    return np.concatenate([p, np.sqrt(np.sum(p * p, axis=-1, keepdims=True) + m * m)], axis=-1)


def select(batch: EventBatch, cuts: Cuts = Cuts(), n_ids: tuple[int, ...] = N_IDS) -> Selected:
    """The selection on one batch: per selected event the two m_N candidates and, for the
    signal, the truth-matched value (the candidates' mass when the DV is the N's decay)."""
    from fastsim.beams import lab_to_cm

    n_ev = batch.n_events
    tr = batch["tracks"]
    vx = batch["vertices"]
    t_ev = tr.event_index()
    n_tr = np.bincount(t_ev, minlength=n_ev)
    q_sum = np.bincount(t_ev, tr["charge"].astype(np.float64), minlength=n_ev)
    ok_ev = (n_tr == cuts.n_tracks) & (q_sum == 0)
    if cuts.require_trigger:
        ok_ev &= batch.events["triggered"].astype(bool)
    v_ev = vx.event_index()
    g1 = tr.offsets[v_ev] + vx["track1"]
    g2 = tr.offsets[v_ev] + vx["track2"]
    mu = tr["pid_mu"]
    both_mu = (mu[g1] > cuts.pid_min) & (mu[g2] > cuts.pid_min)
    good = ok_ev[v_ev].copy()  # the muon ID is the full selection's; without it the loose one
    good &= (vx["r"] > cuts.r_min) & (vx["r"] < cuts.r_max)
    good &= (vx["veto"].astype(np.int64) & VETO_MATERIAL) == 0
    good &= vx["cos_pointing"] < cuts.max_cos_pointing
    lo, hi = cuts.k0s_veto
    good &= ~((vx["m_pipi"] > lo) & (vx["m_pipi"] < hi))
    dv = np.flatnonzero(good)
    # one DV per event: a muon pair first, else the first vertex (loose)
    dv = dv[np.lexsort((~both_mu[dv], v_ev[dv]))]
    ev_dv, first = np.unique(v_ev[dv], return_index=True)
    dv = dv[first]
    her, ler = nominal_beams(batch)
    # the two other tracks: pion candidate and tag
    base = tr.offsets[ev_dv]
    locs = np.arange(cuts.n_tracks)[None, :] + base[:, None]  # (n, 4) global track indices
    in_dv = (locs == g1[dv][:, None]) | (locs == g2[dv][:, None])
    others = locs[~in_dv].reshape(-1, cuts.n_tracks - 2)
    p_dv = vx["px"][dv], vx["py"][dv], vx["pz"][dv]
    dv_p4 = np.stack([*p_dv, np.zeros(len(dv))], axis=1)
    dv_p4[:, 3] = np.sqrt(np.sum(dv_p4[:, :3] ** 2, axis=1) + (2 * M_MU) ** 2)  # direction only
    n = len(dv)
    rep = lambda x: np.repeat(x, n, axis=0)
    dv_cm = lab_to_cm(dv_p4[:, None, :], rep(her), rep(ler))[:, 0]
    masses, keep = np.full((n, 2), np.nan), np.zeros(n, bool)
    dv_pos = np.stack([vx["x"][dv], vx["y"][dv], vx["z"][dv]], axis=1)
    for j in range(cuts.n_tracks - 2):
        pi_t = others[:, j]
        tag_t = others[:, 1 - j]
        p_pi = _p4(np.stack([tr["px"][pi_t], tr["py"][pi_t], tr["pz"][pi_t]], axis=1), M_PI)
        p_tag = _p4(np.stack([tr["px"][tag_t], tr["py"][tag_t], tr["pz"][tag_t]], axis=1), M_PI)
        pi_cm = lab_to_cm(p_pi[:, None, :], rep(her), rep(ler))[:, 0]
        tag_cm = lab_to_cm(p_tag[:, None, :], rep(her), rep(ler))[:, 0]
        same = np.sum(pi_cm[:, :3] * dv_cm[:, :3], axis=1) > 0
        opposite = np.sum(tag_cm[:, :3] * dv_cm[:, :3], axis=1) < 0
        is_pi = (tr["pid_mu"][pi_t] < cuts.pid_min) & (tr["pid_e"][pi_t] < cuts.pid_min)
        sel = same & opposite & is_pi & ~keep
        if not sel.any():
            continue
        # the N's flight direction: from the pion's point of closest approach to the beam
        # line (x = y = 0, z = z0: the tau flies < 1 mm) to the DV [F]
        origin = np.stack([np.zeros(n), np.zeros(n), tr["z0"][pi_t]], axis=1)
        n_hat = dv_pos - origin
        n_hat /= np.linalg.norm(n_hat, axis=1)[:, None]
        masses[sel] = two_fold_mass(p_pi[sel], n_hat[sel], her, ler)
        keep |= sel
    keep &= np.any(np.isfinite(masses), axis=1)
    loose = ~both_mu[dv]
    matched = np.isin(np.abs(vx["mc_pdg"][dv]), n_ids) & keep & ~loose
    side = np.repeat(loose[:, None], 2, axis=1)
    # the DV's tracks passing the muon ID (0, 1, 2): the probes of the background estimate
    n_mu = (mu[g1[dv]] > cuts.pid_min).astype(np.int64) + (mu[g2[dv]] > cuts.pid_min)
    probes = np.repeat(n_mu[:, None], 2, axis=1)
    truth = _truth_mass(batch, ev_dv, masses, matched, n_ids)
    return Selected(ev_dv[keep], masses[keep], truth[keep], sideband=side[keep], probe_pass=probes[keep])


def _truth_mass(
    batch: EventBatch, events: np.ndarray, masses: np.ndarray, matched: np.ndarray, n_ids: tuple[int, ...]
) -> np.ndarray:
    """For events whose DV is the N's decay, the candidate nearer the true N mass (the
    resolution model of the shared layer measures it against the simulated mass); NaN else."""
    out = np.full(len(events), np.nan)
    if "mc" not in batch.collections or not matched.any():
        return out
    mc = batch["mc"]
    is_n = np.isin(np.abs(mc["id"]), n_ids)
    m_true = np.full(batch.n_events, np.nan)
    m_true[mc.event_index()[is_n]] = mc["m"][is_n]
    mt = m_true[events[matched]]
    cand = masses[matched]
    pick = np.nanargmin(np.where(np.isfinite(cand), np.abs(cand - mt[:, None]), np.inf), axis=1)
    out[matched] = cand[np.arange(len(cand)), pick]
    return out


def full_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask of the full selection (muon pair), no mass window (``grid.selection``)."""
    sel = select(batch)
    mask = np.zeros(batch.n_events, bool)
    mask[sel.index[~sel.sideband[:, 0]]] = True
    return mask


class HNLTauSearch(Search):
    """The search as a plugin of the shared analysis layer (analysis/search.py)."""

    name = "hnl_tau"
    title = "Belle tau -> pi N, N -> mu+ mu- nu (displaced vertex)"
    reference = "arXiv:2402.02580 (PRD 109 (2024) L111102)"
    channel = "TAU --> PI N, N --> MU+ MU- NU"
    observable_label = "$m_N$ [GeV]"
    models = ("hnl_majorana", "hnl_dirac")
    signal_ids = N_IDS
    #: windows of +-2 sigma(m) [F], background from a 5x wider window of the loose selection
    #: (the DV without muon ID) times the probability that both its tracks pass the muon ID,
    #: f^2 with f the fraction of the loose DVs' tracks that pass [F: the simulated background
    #: is ~1/1000 of the data's and no simulated event passes the full selection; the muon ID
    #: of two tracks is independent (per-track tables, fastsim.detector.pid), so the pair rate
    #: is the square of the per-track rate, measured on twice the loose events' statistics; it
    #: averages the rate over the loose tracks' momenta, which is exact only where the rate is
    #: flat in momentum]
    region: ClassVar[MassWindows] = MassWindows(
        k=2.0, smooth=5.0, min_mass=0.0, sideband=True, sideband_probes=2
    )
    #: 95% CL [P], counting CLs, 20% background systematic [F: the small simulated background]
    statistics: ClassVar[Statistics] = Statistics(cl=0.95, method="cls", rel_bkg_sys=0.20)

    def __init__(self, cuts: Cuts | None = None) -> None:
        self.cuts = cuts or Cuts()

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        return select(batch, self.cuts, signal_ids)


def grid_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask of the loose selection (``run.selection`` of the background skims)."""
    return HNLTauSearch().grid_selection(batch)
