"""Run a search's selection over files: signal points and backgrounds with their weights.

Every file is read once, chunk by chunk (memory independent of the file size); each batch goes
through :meth:`analysis.search.Search.select`, and the selected events' observables and
weights are kept per process.

* A signal point (a process whose ``/meta`` names a model the search interprets) keeps its
  generated weight sums, the selected events' observables, weights and truth-matched values.
  When the signal particle's decay lengths were drawn from a mixture of exponentials, it also
  keeps, for a grid of c*tau values spanning the mixture, the lifetime weights of the selected
  events and the weight sums of all events (:func:`fastsim.decays.mixture_weights`), so that
  the efficiency is known at every c*tau (the grid's lifetime reweighting).
* Backgrounds keep the selected observables and per-event expected yields at the luminosity:
  each event carries w sigma L / sum_process(w) (events).

Units: GeV, cm, ns; cross sections in nb, luminosity in fb^-1 (1 fb^-1 = 1e6 nb^-1).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from analysis.io import ProcessInfo, file_processes, weighted_batches
from analysis.search import Search
from analysis.yields import NB_PER_FB
from fastsim.events import STATUS_DECAYED, EventBatch
from fastsim.io import open_events

__all__ = ["Samples", "SignalPoint", "ctau_grid", "file_dataset", "load_samples"]

#: c*tau values per decade of the reweighting grid of a long-lived signal
CTAU_PER_DECADE = 8


@dataclass
class SignalPoint:
    """One simulated signal point: its process, the generated weight sums, and per selected
    event the observables (n, k), weights and truth-matched values; for a long-lived signal the
    c*tau grid (cm), the lifetime weights of the selected events (n, n_ctau) and the generated
    weight sums at each c*tau."""

    process: ProcessInfo
    sw: float
    sw2: float
    observable: np.ndarray
    w: np.ndarray
    truth: np.ndarray
    ctau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    life_w: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    sw_ctau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sw2_ctau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: searches with channels (:class:`analysis.search.Channels`): per selected event the
    #: candidates' channels and vertex radii (n, k) and the true decay's channel (n,); the
    #: generated weight sums per true channel (n_channels,) and, long-lived, per true channel
    #: and c*tau (n_channels, n_ctau)
    category: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.int64))
    radius: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    sideband: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), bool))
    truth_category: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sw_category: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sw_ctau_category: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    #: per channel the cross section per unit branching fraction of the forced mode (nb) of
    #: the sample that feeds it (NaN: none)
    sigma_unit_category: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def long_lived(self) -> bool:
        return len(self.ctau) > 0


@dataclass
class Samples:
    """All selected events of one analysis: signal points by (model, mass) and the background."""

    lumi_fb: float
    signal: dict[tuple[str, float], SignalPoint] = field(default_factory=dict)
    bkg_observable: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    bkg_yield: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: with channels: the background candidates' channels and vertex radii (n, k)
    bkg_category: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.int64))
    bkg_radius: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    bkg_sideband: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), bool))
    #: per background candidate the number of its probe tracks passing (``Selected.probe_pass``)
    bkg_probe_pass: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.int64))
    bkg_processes: list[ProcessInfo] = field(default_factory=list)
    bkg_expected_total: dict[str, float] = field(default_factory=dict)
    #: factor on the background's sum of squared yields (its Monte-Carlo variance); 1 at the
    #: luminosity the samples were loaded at
    mc_variance_scale: float = 1.0

    def at_luminosity(self, lumi_fb: float) -> Samples:
        """The same samples at another luminosity: background yields scale with L / L_0; their
        Monte-Carlo variance scales with L / L_0 too (not its square), as if the simulated
        background grew with the data in the proportion of the analysis, so that a projection
        measures the data's statistics and the configured systematic rather than the size of
        today's simulated sample."""
        r = lumi_fb / self.lumi_fb
        return replace(
            self,
            lumi_fb=lumi_fb,
            mc_variance_scale=self.mc_variance_scale / r,
            bkg_yield=self.bkg_yield * r,
            bkg_expected_total={k: v * r for k, v in self.bkg_expected_total.items()},
        )


