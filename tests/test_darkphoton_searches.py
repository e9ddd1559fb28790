"""Issue #20, item 4: the dark-photon searches (analysis/darkphoton_ll.py,
analysis/darkphoton_invisible.py) and what they stand on (analysis/kinfit.py; two decay
channels of one signal point joined in analysis/samples.py).

Independent numbers: the 4C fit's chi^2 of Gaussian-smeared exact three-body events follows a
chi^2 distribution with 4 degrees of freedom (mean 4, variance 8); the fitted m(l+ l-) is
narrower than the same events' m(l+ l-) from the raw tracks; the joined point's rate is the sum
of the two processes' cross sections in /meta; two-body e+e- -> gamma gamma cannot pass the
single-photon selection once the missing momentum may not point into an ECL hole (without the
veto it does, through the gaps); e+e- -> gamma gamma gamma events whose other photons both
escape along the beams never enter the category beyond the beams' reach (a kinematic bound).

Units: GeV, cm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis import darkphoton_invisible as inv
from analysis import darkphoton_ll as vis
from analysis.kinfit import fit_to_beams
from analysis.scan import robust_width
from fastsim import kinematics
from fastsim.io import open_events
from tests.conftest import REPO

HEAD = f"""
include: [{REPO}/cards/detectors/belle2.yaml, {REPO}/cards/beams/superkekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 1.0}}
"""


def _run(tmp: Path, name: str, body: str, events: int, seed: int) -> Path:
    from fastsim.cards import load_card
    from fastsim.run import run

    out = tmp / f"{name}.h5"
    card = tmp / f"{name}.yaml"
    card.write_text(
        HEAD + f"run: {{seed: {seed}, events: {events}, chunk_size: {events}, output: {out}}}\n" + body
    )
    run(load_card(card), progress=False)
    return out


def _batch(path: Path):
    with open_events(path) as f:
        return next(iter(f.iter_chunks(1_000_000)))


def test_kinematic_fit_chi2_follows_four_degrees_of_freedom() -> None:
    rng = np.random.default_rng(7)
    n, sqrt_s, m, ml = 20000, 10.58, 2.0, 0.1057
    # gamma A'(-> mu mu) at rest in the CM frame: exact momenta
    e_g = (sqrt_s**2 - m**2) / (2 * sqrt_s)
    d = kinematics.isotropic_directions(n, rng)
    gamma = e_g * d
    a_p4 = np.concatenate([-gamma, np.full((n, 1), np.sqrt(e_g**2 + m**2))], axis=1)
    rest = kinematics.two_body_decay(np.full(n, m), ml, ml, rng)
    leps = kinematics.boost_to_frame_of(rest, a_p4, mass=np.full(n, m))
    p = np.concatenate([gamma[:, None], leps[:, :, :3]], axis=1)
    sig = np.array([0.05, 0.01, 0.02])  # GeV per component
    cov = np.zeros((n, 3, 3, 3))
    for i in range(3):
        cov[:, i] = np.eye(3) * sig[i] ** 2
    beams = np.array([[0.0, 0.0, 0.0, sqrt_s]])
    masses = np.array([0.0, ml, ml])
    exact, chi0 = fit_to_beams(p, cov, masses, beams)
    assert np.max(chi0) < 1e-12 and np.allclose(exact, p, atol=1e-12)
    meas = p + rng.normal(size=p.shape) * sig[None, :, None]
    _, chi2 = fit_to_beams(meas, cov, masses, beams)
    assert chi2.mean() == pytest.approx(4.0, abs=4 * np.sqrt(8 / n))
    assert chi2.var() == pytest.approx(8.0, rel=0.1)


@pytest.fixture(scope="module")
def visible(tmp_path_factory: pytest.TempPathFactory) -> Path:
    body = """
models:
  dark_photon: {mass: 1.0, coupling: 1.0e-3}
processes:
  ee: {generator: ee_gamma_aprime, decay: ee}
  mumu: {generator: ee_gamma_aprime, decay: mumu}
