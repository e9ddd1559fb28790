"""Issue #19: the dark-Higgs signal in B -> K(*) S and the search b2ks_llp (arXiv:2306.02830).

Independent numbers: the generator's rate against the model's BR(B -> K(*) S) times the
Upsilon(4S) pair fractions; the K*0 helicity distribution in B0 -> K*0 S (cos^2 theta, <cos^2>
= 3/5, against 1/3 for a flat decay); the channel limits on a synthetic sample against the
zero-background Poisson limit N_UL = -ln(0.05) = 2.996 at 95 % CL; the background estimate of
the loose box against a count by hand; a skimmed background file normalised as the unskimmed
one (identical events, same seed).

Units: GeV, cm, ns; cross sections in nb.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis.b2ks_llp import B2KSLLP, CHANNELS, truth_channel
from analysis.channel_limits import box_fraction, channel_table, daughter_branching_fraction
from analysis.io import ProcessInfo, read_processes
from analysis.samples import Samples, SignalPoint, load_samples
from analysis.search import Channels, Statistics
from analysis.yields import NB_PER_FB
from fastsim import kinematics
from fastsim.cards import load_card
from fastsim.io import open_events
from fastsim.models.dark_higgs import DarkHiggs
from fastsim.run import run

ROOT = Path(__file__).resolve().parents[1]


def _card(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SIGNAL = """
include: [{root}/cards/detectors/belle2.yaml, {root}/cards/beams/superkekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 189.0}}
run: {{seed: 7, events: {n}, chunk_size: {n}, output: {out}}}
models:
  dark_higgs: {{mass: {mass}, coupling: 1.0e-4}}
particles:
  9900027:
    ctau: 1.0
    drop_closed_modes: true
    decays:
      - {{br: 0.25, daughters: [11, -11]}}
      - {{br: 0.25, daughters: [13, -13]}}
      - {{br: 0.25, daughters: [211, -211]}}
      - {{br: 0.25, daughters: [321, -321]}}
reco:
  displaced: {{min_radius: 0.0, min_cos_pointing: -1.0}}
processes:
  sig: {{generator: ups4s_bbbar, signal_decay: "{mode}"}}
  generic: {{generator: ups4s_bbbar, events: 200}}