def ctau_grid(mixture: tuple[float, ...]) -> np.ndarray:
    """c*tau values (cm) spanning a mixture's components, a factor 3 beyond each end."""
    lo, hi = min(mixture) / 3.0, max(mixture) * 3.0
    n = max(int(np.ceil(np.log10(hi / lo) * CTAU_PER_DECADE)) + 1, 2)
    return np.geomspace(lo, hi, n)


def _lifetime_weights(batch: EventBatch, pdg: int, ctau: np.ndarray, mixture: np.ndarray) -> np.ndarray:
    """(n_events, n_ctau) product over the event's decayed signal particles of f_ctau(ct)/g(ct)."""
    from fastsim.decays import mixture_weights

    mc = batch["mc"]
    sel = (np.abs(mc["id"]) == abs(pdg)) & (mc["status"] == STATUS_DECAYED)
    ev = mc.event_index()[sel]
    ct = mc["lifetime"][sel]
    out = np.ones((batch.n_events, len(ctau)))
    for j, c in enumerate(ctau):
        wj = np.ones(batch.n_events)
        np.multiply.at(wj, ev, mixture_weights(ct, float(c), mixture))
        out[:, j] = wj
    return out


def file_dataset(path: Path) -> tuple[str, float]:
    """(data-set name, integrated luminosity in fb^-1) of a file's ``/meta``."""
    with open_events(path) as f:
        name = str(f.meta.get("dataset", ""))
        lumi = float(f.meta.get("luminosity_fb", 0.0) or 0.0)
    if not (lumi > 0.0 and np.isfinite(lumi)):
        raise ValueError(f"{path}: /meta gives no positive luminosity_fb (give --lumi)")
    return name, lumi


#: ``run`` keys that do not change what a sample is: files of one card differing only in these
#: are parts of one sample (:func:`sample_identity`)
_SPLIT_KEYS = ("seed", "events", "output", "workers", "chunk_size", "float32", "drop", "compression")


def sample_identity(path: Path) -> tuple[str, int | None]:
    """(what the file's sample is, its seed): files whose cards differ only in ``run.seed``
    and the other :data:`_SPLIT_KEYS` are parts of one sample -- a background simulated in
    several runs with different seeds.  A file without its card (a converted external
    sample) is a sample of its own."""
    with open_events(path) as f:
        text = f.meta.get("card")
    card = yaml.safe_load(text) if isinstance(text, str) else None
    if not isinstance(card, dict) or not isinstance(card.get("run"), dict):
        return f"file:{Path(path).resolve()}", None
    run = card["run"]
    seed = run.get("seed")
    card["run"] = {k: v for k, v in run.items() if k not in _SPLIT_KEYS}
    digest = hashlib.sha256(json.dumps(card, sort_keys=True, default=str).encode()).hexdigest()
    return digest, seed if isinstance(seed, int) else None


