"""Level-1 trigger emulation: segments, 2D finder, neural z trigger, lines and menu.

Expectations are independent of the emulation's code: geometry (stereo-wire displacement
z tan(stereo)/R, the CDC z extents), the published neural-trigger numbers (z resolution of
a few cm, STT p > 0.7 GeV, |z| < 15 cm; detector.md section 4) and the kinematics of the
samples.  Tolerances are stated at each assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from fastsim.detector.geometry import KAPPA
from fastsim.schema import CardError
from fastsim.trigger import fmath as fm
from fastsim.trigger.card import TRIGGER_SCHEMA, default_trigger_card
from fastsim.trigger.finder2d import find_2d
from fastsim.trigger.neuro import MLP
from fastsim.trigger.segments import simulate_segments
from fastsim.trigger.studies import default_stage, gun_mc, llp_mc, run_on, stt_efficiency, z_resolution
from fastsim.trigger.train_neuro import evaluate, load_geometry, main, make_sample

TRG = default_trigger_card()
SG = load_geometry(TRG)


@pytest.fixture(scope="module")
def trig():
    return default_stage()[0]


def _tracks(n, p, theta_deg, z0, r0=0.0, q=1.0, seed=1):
    rng = np.random.default_rng(seed)
    th = np.radians(np.broadcast_to(theta_deg, (n,)))
    ph = rng.uniform(-np.pi, np.pi, n)
    psi = ph  # displaced origins along the flight direction
    return simulate_segments(
        SG, r0 * np.cos(psi), r0 * np.sin(psi), np.broadcast_to(z0, (n,)).astype(float),
        p * np.sin(th) * np.cos(ph), p * np.sin(th) * np.sin(ph), p * np.cos(th),
        np.full(n, q), np.full(n, np.inf), seed,
    )  # fmt: skip


def test_schema_defaults_and_errors():
    assert TRG["neuro"]["z_cut"] == 15.0 and TRG["neuro"]["stt_p_min"] == 0.7
    with pytest.raises(CardError, match="unknown trigger line"):
        TRIGGER_SCHEMA.validate({"menu": {"fof": {}}}, ("trigger",), lambda _p: None)
    with pytest.raises(CardError, match="9 entries"):
        TRIGGER_SCHEMA.validate({"cdc": {"segment_efficiency": [0.9] * 8}}, ("trigger",), lambda _p: None)


def test_segments_follow_geometry():
    # central stiff tracks cross all 9 superlayers; efficiency per TS is the card's 0.951
    seg = _tracks(4000, 3.0, 90.0, 0.0)
    assert abs(seg.hit.mean() - 0.951) < 0.01  # binomial sigma 0.001
    # crossing angle of a track from the IP: sin(alpha) = w R / 2 (|alpha| small for 3 GeV)
    w = seg.helix[:, 0]
    expect = np.arcsin(0.5 * w[:, None] * SG.radius[None, :])
    hit = seg.hit.astype(bool)
    assert np.allclose(seg.alpha[hit], np.broadcast_to(expect, hit.shape)[hit], atol=1e-4)
    # z extents: at theta = 25 deg SL8 (R 105.7 cm) is crossed at z = 227 cm > z_max 157 cm
    seg = _tracks(2000, 3.0, 25.0, 0.0)
    assert seg.hit[:, 8].sum() == 0 and seg.hit[:, 0].mean() > 0.9
    # stereo wires: the hit wire's z = 0 azimuth is displaced by -z tan(stereo)/R from the
    # crossing, to within half a wire pitch
    seg = _tracks(2000, 3.0, 90.0, 30.0)
    for j in (1, 3, 5, 7):
        h = seg.hit[:, j].astype(bool)
        cell = 2 * math.pi / SG.n_wires[j]
        shift = seg.phi[h, j] - 30.0 * SG.tan_stereo[j] / SG.radius[j] - seg.wire[h, j] * cell
        shift = (shift + math.pi) % (2 * math.pi) - math.pi
        assert np.abs(shift).max() <= 0.5 * cell + 1e-5
    # drift times: up to half a cell / v_drift plus the smearing tail (3.46 sigma cut)
    tmax = 0.5 * 2 * math.pi * SG.radius / SG.n_wires / SG.drift_velocity + 3.47 * SG.drift_sigma
    assert (seg.t_drift <= tmax[None, :]).all()


def test_displaced_crossings_lie_on_the_circle():
    # tracks born at r0 up to 60 cm in any direction (backward crossings included): the TS
    # crossing point R (cos phi, sin phi) lies on the track's circle (centre from the
    # production point and the Lorentz force, radius pT / (0.3 B)) and the crossing angle
    # obeys |sin alpha| = |R_hat . (P - C)| / rho
    n = 20000
    rng = np.random.default_rng(5)
    r0, psi, ph = rng.uniform(0, 60, n), rng.uniform(-np.pi, np.pi, n), rng.uniform(-np.pi, np.pi, n)
    pt, q = rng.uniform(0.3, 3.0, n), rng.choice([-1.0, 1.0], n)
    x0, y0, px, py = r0 * np.cos(psi), r0 * np.sin(psi), pt * np.cos(ph), pt * np.sin(ph)
    seg = simulate_segments(SG, x0, y0, np.zeros(n), px, py, np.zeros(n), q, np.full(n, np.inf), 3)
    rho = pt / (KAPPA * SG.bz)
    cx, cy = x0 + q * rho * py / pt, y0 - q * rho * px / pt  # F = q v x B, B along +z
    i, j = np.nonzero(seg.hit)
    assert len(i) > 50000
    phi = seg.phi[i, j].astype(float)
    dx, dy = SG.radius[j] * np.cos(phi) - cx[i], SG.radius[j] * np.sin(phi) - cy[i]
    assert np.abs(np.hypot(dx, dy) - rho[i]).max() < 2e-4 * SG.radius.max()  # float32 phi
    sin_a = np.abs(np.cos(phi) * dx + np.sin(phi) * dy) / rho[i]
    assert np.allclose(np.abs(np.sin(seg.alpha[i, j])), sin_a, atol=1e-5)


def test_inline_math_matches_libm():
    # the kernels' inline arcsine (fdlibm rational) and small-angle atan agree with libm to
    # a few units in the last place
    @njit
    def both(x, y):
        out = np.empty((4, len(x)))
        for k in range(len(x)):
            out[0, k], out[1, k] = fm.asin(x[k]), math.asin(x[k])
            out[2, k], out[3, k] = fm.small_atan(y[k], 1.0 + x[k] * x[k]), math.atan2(y[k], 1.0 + x[k] * x[k])
        return out

    x = np.concatenate([np.linspace(-1, 1, 200001), [0.5, -0.5, np.nextafter(0.5, 0), 0.975, 1e-300]])
    y = np.random.default_rng(1).uniform(-0.05, 0.05, len(x))
    out = both(x, y)
    assert np.all(np.abs(out[0] - out[1]) <= 4 * np.spacing(np.abs(out[1])))
    assert np.all(np.abs(out[2] - out[3]) <= 4 * np.spacing(np.abs(out[3])))


def test_2d_finder_pt_and_displacement():
    found = lambda seg: find_2d(seg, SG, TRG["finder2d"])["found"].mean()
    assert found(_tracks(3000, 2.0, 90.0, 0.0)) > 0.95  # 4 of 5 axial TS at 0.951 each: 0.97
    # pT 0.2 GeV: radius of curvature 44 cm, turns back at 89 cm < SL8: at most 4 axial TS, and
    # below the Hough pT range
    assert found(_tracks(3000, 0.2, 90.0, 0.0)) < 0.01
    # born at r = 60 cm: only SL6, SL8 axial remain
    assert found(_tracks(3000, 2.0, 90.0, 0.0, r0=60.0)) == 0.0
    # the fitted pT of stiff central tracks is within 5% of the truth (core)
    f2 = find_2d(_tracks(3000, 1.0, 90.0, 0.0), SG, TRG["finder2d"])
    assert abs(np.median(f2["pt"][f2["found"]]) - 1.0) < 0.05


def test_neural_z_resolution(trig):
    sig, frac = z_resolution(trig, 6000, seed=11)
    print(
        f"neural z resolution (core sigma, prompt muons 0.5-5 GeV): {sig:.2f} cm, neural fraction {frac:.3f}"
    )
    # published: about 2-3 cm in the core (detector.md 4.4); accept "a few cm"
    assert 1.0 < sig < 4.5
    assert frac > 0.9


def test_stt_efficiency_vs_z0_and_p(trig):
    ez = np.array([-60.0, -30.0, -5.0, 5.0, 30.0, 60.0])
    eff = stt_efficiency(trig, ez, "z0", 2000, seed=21)
    print("STT efficiency vs z0 bins", ez, eff)
    assert eff[2] > 0.85  # plateau |z0| < 5 cm (TS and 2D efficiency ~0.93)
    assert eff[0] < 0.05 and eff[4] < 0.05  # |z0| > 30 cm: 2 sigma beyond the 15 cm cut
    assert eff[1] < eff[2] and eff[3] < eff[2]
    ep = np.array([0.4, 0.6, 0.8, 5.0])
    eff = stt_efficiency(trig, ep, "p", 2000, seed=22)
    print("STT efficiency vs p bins", ep, eff)
    assert eff[0] < 0.03  # below the 0.7 GeV threshold
    assert eff[2] > 0.85  # above it


def test_menu_ee_mumu(tmp_path):
    from fastsim.cards import load_card
    from fastsim.pipeline import _Context, plan_chunks, run_chunk

    card_path = tmp_path / "c.yaml"
    card_path.write_text(
        "include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]\n"
        "run: {seed: 5, events: 1500, chunk_size: 1500, output: out.h5, workers: 1}\n"
        "dataset: {name: t, luminosity_fb: 1.0}\n"
        "processes:\n  mm: {generator: ee_mumu}\n"
    )
    card = load_card(card_path)
    ctx = _Context(card)
    batch, _ = run_chunk(ctx, plan_chunks(card)[0])
    ev = batch.events
    for name in ("trg_ffo", "trg_stt", "trg_hie", "trg_klm_mu", "triggered", "trg_n2d"):
        assert name in ev and len(ev[name]) == batch.n_events
    assert "trg_tracks" in batch.collections
    # both muons well inside the 2D finder's acceptance (45-120 deg lab): ffo and the neural
    # lines must fire (two back-to-back 5 GeV tracks)
    mc = batch["mc"]
    mu = (np.abs(mc["id"]) == 13) & (mc["status"] == 1)
    th = np.degrees(np.arctan2(np.hypot(mc["px"], mc["py"]), mc["pz"]))
    inside = np.bincount(mc.event_index()[mu & (th > 45) & (th < 120)], minlength=batch.n_events) == 2
    print(f"ee->mumu: triggered {ev['triggered'].mean():.3f}, ffo {ev['trg_ffo'].mean():.3f}, "
          f"ffo in acceptance {ev['trg_ffo'][inside].mean():.3f}")  # fmt: skip
    assert inside.sum() > 300
    assert ev["trg_ffo"][inside].mean() > 0.9  # (0.97 per track)^2 = 0.94
    assert ev["trg_ffb"][inside].mean() > 0.9
    assert ev["trg_yy"][inside].mean() > 0.8
    assert ev["triggered"][inside].mean() > 0.95
    assert ev["trg_bhabha"].mean() < 0.01  # muons deposit ~0.2 GeV: no Bhabha veto


def test_llp_track_lines_fall_across_cdc(trig):
    rng = np.random.default_rng(31)
    eff = {}
    for r in (5.0, 30.0, 60.0, 100.0):
        mc = llp_mc(np.full(1500, r), np.zeros(1500), 1.0, 3.0, rng)
        ev = run_on(mc, trig, None, 32).events
        track = np.zeros(mc.n_events, bool)
        for name in ("fff", "ffo", "ffb", "stt", "y", "yy", "yyy"):
            track |= ev[f"trg_{name}"]
        eff[r] = track.mean()
    print("LLP -> mu mu, CDC track lines vs decay radius:", eff)
    assert eff[5.0] > 0.9  # two stiff tracks pointing back to the IP
    assert eff[30.0] < eff[5.0]
    assert eff[60.0] < 0.02 and eff[100.0] < 0.02  # fewer than 4 axial superlayers left


def test_stage_reproducible(trig):
    rng = np.random.default_rng(3)
    n = 500
    mc = gun_mc(
        rng.choice([13, -13], n), rng.uniform(0.5, 3, n), np.full(n, 1.5), rng.uniform(-3, 3, n), np.zeros(n)
    )
    a = run_on(mc, trig, None, 7)
    b = run_on(mc, trig, None, 7)
    c = run_on(mc, trig, None, 8)
    assert a.equals(b)
    assert not np.array_equal(a["trg_tracks"]["z_nn"], c["trg_tracks"]["z_nn"], equal_nan=True)


def test_training_script_and_shipped_weights(tmp_path):
    # the shipped weights' validation numbers are reproduced from their record (same seeds)
    shipped = MLP.load()
    rec = shipped.record
    seeds = np.random.SeedSequence(rec["arguments"]["seed"]).spawn(3)
    valid = make_sample(rec["arguments"]["n_valid"], int(seeds[1].generate_state(1)[0]), SG, TRG)
    got = evaluate(shipped, valid)
    assert got["z_sigma_prompt_cm"] == pytest.approx(rec["validation"]["z_sigma_prompt_cm"], rel=1e-3)
    assert rec["validation"]["z_sigma_prompt_cm"] < 4.5
    # a small retraining with the script: deterministic and it learns z (untrained: the z0
    # spread of a uniform +-50 cm sample, 29 cm)
    args = ["--seed", "5", "--n-train", "40000", "--n-valid", "20000", "--epochs", "4"]
    r1 = main([*args, "--output", str(tmp_path / "a.npz")])
    r2 = main([*args, "--output", str(tmp_path / "b.npz")])
    a, b = MLP.load(str(tmp_path / "a.npz")), MLP.load(str(tmp_path / "b.npz"))
    assert np.array_equal(a.w1, b.w1) and np.array_equal(a.w2, b.w2)
    assert r1["validation"] == r2["validation"]
    assert r1["validation"]["z_sigma_prompt_cm"] < 15.0
    # more data and epochs (the shipped run) give a better network than the small one
    assert rec["validation"]["z_sigma_prompt_cm"] < r1["validation"]["z_sigma_prompt_cm"]