"""


@pytest.fixture(scope="module")
def kstar_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("b2ks")
    out = tmp / "kst.h5"
    card = _card(tmp, "kst.yaml", SIGNAL.format(root=ROOT, n=3000, out=out, mass=1.0, mode="B0 -> K*0 S"))
    run(load_card(card), progress=False)
    return out


def test_signal_rate_is_the_models_branching_fraction(kstar_sample: Path) -> None:
    """sigma(signal) / sigma(generic B Bbar) = f_00 x 2 x BR(B0 -> K*0 S) (model, Ball-Zwicky)."""
    procs = {p.name: p for p in read_processes(kstar_sample)}
    sig, gen = procs["sig"], procs["generic"]
    br = DarkHiggs({"mass": 1.0, "coupling": 1e-4}).production()["B0 -> K*0 S"]
    f00 = 0.483122645 / (0.515122645 + 0.483122645)  # DECAY_BELLE2.DEC, as the generator
    want = f00 * 2 * br
    got = sig.sigma_nb / gen.sigma_nb
    # both cross sections are Monte-Carlo integrals of the same line shape: within 3 sigma of
    # their integration errors (about 1 % here)
    rel = math.hypot(sig.sigma_err_nb / sig.sigma_nb, gen.sigma_err_nb / gen.sigma_nb)
    assert got == pytest.approx(want, rel=3 * rel)
    assert rel < 0.02
    assert sig.model == "dark_higgs" and sig.x_pdg == 9900027 and sig.mass_gev == 1.0
    assert sig.signal_br == pytest.approx(br, rel=1e-9)
    assert not gen.is_signal


def test_kstar_from_b_to_kstar_s_is_longitudinal(kstar_sample: Path) -> None:
    """B0 -> K*0 S: the K*0 has helicity 0, so K*0 -> K pi goes as cos^2 theta_hel:
    <cos^2> = 3/5 (flat: 1/3); 3000 events give +-0.006."""
    with open_events(kstar_sample) as f:
        batch = next(f.iter_chunks(10_000))
    mc = batch["mc"]
    ev = mc.event_index()
    p4 = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1)
    base = mc.offsets[ev]
    is_kst = (np.abs(mc["id"]) == 313) & (np.abs(mc["id"][base + np.maximum(mc["mother1"], 0)]) == 511)
    is_kst &= batch.events["process_id"][ev] == 0
    kst = np.flatnonzero(is_kst)
    kst = kst[np.abs(mc["id"][base[kst] + mc["mother1"][kst]]) == 511]
    # the K+- daughter of each such K*0
    child = np.flatnonzero(
        (np.abs(mc["id"]) == 321) & np.isin(base + mc["mother1"], kst) & (mc["mother1"] >= 0)
    )
    parent = base[child] + mc["mother1"][child]
    order = np.argsort(parent)
    child, parent = child[order], parent[order]
    b = base[parent] + mc["mother1"][parent]
    k_rest = kinematics.boost_to_rest_frame(p4[child], p4[parent])
    b_rest = kinematics.boost_to_rest_frame(p4[b], p4[parent])
    cos = -np.sum(k_rest[:, :3] * b_rest[:, :3], axis=1) / (
        np.linalg.norm(k_rest[:, :3], axis=1) * np.linalg.norm(b_rest[:, :3], axis=1)
    )
    assert len(cos) > 1000
    assert np.mean(cos**2) == pytest.approx(0.6, abs=0.03)


def test_truth_channels_follow_the_decay_table(kstar_sample: Path) -> None:
    """Flat S -> ee, mumu, pipi, KK at 1 GeV: each B0 channel holds 1/4 of the signal events."""
    with open_events(kstar_sample) as f:
        batch = next(f.iter_chunks(10_000))
    tc = truth_channel(batch)[batch.events["process_id"] == 0]
    n = len(tc)
    for c in range(4, 8):
        frac = np.mean(tc == c)
        assert frac == pytest.approx(0.25, abs=4 * math.sqrt(0.25 * 0.75 / n)), CHANNELS[c][0]
    assert np.all(tc >= 4)  # B0 channels only
    assert daughter_branching_fraction(313, (321, -211)) == pytest.approx(2 / 3, abs=0.002)


def _point(
    n: int, masses: np.ndarray, cats: np.ndarray, truth_cat: np.ndarray, unit_nb: float
) -> SignalPoint:
    proc = ProcessInfo(
        Path("x.h5"), 0, "sig", "ups4s_bbbar", unit_nb, 0.0, n, "dark_higgs", 1.0, 1e-4, "B+ -> K+ S"
    )
    obs = masses[:, None]
    return SignalPoint(
        proc,
        float(n),
        float(n),
        obs,
        np.ones(n),
        masses.copy(),
        category=cats[:, None],
        radius=np.full((n, 1), 5.0),
        sideband=np.zeros((n, 1), bool),
        truth_category=truth_cat,
        sw_category=np.bincount(truth_cat[truth_cat >= 0], minlength=2).astype(float) * 2,
        sigma_unit_category=np.array([unit_nb, unit_nb]),
    )


def test_channel_limits_against_the_zero_background_poisson_limit() -> None:
    """Synthetic: channel A has 1000 true events of which 600 selected in the window (the
    denominators count 2000 generated); no background -> BR x BR < 2.996 / (L sigma eff)."""
    rng = np.random.default_rng(3)
    n = 600
    masses = 1.0 + 0.002 * rng.standard_normal(n)
    cats = np.zeros(n, np.int64)
    truth = np.zeros(n, np.int64)
    region = Channels(names=("A", "B"), k=2.0, smooth=5.0, thresholds={"A": 0.0, "B": 0.0})
    samples = Samples(lumi_fb=189.0)
    samples.signal[("dark_higgs", 1.0)] = _point(n, masses, cats, truth, unit_nb=1e-3)
    samples.bkg_observable = np.zeros((0, 1))
    samples.bkg_category = np.zeros((0, 1), np.int64)
    samples.bkg_radius = np.zeros((0, 1))
    samples.bkg_sideband = np.zeros((0, 1), bool)
    rows = channel_table(region, Statistics(cl=0.95, method="cls", rel_bkg_sys=0.0), samples, "dark_higgs")
    row = next(r for r in rows if r["channel"] == "A" and r["simulated"])
    eff = row["efficiency"]
    # +-2 sigma of a Gaussian: 95.4 % of the 600 selected over the 1200 true-A weight (2 x 600)
    assert eff == pytest.approx(0.5 * 0.954, abs=0.02)
    want = -math.log(0.05) / (189.0 * NB_PER_FB * 1e-3 * eff)
    assert row["br_ul_expected"] == pytest.approx(want, rel=1e-3)
    assert not any(r["channel"] == "B" for r in rows)  # no truth-matched candidates: no resolution


def test_loose_box_background_is_scaled_by_the_box_fraction() -> None:
    """Background: 40 loose-box events, 10 of them in the signal box (all at other masses but
    the group's): the window's loose count times (10 + 1/2) / (40 + 1)."""
    region = Channels(names=("A",), sideband_groups=(("A",),))
    s = Samples(lumi_fb=1.0)
    side = np.r_[np.zeros(10, bool), np.ones(30, bool)]
    s.bkg_observable = np.r_[np.full(10, 3.0), np.full(30, 2.0)][:, None]
    s.bkg_category = np.zeros((40, 1), np.int64)
    s.bkg_radius = np.ones((40, 1))
    s.bkg_sideband = side[:, None]
    s.bkg_yield = np.full(40, 7.0)
    r, dr = box_fraction(s, region, 0)
    assert r == pytest.approx(10.5 / 41)
    assert dr == pytest.approx(math.sqrt(r * (1 - r) / 41))


def test_search_is_registered_with_the_papers_channels() -> None:
    s = B2KSLLP()
    assert s.region.names == (
        "BKee",
        "BKmumu",
        "BKpipi",
        "BKKK",
        "B0Kstee",
        "B0Kstmumu",
        "B0Kstpipi",
        "B0KstKK",
    )
    assert s.statistics.cl == 0.95


BKG = """
include: [{root}/cards/detectors/belle2.yaml, {root}/cards/beams/superkekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 189.0}}
run: {{seed: 11, events: 20000, chunk_size: 5000, output: {out}, selection: "analysis.b2ks_llp:skim_selection",
       skim: {skim}}}