def load_samples(
    search: Search, files: list[Path], lumi_fb: float | None, chunk_size: int = 50_000
) -> Samples:
    """Read every file once and keep what ``search`` selects (see the module docstring).

    ``lumi_fb`` None: every file counts at its own data set's luminosity (``/meta``), so that
    files of several data sets (e.g. Belle's Y(4S), off-resonance and Y(5S) samples) combine:
    backgrounds are normalised per file, and a signal point simulated once per data set
    becomes one point whose expected yield is sum_d sigma_d eps_d L_d -- stored as the
    luminosity-weighted cross section sigma_eff = sum_d sigma_d L_d / L (its ``sigma_nb``) and
    the efficiency sum_d sigma_d eps_d L_d / (sigma_eff L) over L = the data sets' total.
    Every data set must then hold every signal point (with the same coupling).

    A background simulated in parts (files of one card with different ``run.seed``,
    :func:`sample_identity`) is one sample: each part's events carry w sigma_f L / sum_w
    with sum_w over all the parts of the process, so the parts add up to one luminosity
    instead of one each; the same part twice (same seed) is refused."""
    per_file = lumi_fb is None
    datasets = {}
    #: each file's (data set, luminosity): its own with per_file, the option's otherwise
    file_ds = {path: file_dataset(path) if per_file else ("", float(lumi_fb)) for path in files}
    if per_file:
        for path in files:
            name, lumi = file_ds[path]
            if datasets.get(name, lumi) != lumi:
                raise ValueError(
                    f"{path}: data set {name!r} with {lumi:g} fb^-1, another file says {datasets[name]:g}"
                )
            datasets[name] = lumi
    out = Samples(lumi_fb=sum(datasets.values()) if per_file else float(lumi_fb))
    seen: dict[tuple[str, float], set[str]] = {}
    bo: list[np.ndarray] = []
    bw: list[np.ndarray] = []
    bc: list[np.ndarray] = []
    br: list[np.ndarray] = []
    bs: list[np.ndarray] = []
    bp: list[np.ndarray] = []
    #: background parts: (group, numerator sigma L, selected weights, process) per file and
    #: process, scaled once the group's generated weight sum is known
    parts: list[tuple[tuple, float, np.ndarray, ProcessInfo]] = []
    group_sw: dict[tuple, float] = {}
    part_seeds: dict[tuple, dict[int | None, Path]] = {}
    for path in files:
        dataset, file_lumi = file_ds[path]
        identity, seed = sample_identity(path)
        try:
            procs, signal_ids = file_processes(path, search.signal_ids)
            n_pid = max(procs) + 1
            sw = np.zeros(n_pid)
            sw2 = np.zeros(n_pid)
            per: dict[int, dict[str, list[np.ndarray]]] = {
                i: {"o": [], "w": [], "t": [], "l": [], "c": [], "r": [], "s": [], "tc": [], "pp": []}
                for i in procs
            }
            n_cat = len(getattr(search.region, "names", ())) if hasattr(search.region, "radius_bins") else 0
            # candidate categories of a peak search (MassWindows.categories): kept per candidate
            win_cat = bool(getattr(search.region, "categories", ()))
            sw_cat = np.zeros((n_pid, max(n_cat, 1)))
            llp = {
                i: (ctau_grid(p.ctau_mixture), np.asarray(p.ctau_mixture))
                for i, p in procs.items()
                if p.model in search.models and p.ctau_mixture and p.x_pdg
            }
            life_tot = {i: np.zeros((2, len(g))) for i, (g, _) in llp.items()}
            life_cat = {i: np.zeros((max(n_cat, 1), len(g))) for i, (g, _) in llp.items()}
            for batch, w, pid in weighted_batches(path, n_pid, chunk_size):
                sw += np.bincount(pid, w, n_pid)
                sw2 += np.bincount(pid, w * w, n_pid)
                sel = search.select(batch, signal_ids)
                spid = pid[sel.index]
                lw = {i: _lifetime_weights(batch, procs[i].x_pdg, g, mix) for i, (g, mix) in llp.items()}
                tcat = search.truth_category(batch, signal_ids) if n_cat else None
                if tcat is not None:
                    has = tcat >= 0
                    np.add.at(sw_cat, (pid[has], tcat[has]), w[has])
                for i in procs:
                    m = spid == i
                    per[i]["o"].append(sel.observable[m])
                    per[i]["w"].append(w[sel.index][m])
                    per[i]["t"].append(sel.truth[m])
                    side = sel.sideband if sel.sideband is not None else np.zeros(sel.observable.shape, bool)
                    per[i]["s"].append(side[m])
                    probes = (
                        sel.probe_pass if sel.probe_pass is not None else np.zeros(sel.observable.shape, int)
                    )
                    per[i]["pp"].append(probes[m])
                    if win_cat:
                        per[i]["c"].append(sel.category[m])
                    if tcat is not None:
                        per[i]["c"].append(sel.category[m])
                        per[i]["r"].append(sel.radius[m])
                        per[i]["tc"].append(tcat[sel.index][m])
                    if i in llp:
                        mine = pid == i
                        wl = lw[i][mine] * w[mine, None]
                        life_tot[i][0] += wl.sum(axis=0)
                        life_tot[i][1] += (wl * wl).sum(axis=0)
                        per[i]["l"].append(lw[i][sel.index][m])
                        if tcat is not None:
                            has = tcat[mine] >= 0
                            np.add.at(life_cat[i], tcat[mine][has], wl[has])
            for i, p in procs.items():
                if np.isfinite(p.sum_weight_generated):  # a skim: normalised to what was generated
                    if p.is_signal and p.model in search.models:
                        raise ValueError(
                            f"{path}: signal process {p.name!r} is skimmed (run.skim is for backgrounds)"
                        )
                    sw[i], sw2[i] = p.sum_weight_generated, p.sum_weight2_generated
                obs = _rows(per[i]["o"], np.nan)
                wsel = np.concatenate(per[i]["w"]) if per[i]["w"] else np.zeros(0)
                cat = _rows(per[i]["c"], -1).astype(np.int64)
                rad = _rows(per[i]["r"], np.nan)
                side = _rows(per[i]["s"], 1.0).astype(bool)
                if p.is_signal and p.model in search.models:
                    key = (p.model, round(p.mass_gev, 6))
                    other_decay = key in out.signal and out.signal[key].process.decay != p.decay
                    if other_decay and not n_cat:  # another decay channel of the same point
                        point = SignalPoint(
                            p, float(sw[i]), float(sw2[i]), obs, wsel, np.concatenate(per[i]["t"])
                        )
                        point.sideband, point.category = side, cat
                        if per_file:  # weights in events, as every point of a per-file analysis
                            point = _scaled(point, p.sigma_nb * file_lumi / sw[i] if sw[i] > 0 else 0.0)
                            seen.setdefault(key, set()).add(dataset)
                        out.signal[key] = _decays_joined(out.signal[key], point, path, in_events=per_file)
                        continue
                    if key in out.signal and (not per_file or dataset in seen[key]) and not n_cat:
                        raise ValueError(f"{path}: signal point {key} appears twice")
                    point = SignalPoint(
                        p, float(sw[i]), float(sw2[i]), obs, wsel, np.concatenate(per[i]["t"])
                    )
                    point.sideband = side
                    if win_cat:
                        point.category = cat
                    if n_cat:
                        point.category, point.radius = cat, rad
                        point.truth_category = (
                            np.concatenate(per[i]["tc"]) if per[i]["tc"] else np.zeros(0, int)
                        )
                        point.sw_category = sw_cat[i].copy()
                        point.sigma_unit_category = np.where(
                            point.sw_category > 0, p.sigma_nb / _forced_br(p), np.nan
                        )
                    if i in llp:
                        point.ctau = llp[i][0]
                        point.life_w = np.concatenate(per[i]["l"])
                        point.sw_ctau, point.sw2_ctau = life_tot[i]
                        if n_cat:
                            point.sw_ctau_category = life_cat[i]
                    if n_cat and key in out.signal:  # another channel group of the point
                        if per_file and len(datasets) > 1:
                            raise ValueError(f"{path}: channels of several data sets: give --lumi")
                        out.signal[key] = _merged_channels(out.signal[key], point, path)
                        continue
                    if per_file:
                        point = _scaled(point, p.sigma_nb * file_lumi / sw[i] if sw[i] > 0 else 0.0)
                        if key in out.signal:
                            point = _merged(out.signal[key], point, path)
                        seen.setdefault(key, set()).add(dataset)
                    out.signal[key] = point
                elif not p.is_signal:
                    group = (dataset, p.name, identity)
                    other = part_seeds.setdefault(group, {}).get(seed)
                    if other is not None:
                        raise ValueError(
                            f"{path}: background {p.name!r} is the sample of {other} again (same card "
                            "and seed): give each part of a sample its own run.seed"
                        )
                    part_seeds[group][seed] = path
                    group_sw[group] = group_sw.get(group, 0.0) + float(sw[i])
                    parts.append((group, p.sigma_nb * file_lumi * NB_PER_FB, wsel, p))
                    bo.append(obs)
                    bc.append(cat)
                    br.append(rad)
                    bs.append(side)
                    bp.append(_rows(per[i]["pp"], 0).astype(np.int64))
                    if len(part_seeds[group]) == 1:
                        out.bkg_processes.append(p)
        except (KeyError, IndexError) as exc:  # a field or collection the file lacks
            raise ValueError(f"{path}: missing or malformed field ({exc})") from None
    for group, numerator, wsel, p in parts:
        scale = numerator / group_sw[group] if group_sw[group] > 0 else 0.0
        bw.append(wsel * scale)
        out.bkg_expected_total[p.name] = out.bkg_expected_total.get(p.name, 0.0) + float((wsel * scale).sum())
    if bo:
        out.bkg_observable = _rows(bo, np.nan)
        out.bkg_yield = np.concatenate(bw)
        out.bkg_category = _rows(bc, -1).astype(np.int64)
        out.bkg_radius = _rows(br, np.nan)
        out.bkg_sideband = _rows(bs, 1.0).astype(bool)
        out.bkg_probe_pass = _rows(bp, 0).astype(np.int64)
    if per_file:
        for key, point in out.signal.items():
            missing = sorted(set(datasets) - seen[key])
            if missing:
                raise ValueError(
                    f"signal point {key} is missing in data set(s) {', '.join(map(repr, missing))}"
                )
            # weights are in nb fb^-1 now: sigma_eff = sum_d sigma_d L_d / L
            out.signal[key] = replace(point, process=replace(point.process, sigma_nb=point.sw / out.lumi_fb))
    return out


