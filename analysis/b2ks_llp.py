"""Belle II search for a long-lived scalar in B -> K(*) S, S -> x+ x- (PRD 108 (2023) L111104,
arXiv:2306.02830; 189 fb^-1, m_S = 0.025-4.78 GeV, c*tau = 0.001-400 cm): selection, channels.

Eight exclusive channels (:data:`CHANNELS`): B+ -> K+ S and B0 -> K*0(-> K+ pi-) S, each with
S -> e+e-, mu+mu-, pi+pi-, K+K- [P].  The signal B is fully reconstructed, the other B is not
[P].  Per event, vectorised over flat arrays (no per-event Python loop).  Tags: [P] stated in
the paper's abstract or the Belle II thesis abstract that summarises it (the paper's body was
not readable here: ../shared/reference/bphysics.md sec. 1.5); [M] usual Belle II values,
unverified; [F] fastsim's choice, with the reason.

1. S candidate: a two-track vertex of the reconstruction's displaced-vertex finder
   (``vertices``: opposite charges, vertex fit chi2, distance of closest approach; the search's
   cards run it from r = 0, so that prompt S decays are candidates too [F: the paper's
   lifetime range starts at c*tau = 10 um, i.e. at the B vertex]); transverse pointing
   cos > :attr:`Cuts.min_cos_pointing` for vertices beyond :attr:`Cuts.pointing_min_radius`
   (where the direction of the vertex position is measured) [F].
2. Both S tracks identified in the channel's hypothesis, ``pid_x`` > 0.5 [M] (the K+K- and
   pi+pi- hypotheses exclude each other: a pion pair must fail the kaon ID) [F]; for mu mu
   one identified muon and the other track neither an electron nor a kaon [F: muons below
   ~0.7 GeV do not reach the KLM, which the muon ID needs (fastsim's PID: 0 below 0.6 GeV,
   0.29 at 0.6-0.8 GeV, 0.88 above 1 GeV), and a quarter of the S muons are that soft; the
   K0S and Lambda vetoes remove the pion pairs a pion misidentified as a muon would bring].
   The S mass in that hypothesis from the momenta at the vertex [P: the S mass is the fit
   variable].
3. Vetoes from the vertex finder [P: "K0S, Lambda, conversions, material" are named among
   the backgrounds in bphysics.md sec. 1.5, the windows are fastsim's reco defaults]: material
   layers (e e: photon conversions; pi pi and K K: hadronic interactions; not mu mu [F]: matter
   makes no muon pairs at a rate that matters -- pair production by photons is suppressed by
   (m_e / m_mu)^2 -- while the veto, whose window grows with the vertex's radial error, removes
   half of the boosted S -> mu mu vertices between 1 and 20 cm), K0S (pi pi and mu mu channels,
   on the pi pi mass), Lambda (pi pi, mu mu and K K, on the p pi mass).  The e e channel does not use the finder's low-mass conversion veto
   (m_ee < 30 MeV at a small opening angle) [F: it would remove the paper's lowest masses,
   0.025 GeV; photons convert in material, which the material veto removes].
4. The kaon: a track with ``pid_K`` > 0.5 [M], |d0| < 0.5 cm, |z0| < 2 cm (from the B vertex)
   [M]; for K*0 -> K+ pi- also a pion (``pid_pi`` > 0.5, prompt) of opposite charge with
   |m(K pi) - m(K*0)| < 0.1 GeV [F: two K*0 widths, 47 MeV, PDG].  No track used twice.
5. The B candidate in the CM frame (the nominal beams, estimated as the batch mean of the
   simulated beam particles [F: equal to the nominal four-momenta within the spread / sqrt(n)]):
   M_bc = sqrt(E_beam*^2 - |p_B*|^2) > 5.27 GeV and |Delta E| = |E_B* - E_beam*| < 0.1 GeV [M]
   (the signal box).  Candidates in the loose box M_bc > 5.20 GeV, |Delta E| < 0.25 GeV are
   kept as ``sideband`` candidates [F]: the background in the signal box is estimated from
   the loose box times the fraction of background candidates in the signal box (all masses of
   the channel group), as the simulated background is a small fraction of the data's.
6. Continuum suppression: the event's Fox-Wolfram ratio R2 < 0.5 [F: keeps 91 % of the
   signal here (R2 < 0.4, a usual Belle II loose cut [M], only 77 %)].
7. The event triggered [fastsim trigger simulation].
8. Charmonium: the scan skips e e and mu mu windows overlapping J/psi (3.00-3.20 GeV) and
   psi(2S) (3.60-3.76 GeV) [F: B -> K(*) J/psi, psi(2S) peak there; bphysics.md notes the
   paper's weaker limits at these masses].

Every candidate of an event is kept (the observable is per candidate); an event counts in a
window when any candidate of the channel falls in it.  The window at S mass m for a candidate
at vertex radius r is m -+ k sigma_c(m, r), sigma from the truth-matched signal in radius bins
(:class:`analysis.search.Channels`, :mod:`analysis.channel_limits`).

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from analysis.search import Channels, Search, Selected, Statistics, nominal_beams, pdg_mass
from fastsim.events import STATUS_DECAYED, VETO_K0S, VETO_LAMBDA, VETO_MATERIAL, EventBatch

__all__ = ["B2KSLLP", "CHANNELS", "Cuts", "select", "truth_channel"]

#: the paper's eight channels [P]: (name, B parent |pdg|, S daughter |pdg|)
CHANNELS: tuple[tuple[str, int, int], ...] = (
    ("BKee", 521, 11),
    ("BKmumu", 521, 13),
    ("BKpipi", 521, 211),
    ("BKKK", 521, 321),
    ("B0Kstee", 511, 11),
    ("B0Kstmumu", 511, 13),
    ("B0Kstpipi", 511, 211),
    ("B0KstKK", 511, 321),
)
_HYPOTHESES = (11, 13, 211, 321)  # S daughter per hypothesis index
_PID = {11: "pid_e", 13: "pid_mu", 211: "pid_pi", 321: "pid_K"}
#: vetoes (bit masks of fastsim.reco.displaced) per hypothesis
_VETOES = {
    11: VETO_MATERIAL,
    13: VETO_K0S | VETO_LAMBDA,
    211: VETO_MATERIAL | VETO_K0S | VETO_LAMBDA,
    321: VETO_MATERIAL | VETO_LAMBDA,
}
#: the model's name of each S final state (fastsim.models: particle names)
_FINAL_STATE = {11: "e+ e-", 13: "mu+ mu-", 211: "pi+ pi-", 321: "K+ K-"}
S_PDG = 9900027  # the dark Higgs of fastsim.models.dark_higgs (the signal particle)
K_STAR0 = 313


@dataclass(frozen=True)
class Cuts:
    """Selection values (sources in the module docstring).  GeV, cm."""

    pid_min: float = 0.5
    min_cos_pointing: float = 0.99
    pointing_min_radius: float = 0.2
    kaon_d0_max: float = 0.5
    kaon_z0_max: float = 2.0
    kstar_window: float = 0.1
    mbc_min: float = 5.27
    delta_e_max: float = 0.1
    r2_max: float = 0.5
    mbc_loose: float = 5.20
    delta_e_loose: float = 0.25
    require_trigger: bool = True


def _pairs_in_event(ev_a: np.ndarray, ev_b: np.ndarray, n_ev: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with ev_a[i] == ev_b[j]; ``ev_b`` sorted.  Index arrays into a and b."""
    cb = np.bincount(ev_b, minlength=n_ev)
    ob = np.concatenate([[0], np.cumsum(cb)])
    reps = cb[ev_a]
    ia = np.repeat(np.arange(len(ev_a)), reps)
    start = np.repeat(ob[ev_a] - np.concatenate([[0], np.cumsum(reps)[:-1]]), reps)
    jb = start + np.arange(len(ia))
    return ia, jb


