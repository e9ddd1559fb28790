"""The classifier facility (analysis/mva.py): separation against an analytic AUC, feature checks,
bit-for-bit reproducibility, the overtraining check, the JSON file, and ``fastsim train``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy.stats import norm

from analysis import SEARCHES
from analysis.mva import (
    FORMAT_VERSION,
    load_classifier,
    roc_auc,
    search_training_data,
    stratified_split,
    train_classifier,
    train_search,
)
from analysis.search import Search
from fastsim.cli import main
from fastsim.events import Collection, EventBatch
from fastsim.io import EventFileWriter

FEATURES = ["x0", "x1"]
#: mean separation of the two Gaussians (unit covariance) along x0
DELTA = 1.5


def gaussians(n: int, seed: int, delta: float = DELTA) -> tuple[np.ndarray, np.ndarray]:
    """n background events N((0, 0), 1) (class 0) and n signal events N((delta, 0), 1) (class 1)."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + np.array([delta, 0.0])])
    return X, np.repeat([0, 1], n)


# --------------------------------------------------------------------------- separation


def test_binary_auc_matches_the_bayes_optimal_value() -> None:
    """Two unit Gaussians Delta apart: the best possible AUC is Phi(Delta / sqrt(2)) = 0.856."""
    X, y = gaussians(50_000, seed=1)
    clf = train_classifier(X, y, None, FEATURES, ["background", "signal"], seed=3)
    analytic = float(norm.cdf(DELTA / np.sqrt(2)))
    assert analytic == pytest.approx(0.8556, abs=1e-4)
    assert clf.test_auc is not None
    assert abs(clf.test_auc - analytic) < 0.01
    assert clf.test_auc > 0.84
    # sharper: on the very same test events the optimal discriminant (x0) does at most a little better
    _, test = stratified_split(y, 3, 0.3)
    optimal = roc_auc(X[test, 0], y[test] == 1)
    assert optimal - 0.004 < clf.test_auc <= optimal + 0.001
    assert clf.counts["test"] == {"background": 15_000, "signal": 15_000}
    # x0 carries all the information
    assert clf.importance_gain["x0"] > 20 * clf.importance_gain["x1"]


def test_event_weights_are_used() -> None:
    """Weights that remove half of the signal (w = 0 for x0 > Delta) change what is learned:
    signal events beyond Delta then look like background."""
    X, y = gaussians(5_000, seed=2)
    w = np.where((y == 1) & (X[:, 0] > DELTA), 0.0, 1.0)
    clf = train_classifier(X, y, w, FEATURES, ["background", "signal"], seed=1)
    plain = train_classifier(X, y, None, FEATURES, ["background", "signal"], seed=1)
    far = np.array([[4.0, 0.0]])
    assert clf.score(far)[0] < 0.5 < plain.score(far)[0]


def test_multiclass_separates_three_gaussians() -> None:
    rng = np.random.default_rng(4)
    means = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    n = 3_000
    X = np.concatenate([rng.normal(size=(n, 2)) + m for m in means])
    y = np.repeat([0, 1, 2], n)
    clf = train_classifier(X, y, None, FEATURES, ["a", "b", "c"], seed=1)
    _, test = stratified_split(y, 1, 0.3)
    scores = clf.score(X[test])
    assert scores.shape == (len(test), 3)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-9)
    accuracy = np.mean(np.argmax(scores, axis=1) == y[test])
    assert accuracy > 0.95
    assert clf.test_auc is None and set(clf.ks_pvalue) == {"a", "b", "c"}


def test_roc_auc_counts_ties_as_one_half_and_uses_weights() -> None:
    assert roc_auc(np.array([0.0, 1.0]), np.array([False, True])) == 1.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([False, True])) == 0.5
    s = np.array([0.1, 0.2, 0.3])
    sig = np.array([False, True, False])
    assert roc_auc(s, sig) == 0.5
    assert roc_auc(s, sig, np.array([3.0, 1.0, 1.0])) == pytest.approx(0.75)


