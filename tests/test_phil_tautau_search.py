"""The leptophilic-scalar search (issue #17 item 5): preselection, candidates, truth matching,
features and the shipped classifier.

Independent numbers: the phi_L daughters' pair mass is the generated mass (reconstructed
within the tracking resolution); the shipped classifier's features match the search's and it
separates the signal of a fresh sample from its background (AUC on samples it was not trained
on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.phil_tautau import CLASSIFIER, FEATURES, PhiLTauTau, features, preselect
from fastsim.io import open_events
from fastsim.run import run

CARD = """
include: [detectors/belle.yaml, datasets/belle_y4s.yaml]
run: {{seed: {seed}, events: {events}, chunk_size: {events}, output: x.h5}}
processes:
  p:
    generator: {generator}
{extra}
"""


def _sample(tmp_path: Path, name: str, generator: str, extra: str, events: int, seed: int) -> Path:
    from fastsim.cards import load_card

    path = tmp_path / f"{name}.yaml"
    path.write_text(CARD.format(seed=seed, events=events, generator=generator, extra=extra))
    out = tmp_path / f"{name}.h5"
    run(load_card(path), output=out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def signal_1gev(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("phil")
    extra = "    mass: 1.0\n    coupling: 1.0\n    decay: ll"
    return _sample(tmp, "sig", "ee_tautau_phil", extra, 1500, 3)


def test_candidates_and_truth_matching(signal_1gev: Path) -> None:
    with open_events(signal_1gev) as f:
        batch = next(f.iter_chunks(10_000))
    events, masses, _pairs = preselect(batch)
    assert 0.1 < len(events) / batch.n_events < 0.6  # 4 tracks, zero charge, a mu+ mu- pair
    from analysis.phil_tautau import _truth_mass

    truth = _truth_mass(batch, masses, _pairs, (9900026,))
    matched = np.isfinite(truth)
    assert matched.mean() > 0.7  # the rest: a phi_L muon unidentified, a tau daughter paired
    # the daughters' pair mass is the generated 1 GeV within the tracking resolution
    assert abs(np.median(truth[matched]) - 1.0) < 0.003
    assert np.percentile(np.abs(truth[matched] - 1.0), 68) < 0.01
    ev, x = features(batch)  # one row per candidate
    assert np.array_equal(np.unique(ev), events) and len(ev) == np.isfinite(masses).sum()
    assert x.shape == (len(ev), len(FEATURES))
    assert np.all(np.isfinite(x))
    n_e, n_mu = x[:, FEATURES.index("n_electrons")], x[:, FEATURES.index("n_muons")]
    assert np.all((n_e >= 2) | (n_mu >= 2))  # a same-flavour pair: the phi_L's or the taus' e+ e-


def test_shipped_classifier_matches_the_features_and_separates(signal_1gev: Path, tmp_path: Path) -> None:
    """The stored model names the search's features in order, and on a fresh signal sample
    and a fresh tau-pair sample (seeds it was not trained on) it separates them (AUC > 0.8)."""
    from analysis.mva import load_classifier, roc_auc

    clf = load_classifier(CLASSIFIER, list(FEATURES))
    bkg = _sample(tmp_path, "tt", "ee_tautau", "", 40_000, 99)
    xs = []
    for path in (signal_1gev, bkg):
        with open_events(path) as f:
            xs.append(np.concatenate([features(b)[1] for b in f.iter_chunks(20_000)]))
    assert len(xs[1]) > 20
    score = clf.score(np.concatenate(xs))
    label = np.r_[np.ones(len(xs[0])), np.zeros(len(xs[1]))].astype(bool)
    assert roc_auc(score, label) > 0.8


def test_a_wrong_classifier_is_refused(tmp_path: Path) -> None:
    import json

    bad = json.loads(CLASSIFIER.read_text())
    bad["feature_names"] = bad["feature_names"][::-1]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"bad\.json"):
        PhiLTauTau(classifier=path).classifier  # noqa: B018


def test_local_pass_fractions_count_each_range() -> None:
    """Two populations, pass probability 0.01 below 1 GeV and 0.2 above: the fraction around
    each mass is its own population's, against a direct count per range."""
    from analysis.interpretation import local_pass_fractions

    rng = np.random.default_rng(4)
    m = rng.uniform(0.0, 2.0, 200_000)
    passed = rng.random(len(m)) < np.where(m < 1.0, 0.01, 0.2)
    loose, full = m[:, None], np.where(passed, m, np.nan)[:, None]
    lo, hi = np.array([0.2, 1.2, 0.9]), np.array([0.8, 1.8, 1.1])
    r, dr = local_pass_fractions(loose, full, lo, hi)
    for j in range(3):
        inside = (m >= lo[j]) & (m <= hi[j])
        assert r[j] == pytest.approx((passed[inside].sum() + 0.5) / (inside.sum() + 1))
    assert abs(r[0] - 0.01) < 3 * dr[0] and abs(r[1] - 0.2) < 3 * dr[1]


def test_prompt_plateau_gives_the_prompt_coupling_limit() -> None:
    """A flat efficiency eps over the lifetime grid: with the prompt plateau the lower edge of
    the excluded xi is the prompt one, sqrt(n_ul / (sigma(xi=1) L eps)), although c*tau(xi) is
    far below the grid; without it nothing is excluded."""
    from analysis.coupling import coupling_band
    from analysis.interpretation import prompt_extended
    from analysis.yields import NB_PER_FB
    from fastsim.models import get_model

    point = get_model("leptophilic_scalar")({"mass": 1.0, "coupling": 1.0})
    grid = np.geomspace(1e-4, 100.0, 7)
    eps, n_ul, sig1, lumi = 0.1, 3.0, 1.5e-6, 626.0
    lo, _ = coupling_band(n_ul, lumi, sig1, point, *prompt_extended(grid, np.full(7, eps)))
    assert lo == pytest.approx(np.sqrt(n_ul / (sig1 * NB_PER_FB * lumi * eps)), rel=1e-3)
    assert point.ctau_at(lo) < 1e-4
    assert np.isnan(coupling_band(n_ul, lumi, sig1, point, grid, np.full(7, eps))[0])