def _p4(p: np.ndarray, m: float) -> np.ndarray:
    return np.concatenate([p, np.sqrt((p * p).sum(axis=-1, keepdims=True) + m * m)], axis=-1)


def _inv_mass(p4: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p4[..., 3] ** 2 - (p4[..., :3] ** 2).sum(axis=-1), 0.0))


def select(batch: EventBatch, cuts: Cuts = Cuts(), s_ids: tuple[int, ...] = (S_PDG,)) -> Selected:
    """Candidates of the eight channels: per selected event the S-candidate masses
    (observable), the channel index of each candidate (``category``), the vertex radius
    (``radius``, cm) and the truth-matched mass (the candidate from the S's own tracks in the
    S's true final state; NaN otherwise)."""
    from fastsim.beams import lab_to_cm

    n_ev = batch.n_events
    tr = batch["tracks"]
    vx = batch["vertices"]
    t_ev = tr.event_index()
    v_ev = vx.event_index()
    ok_ev = batch.events["reco_fw_r2"] < cuts.r2_max
    if cuts.require_trigger:
        ok_ev &= batch.events["triggered"].astype(bool)

    # 1-3. S candidates: (vertex, hypothesis)
    r = vx["r"]
    point_ok = (r < cuts.pointing_min_radius) | (vx["cos_pointing"] > cuts.min_cos_pointing)
    g1 = tr.offsets[v_ev] + vx["track1"]
    g2 = tr.offsets[v_ev] + vx["track2"]
    p1 = np.stack([vx["p1x"], vx["p1y"], vx["p1z"]], axis=1)
    p2 = np.stack([vx["p2x"], vx["p2y"], vx["p2z"]], axis=1)
    veto = vx["veto"].astype(np.int64)
    s_v, s_h = [], []
    for h, pdg in enumerate(_HYPOTHESES):
        pid = tr[_PID[pdg]]
        if pdg == 13:  # one identified muon, the other track neither an electron nor a kaon
            good = (pid[g1] > cuts.pid_min) | (pid[g2] > cuts.pid_min)
            for other in ("pid_e", "pid_K"):
                good &= (tr[other][g1] < cuts.pid_min) & (tr[other][g2] < cuts.pid_min)
        else:
            good = (pid[g1] > cuts.pid_min) & (pid[g2] > cuts.pid_min)
        good &= point_ok & ok_ev[v_ev]
        if pdg == 211:  # a pion pair is not a kaon pair
            good &= ~((tr["pid_K"][g1] > cuts.pid_min) & (tr["pid_K"][g2] > cuts.pid_min))
        good &= (veto & _VETOES[pdg]) == 0
        idx = np.flatnonzero(good)
        s_v.append(idx)
        s_h.append(np.full(len(idx), h))
    sv = np.concatenate(s_v)
    sh = np.concatenate(s_h)
    order = np.argsort(v_ev[sv], kind="stable")
    sv, sh = sv[order], sh[order]
    s_ev = v_ev[sv]
    s_p4 = np.empty((len(sv), 4))
    for h, pdg in enumerate(_HYPOTHESES):
        k = sh == h
        m = pdg_mass(pdg)
        s_p4[k] = _p4(p1[sv[k]], m) + _p4(p2[sv[k]], m)
    s_mass = _inv_mass(s_p4)

    # 4. kaons and K*0 candidates (prompt tracks)
    prompt = (np.abs(tr["d0"]) < cuts.kaon_d0_max) & (np.abs(tr["z0"]) < cuts.kaon_z0_max)
    p_tr = np.stack([tr["px"], tr["py"], tr["pz"]], axis=1)
    kaon = np.flatnonzero(prompt & (tr["pid_K"] > cuts.pid_min) & ok_ev[t_ev])
    pion = np.flatnonzero(prompt & (tr["pid_pi"] > cuts.pid_min) & ok_ev[t_ev])
    mk, mpi, mkst = pdg_mass(321), pdg_mass(211), pdg_mass(K_STAR0)
    ik, ip = _pairs_in_event(t_ev[kaon], t_ev[pion], n_ev)
    ka, pi = kaon[ik], pion[ip]
    kst_p4 = _p4(p_tr[ka], mk) + _p4(p_tr[pi], mpi)
    good = (ka != pi) & (tr["charge"][ka] != tr["charge"][pi])
    good &= np.abs(_inv_mass(kst_p4) - mkst) < cuts.kstar_window
    ka, pi, kst_p4 = ka[good], pi[good], kst_p4[good]

    her, ler = nominal_beams(batch)
    e_beam = 0.5 * _inv_mass(her + ler)[0]
    out_ev, out_m, out_c, out_r, out_truth, out_side = [], [], [], [], [], []
    for base, k_in, p4_in, extra_in in (
        (0, kaon, _p4(p_tr[kaon], mk), None),
        (4, ka, kst_p4, pi),
    ):
        order_k = np.argsort(t_ev[k_in], kind="stable")  # by event (they are already)
        k_tracks, k_p4 = k_in[order_k], p4_in[order_k]
        extra = extra_in[order_k] if extra_in is not None else None
        i_s, j_k = _pairs_in_event(s_ev, t_ev[k_tracks], n_ev)
        kt = k_tracks[j_k]
        distinct = (kt != g1[sv[i_s]]) & (kt != g2[sv[i_s]])
        if extra is not None:
            xt = extra[j_k]
            distinct &= (xt != g1[sv[i_s]]) & (xt != g2[sv[i_s]])
        i_s, j_k = i_s[distinct], j_k[distinct]
        b_p4 = s_p4[i_s] + k_p4[j_k]
        ev = s_ev[i_s]
        cm = lab_to_cm(b_p4[:, None, :], np.repeat(her, len(ev), axis=0), np.repeat(ler, len(ev), axis=0))[
            :, 0
        ]
        mbc = np.sqrt(np.maximum(e_beam**2 - (cm[:, :3] ** 2).sum(axis=1), 0.0))
        de = cm[:, 3] - e_beam
        keep = (mbc > cuts.mbc_loose) & (np.abs(de) < cuts.delta_e_loose)
        i_s = i_s[keep]
        out_side.append(~((mbc[keep] > cuts.mbc_min) & (np.abs(de[keep]) < cuts.delta_e_max)))
        out_ev.append(s_ev[i_s])
        out_m.append(s_mass[i_s])
        out_c.append(base + sh[i_s])
        out_r.append(r[sv[i_s]])
        out_truth.append(_truth_mass(batch, sv[i_s], sh[i_s], s_mass[i_s], s_ids))
    ev = np.concatenate(out_ev)
    order = np.argsort(ev, kind="stable")
    ev = ev[order]
    mass, chan, rad, truth, side = (
        np.concatenate(x)[order] for x in (out_m, out_c, out_r, out_truth, out_side)
    )
    truth = np.where(side, np.nan, truth)  # the truth match of signal-box candidates
    # one row per event, candidates in columns (NaN / -1 padding)
    events, first, counts = np.unique(ev, return_index=True, return_counts=True)
    k = int(counts.max()) if len(counts) else 1
    col = np.arange(len(ev)) - np.repeat(first, counts)
    row = np.repeat(np.arange(len(events)), counts)
    obs = np.full((len(events), k), np.nan)
    cat = np.full((len(events), k), -1, np.int64)
    rr = np.full((len(events), k), np.nan)
    sb = np.ones((len(events), k), bool)
    obs[row, col], cat[row, col], rr[row, col], sb[row, col] = mass, chan, rad, side
    tr_row = np.full(len(events), np.nan)
    fin = np.isfinite(truth)
    tr_row[row[fin]] = truth[fin]
    return Selected(events, obs, tr_row, category=cat, radius=rr, sideband=sb)


