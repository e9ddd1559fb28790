"""The shared layer beyond mass windows of a prompt signal (issue 14): a long-lived signal's
excluded coupling island through the whole chain, checked against direct simulations at the
island's edges; categories combined in one likelihood."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from analysis import SEARCHES
from analysis.cli import analyze
from analysis.limits import category_limits, upper_limits
from analysis.samples import load_samples
from analysis.search import Categories, MassWindows, Search, Selected
from fastsim.cards import load_card
from fastsim.events import EventBatch
from fastsim.models import get_model
from fastsim.run import run
from tests.conftest import write_card

M_MU = 0.1056583755  # GeV, PDG 2024
G0 = 2.3e-7  # the toy's reference coupling: c*tau(S, 1 GeV) ~ 10 cm
SIGMA0_NB = 8.0e-10  # the toy's production cross section x BF at G0 (user normalisation): ~6 events at best
LUMI = 1000.0

LLP_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: {seed}, events: {events}, chunk_size: {events}, output: llp.h5}}
dataset: {{name: toy, luminosity_fb: 1000.0}}
trigger: {{enabled: false}}
models:
  muonphilic_scalar: {{mass: 1.0, coupling: 2.3e-7}}
particles:
  9900025: {particle}
processes:
  s1: {{generator: particle_gun, pdg: 9900025, p_min: 2.0, p_max: 2.0, cos_theta_min: -0.5,
       cos_theta_max: 0.7, sigma_nb: 8.0e-10, signal_model: muonphilic_scalar, coupling: 2.3e-7}}
"""


class ToyDisplaced(Search):
    """A displaced dimuon vertex 0.5 < r < 40 cm passing the reco vetoes; observable its
    m(mu mu)."""

    name = "toy_displaced"
    title = "toy: a displaced mu+ mu- vertex"
    channel = "S --> MU+ MU- (displaced)"
    models = ("muonphilic_scalar",)
    region: ClassVar[MassWindows] = MassWindows(k=3.0, smooth=2.0, min_mass=2 * M_MU)

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        vx = batch["vertices"]
        ev = vx.event_index()
        ok = vx["selected"] & (vx["r"] > 0.5) & (vx["r"] < 40.0)
        first = np.full(batch.n_events, -1)
        idx = np.flatnonzero(ok)[::-1]
        first[ev[idx]] = idx
        events = np.flatnonzero(first >= 0)
        m = vx["m_mumu"][first[events]]
        truth = np.where(np.isin(np.abs(vx["mc_pdg"][first[events]]), signal_ids), m, np.nan)
        return Selected(events, m, truth)


def _simulate(tmp: Path, name: str, particle: str, events: int, seed: int) -> Path:
    card = load_card(
        write_card(tmp, LLP_CARD.format(seed=seed, events=events, particle=particle), f"{name}.yaml")
    )
    out = tmp / f"{name}.h5"
    run(card, output=out, workers=1, progress=False)
    return out


@pytest.fixture
def toy_displaced():
    SEARCHES.add(ToyDisplaced.name, ToyDisplaced)
    yield ToyDisplaced
    SEARCHES.remove(ToyDisplaced.name)


@pytest.mark.slow
def test_long_lived_island_through_the_chain(tmp_path: Path, toy_displaced: type) -> None:
    mix = "{ctau: 10.0, ctau_mixture: [0.03, 0.1, 0.3, 1.0, 3.0, 10.0]}"
    grid_file = _simulate(tmp_path, "mixture", mix, 8000, 21)
    out = analyze("toy_displaced", [grid_file], LUMI, tmp_path / "res", None)
    with out.open() as fh:
        (row,) = list(csv.DictReader(fh))
    g_lo, g_hi = float(row["coupling_ul_expected"]), float(row["coupling_excl_max_expected"])
    assert 0 < g_lo < g_hi  # an island: both edges
    # no background: every background-only count is 0, the bands collapse onto the median
    assert (
        float(row["coupling_excl_max_expected_p1s"]) == g_hi == float(row["coupling_excl_max_expected_m1s"])
    )
    assert float(row["background"]) == 0.0
    model = get_model("muonphilic_scalar")(mass=1.0, coupling=G0)
    assert float(row["ctau_cm"]) == pytest.approx(float(model.ctau_at(g_lo)), rel=1e-9)
    # no background: the 90% CL limit is 2.303 events; at each edge sigma(g) L eff(c*tau(g)) =
    # 2.303 must hold with the efficiency of an independent simulation at that fixed c*tau
    lo, hi = float(row["window_lo_gev"]), float(row["window_hi_gev"])
    for i, g in enumerate((g_lo, g_hi)):
        ctau = float(model.ctau_at(g))
        direct = _simulate(tmp_path, f"edge{i}", f"{{ctau: {ctau!r}}}", 10000, 40 + i)
        s = load_samples(ToyDisplaced(), [direct], LUMI)
        (point,) = s.signal.values()
        passed = np.any((point.observable >= lo) & (point.observable <= hi), axis=1)
        k = float(point.w[passed].sum())
        eff = k / point.sw
        n_expected = SIGMA0_NB * (g / G0) ** 2 * LUMI * 1e6 * eff
        # measured: lower edge c*tau 1.92 cm, direct eff 0.556 (k = 5555), n = 2.32; upper edge
        # c*tau 0.072 cm, eff 0.0179 (k = 179), n = 2.00 (1.3 combined sigma); tolerance 4
        # standard errors of the direct and of the reweighted efficiency (1/sqrt(k) each)
        assert n_expected == pytest.approx(2.303, rel=4 * math.sqrt(2.0 / k)), (i, ctau, eff, k, n_expected)