def _forced_br(p: ProcessInfo) -> float:
    """The branching fraction of the forced mode in a signal sample's sigma: the file's
    ``signal_br``, else 1."""
    return p.signal_br if np.isfinite(p.signal_br) and p.signal_br > 0 else 1.0


def _merged_channels(a: SignalPoint, b: SignalPoint, path: Path) -> SignalPoint:
    """One signal point from two samples that feed disjoint channels (e.g. B+ -> K+ S and
    B0 -> K*0 S at one mass); efficiencies are per channel, so the weights need no common
    normalisation."""
    if np.any((a.sw_category > 0) & (b.sw_category > 0)):
        raise ValueError(f"{path}: signal point ({b.process.model}, {b.process.mass_gev:g}) appears twice")
    joined = _joined(a, b, path)
    joined.sigma_unit_category = np.where(b.sw_category > 0, b.sigma_unit_category, a.sigma_unit_category)
    return joined


def _rows(blocks: list[np.ndarray], fill: float) -> np.ndarray:
    """Row blocks (n_i, k_i) stacked, narrower ones padded with ``fill`` to the widest k."""
    blocks = [b if b.ndim == 2 else b.reshape(-1, 1) for b in blocks]
    k = max((b.shape[1] for b in blocks), default=1)
    padded = [
        np.pad(b.astype(np.float64), ((0, 0), (0, k - b.shape[1])), constant_values=fill) for b in blocks
    ]
    return np.concatenate(padded) if padded else np.zeros((0, k))