def test_bad_training_input_is_refused() -> None:
    X, y = gaussians(100, seed=1)
    with pytest.raises(ValueError, match="class 'signal' has 0 events"):
        train_classifier(X[:100], y[:100], None, FEATURES, ["background", "signal"], seed=1)
    with pytest.raises(ValueError, match="2 features"):
        train_classifier(X[:, :1], y, None, FEATURES, ["background", "signal"], seed=1)
    with pytest.raises(ValueError, match="finite"):
        train_classifier(X, y, np.full(len(y), np.nan), FEATURES, ["background", "signal"], seed=1)


# --------------------------------------------------------------------------- the file


@pytest.fixture(scope="module")
def small_clf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = gaussians(2_000, seed=5)
    path = tmp_path_factory.mktemp("mva") / "model.json"
    train_classifier(X, y, None, FEATURES, ["background", "signal"], seed=2).save(path)
    return path


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (["x0", "y1"], ["missing x1", "not in the model y1"]),
        (["x1", "x0"], ["another order", "x1 (model: x0)"]),
        (["x0"], ["missing x1"]),
        (["x0", "x1", "x2"], ["not in the model x2"]),
    ],
)
def test_a_feature_mismatch_is_refused_naming_the_file(
    small_clf_path: Path, given: list[str], words: list[str]
) -> None:
    with pytest.raises(ValueError) as info:
        load_classifier(small_clf_path, given)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(small_clf_path))
    for w in words:
        assert w in message
    assert load_classifier(small_clf_path, FEATURES).feature_names == FEATURES


def test_save_and_load_round_trip_without_pickle(small_clf_path: Path) -> None:
    X, _ = gaussians(500, seed=9)
    clf = load_classifier(small_clf_path)
    again = tmp = small_clf_path.with_name("again.json")
    clf.save(tmp)
    np.testing.assert_array_equal(load_classifier(again).score(X), clf.score(X))
    raw = small_clf_path.read_bytes()
    doc = json.loads(raw)
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["feature_names"] == FEATURES and doc["class_names"] == ["background", "signal"]
    assert doc["model"].startswith("tree\nversion=")  # LightGBM's text format
    assert doc["params"]["deterministic"] is True and doc["seed"] == 2
    assert set(doc["ks_pvalue"]) == {"background", "signal"} and 0.5 < doc["test_auc"] < 1.0
    assert doc["counts"]["train"]["signal"] + doc["counts"]["test"]["signal"] == 2_000
    assert b"pickle" not in raw and b"\x80\x04" not in raw and raw.isascii()
    assert again.read_bytes() == raw


def test_wrong_format_version_and_corrupt_files_are_refused(small_clf_path: Path, tmp_path: Path) -> None:
    doc = json.loads(small_clf_path.read_text())
    doc["format_version"] = FORMAT_VERSION + 1
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=rf"newer.json: classifier format version {FORMAT_VERSION + 1}"):
        load_classifier(newer)
    doc["format_version"] = FORMAT_VERSION
    doc["model"] = "tree\nnot a model"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"broken.json: "):
        load_classifier(broken)
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x80\x04not json")
    with pytest.raises(ValueError, match=r"garbage.json: not a readable classifier file"):
        load_classifier(garbage)


# --------------------------------------------------------------------------- reproducibility


def test_training_is_reproducible_bit_for_bit(tmp_path: Path) -> None:
    X, y = gaussians(3_000, seed=6)
    w = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    params = {"feature_fraction": 0.8, "bagging_fraction": 0.7, "bagging_freq": 1}  # random parts on
    paths = []
    for i, seed in enumerate((11, 11, 12)):
        clf = train_classifier(X, y, w, FEATURES, ["background", "signal"], seed=seed, params=params)
        paths.append(clf.save(tmp_path / f"m{i}.json"))
    a, b, c = (json.loads(p.read_text()) for p in paths)
    assert a["model"] == b["model"] and paths[0].read_bytes() == paths[1].read_bytes()
    np.testing.assert_array_equal(load_classifier(paths[0]).score(X), load_classifier(paths[1]).score(X))
    assert a["model"] != c["model"]
    assert not np.array_equal(load_classifier(paths[0]).score(X), load_classifier(paths[2]).score(X))