# ------------------------------------------------------------------------------ categories
def test_category_limit_of_one_bin_is_the_single_bin_limit() -> None:
    """One category: the engine's single-bin asymptotic CLs (its own closed form)."""
    for b, db, s, n in ((20.0, 2.0, 0.5, 25.0), (400.0, 40.0, 2.0, 420.0), (3.0, 0.3, 1.0, 1.0)):
        one = category_limits(np.array([s]), np.array([b]), np.array([db]), np.array([n]), 0.90)
        ref = upper_limits(b, db, n, 0.90, "asymptotic")
        assert one.expected[0] == pytest.approx(ref.expected[0] / s, rel=1e-6), (b, db, s)
        assert one.observed[0] == pytest.approx(ref.observed[0] / s, rel=1e-6), (b, db, s)


def test_category_limits_against_pyhf() -> None:
    """Two categories against pyhf's own fit (uncorrelated_background, qtilde, asymptotics):
    measured agreement 3e-7 (expected) and 2e-6 (observed)."""
    import warnings

    import pyhf

    s, b, db = [1.0, 0.3], [50.0, 2.0], [5.0, 0.2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = pyhf.simplemodels.uncorrelated_background(signal=s, bkg=b, bkg_uncertainty=db)
        for n in ([50.0, 2.0], [58.0, 5.0]):
            o, e = pyhf.infer.intervals.upper_limits.toms748_scan(
                [*n, *model.config.auxdata], model, 0.1, 60.0, level=0.10, rtol=1e-8, test_stat="qtilde",
                calctype="asymptotics", par_bounds=[(0.0, 200.0), (1e-10, 10.0), (1e-10, 10.0)],
            )  # fmt: skip
            mine = category_limits(np.array(s), np.array(b), np.array(db), np.array(n), 0.90)
            assert mine.expected[0] == pytest.approx(np.sort(np.asarray(e, float)), rel=1e-4)
            assert mine.observed[0] == pytest.approx(float(o), rel=1e-4)


def test_categories_combine() -> None:
    """Two categories with different s/b: the combination beats each alone, and a useless
    category (no signal) changes nothing."""
    s, b, db = np.array([1.0, 0.3]), np.array([50.0, 2.0]), np.array([5.0, 0.2])
    both = category_limits(s, b, db).expected[0, 2]
    each = [category_limits(s[i : i + 1], b[i : i + 1], db[i : i + 1]).expected[0, 2] for i in range(2)]
    assert both < min(each)
    extra = category_limits(np.r_[s, 0.0], np.r_[b, 10.0], np.r_[db, 1.0]).expected[0, 2]
    assert extra == pytest.approx(both, rel=1e-6)


class ToyCategories(Search):
    """Events with at least two muon candidates, in two categories by the number of tracks."""

    name = "toy_categories"
    title = "toy: two or more muons, by track multiplicity"
    channel = "E+ E- --> MU+ MU- X"
    models = ("zprime", "muonphilic_scalar")
    region: ClassVar[Categories] = Categories(names=("four_tracks", "other"))

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        tr = batch["tracks"]
        ev = tr.event_index()
        n_mu = np.bincount(ev[tr["pid_mu"] > 0.5], minlength=batch.n_events)
        n_tr = np.bincount(ev, minlength=batch.n_events)
        events = np.flatnonzero(n_mu >= 2)
        cat = np.where(n_tr[events] == 4, 0.0, 1.0)
        return Selected(events, cat, np.full(len(events), np.nan))


def test_a_category_search_through_analyze(sample: Path, tmp_path: Path) -> None:
    SEARCHES.add(ToyCategories.name, ToyCategories)
    try:
        out = analyze("toy_categories", [sample], 178.0, tmp_path / "cat", None)
    finally:
        SEARCHES.remove(ToyCategories.name)
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["model"] for r in rows} == {"zprime", "muonphilic_scalar"}
    for r in rows:
        e0, e1 = float(r["efficiency_four_tracks"]), float(r["efficiency_other"])
        assert float(r["efficiency"]) == pytest.approx(e0 + e1, rel=1e-12) and e0 > 0.2
        xs = float(r["xsec_bf_ul_fb_expected"])
        assert float(r["xsec_bf_ul_fb_expected_m1s"]) <= xs <= float(r["xsec_bf_ul_fb_expected_p1s"])
        # the combined limit is no weaker than the best category alone
        b = np.array([float(r["background_four_tracks"]), float(r["background_other"])])
        db = np.array([float(r["background_err_four_tracks"]), float(r["background_err_other"])])
        best = min(
            category_limits(np.array([e * 178.0]), b[i : i + 1], db[i : i + 1]).expected[0, 2]
            for i, e in enumerate((e0, e1))
            if e > 0
        )
        assert xs <= best * 1.001
        g = float(r["coupling_ul_expected"])
        assert g**2 * float(r["sigma_bf_unit_coupling_fb"]) == pytest.approx(xs, rel=1e-9)


