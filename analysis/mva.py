"""Multivariate classifiers for the searches: train, check, save and load (LightGBM).

A classifier separates a search's signal from its backgrounds (binary), or the signal and every
background process from each other (multiclass), from the per-event features that the search
declares (:attr:`analysis.search.Search.mva_features`, :meth:`analysis.search.Search.features`).

* :func:`train_classifier` trains on arrays: a held-apart test set (``test_fraction`` of every
  class, drawn from ``np.random.default_rng(seed)``, :func:`stratified_split`), LightGBM trained
  deterministically (one thread, every seed from ``seed``), so that the same inputs and seed give
  the same model bit for bit; event weights normalised so that every class has the same total
  weight in training.  On the test set it measures the ROC AUC (binary, weighted:
  :func:`roc_auc`), and per class the two-sample Kolmogorov-Smirnov p-value between the train
  and test scores of that class's events (the overtraining check: a small p-value means the
  classifier scores the events it was trained on differently from new ones).
* :func:`train_search` reads fastsim files chunk by chunk, takes the search's features of the
  events it preselects, weights them (backgrounds in proportion to their cross sections) and
  trains, saves and prints the report (``fastsim train``).
* A classifier is saved as one JSON file: LightGBM's own text model
  (``Booster.model_to_string``) with the metadata (:data:`FORMAT_VERSION`, features in order,
  classes, parameters and seed, counts, checks, importances).  Nothing is pickled.
  :func:`load_classifier` checks the format version and, given the caller's features, that
  they are the model's, in the same order.

Scores: binary, the probability of the signal class (the last class, ``class_names[-1]``);
multiclass, (n, n_classes) class probabilities.  Units: cross sections in nb, luminosity in
fb^-1 (weights only need to be proportional).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import ks_2samp

from analysis.io import file_processes, weighted_batches
from analysis.search import Search
from fastsim.io import open_events

__all__ = [
    "DEFAULT_PARAMS",
    "FORMAT",
    "FORMAT_VERSION",
    "OVERTRAINING_P",
    "Classifier",
    "TrainingData",
    "format_report",
    "load_classifier",
    "roc_auc",
    "search_training_data",
    "stratified_split",
    "train_classifier",
    "train_search",
]

#: the ``format`` key of a saved classifier, and the version this module writes and reads
FORMAT = "fastsim-mva-classifier"
FORMAT_VERSION = 1
#: a KS p-value below this between train and test scores flags overtraining in the report
OVERTRAINING_P = 0.01
#: LightGBM parameters used unless the caller's ``params`` give others (``num_iterations``: the
#: number of boosting rounds); a cautious configuration (small trees, many events per leaf): on
#: two Gaussians with 1 500-10 000 events per class it reaches the optimal AUC within 0.006 and
#: its train-vs-test KS p-values are about uniform (15 leaves and 50 events per leaf overtrain
#: visibly at 1 500 events)
DEFAULT_PARAMS: dict[str, Any] = {
    "num_iterations": 200,
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 100,
}
#: the class name of the signal in :func:`train_search`'s classes (always the last class)
SIGNAL = "signal"
BACKGROUND = "background"


def stratified_split(y: np.ndarray, seed: int, test_fraction: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices), sorted: in every class the fraction ``test_fraction``
    (rounded, at least one event and at least one left for training) of its events, drawn from
    ``np.random.default_rng(seed)`` class by class in label order."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = min(max(round(test_fraction * len(idx)), 1), len(idx) - 1)
        test.append(idx[:n_test])
    is_test = np.zeros(len(y), bool)
    if test:
        is_test[np.concatenate(test)] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def roc_auc(score: np.ndarray, is_signal: np.ndarray, w: np.ndarray | None = None) -> float:
    """The weighted area under the ROC curve: the probability that a signal event scores above a
    background event (ties count one half), events weighted by ``w`` (default 1)."""
    score = np.asarray(score, np.float64)
    sig = np.asarray(is_signal, bool)
    w = np.ones(len(score)) if w is None else np.asarray(w, np.float64)
    values, inv = np.unique(score, return_inverse=True)
    ws = np.bincount(inv, w * sig, len(values))
    wb = np.bincount(inv, w * ~sig, len(values))
    below = np.cumsum(wb) - wb  # background weight strictly below each value
    total_s, total_b = ws.sum(), wb.sum()
    if not (total_s > 0 and total_b > 0):
        raise ValueError("the ROC AUC needs signal and background events of positive total weight")
    return float(np.sum(ws * (below + 0.5 * wb)) / (total_s * total_b))


@dataclass
class Classifier:
    """A trained classifier: the LightGBM booster, its features (in order) and classes, and the
    metadata saved with it (parameters, seed, counts, checks, importances; :meth:`report`)."""

    booster: Any  # lightgbm.Booster
    feature_names: list[str]
    class_names: list[str]
    seed: int
    params: dict[str, Any]
    test_fraction: float
    counts: dict[str, dict[str, int]]
    ks_pvalue: dict[str, float]
    test_auc: float | None
    importance_gain: dict[str, float]
    #: free-form provenance (e.g. the search and the files of :func:`train_search`)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def binary(self) -> bool:
        return len(self.class_names) == 2

    def score(self, X: np.ndarray) -> np.ndarray:
        """Scores of the events ``X`` (n, n_features), the columns in :attr:`feature_names` order:
        binary, (n,) the probability of the signal class (``class_names[-1]``); multiclass,
        (n, n_classes) the class probabilities."""
        X = np.asarray(X, np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected events x {len(self.feature_names)} features "
                f"({', '.join(self.feature_names)}), got an array of shape {X.shape}"
            )
        if len(X) == 0:
            return np.zeros(0) if self.binary else np.zeros((0, len(self.class_names)))
        return np.asarray(self.booster.predict(X))

    def report(self) -> dict[str, Any]:
        """The checks: test ROC AUC (binary; None for multiclass), KS p-values per class
        (train vs test scores), feature importances (total gain), train/test counts per class."""
        return {
            "classes": list(self.class_names),
            "features": list(self.feature_names),
            "seed": self.seed,
            "test_auc": self.test_auc,
            "ks_pvalue": dict(self.ks_pvalue),
            "overtraining": bool(min(self.ks_pvalue.values()) < OVERTRAINING_P),
            "importance_gain": dict(self.importance_gain),
            "counts": {k: dict(v) for k, v in self.counts.items()},
        }

    def to_json(self) -> dict[str, Any]:
        """The saved form: metadata and LightGBM's text model (``model``)."""
        import lightgbm

        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "lightgbm_version": lightgbm.__version__,
            "feature_names": list(self.feature_names),
            "class_names": list(self.class_names),
            "objective": "binary" if self.binary else "multiclass",
            "seed": self.seed,
            "params": self.params,
            "test_fraction": self.test_fraction,
            "counts": self.counts,
            "ks_pvalue": self.ks_pvalue,
            "test_auc": self.test_auc,
            "importance_gain": self.importance_gain,
            "info": self.info,
            "model": self.booster.model_to_string(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the classifier as one JSON file (atomically: a temporary file renamed)."""
        path = Path(path)
        text = json.dumps(self.to_json(), indent=1, allow_nan=False)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


def _check_inputs(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    feature_names: Sequence[str],
    class_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, np.float64)
    if X.ndim != 2 or X.shape[1] != len(feature_names):
        raise ValueError(f"X must be events x {len(feature_names)} features, got shape {X.shape}")
    if len(set(feature_names)) != len(feature_names) or not all(
        isinstance(f, str) and f for f in feature_names
    ):
        raise ValueError(f"feature names must be distinct non-empty strings, got {list(feature_names)}")
    if len(class_names) < 2 or len(set(class_names)) != len(class_names):
        raise ValueError(f"need at least two distinct class names, got {list(class_names)}")
    y = np.asarray(y)
    if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be ({len(X)},) integer class indices, got {y.dtype} {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= len(class_names)):
        raise ValueError(f"class indices must be in 0..{len(class_names) - 1}")
    w = np.ones(len(X)) if w is None else np.asarray(w, np.float64)
    if w.shape != (len(X),) or not np.all(np.isfinite(w)):
        raise ValueError(f"w must be ({len(X)},) finite weights")
    counts = np.bincount(y, minlength=len(class_names))
    sums = np.bincount(y, w, minlength=len(class_names))
    for name, n, s in zip(class_names, counts, sums, strict=True):
        if n < 2 or not s > 0:
            raise ValueError(
                f"class {name!r} has {n} events of total weight {s:g} (need two or more, positive weight)"
            )
    return X, y.astype(np.int64), w


def _balanced(w: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Weights rescaled so that every class sums to len(w) / n_classes (mean weight about 1)."""
    sums = np.bincount(y, w, minlength=n_classes)
    return w * (len(w) / n_classes) / sums[y]


def _lgb_params(n_classes: int, seed: int, params: dict[str, Any] | None) -> dict[str, Any]:
    """The full LightGBM parameters: defaults, the caller's, then the fixed ones (objective,
    determinism and seeds), which the caller cannot change."""
    full = {**DEFAULT_PARAMS, **(params or {})}
    full.update(
        objective="binary" if n_classes == 2 else "multiclass",
        deterministic=True,
        force_row_wise=True,
        num_threads=1,
        seed=seed,
        bagging_seed=seed,
        feature_fraction_seed=seed,
        data_random_seed=seed,
        verbose=-1,
    )
    if n_classes > 2:
        full["num_class"] = n_classes
    else:
        full.pop("num_class", None)
    return full


def train_classifier(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    feature_names: list[str],
    class_names: list[str],
    seed: int,
    params: dict | None = None,
    test_fraction: float = 0.3,
) -> Classifier:
    """Train a LightGBM classifier on events ``X`` (n, n_features) with class indices ``y``
    (n,) into ``class_names`` (two: binary, the last is the signal; more: multiclass) and event
    weights ``w`` (n,) (None: 1; any scale, only ratios within a class matter: every class gets
    the same total weight in training).

    ``test_fraction`` of every class is held apart (:func:`stratified_split` with ``seed``) for
    the checks (test AUC, train-vs-test KS p-values per class).  ``params``: LightGBM parameters
    over :data:`DEFAULT_PARAMS` (``num_iterations``: boosting rounds); the objective, one
    thread, ``deterministic``, ``force_row_wise`` and every seed are set here, so the same
    inputs and ``seed`` give the same model bit for bit."""
    import lightgbm as lgb

    X, y, w = _check_inputs(X, y, w, feature_names, class_names)
    n_classes = len(class_names)
    full = _lgb_params(n_classes, int(seed), params)
    rounds = int(full.pop("num_iterations"))
    train, test = stratified_split(y, seed, test_fraction)
    w_train = _balanced(w[train], y[train], n_classes)
    data = lgb.Dataset(
        X[train],
        label=y[train],
        weight=w_train,
        feature_name=[f"f{i}" for i in range(X.shape[1])],  # names live in the JSON (any characters)
        params=full,
        free_raw_data=True,
    )
    trained = lgb.train(full, data, num_boost_round=rounds)
    # the classifier is the saved text model, so scores before and after saving are identical
    booster = lgb.Booster(model_str=trained.model_to_string())
    clf = Classifier(
        booster=booster,
        feature_names=list(feature_names),
        class_names=list(class_names),
        seed=int(seed),
        params={**full, "num_iterations": rounds},
        test_fraction=float(test_fraction),
        counts={
            "train": _counts(y[train], class_names),
            "test": _counts(y[test], class_names),
        },
        ks_pvalue={},
        test_auc=None,
        importance_gain={
            f: float(g)
            for f, g in zip(feature_names, booster.feature_importance(importance_type="gain"), strict=True)
        },
    )
    s_train, s_test = clf.score(X[train]), clf.score(X[test])
    for c, name in enumerate(class_names):
        own_train = s_train[y[train] == c] if clf.binary else s_train[y[train] == c, c]
        own_test = s_test[y[test] == c] if clf.binary else s_test[y[test] == c, c]
        clf.ks_pvalue[name] = float(ks_2samp(own_train, own_test).pvalue)
    if clf.binary:
        clf.test_auc = roc_auc(s_test, y[test] == 1, w[test])
    return clf


def _counts(y: np.ndarray, class_names: Sequence[str]) -> dict[str, int]:
    n = np.bincount(y, minlength=len(class_names))
    return {name: int(k) for name, k in zip(class_names, n, strict=True)}


def load_classifier(path: str | Path, feature_names: list[str] | None = None) -> Classifier:
    """Read a classifier saved by :meth:`Classifier.save`.  Checks the format version and, when
    ``feature_names`` is given, that they are the model's features (names, order and count);
    otherwise a one-line ``ValueError`` naming the file and the mismatch."""
    import lightgbm as lgb

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable classifier file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fastsim classifier file (no format {FORMAT!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: classifier format version {doc.get('format_version')!r}, "
            f"this fastsim reads version {FORMAT_VERSION}"
        )
    try:
        names = [str(f) for f in doc["feature_names"]]
        classes = [str(c) for c in doc["class_names"]]
        booster = lgb.Booster(model_str=str(doc["model"]))
        clf = Classifier(
            booster=booster,
            feature_names=names,
            class_names=classes,
            seed=int(doc["seed"]),
            params=dict(doc["params"]),
            test_fraction=float(doc["test_fraction"]),
            counts={k: {c: int(n) for c, n in v.items()} for k, v in doc["counts"].items()},
            ks_pvalue={c: float(p) for c, p in doc["ks_pvalue"].items()},
            test_auc=None if doc["test_auc"] is None else float(doc["test_auc"]),
            importance_gain={f: float(g) for f, g in doc["importance_gain"].items()},
            info=dict(doc.get("info") or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError, lgb.basic.LightGBMError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path}: malformed classifier file ({reason})") from None
    per_iteration = booster.num_model_per_iteration()
    if booster.num_feature() != len(names) or per_iteration != (1 if len(classes) == 2 else len(classes)):
        raise ValueError(
            f"{path}: the model has {booster.num_feature()} features and {per_iteration} outputs, "
            f"the file lists {len(names)} features and {len(classes)} classes"
        )
    if feature_names is not None and list(feature_names) != names:
        raise ValueError(f"{path}: {_mismatch(names, list(feature_names))}")
    return clf


def _mismatch(model: list[str], given: list[str]) -> str:
    """One line: how the caller's features differ from the model's."""
    missing = [f for f in model if f not in given]
    extra = [f for f in given if f not in model]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"not in the model {', '.join(extra)}")
        return f"features differ from the model's ({'; '.join(parts)})"
    if len(model) != len(given):
        return f"features differ from the model's ({len(given)} given, the model has {len(model)})"
    moved = [f"{g} (model: {m})" for m, g in zip(model, given, strict=True) if m != g]
    return f"features in another order than the model's (given {', '.join(moved)})"


def format_report(clf: Classifier) -> str:
    """The report as text lines (counts, AUC, KS p-values, importances)."""
    r = clf.report()
    lines = [f"classes: {', '.join(r['classes'])}; features: {', '.join(r['features'])}; seed {r['seed']}"]
    for name in r["classes"]:
        lines.append(
            f"  {name}: train {r['counts']['train'][name]}, test {r['counts']['test'][name]}, "
            f"KS p-value (train vs test scores) {r['ks_pvalue'][name]:.3g}"
        )
    if r["test_auc"] is not None:
        lines.append(f"test ROC AUC: {r['test_auc']:.4f}")
    total = sum(r["importance_gain"].values()) or 1.0
    ranked = sorted(r["importance_gain"].items(), key=lambda kv: -kv[1])
    lines.append("importance (gain): " + ", ".join(f"{f} {g / total:.3f}" for f, g in ranked))
    if r["overtraining"]:
        lines.append(
            f"WARNING: a KS p-value below {OVERTRAINING_P}: the train and test scores differ (overtraining?)"
        )
    return "\n".join(lines)


@dataclass
class TrainingData:
    """A search's training events: features ``X`` (n, n_features), class indices ``y`` (n,) into
    ``class_names`` (the signal last), weights ``w`` (n,) (backgrounds: w sigma L / sum_process(w)
    in nb fb^-1, proportional to the expected events; signal: w / sum_process(w), every signal
    process the same total), and the total weight per class (``class_weight``)."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    class_names: list[str]
    class_weight: dict[str, float]


def _luminosities(files: list[Path]) -> list[float]:
    """Each file's /meta luminosity (fb^-1); 1 for every file unless all of them give one."""
    lumi = []
    for path in files:
        with open_events(path) as f:
            value = f.meta.get("luminosity_fb", 0.0) or 0.0
        lumi.append(float(value))
    if all(x > 0 and np.isfinite(x) for x in lumi):
        return lumi
    return [1.0] * len(files)


def search_training_data(
    search: Search, files: list[Path], classes: str = "binary", chunk_size: int = 50_000
) -> TrainingData:
    """Read ``files`` chunk by chunk (memory: the selected events' feature rows) and collect the
    features of the events ``search`` preselects (:meth:`analysis.search.Search.features`).

    Signal: processes whose ``/meta`` model the search interprets (each signal process weighted
    to the same total, so that no point dominates through the coupling it was generated with);
    background: every process that is not a signal (weighted w sigma L / sum_process(w), so the
    backgrounds mix in proportion to their cross sections; a skim is normalised to the weights
    it was skimmed from, ``sum_weight_generated``); signal processes of other models are
    ignored.  ``classes``: ``"binary"`` (background, signal) or ``"process"`` (one class per
    background process name, sorted, then the signal)."""
    if classes not in ("binary", "process"):
        raise ValueError(f"classes must be 'binary' or 'process', got {classes!r}")
    features = tuple(search.mva_features)
    if not features:
        raise ValueError(f"search {search.name} defines no classifier features")
    files = [Path(f) for f in files]
    lumis = _luminosities(files)
    xs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    labels: list[str] = []  # per block: the process's class name
    for path, lumi in zip(files, lumis, strict=True):
        try:
            procs, signal_ids = file_processes(path, search.signal_ids)
            n_pid = max(procs) + 1
            sw = np.zeros(n_pid)
            blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
            for batch, w, pid in weighted_batches(path, n_pid, chunk_size):
                sw += np.bincount(pid, w, n_pid)
                index, X = search.features(batch, signal_ids)
                index = np.asarray(index, np.int64)
                X = np.asarray(X, np.float64)
                if index.ndim != 1 or X.shape != (len(index), len(features)):
                    raise ValueError(
                        f"search {search.name}: features() gave indices {index.shape} and features "
                        f"{X.shape}, expected (n,) and (n, {len(features)})"
                    )
                blocks.append((X, w[index], pid[index]))
        except (KeyError, IndexError) as exc:  # a field or collection the file lacks
            raise ValueError(f"{path}: missing or malformed field ({exc})") from None
        for i, p in procs.items():
            signal = p.is_signal and p.model in search.models
            if p.is_signal and not signal:
                continue
            if np.isfinite(p.sum_weight_generated):  # a skim: normalised to what was generated
                if signal:
                    raise ValueError(
                        f"{path}: signal process {p.name!r} is skimmed (run.skim is for backgrounds)"
                    )
                sw[i] = p.sum_weight_generated
            scale = (1.0 if signal else p.sigma_nb * lumi) / sw[i] if sw[i] > 0 else 0.0
            name = SIGNAL if signal else (p.name if classes == "process" else BACKGROUND)
            for X, w, pid in blocks:
                mine = pid == i
                if mine.any():
                    xs.append(X[mine])
                    ws.append(w[mine] * scale)
                    labels.append(name)
    names = ", ".join(f.name for f in files)
    if SIGNAL not in labels:
        raise ValueError(f"no selected signal events of the models {', '.join(search.models)} in {names}")
    backgrounds = sorted({n for n in labels if n != SIGNAL})
    if not backgrounds:
        raise ValueError(f"no selected background events in {names}")
    if classes == "process" and SIGNAL in backgrounds:
        raise ValueError(f"a background process is named {SIGNAL!r}: use classes='binary'")
    class_names = [*backgrounds, SIGNAL]
    code = {n: k for k, n in enumerate(class_names)}
    y = np.concatenate([np.full(len(x), code[n], np.int64) for x, n in zip(xs, labels, strict=True)])
    w = np.concatenate(ws)
    return TrainingData(
        X=np.concatenate(xs),
        y=y,
        w=w,
        class_names=class_names,
        class_weight={
            n: float(s) for n, s in zip(class_names, np.bincount(y, w, len(class_names)), strict=True)
        },
    )


def train_search(
    search: Search,
    files: list[Path],
    out: Path,
    seed: int = 1,
    params: dict | None = None,
    classes: str = "binary",
    chunk_size: int = 50_000,
    quiet: bool = False,
) -> Classifier:
    """Train a classifier for ``search`` on fastsim ``files`` (:func:`search_training_data`,
    :func:`train_classifier` with ``seed`` and ``params``), save it to ``out`` (JSON) and print
    the report (unless ``quiet``).  ``classes``: ``"binary"`` (signal vs background) or
    ``"process"`` (multiclass: each background process and the signal)."""
    data = search_training_data(search, files, classes, chunk_size)
    clf = train_classifier(data.X, data.y, data.w, list(search.mva_features), data.class_names, seed, params)
    clf.info = {
        "search": search.name,
        "classes": classes,
        "files": [str(f) for f in files],
        "class_weight": data.class_weight,
    }
    clf.save(out)
    if not quiet:
        print(f"{search.name}: {len(data.y)} events from {len(files)} file(s)")
        print(format_report(clf))
    return clf
