"""Belle's Level-1 trigger emulation (fastsim/trigger/belle.py, issue #23).

Independent numbers: the helix geometry (a track reaches radius R only if 2 rho > R), Belle's
published hadronic trigger efficiency (each of multi-track, total energy and isolated-cluster
triggers > 96 %, combined > 99.5 %, for multi-hadronic events: A. Abashian et al., NIM A 479
(2002) 117, trigger chapter) and Belle II's emulation on the same barrel muon pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fastsim.cards import load_card
from fastsim.detector.geometry import KIND_CDC, Geometry
from fastsim.pipeline import _Context, plan_chunks, run_chunk
from fastsim.schema import CardError
from fastsim.trigger.belle import axial_crossings

ROOT = Path(__file__).resolve().parents[1]


def _batch(tmp: Path, detector: str, dataset: str, process: str, n: int, seed: int = 5):
    path = tmp / f"{detector}_{process}.yaml"
    path.write_text(
        f"include: [{ROOT}/cards/detectors/{detector}.yaml, {ROOT}/cards/{dataset}]\n"
        f"run: {{seed: {seed}, events: {n}, chunk_size: {n}, output: out.h5, workers: 1}}\n"
        f"dataset: {{name: t, luminosity_fb: 1.0}}\n"
        f"processes:\n  p: {{generator: {process}}}\n"
    )
    card = load_card(path)
    batch, _ = run_chunk(_Context(card), plan_chunks(card)[0])
    return batch


def test_crossings_follow_the_helix_geometry() -> None:
    """A track from the origin reaches radius R only if its diameter 2 rho = 2 pT / (0.3 B)
    exceeds R: with B = 1.5 T the outermost axial superlayer (R_out) needs pT > 0.15 B R_out."""
    card = load_card(ROOT / "cards" / "belle.yaml")
    geom = Geometry.from_card(card["detector"])
    is_cdc = geom.kind == KIND_CDC
    r_out = geom.radius[is_cdc].max()
    pt = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 1.0])
    n = len(pt)
    ch = {"x": np.zeros(n), "y": np.zeros(n), "z": np.zeros(n), "px": pt, "py": np.zeros(n),
          "pz": np.zeros(n), "q": np.ones(n), "s3": np.full(n, np.inf)}  # fmt: skip
    hits, tof, phi0 = axial_crossings(geom, ch, 1.0, (120.0, -70.0, 178.0, 1.0), seed=1)
    assert hits.shape == (n, int(geom.sl_axial.sum()))
    reach_out = 2 * pt / (0.299792458 * geom.bz) * 100 > r_out  # diameter (cm) > R
    np.testing.assert_array_equal(hits[:, -1], reach_out)
    np.testing.assert_array_equal(tof, 2 * pt / (0.299792458 * geom.bz) * 100 > 120.0)
    np.testing.assert_allclose(phi0, 0.0, atol=1e-12)


def test_belle2_trigger_on_the_belle_detector_is_a_card_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"include: [{ROOT}/cards/belle.yaml]\ntrigger: {{emulation: belle2}}\n")
    with pytest.raises(CardError, match="9 CDC superlayers"):
        load_card(path)


def test_hadronic_events_trigger_as_published(tmp_path: Path) -> None:
    """Continuum events passing a multi-hadron selection (>= 5 tracks, E_vis* > 0.2 sqrt(s)):
    HiE and ICN each > 96 % and their OR with the multi-track line > 99.5 % [V, Belle NIM].
    The multi-track line alone is below its published 96 % (92-93 %: the TSC multiplicity it
    needs misses ECL backsplash and neutral hadrons, not emulated): not asserted, reported."""
    b = _batch(tmp_path, "belle", "datasets/belle_y4s.yaml", "ee_qqbar", 3000)
    ev = b.events
    had = (ev["reco_n_tracks"] >= 5) & (ev["reco_e_vis_cm"] > 0.2 * 10.58)
    assert had.sum() > 2000
    eff = {k: float(ev[f"trg_{k}"][had].mean()) for k in ("multi_track", "hie", "icn")}
    comb = float((ev["trg_multi_track"] | ev["trg_hie"] | ev["trg_icn"])[had].mean())
    print(f"Belle, multi-hadron events: {eff}, combined {comb:.4f}")
    assert eff["hie"] > 0.96 and eff["icn"] > 0.96
    assert comb > 0.995
    assert eff["multi_track"] > 0.85


def test_barrel_muon_pairs_trigger_on_belle_close_to_belle2(tmp_path: Path) -> None:
    """e+e- -> mu+mu- with both muons in the barrel (37-123 deg, pT > 0.5 GeV): Belle's
    `triggered` within 0.15 of Belle II's (issue #23's criterion) and above 0.9."""
    out = {}
    for det, beams in (("belle", "datasets/belle_y4s.yaml"), ("belle2", "beams/superkekb_y4s.yaml")):
        b = _batch(tmp_path, det, beams, "ee_mumu", 3000)
        mc = b["mc"]
        mu = (np.abs(mc["id"]) == 13) & (mc["status"] == 1)
        th = np.degrees(np.arctan2(np.hypot(mc["px"], mc["py"]), mc["pz"]))
        good = mu & (th > 37) & (th < 123) & (np.hypot(mc["px"], mc["py"]) > 0.5)
        barrel = np.bincount(mc.event_index()[good], minlength=b.n_events) == 2
        assert barrel.sum() > 800
        out[det] = float(b.events["triggered"][barrel].mean())
    print(f"barrel mu mu triggered: Belle {out['belle']:.3f}, Belle II {out['belle2']:.3f}")
    assert out["belle"] > 0.9
    assert abs(out["belle"] - out["belle2"]) < 0.15
