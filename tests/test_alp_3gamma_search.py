"""Issue #20, item 4: the Belle II three-photon ALP search (analysis/alp_3gamma.py).

Independent numbers: the truth-matched diphoton-mass peak sits at the generated m_a and its
width agrees with the width propagated from the card's ECL energy resolution (sigma(m)/m =
(1/2) sqrt((sigma_E/E)_1^2 + (sigma_E/E)_2^2), angles neglected); the photons of a light a merge
into one cluster when their separation at the ECL face is below the crystal size, so the
selection loses the events in which the generator's photons (MC truth, straight lines to the
ECL face) are closer than that.

Units: GeV, cm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.alp_3gamma import ALP3Gamma, select
from fastsim.io import open_events


def _signal(tmp: Path, mass: float, events: int = 1500) -> Path:
    from fastsim.cards import load_card
    from fastsim.run import run
    from tests.conftest import REPO

    out = tmp / f"alp_{mass}.h5"
    card = tmp / f"alp_{mass}.yaml"
    card.write_text(
        f"""
include: [{REPO}/cards/detectors/belle2.yaml, {REPO}/cards/beams/superkekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 1.0}}
run: {{seed: 11, events: {events}, chunk_size: {events}, output: {out}}}
trigger: {{ecl: {{bhabha_e_min: 1000.0}}}}
models:
  alp: {{mass: {mass}, coupling: 1.0e-3}}
processes:
  sig: {{generator: ee_gamma_alp}}
"""
    )
    run(load_card(card), progress=False)
    return out


def _ecl() -> dict:
    """The Belle II detector card's ECL section (as written in the card)."""
    import yaml

    from tests.conftest import REPO

    return yaml.safe_load((REPO / "cards/detectors/belle2.yaml").read_text())["detector"]["ecl"]


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    tmp = tmp_path_factory.mktemp("alp3g")
    return {m: _signal(tmp, m) for m in (0.05, 1.0)}


def test_search_declares_the_papers_model_and_cl() -> None:
    from analysis import alp_3gamma, darkphoton_invisible, darkphoton_ll
    from fastsim.reco.lists import LIST_CODES

    codes = {alp_3gamma.GAMMA_LIST, darkphoton_ll.GAMMA_LIST, darkphoton_invisible.GAMMA_LIST}
    assert codes == {LIST_CODES["gamma"]}
    s = ALP3Gamma()
    assert s.models == ("alp",)
    assert s.statistics.cl == 0.95


def test_peak_position_and_width_follow_the_ecl_resolution(samples: dict[float, Path]) -> None:
    from fastsim.detector.ecl import energy_resolution

    ecl = _ecl()
    with open_events(samples[1.0]) as f:
        batch = next(iter(f.iter_chunks(100_000)))
    sel = select(batch)
    assert len(sel.index) > 0.3 * batch.n_events  # the selection keeps a sizeable share
    truth = sel.truth[np.isfinite(sel.truth)]
    assert len(truth) > 0.95 * len(sel.index)  # the a's photons are found
    med = np.median(truth)
    assert med == pytest.approx(1.0, abs=0.01)
    # width: a robust estimate (half the 16-84 % range) against the propagated resolution
    # of the MC photons of a (their true energies, the card's sigma_E/E)
    core = 0.5 * (np.percentile(truth, 84) - np.percentile(truth, 16))
    mc = batch["mc"]
    is_a_photon = (mc["id"] == 22) & (mc["mother1"] >= 0)
    mother = np.where(is_a_photon, mc.offsets[mc.event_index()] + np.maximum(mc["mother1"], 0), 0)
    is_a_photon &= mc["id"][mother] == 9900028
    e = mc["e"][is_a_photon].reshape(-1, 2)
    rel = energy_resolution(ecl, e.ravel()).reshape(-1, 2)
    expected = 1.0 * 0.5 * np.median(np.sqrt(rel[:, 0] ** 2 + rel[:, 1] ** 2))
    assert core == pytest.approx(expected, rel=0.3)


def test_light_alp_photons_merge_as_the_geometry_says(samples: dict[float, Path]) -> None:
    """m_a = 0.05 GeV: opening angle >= 2 m / E_a ~ 0.02 rad, ~3 cm at the barrel face, mostly
    below the 5.5 cm crystal: the two photons make one cluster and the event has two photons,
    so it fails (the event index of each MC record is its batch index: no skim here)."""
    ecl = _ecl()
    with open_events(samples[0.05]) as f:
        batch = next(iter(f.iter_chunks(100_000)))
    mc = batch["mc"]
    is_a_photon = mc["id"] == 22
    ev = mc.event_index()
    mother_ok = mc["mother1"] >= 0
    g_mother = mc.offsets[ev] + np.maximum(mc["mother1"], 0)
    is_a_photon &= mother_ok & (mc["id"][g_mother] == 9900028)
    p = np.stack([mc["px"], mc["py"], mc["pz"]], axis=1)[is_a_photon].reshape(-1, 2, 3)
    # straight lines from the IP to the barrel cylinder (or the endcap plane)
    r_face, z_fwd, z_bwd = ecl["inner_radius"], ecl["forward_z"], ecl["backward_z"]
    pt = np.hypot(p[..., 0], p[..., 1])
    t_barrel = r_face / np.maximum(pt, 1e-12)
    t_end = np.where(p[..., 2] > 0, z_fwd, z_bwd) / np.where(p[..., 2] == 0, 1e-12, p[..., 2])
    t = np.minimum(t_barrel, np.abs(t_end))
    x = p * t[..., None]
    separated = np.linalg.norm(x[:, 0] - x[:, 1], axis=1) > ecl["crystal_size"]
    sel = select(batch)
    frac = len(sel.index) / batch.n_events
    # events whose photons hit the face closer than a crystal are (almost) never selected
    # (the smeared face positions can split a pair just below the crystal size)
    merged_events = np.flatnonzero(~separated)
    assert len(merged_events) > 0.5 * batch.n_events
    assert np.isin(sel.index, merged_events).sum() < 0.01 * len(merged_events)
    assert frac < 0.1
    with open_events(samples[1.0]) as f:
        frac_1gev = len(select(next(iter(f.iter_chunks(100_000)))).index) / 1500
    assert frac_1gev > 5 * max(frac, 0.02)