def skim_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask: a candidate of any channel in the loose M_bc - Delta E box (the
    background samples' ``run.selection`` with ``run.skim``)."""
    mask = np.zeros(batch.n_events, bool)
    mask[select(batch).index] = True
    return mask


def _truth_mass(
    batch: EventBatch, v_idx: np.ndarray, hyp: np.ndarray, mass: np.ndarray, s_ids: tuple[int, ...]
) -> np.ndarray:
    """The candidate's mass when its vertex is the S decay and its hypothesis is the S's true
    final state; NaN otherwise."""
    out = np.full(len(v_idx), np.nan)
    vx = batch["vertices"]
    if "mc" not in batch.collections or len(v_idx) == 0:
        return out
    matched = np.isin(np.abs(vx["mc_pdg"][v_idx]), s_ids)
    if not matched.any():
        return out
    tr = batch["tracks"]
    ev = vx.event_index()[v_idx]
    t1 = tr.offsets[ev] + vx["track1"][v_idx]
    true_daughter = np.abs(tr["true_pdg"][t1])
    want = np.array(_HYPOTHESES)[hyp]
    ok = matched & (true_daughter == want)
    out[ok] = mass[ok]
    return out


def truth_channel(batch: EventBatch, s_ids: tuple[int, ...] = (S_PDG,)) -> np.ndarray:
    """Per event the channel index (:data:`CHANNELS`) of the S's true decay: the S's mother
    (B+- or B0 / B0bar) and its two daughters (x+ x- of one kind, photons of final-state
    radiation aside); -1 for other S decays and for events without S."""
    mc = batch["mc"]
    n_ev = batch.n_events
    out = np.full(n_ev, -1, np.int64)
    ids = mc["id"]
    ev = mc.event_index()
    is_s = np.isin(np.abs(ids), s_ids) & (mc["status"] == STATUS_DECAYED)
    if not is_s.any():
        return out
    s_glob = np.flatnonzero(is_s)
    s_ev = ev[s_glob]
    loc_s = s_glob - mc.offsets[s_ev]
    # the S's mother: B+ or B0
    mother = mc["mother1"][s_glob]
    b_id = np.abs(ids[mc.offsets[s_ev] + np.maximum(mother, 0)])
    # the S's daughters: items whose mother1 is the S (one S per event in the signal)
    s_local = np.full(n_ev, -2, np.int64)
    s_local[s_ev] = loc_s
    is_d = (mc["mother1"] == s_local[ev]) & (ids != 22)  # final-state radiation aside
    n_d = np.bincount(ev[is_d], minlength=n_ev)
    d_abs = np.abs(ids[is_d])
    d_sum = np.bincount(ev[is_d], ids[is_d].astype(np.float64), minlength=n_ev)
    d_kind = np.zeros(n_ev, np.int64)
    d_kind[ev[is_d]] = d_abs
    d_same = np.bincount(ev[is_d], (d_abs == d_kind[ev[is_d]]).astype(np.float64), minlength=n_ev)
    two = (n_d == 2) & (d_same == 2) & (d_sum == 0)
    for c, (_, b, x) in enumerate(CHANNELS):
        hit = np.zeros(n_ev, bool)
        hit[s_ev] = b_id == b
        out[hit & two & (d_kind == x)] = c
    return out


class B2KSLLP(Search):
    """The search as a plugin of the shared analysis layer (analysis/search.py)."""

    name = "b2ks_llp"
    title = "Belle II B -> K(*) S, S -> e e, mu mu, pi pi, K K (long-lived scalar)"
    reference = "arXiv:2306.02830 (PRD 108 (2023) L111104)"
    channel = "B --> K(*) S, S --> X+ X-"
    observable_label = "$m_S$ [GeV]"
    models = ("dark_higgs",)
    signal_ids = (S_PDG,)
    #: windows of +-2 sigma_c(m, r) [F], background from a 10x wider window [F: the simulated
    #: background is sparse; its mass spectrum is smooth on that scale]; charmonium
    #: skipped in e e and mu mu [F]; the K*0 channels quoted with BR(K*0 -> K+ pi-) [P]
    region: ClassVar[Channels] = Channels(
        names=tuple(c[0] for c in CHANNELS),
        k=2.0,
        smooth=10.0,
        radius_bins=(0.0, 0.2, 1.0, 5.0, 20.0, 50.0, 1000.0),
        vetoes={name: ((3.00, 3.20), (3.60, 3.76)) for name, _, x in CHANNELS if x in (11, 13)},
        thresholds={name: 2 * pdg_mass(x) for name, _, x in CHANNELS},
        daughter_br={name: (K_STAR0, (321, -211)) for name, b, _ in CHANNELS if b == 511},
        model_final_states={name: _FINAL_STATE[x] for name, _, x in CHANNELS},
        production={name: ("B+ -> K+ S" if b == 521 else "B0 -> K*0 S") for name, b, _ in CHANNELS},
        sideband_groups=(tuple(c[0] for c in CHANNELS[:4]), tuple(c[0] for c in CHANNELS[4:])),
        displaced_min_radius=0.2,
    )
    #: 95% CL [P], counting CLs, 10% background systematic [F: assumed]
    statistics: ClassVar[Statistics] = Statistics(cl=0.95, method="cls", rel_bkg_sys=0.10)

    def __init__(self, cuts: Cuts | None = None) -> None:
        self.cuts = cuts or Cuts()

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        return select(batch, self.cuts, signal_ids)

    def truth_category(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> np.ndarray:
        return truth_channel(batch, signal_ids)