def _scaled(point: SignalPoint, a: float) -> SignalPoint:
    """The point with every event weight multiplied by ``a`` (efficiencies unchanged)."""
    return replace(
        point,
        sw=point.sw * a,
        sw2=point.sw2 * a * a,
        w=point.w * a,
        sw_ctau=point.sw_ctau * a,
        sw2_ctau=point.sw2_ctau * a * a,
        sw_category=point.sw_category * a,
        sw_ctau_category=point.sw_ctau_category * a,
    )


def _merged(a: SignalPoint, b: SignalPoint, path: Path) -> SignalPoint:
    """Two data sets' samples of one signal point (weights already in nb fb^-1)."""
    pa, pb = a.process, b.process
    if not np.isclose(pa.coupling, pb.coupling, rtol=1e-9) or pa.decay != pb.decay:
        raise ValueError(
            f"{path}: signal point ({pb.model}, {pb.mass_gev:g}) differs in coupling or decay between data sets"
        )
    return _joined(a, b, path)


def _decays_joined(a: SignalPoint, b: SignalPoint, path: Path, in_events: bool = False) -> SignalPoint:
    """One signal point from samples of its different decay channels (e.g. A' -> e+e- and
    A' -> mu+mu- generated as two processes): both samples' weights in common units -- nb
    (sigma x BR of the channel over its generated weight sum; idempotent for a point already
    joined), or expected events when ``in_events`` (both already scaled so, a per-file
    analysis) -- and the point's rate the sum of the channels', so that an efficiency is
    relative to the summed sigma x BR."""
    pa, pb = a.process, b.process
    if not np.isclose(pa.coupling, pb.coupling, rtol=1e-9):
        raise ValueError(f"{path}: signal point ({pb.model}, {pb.mass_gev:g}) has two couplings")
    if not in_events:
        a = _scaled(a, pa.sigma_nb / a.sw if a.sw > 0 else 0.0)
        b = _scaled(b, pb.sigma_nb / b.sw if b.sw > 0 else 0.0)
    joined = _joined(a, b, path)
    decays = "+".join(sorted(set(pa.decay.split("+")) | {pb.decay}))
    proc = replace(
        pa,
        sigma_nb=pa.sigma_nb + pb.sigma_nb,
        sigma_err_nb=float(np.hypot(pa.sigma_err_nb, pb.sigma_err_nb)),
        n_events=pa.n_events + pb.n_events,
        decay=decays,
    )
    return replace(joined, process=proc)