"""
    return _run(tmp_path_factory.mktemp("dpll"), "visible", body, 3000, 21)


def test_fitted_pair_mass_is_narrower_than_the_raw_one(visible: Path) -> None:
    batch = _batch(visible)
    sel = vis.select(batch)
    tr = batch["tracks"]
    first = tr.offsets[sel.index]  # exactly two tracks per selected event
    p = np.stack([tr["px"], tr["py"], tr["pz"]], axis=1)
    ml = np.where(sel.category[:, 0] == 0, vis.M_E, vis.M_MU)
    e = np.sqrt(np.sum(p[first] ** 2, axis=1) + ml**2) + np.sqrt(np.sum(p[first + 1] ** 2, axis=1) + ml**2)
    raw = np.sqrt(e**2 - np.sum((p[first] + p[first + 1]) ** 2, axis=1))
    matched = np.isfinite(sel.truth)
    for c in (0, 1):
        m = matched & (sel.category[:, 0] == c)
        assert m.sum() > 200
        fitted = sel.observable[m, 0]
        assert np.median(fitted) == pytest.approx(1.0, abs=0.002)
        assert robust_width(fitted - np.median(fitted)) < 0.8 * robust_width(raw[m] - np.median(raw[m]))


def test_decay_channels_join_into_one_point(visible: Path) -> None:
    from analysis.io import read_processes
    from analysis.samples import load_samples

    samples = load_samples(vis.DarkPhotonLL(), [visible], 1.0)
    (key,) = samples.signal
    point = samples.signal[key]
    procs = read_processes(visible)
    assert point.process.decay == "ee+mumu"
    assert point.process.sigma_nb == pytest.approx(sum(p.sigma_nb for p in procs), rel=1e-12)
    # the joined efficiency: each channel's selected weight over the summed rate; the same
    # with the file at its own luminosity (weights in events, the per-file path)
    eff = float(point.w.sum() / point.sw)
    assert 0.15 < eff < 0.5
    per_file = load_samples(vis.DarkPhotonLL(), [visible], None).signal[key]
    assert float(per_file.w.sum() / per_file.sw) == pytest.approx(eff, rel=1e-12)


@pytest.fixture(scope="module")
def gammas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("dpinv")
    two = """
processes:
  gg: {generator: ee_gammagamma, photons: 2, cos_theta_max: 0.95, min_photons_in_acceptance: 1}
"""
    three = """
processes:
  ggg: {generator: ee_gammagamma, photons: 3, cos_theta_max: 0.95, min_photons_in_acceptance: 1, e3_min: 0.1}
"""
    return {"two": _run(tmp, "gg", two, 15000, 31), "three": _run(tmp, "ggg", three, 15000, 32)}


def test_two_photon_events_fail_once_holes_are_vetoed(gammas: dict[str, Path]) -> None:
    batch = _batch(gammas["two"])
    assert len(inv.select(batch).index) == 0
    no_veto = inv.Cuts(ecl_holes_deg=())
    assert len(inv.select(batch, no_veto).index) > 0.01 * batch.n_events  # lost in the gaps


def test_beam_escapes_stay_within_reach(gammas: dict[str, Path]) -> None:
    batch = _batch(gammas["three"])
    sel = inv.select(batch)
    assert len(sel.index) > 100
    mc = batch["mc"]
    ev = mc.event_index()
    photon = (mc["id"] == 22) & (mc["status"] == 1)
    theta = np.degrees(np.arctan2(np.hypot(mc["px"], mc["py"]), mc["pz"]))
    in_beam_hole = photon & ((theta < 12.4) | (theta > 155.1))
    n_beam = np.bincount(ev[in_beam_hole], minlength=batch.n_events)
    beyond = sel.index[sel.category[:, 0] == 0]
    both_lost_along_beams = sel.index[n_beam[sel.index] == 2]
    assert len(both_lost_along_beams) > 50
    assert not np.isin(both_lost_along_beams, beyond).any()