class _TwoChannelPeak(Search):
    """A peak search with two candidate categories (MassWindows.categories), for the test below."""

    name = "toy_two_channel_peak"
    title = "toy: one resonance in two channels"
    channel = "X --> A, B"
    models = ("zprime",)
    region: ClassVar[MassWindows] = MassWindows(k=2.0, smooth=5.0, categories=("a", "b"))


def test_mass_window_categories_combine_per_window() -> None:
    """Per window and category the efficiency and background are the direct counts; the limit
    is the categories' joint likelihood (category_limits with those numbers), and a category
    without signal leaves the other's limit unchanged.  Synthetic samples, 2 masses."""
    from analysis.interpretation import limit_table
    from analysis.io import ProcessInfo
    from analysis.samples import Samples, SignalPoint

    rng = np.random.default_rng(3)
    res = 0.01
    samples = Samples(lumi_fb=100.0)
    for m in (1.0, 2.0):
        n = 4000
        obs = rng.normal(m, res, n)[:, None]
        cat = (rng.random(n) < 0.3).astype(np.int64)[:, None]  # 70 % in a, 30 % in b
        proc = ProcessInfo(Path("x.h5"), 0, "sig", "toy", 1e-3, 0.0, n, "zprime", m, 0.01, "mumu")
        point = SignalPoint(proc, float(2 * n), float(2 * n), obs, np.ones(n), obs[:, 0].copy())
        point.category = cat  # half of the generated events selected: efficiency 0.5 in total
        samples.signal[("zprime", m)] = point
    nb = 20000
    b_obs = rng.uniform(0.5, 2.5, nb)[:, None]
    b_cat = (rng.random(nb) < 0.8).astype(np.int64)[:, None]  # 20 % in a, 80 % in b
    samples.bkg_observable, samples.bkg_category = b_obs, b_cat
    samples.bkg_yield = np.full(nb, 0.05)
    rows = [r for r in limit_table(_TwoChannelPeak(), samples) if r["simulated"]]
    assert len(rows) == 2
    for r in rows:
        m, lo, hi = r["mass_gev"], r["window_lo_gev"], r["window_hi_gev"]
        v = samples.signal[("zprime", m)]
        inside = (v.observable[:, 0] >= lo) & (v.observable[:, 0] <= hi)
        for c, name in enumerate(("a", "b")):
            assert r[f"efficiency_{name}"] == pytest.approx((inside & (v.category[:, 0] == c)).sum() / v.sw)
            half = hi - lo
            blo, bhi = m - 2.5 * half, m + 2.5 * half  # the 5x wider window
            in_b = (b_obs[:, 0] >= blo) & (b_obs[:, 0] <= bhi) & (b_cat[:, 0] == c)
            assert r[f"background_{name}"] == pytest.approx(0.05 * in_b.sum() * half / (bhi - blo), rel=1e-9)
        # the limit: the joint likelihood with these numbers (MC error of the background:
        # sum of w^2 in the wide window x the width ratio^2, plus 10 % systematic)
        s = np.array([r["efficiency_a"], r["efficiency_b"]]) * 100.0
        b = np.array([r["background_a"], r["background_b"]])
        ratio = 1.0 / 5.0
        n_wide = b / (0.05 * ratio)
        db = np.sqrt(0.05**2 * n_wide * ratio**2 + (0.10 * b) ** 2)
        direct = category_limits(s, b, db, None, 0.90).expected[0, 2]
        assert r["xsec_bf_ul_fb_expected"] == pytest.approx(direct, rel=1e-6)
        assert r["efficiency"] == pytest.approx(r["efficiency_a"] + r["efficiency_b"], rel=1e-9)
    # a channel without signal does not change the other's limit
    only_a = category_limits(np.array([30.0, 0.0]), np.array([50.0, 400.0]), np.array([5.0, 40.0]))
    alone = category_limits(np.array([30.0]), np.array([50.0]), np.array([5.0]))
    assert only_a.expected[0, 2] == pytest.approx(alone.expected[0, 2], rel=1e-6)
