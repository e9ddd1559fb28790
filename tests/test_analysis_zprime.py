"""Four-muon analysis end to end on small fastsim samples (issue 7): selection, resolution,
backgrounds, analyze() outputs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis.cli import analyze, read_observed
from analysis.interpretation import model_resolution
from analysis.io import read_processes
from analysis.zprime_4mu import load_samples
from fastsim.cards import load_card
from fastsim.run import run
from tests.conftest import write_card

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {seed: 5, events: 600, chunk_size: 600, output: x.h5, workers: 1}
dataset: {name: test, luminosity_fb: 178.0}
processes:
  zp2: {generator: ee_mumu_zprime, mass: 2.0, coupling: 0.001}
  s5: {generator: ee_mumu_scalar, mass: 5.0, coupling: 0.002}
  sm_4mu: {generator: ee_4mu, events: 1500}
  sm_mumugamma: {generator: ee_mumugamma, events: 400, photon_energy_min: 0.5}
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("zp4mu")
    card = load_card(write_card(tmp, CARD))
    out = tmp / "sample.h5"
    run(card, output=out, workers=1, progress=False)
    return out


def test_processes_told_apart_by_meta(sample: Path) -> None:
    kinds = {p.name: (p.model, p.mass_gev) for p in read_processes(sample)}
    assert kinds["zp2"] == ("zprime", 2.0)
    assert kinds["s5"] == ("scalar", 5.0)
    assert kinds["sm_4mu"][0] == "background"
    assert kinds["sm_mumugamma"][0] == "background"


def test_selection_efficiency_resolution_and_backgrounds(sample: Path) -> None:
    s = load_samples([sample], 178.0)
    zp = s.signal[("zprime", 2.0)]
    eff = zp["w"].sum() / zp["sw"]
    # fastsim grid at 2 GeV (2000 events): 0.59 before the mass window
    assert 0.45 < eff < 0.75
    t = zp["truth"][np.isfinite(zp["truth"])]
    assert abs(np.median(t) - 2.0) < 0.002  # GeV, no mass bias beyond 2 MeV
    res = model_resolution(s, "zprime")
    assert 0.002 < float(res(2.0)) < 0.012  # GeV; 5.5 MeV measured with 2000 events
    # conversions (ee_mumugamma): the prompt-track and electron-ID cuts remove them
    assert s.bkg_expected_total["sm_mumugamma"] < 0.01 * s.bkg_expected_total["sm_4mu"] + 1.0
    # the 4-mu background is normalised to sigma x L: selected yield below the produced one
    p4 = next(p for p in s.bkg_processes if p.name == "sm_4mu")
    produced = p4.sigma_nb * 178.0 * 1e6
    assert 0.1 * produced < s.bkg_expected_total["sm_4mu"] < produced


def test_analyze_outputs_and_coupling_scaling(sample: Path, tmp_path: Path) -> None:
    obs = tmp_path / "obs.csv"
    obs.write_text("mass_gev,observed\n2.0,20\n5.0,40\n")
    out = analyze("zprime_4mu", [sample], 178.0, tmp_path / "res", obs)
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    need = {"model", "mass_gev", "efficiency", "background", "xsec_bf_ul_fb_expected",
            "xsec_bf_ul_fb_expected_m1s", "xsec_bf_ul_fb_expected_p1s", "coupling_ul_expected",
            "xsec_bf_ul_fb_observed", "coupling_ul_observed"}  # fmt: skip
    assert need <= set(rows[0])
    assert {r["model"] for r in rows} == {"zprime", "scalar"}
    for r in rows:
        xs, g = float(r["xsec_bf_ul_fb_expected"]), float(r["coupling_ul_expected"])
        # sigma proportional to g^2: sigma(g_UL) = sigma x BF limit
        assert g**2 * float(r["sigma_bf_unit_coupling_fb"]) == pytest.approx(xs, rel=1e-9)
        assert float(r["xsec_bf_ul_fb_expected_m1s"]) <= xs <= float(r["xsec_bf_ul_fb_expected_p1s"])
    for ext in ("png", "pdf"):
        assert (out.parent / f"limits.{ext}").stat().st_size > 1000
    table = yaml.safe_load((out.parent / "hepdata" / "zprime_limits.yaml").read_text())
    assert table["independent_variables"][0]["header"]["units"] == "GEV"
    assert len(table["dependent_variables"][0]["values"]) == sum(r["model"] == "zprime" for r in rows)
    assert list(yaml.safe_load_all((out.parent / "hepdata" / "submission.yaml").read_text()))
    assert set(read_observed(obs)) == {"zprime", "scalar"}


def test_analyze_rejects_unknown_analysis(sample: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="analysis"):
        analyze("nope", [sample], 178.0, tmp_path, None)
