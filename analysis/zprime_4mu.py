"""Belle II search for e+e- -> mu+ mu- X, X -> mu+ mu- (four muons; PRD 109 (2024) 112015,
arXiv:2403.02841; 178 fb^-1, m_X = 0.212-9 GeV): selection, signal efficiency, backgrounds.

Selection (per event, vectorised over flat arrays).  [P] = stated in the paper's abstract or
the analysis issue's summary of it; [F] = fastsim's choice of the number where the public
text available here gives none (the paper's full selection section could not be consulted
for this work), with the reason:

1. exactly four tracks from the interaction point, |d0| < 0.5 cm and |z0| < 2 cm [P: "four
   tracks from the IP"; F: the values are the usual Belle II prompt-track cuts, e.g.
   arXiv:2212.03066 (invisible Z'), and keep > 99% of prompt muons (d0, z0 resolutions
   < 0.05 cm here) while removing conversions in the beam pipe and beyond];
2. zero net charge [P];
3. four-track mass (muon hypothesis) 10.0 < M4 < 11.0 GeV [P: "near sqrt(s)"; F: keeps the
   ISR tail down to ~0.95 sqrt(s), where e+e- -> mu mu gamma with a converted photon and
   two-photon events lie far below];
4. at least three tracks identified as muons (pid_mu > 0.5) and the remaining one not an
   electron (pid_e < 0.5) [P];
5. extra ECL energy (photon-list clusters not used by a track) below 0.4 GeV [P: "little
   extra energy"; F: 99% of the signal has less than 0.2 GeV here];
6. the event triggered (``triggered``) [fastsim trigger simulation];
7. vetoes [P: "J/psi and Upsilon(1S) vetoes"; F: windows]: events with an opposite-charge
   pair in 9.30-9.60 GeV (Upsilon(1S) -> mu mu with a pi+ pi- pair misidentified as muons,
   from Upsilon(4S) -> Upsilon(1S) pi pi and ISR Upsilon(2S, 3S) production) are rejected;
   the scan skips X masses whose window overlaps 3.00-3.20 GeV (J/psi -> mu mu, e.g. from
   ISR psi(2S) -> J/psi pi pi), as the published limits have no points there;
8. background suppression (cut-based, documented here instead of the paper's neural
   networks): the X candidate's partner pair (the other two muons) must have a mass above
   min(:attr:`Cuts.recoil_pair_min`, :attr:`Cuts.recoil_pair_frac` (M4 - m_X)), i.e. 2 GeV,
   relaxed near the kinematic edge where the partner mass cannot exceed M4 - m_X
   [F: in e+e- -> 4 mu much of the rate has a light partner pair (two soft virtual photons);
   in the signal the X is radiated off a hard muon pair.  Measured on fastsim samples
   (178 fb^-1, +-20 MeV windows): at m_X = 1 GeV the signal efficiency goes 0.437 -> 0.433 and
   the background 331 -> 265 events, at 6 GeV 0.453 -> 0.382 and 177 -> 76 events], applied
   per candidate.
X candidates: both opposite-charge pairings of the four tracks, i.e. four mu+ mu- pairs per
event [P]; an event counts in a mass window when any of its candidates falls in it.

Units: GeV, cm, ns; cross sections in nb (files) and fb (limits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.io import ProcessInfo, iter_batches, read_processes
from fastsim.events import EventBatch
from fastsim.generators.ee_llx import SCALAR_ID, ZPRIME_ID

__all__ = [
    "M_MU",
    "AnalysisSamples",
    "Cuts",
    "Selected",
    "grid_selection",
    "load_samples",
    "select",
]

M_MU = 0.1056583755  # GeV, PDG 2024
#: (pos, neg) track slots of the four X candidates: pairing A = (0,0),(1,1); pairing B = (0,1),(1,0)
#: PDG ids of X in fastsim's own signal samples (external samples add theirs from /meta)
X_IDS = (ZPRIME_ID, SCALAR_ID)
_PAIRS = ((0, 0), (1, 1), (0, 1), (1, 0))
#: partner of each candidate in the same pairing
_PARTNER = (1, 0, 3, 2)


@dataclass(frozen=True)
class Cuts:
    """Selection values (see the module docstring for the sources).  GeV and cm."""

    d0_max: float = 0.5
    z0_max: float = 2.0
    m4_min: float = 10.0
    m4_max: float = 11.0
    pid_mu_min: float = 0.5
    pid_e_max: float = 0.5
    e_extra_max: float = 0.4
    upsilon_veto: tuple[float, float] = (9.30, 9.60)
    jpsi_veto: tuple[float, float] = (3.00, 3.20)
    recoil_pair_min: float = 2.0
    recoil_pair_frac: float = 0.5
    require_trigger: bool = True


@dataclass
class Selected:
    """Selected events of one batch: their indices, X-candidate masses (n, 4; NaN where a
    candidate fails the per-candidate cut) and, for signal, the reco mass of the two tracks
    from the X decay (NaN when not both are among the four)."""

    index: np.ndarray
    cand_mass: np.ndarray
    truth_x_mass: np.ndarray


def _p4(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    e = np.sqrt(px**2 + py**2 + pz**2 + M_MU**2)
    return np.stack([px, py, pz, e], axis=-1)


def _mass(p4: np.ndarray) -> np.ndarray:
    m2 = p4[..., 3] ** 2 - p4[..., 0] ** 2 - p4[..., 1] ** 2 - p4[..., 2] ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def select(batch: EventBatch, cuts: Cuts = Cuts(), x_ids: tuple[int, ...] = X_IDS) -> Selected:
    """Apply the four-muon selection to one batch (no per-event Python loop)."""
    n_ev = batch.n_events
    tr = batch["tracks"]
    ev = tr.event_index()
    good = (np.abs(tr["d0"]) < cuts.d0_max) & (np.abs(tr["z0"]) < cuts.z0_max)
    n_good = np.bincount(ev[good], minlength=n_ev)
    cand_ev = n_good == 4
    if cuts.require_trigger:
        cand_ev &= batch.events["triggered"].astype(bool)
    cand_ev &= batch.events["reco_e_extra"] < cuts.e_extra_max
    idx = np.flatnonzero(good & cand_ev[ev]).reshape(-1, 4)  # tracks are grouped by event
    events = ev[idx[:, 0]]
    q = tr["charge"][idx]
    ok = q.sum(axis=1) == 0
    ismu = tr["pid_mu"][idx] > cuts.pid_mu_min
    not_e = tr["pid_e"][idx] < cuts.pid_e_max
    n_mu = ismu.sum(axis=1)
    ok &= (n_mu == 4) | ((n_mu == 3) & np.all(ismu | not_e, axis=1))
    p4 = _p4(tr["px"][idx], tr["py"][idx], tr["pz"][idx])  # (n, 4 tracks, 4)
    m4 = _mass(p4.sum(axis=1))
    ok &= (m4 > cuts.m4_min) & (m4 < cuts.m4_max)
    idx, events, q, p4, m4 = idx[ok], events[ok], q[ok], p4[ok], m4[ok]
    # order the tracks (neg, neg, pos, pos) to build the pairs
    order = np.argsort(q, axis=1, kind="stable")
    p4 = np.take_along_axis(p4, order[:, :, None], axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    neg, pos = p4[:, :2], p4[:, 2:]
    pair_p4 = np.stack([neg[:, i] + pos[:, j] for i, j in _PAIRS], axis=1)  # (n, 4, 4)
    cand = _mass(pair_p4)
    lo, hi = cuts.upsilon_veto
    keep = ~np.any((cand > lo) & (cand < hi), axis=1)
    idx, events, cand, m4 = idx[keep], events[keep], cand[keep], m4[keep]
    partner = cand[:, list(_PARTNER)]
    threshold = np.minimum(cuts.recoil_pair_min, cuts.recoil_pair_frac * (m4[:, None] - cand))
    cand = np.where(partner > threshold, cand, np.nan)
    truth = _truth_x_mass(batch, idx, events, p4[keep], x_ids)
    return Selected(events, cand, truth)


def _truth_x_mass(
    batch: EventBatch, idx: np.ndarray, events: np.ndarray, p4: np.ndarray, x_ids: tuple[int, ...]
) -> np.ndarray:
    """Reco mass of the tracks whose MC mother is X (NaN unless exactly two of the four)."""
    out = np.full(len(idx), np.nan)
    if "mc" not in batch.collections or len(idx) == 0:
        return out
    mc = batch["mc"]
    tr = batch["tracks"]
    mci = tr["mc_index"][idx]
    base = mc.offsets[events][:, None]
    valid = mci >= 0
    gi = np.where(valid, base + mci, 0)
    mother = mc["mother1"][gi]
    gm = np.where(valid & (mother >= 0), base + mother, 0)
    from_x = valid & (mother >= 0) & np.isin(np.abs(mc["id"][gm]), x_ids) & (tr["origin"][idx] == 0)
    two = from_x.sum(axis=1) == 2
    psum = (p4 * from_x[:, :, None]).sum(axis=1)
    out[two] = _mass(psum[two])
    return out


def grid_selection(batch: EventBatch) -> np.ndarray:
    """Per-event mask of the full selection without a mass window (for ``fastsim grid``)."""
    sel = select(batch)
    mask = np.zeros(batch.n_events, bool)
    mask[sel.index[np.any(np.isfinite(sel.cand_mass), axis=1)]] = True
    return mask


# ----------------------------------------------------------------------------- samples
@dataclass
class AnalysisSamples:
    """Selected candidates of all files, split into signal points and background.

    ``signal``: per (model, mass): the process, total generated weight (sum, sum of squares),
    selected candidate masses (n, 4), event weights and truth X-pair reco masses.
    ``background``: candidate masses (n, 4) and per-event expected yields at ``lumi_fb``
    (events), with the processes.
    """

    lumi_fb: float
    signal: dict[tuple[str, float], dict[str, object]] = field(default_factory=dict)
    bkg_mass: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    bkg_yield: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bkg_processes: list[ProcessInfo] = field(default_factory=list)
    bkg_expected_total: dict[str, float] = field(default_factory=dict)


def load_samples(
    files: list[Path], lumi_fb: float, cuts: Cuts = Cuts(), chunk_size: int = 50_000
) -> AnalysisSamples:
    """Read every file once, chunk by chunk, and keep the selected candidates.

    Background event weights are normalised per process to sigma x L (events): each event
    carries w sigma L / sum_process(w).
    """
    out = AnalysisSamples(lumi_fb=lumi_fb)
    bm: list[np.ndarray] = []
    bw: list[np.ndarray] = []
    for path in files:
        procs = {p.process_id: p for p in read_processes(path)}
        x_ids = tuple(sorted(set(X_IDS) | {abs(p.x_pdg) for p in procs.values() if p.x_pdg}))
        n_pid = max(procs) + 1
        sw = np.zeros(n_pid)
        sw2 = np.zeros(n_pid)
        per: dict[int, dict[str, list[np.ndarray]]] = {i: {"m": [], "w": [], "t": []} for i in procs}
        for batch in iter_batches(path, chunk_size):
            w = batch.events["weight"].astype(np.float64)
            pid = batch.events["process_id"].astype(np.int64)
            sw += np.bincount(pid, w, n_pid)
            sw2 += np.bincount(pid, w * w, n_pid)
            sel = select(batch, cuts, x_ids)
            spid = pid[sel.index]
            for i in procs:
                m = spid == i
                per[i]["m"].append(sel.cand_mass[m])
                per[i]["w"].append(w[sel.index][m])
                per[i]["t"].append(sel.truth_x_mass[m])
        for i, p in procs.items():
            mass = np.concatenate(per[i]["m"]) if per[i]["m"] else np.zeros((0, 4))
            wsel = np.concatenate(per[i]["w"]) if per[i]["w"] else np.zeros(0)
            if p.is_signal:
                key = (p.model, round(p.mass_gev, 6))
                if key in out.signal:
                    raise ValueError(f"{path}: signal point {key} appears twice")
                out.signal[key] = {
                    "process": p,
                    "sw": sw[i],
                    "sw2": sw2[i],
                    "mass": mass,
                    "w": wsel,
                    "truth": np.concatenate(per[i]["t"]),
                }
            else:
                scale = p.sigma_nb * lumi_fb * 1e6 / sw[i] if sw[i] > 0 else 0.0
                bm.append(mass)
                bw.append(wsel * scale)
                out.bkg_processes.append(p)
                out.bkg_expected_total[p.name] = out.bkg_expected_total.get(p.name, 0.0) + float(
                    (wsel * scale).sum()
                )
    if bm:
        out.bkg_mass = np.concatenate(bm)
        out.bkg_yield = np.concatenate(bw)
    return out