def _joined(a: SignalPoint, b: SignalPoint, path: Path) -> SignalPoint:
    """One point with both points' events and summed generated weights (``a``'s process); both
    must share the c*tau reweighting grid."""
    if len(a.ctau) != len(b.ctau) or (len(a.ctau) and not np.allclose(a.ctau, b.ctau)):
        raise ValueError(
            f"{path}: signal point ({b.process.model}, {b.process.mass_gev:g}) has another c*tau mixture"
        )

    def cat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Rows of both (a sample without selected events has (0, 1) arrays whatever the width)."""
        return np.concatenate([v for v in (x, y) if len(v)] or [x])

    return replace(
        a,
        sw=a.sw + b.sw,
        sw2=a.sw2 + b.sw2,
        observable=_rows([a.observable, b.observable], np.nan),
        w=np.concatenate([a.w, b.w]),
        truth=cat(a.truth, b.truth),
        life_w=cat(a.life_w, b.life_w) if len(a.ctau) else a.life_w,
        sw_ctau=a.sw_ctau + b.sw_ctau,
        sw2_ctau=a.sw2_ctau + b.sw2_ctau,
        category=_rows([a.category, b.category], -1).astype(np.int64),
        radius=_rows([a.radius, b.radius], np.nan),
        sideband=_rows([a.sideband, b.sideband], 1.0).astype(bool),
        truth_category=np.concatenate([a.truth_category, b.truth_category]),
        sw_category=a.sw_category + b.sw_category,
        sw_ctau_category=a.sw_ctau_category + b.sw_ctau_category,
    )