# --------------------------------------------------------------------------- overtraining


def test_overtraining_shows_in_the_ks_p_value() -> None:
    """Deep trees on 400 events learn every training event (small p); the default configuration
    on 20 000 events scores train and test events alike (p > 0.01)."""
    deep = {"num_leaves": 64, "num_iterations": 500, "min_data_in_leaf": 1, "min_data_in_bin": 1}
    deep["learning_rate"] = 0.3
    X, y = gaussians(200, seed=10)
    over = train_classifier(
        X, y, None, FEATURES, ["background", "signal"], seed=1, params=deep, test_fraction=0.5
    )
    assert over.ks_pvalue["signal"] < 0.01
    assert over.report()["overtraining"]
    X, y = gaussians(10_000, seed=10)
    fine = train_classifier(X, y, None, FEATURES, ["background", "signal"], seed=1)
    assert min(fine.ks_pvalue.values()) > 0.01
    assert not fine.report()["overtraining"]


# --------------------------------------------------------------------------- search and command


class ToySearch(Search):
    """A search on synthetic files: the features are the per-event fields x0, x1 of the events
    with x1 > -3 (its preselection)."""

    name = "toy_mva"
    title = "toy search for the classifier tests"
    models = ("zprime",)
    mva_features: ClassVar[tuple[str, ...]] = ("x0", "x1")

    def features(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        ev = batch.events
        index = np.flatnonzero(ev["x1"] > -3.0)
        return index, np.stack([ev["x0"][index], ev["x1"][index]], axis=1)


class NoFeatures(ToySearch):
    name = "toy_nofeatures"
    mva_features: ClassVar[tuple[str, ...]] = ()


@pytest.fixture
def toy_searches() -> Iterator[None]:
    SEARCHES.add("toy_mva", ToySearch)
    SEARCHES.add("toy_nofeatures", NoFeatures)
    yield
    SEARCHES.remove("toy_mva")
    SEARCHES.remove("toy_nofeatures")


def write_file(
    path: Path, processes: list[dict], shifts: list[float], n: int, seed: int, **meta: object
) -> Path:
    """A fastsim-like file: ``n`` events per process, x0 ~ N(shift, 1), x1 ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    k = len(processes)
    pid = np.repeat(np.arange(k), n).astype(np.int32)
    x0 = rng.normal(size=k * n) + np.repeat(shifts, n)
    events = {"weight": np.ones(k * n), "process_id": pid, "x0": x0, "x1": rng.normal(size=k * n)}
    mc = Collection.from_counts(np.ones(k * n, np.int64), {"id": np.full(k * n, 13, np.int32)})
    w = EventFileWriter(path, identity="test")
    for a in range(0, k * n, 700):  # several chunks
        b = min(a + 700, k * n)
        w.append(EventBatch(b - a, {f: v[a:b] for f, v in events.items()}, {"mc": mc.slice_events(a, b)}))
    procs = [
        {"id": i, "generator": "x", "sigma_err_nb": 0.0, "n_events": n, **p} for i, p in enumerate(processes)
    ]
    w.finalize({"processes": procs, "luminosity_fb": 10.0, "dataset": "test", **meta})
    return path


SIGNAL_PROC = {
    "name": "zp1",
    "sigma_nb": 1e-6,
    "model": {"signal_model": "zprime", "x_pdg": 9900023, "mass_gev": 1.0, "coupling": 0.001},
}


@pytest.fixture
def toy_files(tmp_path: Path) -> list[Path]:
    sig = write_file(tmp_path / "sig.h5", [SIGNAL_PROC], [DELTA], 1_500, seed=1)
    bkg = write_file(
        tmp_path / "bkg.h5",
        [{"name": "b1", "sigma_nb": 1.0}, {"name": "b2", "sigma_nb": 3.0}],
        [0.0, -1.0],
        1_000,
        seed=2,
    )
    return [sig, bkg]


def test_search_training_data_weights_backgrounds_by_cross_section(toy_files: list[Path]) -> None:
    data = search_training_data(ToySearch(), toy_files, "process", chunk_size=500)
    assert data.class_names == ["b1", "b2", "signal"]
    assert data.X.shape == (len(data.y), 2) and len(data.y) < 3_500  # the preselection x1 > -3
    w = data.class_weight
    # all events of a process weigh sigma L in total (nb fb^-1); the selection keeps ~99.9%
    assert w["b2"] / w["b1"] == pytest.approx(3.0, rel=0.01)
    binary = search_training_data(ToySearch(), toy_files, "binary")
    assert binary.class_names == ["background", "signal"]
    assert binary.class_weight["background"] == pytest.approx(w["b1"] + w["b2"])


def test_train_search_end_to_end(
    toy_files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "toy.json"
    clf = train_search(ToySearch(), toy_files, out, seed=3, classes="process")
    assert clf.class_names == ["b1", "b2", "signal"]
    printed = capsys.readouterr().out
    assert "KS p-value" in printed and "importance (gain)" in printed
    loaded = load_classifier(out, list(ToySearch.mva_features))
    assert loaded.info["search"] == "toy_mva" and loaded.score(np.zeros((4, 2))).shape == (4, 3)


def test_fastsim_train_command(
    toy_searches: None, toy_files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cli.json"
    assert main(["train", "toy_mva", *map(str, toy_files), "-o", str(out), "--seed", "4"]) == 0
    printed = capsys.readouterr().out
    assert "test ROC AUC" in printed and f"wrote {out}" in printed
    clf = load_classifier(out, ["x0", "x1"])
    assert clf.seed == 4 and clf.class_names == ["background", "signal"]
    assert clf.test_auc is not None and clf.test_auc > 0.8


def _error_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_fastsim_train_bad_input(
    toy_searches: None, toy_files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = str(tmp_path / "m.json")
    sig, bkg = map(str, toy_files)
    assert main(["train", "no_such_search", sig, bkg, "-o", out]) == 2
    assert "unknown search 'no_such_search'" in _error_line(capsys)
    assert main(["train", "toy_mva", bkg, "-o", out]) == 2
    assert "no selected signal events" in _error_line(capsys)
    assert main(["train", "toy_mva", sig, "-o", out]) == 2
    assert "no selected background events" in _error_line(capsys)
    assert main(["train", "toy_nofeatures", sig, bkg, "-o", out]) == 2
    assert "defines no classifier features" in _error_line(capsys)
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(Path(bkg).read_bytes()[:2_000])
    assert main(["train", "toy_mva", sig, str(corrupt), "-o", out]) == 2
    assert "corrupt.h5" in _error_line(capsys)
    assert main(["train", "toy_mva", sig, str(tmp_path / "missing.h5"), "-o", out]) == 2
    assert "missing.h5: no such file" in _error_line(capsys)
    assert not Path(out).exists()


def test_zprime_search_declares_no_features_by_default() -> None:
    from analysis.zprime_4mu import ZPrime4Mu

    assert ZPrime4Mu.mva_features == ()
    with pytest.raises(NotImplementedError, match="search zprime_4mu defines no classifier features"):
        ZPrime4Mu().features(EventBatch(0), ())


def test_the_split_is_stratified_and_follows_the_seed() -> None:
    y = np.repeat([0, 1, 2], [100, 50, 7])
    train, test = stratified_split(y, 5, 0.3)
    assert np.bincount(y[test]).tolist() == [30, 15, 2]
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))
    assert np.array_equal(test, stratified_split(y, 5, 0.3)[1])
    assert not np.array_equal(test, stratified_split(y, 6, 0.3)[1])