reco:
  displaced: {{min_radius: 0.0, min_cos_pointing: -1.0}}
processes:
  bbbar: {{generator: ups4s_bbbar}}
"""


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """The same 20000 B Bbar events written whole and as the search's skim."""
    tmp = tmp_path_factory.mktemp("bkg")
    out = {}
    for skim in (False, True):
        path = tmp / f"bkg_{skim}.h5"
        card = _card(tmp, f"b{skim}.yaml", BKG.format(root=ROOT, out=path, skim=str(skim).lower()))
        run(load_card(card), progress=False)
        out[skim] = path
    return out


def test_a_skimmed_background_is_normalised_as_the_full_file(backgrounds: dict[bool, Path]) -> None:
    """Same seed with and without run.skim: the skim holds exactly the selected events, /meta
    the generated sums, and the search sees the same expected background."""
    with open_events(backgrounds[True]) as f:
        meta = f.meta
        n_skim = f.n_events
    with open_events(backgrounds[False]) as f:
        n_sel = int(np.sum(f.read_events().events["selected"]))
    proc = meta["processes"][0]
    assert proc["n_generated"] == 20000 and proc["n_events"] == n_skim < 2000
    assert proc["sum_weight_generated"] == pytest.approx(20000.0)
    assert n_sel == n_skim
    full = load_samples(B2KSLLP(), [backgrounds[False]], 189.0)
    skimmed = load_samples(B2KSLLP(), [backgrounds[True]], 189.0)
    assert len(skimmed.bkg_yield) > 0
    assert skimmed.bkg_yield.sum() == pytest.approx(full.bkg_yield.sum(), rel=1e-12)
    assert np.array_equal(
        np.nan_to_num(skimmed.bkg_observable, nan=-1), np.nan_to_num(full.bkg_observable, nan=-1)
    )


def test_the_search_end_to_end(backgrounds: dict[bool, Path], tmp_path: Path) -> None:
    """A two-mass grid with a lifetime axis and the skimmed background through
    ``fastsim analyze b2ks_llp``: per-channel rows at the grid's c*tau values with finite
    limits where the channel is open, sin theta rows, the figures and HEPData."""
    raw = yaml.safe_load((ROOT / "cards" / "b2ks_llp_grid.yaml").read_text())
    raw["include"] = [str(ROOT / "cards" / x) for x in raw["include"]]
    raw["models"]["dark_higgs"]["mass"] = {"values": [0.5, 1.5]}
    raw["particles"][9900027]["ctau"] = {"logspace": [0.01, 10.0, 4]}
    raw["run"].update(events=600, chunk_size=600)
    raw["grid"]["output_dir"] = str(tmp_path / "grid")
    card = tmp_path / "grid.yaml"
    card.write_text(yaml.safe_dump(raw))
    cmd = [sys.executable, "-m", "fastsim"]
    res = subprocess.run([*cmd, "grid", str(card), "--quiet"], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    files = sorted(str(p) for p in (tmp_path / "grid").glob("task_*.h5"))
    out = tmp_path / "limits"
    res = subprocess.run(
        [
            *cmd,
            "analyze",
            "b2ks_llp",
            *files,
            str(backgrounds[True]),
            "--lumi",
            "189",
            "-o",
            str(out),
            "--projections",
            "50000",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    import csv

    with (out / "limits.csv").open() as f:
        rows = list(csv.DictReader(f))
    chans = {r["channel"] for r in rows}
    assert {"BKee", "BKmumu", "BKpipi", "B0Kstee", "B0Kstmumu", "B0Kstpipi", "combined"} <= chans
    # K K is closed at 0.5 GeV: one simulated mass, one row per c*tau
    assert {float(r["mass_gev"]) for r in rows if r["channel"] == "BKKK"} == {1.5}
    ctaus = sorted({float(r["ctau_cm"]) for r in rows if r["channel"] == "BKmumu"})
    assert ctaus == pytest.approx([0.01, 0.1, 1.0, 10.0])
    sim = [
        r
        for r in rows
        if r["channel"] == "BKmumu" and r["simulated"] == "True" and float(r["ctau_cm"]) == 1.0
    ]
    assert sim and all(0.0 < float(r["efficiency"]) < 1.0 for r in sim)
    assert all(np.isfinite(float(r["br_ul_expected"])) for r in sim)
    comb = [r for r in rows if r["channel"] == "combined"]
    assert any(np.isfinite(float(r["coupling_ul_expected"])) for r in comb)
    for f in ("br_limits.png", "efficiency.png", "limits.png", "projections.csv", "hepdata/submission.yaml"):
        assert (out / f).exists(), f


def test_closed_modes_need_the_card_flag(tmp_path: Path) -> None:
    text = SIGNAL.format(root=ROOT, n=10, out=tmp_path / "x.h5", mass=0.1, mode="B+ -> K+ S")
    raw = yaml.safe_load(text)
    del raw["particles"][9900027]["drop_closed_modes"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    res = subprocess.run(
        [sys.executable, "-m", "fastsim", "validate", str(bad)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 2
    assert "threshold" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    ok = _card(tmp_path, "ok.yaml", text)
    res = subprocess.run(
        [sys.executable, "-m", "fastsim", "validate", str(ok)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
