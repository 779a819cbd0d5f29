"""Training maths, cross-validation plumbing, the labelled-folder loader, and one real-photo check.

The unit tests use synthetic numeric features: they check the optimisation and bookkeeping, and
say nothing about accuracy on photos. The real-photo test (skipped without the dev set) does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlmodels.concepts.heads import sigmoid
from mlmodels.dataset import (
    FOLDER_LABELS,
    UnknownFolderError,
    embed_paths,
    folder_names,
    load_labelled_folder,
)
from mlmodels.fake import FakeClassifier
from mlmodels.training.crossval import CVResult, cross_validate
from mlmodels.training.fit import fit_and_evaluate, floors_of, train_heads
from mlmodels.training.metrics import (
    RULE_FLOOR,
    RULE_MAX_F1,
    RULE_PRECISION,
    Metrics,
    calibrate_threshold,
)
from mlmodels.training.report import format_table, report_json, targets_missed, write_report
from mlmodels.training.solver import fit_logistic, fit_logistic_many


def _toy(n: int = 120, dim: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs, linearly separable along the first feature."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 3 == 0).astype(np.int8)  # imbalanced: a third positive
    x = rng.normal(size=(n, dim))
    x[:, 0] += np.where(y == 1, 4.0, -4.0)
    return x, y


def test_logistic_regression_separates_a_separable_toy_problem() -> None:
    x, y = _toy()
    w, b = fit_logistic(x, y, l2=0.01)
    p = sigmoid(x @ w + b)
    assert ((p >= 0.5) == (y == 1)).all()
    assert np.argmax(np.abs(w)) == 0  # it found the informative feature
    # Stationary point of the objective: the gradient vanishes.
    c = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (1 - y).sum()))
    grad = x.T @ (c * (p - y)) / c.sum() + 0.01 * w
    assert np.abs(grad).max() < 1e-5


def test_logistic_regression_is_deterministic_and_batches_agree() -> None:
    x, y = _toy()
    w1, b1 = fit_logistic(x, y, l2=0.1)
    w2, b2 = fit_logistic(x, y, l2=0.1)
    assert np.array_equal(w1, w2) and b1 == b2
    many_w, many_b = fit_logistic_many(x, np.stack([y, 1 - y], axis=1), [0.1, 0.1])
    assert np.allclose(many_w[:, 0], w1, atol=1e-6)
    assert np.allclose(many_w[:, 1], -w1, atol=1e-6)  # swapped classes: mirrored solution
    assert many_b[0] == pytest.approx(b1, abs=1e-6)


def test_ignored_labels_do_not_affect_training() -> None:
    x, y = _toy()
    rng = np.random.default_rng(5)
    extra = rng.normal(size=(40, x.shape[1])) * 10  # wild features on the ignored rows
    x_all = np.vstack([x, extra])
    y_all = np.concatenate([y, np.full(40, -1, dtype=np.int8)])
    w_all, b_all = fit_logistic(x_all, y_all, l2=0.1)
    w, b = fit_logistic(x, y, l2=0.1)
    assert np.allclose(w_all, w, atol=1e-6)
    assert b_all == pytest.approx(b, abs=1e-6)


def test_single_class_concept_gets_a_constant_head() -> None:
    x, _ = _toy()
    w, b = fit_logistic(x, np.zeros(len(x), dtype=np.int8), l2=0.1)
    assert not w.any() and b < -5


def test_threshold_reaches_the_precision_target_or_falls_back_to_max_f1() -> None:
    scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    y = np.array([1, 1, 1, 0, 1, 0, 0, 1], dtype=np.int8)
    thr, rule = calibrate_threshold(scores, y, 0.75)
    assert rule == RULE_PRECISION
    assert 0.5 < thr < 0.6  # best F1 with precision >= 0.75: top five (4/5 = 0.8)
    assert Metrics.of(scores >= thr, y).precision >= 0.75
    # Top four (P 1.0, F1 0.89) beats top five (P 0.8, F1 0.8): not the lowest cut reaching 0.75.
    thr, _ = calibrate_threshold(scores, np.array([1, 1, 1, 1, 0, 0, 1, 0], np.int8), 0.75)
    assert 0.6 < thr < 0.7
    thr, rule = calibrate_threshold(scores, np.array([0, 1, 0, 1, 0, 1, 0, 1], np.int8), 0.99)
    assert rule == RULE_MAX_F1
    # Ignored rows are left out of the calibration.
    thr_ign, _ = calibrate_threshold(np.r_[scores, 0.99], np.r_[y, -1].astype(np.int8), 0.75)
    assert thr_ign == pytest.approx(calibrate_threshold(scores, y, 0.75)[0])


def _synthetic_set() -> tuple[np.ndarray, list[dict[str, float]], np.ndarray, np.ndarray]:
    """90 rows in 3 folders; the sources (``_sources``) mix the folders."""
    rng = np.random.default_rng(3)
    folders = np.repeat(["cat", "food", "other"], 30)
    emb = rng.normal(size=(90, 16)).astype(np.float32)
    emb[folders == "cat", 0] += 8
    emb[folders == "food", 1] += 8
    labels = np.stack([folders == "cat", folders == "food"], axis=1).astype(np.int8)
    signals = [{"imagenet:cat": float(v)} for v in rng.uniform(size=90)]
    return emb, signals, labels, folders


def _sources() -> np.ndarray:
    return np.array([f"source-{i % 10}" for i in range(90)])


def test_cross_validate_reports_every_concept_and_is_deterministic() -> None:
    emb, signals, labels, folders = _synthetic_set()
    kwargs = {
        "groups": _sources(),
        "folders": folders,
        "folds": 3,
        "l2_grid": (0.1, 1.0),
        "inner_folds": 3,
    }
    cv = cross_validate(emb, signals, labels, ("cat", "food"), **kwargs)  # type: ignore[arg-type]
    again = cross_validate(emb, signals, labels, ("cat", "food"), **kwargs)  # type: ignore[arg-type]
    assert np.array_equal(cv.oof_head, again.oof_head)
    assert set(cv.selected) == {"cat", "food"}
    assert set(cv.imagenet) == {"cat"}  # only concepts with a roll-up signal
    assert cv.source["cat"] == "head"  # the random "roll-up" is worse than the head
    assert cv.selected["food"].support == 30
    assert cv.confusion["food"]["n"] == 30
    assert all(len(v) == 3 for v in cv.fold_sources.values())
    table = format_table(cv)
    assert "cat" in table and "PASS" in table
    report = report_json(cv, {"backbone": "synthetic"})
    json.dumps(report)  # serialisable
    assert report["concepts"]["food"]["imagenet"] is None
    assert isinstance(targets_missed(cv), list)


def test_fit_and_evaluate_makes_heads_with_calibrated_thresholds(tmp_path: Path) -> None:
    emb, signals, labels, folders = _synthetic_set()
    heads, cv = fit_and_evaluate(
        emb,
        signals,
        labels,
        ("cat", "food"),
        groups=_sources(),
        folders=folders,
        backbone="fake-1",
        folds=3,
        l2_grid=(0.1, 1.0),
    )
    assert heads.thresholds == cv.thresholds
    assert heads.source == cv.source
    assert heads.backbone == "fake-1"
    scores = heads.scores(emb, signals)
    predicted_cat = np.array([s["cat"] >= heads.thresholds["cat"] for s in scores])
    assert Metrics.of(predicted_cat, labels[:, 0]).f1 > 0.9  # separable synthetic data
    write_report(tmp_path, cv, {"backbone": "fake-1"})
    assert json.loads((tmp_path / "report.json").read_text())["method"]["folds"] == 3
    assert Image.open(tmp_path / "chart.png").size[0] > 100


def _write_image(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), colour).save(path)


def test_load_labelled_folder_labels_ignores_and_refuses_unknown(tmp_path: Path) -> None:
    concepts = ("food", "beverage", "cat", "animal")
    _write_image(tmp_path / "cat" / "a.jpg", (200, 0, 0))
    _write_image(tmp_path / "menu" / "m.png", (0, 200, 0))
    _write_image(tmp_path / "other" / "o.jpg", (0, 0, 200))
    (tmp_path / "other" / "notes.txt").write_text("not an image")
    paths, labels = load_labelled_folder(tmp_path, concepts)
    assert [p.parent.name for p in paths] == ["cat", "menu", "other"]
    assert labels.dtype == np.int8
    assert labels.tolist() == [[0, 0, 1, 1], [-1, -1, 0, 0], [0, 0, 0, 0]]
    assert list(folder_names(paths)) == ["cat", "menu", "other"]
    _write_image(tmp_path / "selfie" / "s.jpg", (1, 2, 3))
    with pytest.raises(UnknownFolderError, match="selfie"):
        load_labelled_folder(tmp_path, concepts)
    paths, _ = load_labelled_folder(tmp_path, concepts, strict=False)
    assert len(paths) == 3
    assert set(FOLDER_LABELS) >= {"adult", "child", "nail", "clothing", "other_animal"}


def test_embed_paths_caches_and_skips_unreadable(
    tmp_path: Path, fake: type[FakeClassifier]
) -> None:
    photos = tmp_path / "photos"
    _write_image(photos / "cat" / "a.jpg", (200, 0, 0))
    _write_image(photos / "cat" / "b.png", (0, 200, 0))
    (photos / "cat" / "broken.jpg").write_bytes(b"not a jpeg")
    paths, _ = load_labelled_folder(photos, ("cat",))
    cache = tmp_path / "var" / "cache" / "emb.npz"
    first = embed_paths(paths, FakeClassifier(), cache, progress=False)
    assert first.kept.tolist() == [0, 1]  # broken.jpg (sorted last) skipped
    assert first.embeddings.shape == (2, 8) and first.embeddings.dtype == np.float32
    calls = fake.calls
    second = embed_paths(paths, FakeClassifier(), cache, progress=False)
    assert fake.calls == calls  # everything readable came from the cache
    assert np.array_equal(first.embeddings, second.embeddings)
    assert second.signals == first.signals


# --------------------------------------------------------------------------- real photos

PER_FOLDER = 12  # train on 12 photos per folder, evaluate on 12 others
FOLDERS = ("cat", "dog", "food", "beverage", "sea", "flower", "gym", "mountain", "other")
REAL_CONCEPTS = ("cat", "dog", "animal", "food", "beverage", "sea", "flower", "gym", "mountain")
# Where the 5-fold CV on all dev photos measured the heads above the roll-up (docs/model.md).
HEAD_CONCEPTS = ("food", "beverage", "sea", "flower", "gym", "mountain")
# Where the roll-up is as good or better (CV keeps it as the source for animal and dog).
ROLLUP_CONCEPTS = ("cat", "dog", "animal")


@pytest.mark.model
@pytest.mark.photos
def test_heads_on_unseen_dev_photos_against_the_rollup(
    photos_dir: Path, classifier: object
) -> None:
    """Heads trained on a few photos per folder, scored on other photos (disjoint), against the
    roll-up with its shipped thresholds. Those thresholds were calibrated on ALL dev photos, the
    evaluation photos included, so the baseline is a generous one."""
    from mlmodels.base import Classifier
    from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS, present_concepts

    assert isinstance(classifier, Classifier)
    paths, labels = load_labelled_folder(photos_dir, REAL_CONCEPTS)
    folders = folder_names(paths)
    train_idx: list[int] = []
    test_idx: list[int] = []
    for folder in FOLDERS:
        idx = np.flatnonzero(folders == folder)
        spread = idx[np.linspace(0, len(idx) - 1, 2 * PER_FOLDER).round().astype(int)]
        train_idx += spread[0::2].tolist()
        test_idx += spread[1::2].tolist()
    assert not set(train_idx) & set(test_idx)
    chosen = [paths[i] for i in train_idx + test_idx]
    emb = embed_paths(chosen, classifier, None, progress=False)
    assert len(emb.kept) == len(chosen)
    n_train = len(train_idx)
    y = labels[train_idx + test_idx]
    heads = train_heads(
        emb.embeddings[:n_train],
        emb.signals[:n_train],
        y[:n_train],
        REAL_CONCEPTS,
        backbone=classifier.version,
        l2=1.0,
        signal_keys=[f"imagenet:{c}" for c in REAL_CONCEPTS],
    )
    scores = heads.scores(emb.embeddings[n_train:], emb.signals[n_train:])
    rollup_present = [
        present_concepts({k.split(":", 1)[1]: v for k, v in s.items()}, DEFAULT_THRESHOLDS)
        for s in emb.signals[n_train:]
    ]
    head_f1: dict[str, float] = {}
    rollup_f1: dict[str, float] = {}
    for j, c in enumerate(REAL_CONCEPTS):
        truth = y[n_train:, j]
        head_f1[c] = Metrics.of(np.array([s[c] >= 0.5 for s in scores]), truth).f1
        rollup_f1[c] = Metrics.of(np.array([c in p for p in rollup_present]), truth).f1

    def macro(f1: dict[str, float], concepts: tuple[str, ...]) -> float:
        return float(np.mean([f1[c] for c in concepts]))

    detail = {c: (round(head_f1[c], 3), round(rollup_f1[c], 3)) for c in REAL_CONCEPTS}
    assert macro(head_f1, HEAD_CONCEPTS) > macro(rollup_f1, HEAD_CONCEPTS), detail
    # Not a win where ImageNet has the very classes (cat and dog breeds): only "not far behind".
    assert macro(head_f1, ROLLUP_CONCEPTS) >= macro(rollup_f1, ROLLUP_CONCEPTS) - 0.05, detail


def test_boosted_signals_make_the_same_model_as_scaled_features() -> None:
    from mlmodels.training.solver import Setting, Standardiser, fit_all, predict

    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 12))
    y = (x[:, -1] + 0.3 * rng.normal(size=80) > 0).astype(np.int8)[:, None]
    std, fits = fit_all(x, y, [[Setting(0.1, 1.0), Setting(0.1, 10.0)]], n_signals=2)
    scaled = Standardiser.of(x)(x)
    scaled[:, -2:] *= 10.0
    by_hand, bias = fit_logistic(scaled, y[:, 0], 0.1)
    assert np.allclose(predict(std, fits[0][1], x), sigmoid(scaled @ by_hand + bias), atol=1e-6)
    # A weaker penalty on the one informative signal gives it more weight than plain l2 does.
    assert abs(fits[0][1][0][-1]) > abs(fits[0][0][0][-1])


def test_inner_cv_boosts_a_signal_that_carries_the_label() -> None:
    rng = np.random.default_rng(2)
    n = 120
    y = (rng.uniform(size=n) < 0.4).astype(np.int8)
    emb = rng.normal(size=(n, 200)).astype(np.float32)  # noise the head could overfit
    signals = [{"people:adult": float(v + 0.8 * rng.normal())} for v in y]
    cv = cross_validate(
        emb, signals, y[:, None], ("adult",), groups=np.array([f"s{i % 8}" for i in range(n)]),
        folds=4, inner_folds=3, l2_grid=(0.1,), signal_keys=("people:adult",),
    )  # fmt: skip
    assert cv.fold_boost["adult"] == [10.0] * 4
    assert cv.boost["adult"] == 10.0


def test_positives_from_too_few_sources_keep_the_direct_evidence() -> None:
    rng = np.random.default_rng(4)
    n = 90
    groups = np.array([f"s{i % 9}" for i in range(n)])
    y = np.isin(groups, ["s0", "s1"]).astype(np.int8)  # every cat from two sources
    emb = rng.normal(size=(n, 6)).astype(np.float32)
    emb[:, 0] += 4 * y  # the head would separate them perfectly
    signals = [{"imagenet:cat": float(v)} for v in rng.uniform(size=n)]  # a useless roll-up
    cv = cross_validate(
        emb, signals, y[:, None], ("cat",), groups=groups, folds=3, inner_folds=2, l2_grid=(1.0,)
    )
    assert cv.fold_sources["cat"] == ["imagenet"] * 3
    assert cv.source["cat"] == "imagenet"


def test_the_direct_evidence_is_not_cut_below_its_floor() -> None:
    rng = np.random.default_rng(5)
    n = 90
    groups = np.array([f"s{i % 9}" for i in range(n)])
    y = np.isin(groups, ["s0", "s1"]).astype(np.int8)
    child = np.where(y == 1, rng.uniform(0.05, 0.6, size=n), rng.uniform(0.0, 0.05, size=n))
    signals = [{"people:child": float(v)} for v in child]
    emb = rng.normal(size=(n, 6)).astype(np.float32)

    def cv(floors: dict[str, float] | None) -> CVResult:
        return cross_validate(
            emb, signals, y[:, None], ("child",), groups=groups, folds=3, inner_folds=2,
            l2_grid=(1.0,), direct_floors=floors,
        )  # fmt: skip

    free, floored = cv(None), cv({"child": 0.15})
    assert free.source["child"] == floored.source["child"] == "imagenet"
    assert free.thresholds["child"] < 0.15 == floored.thresholds["child"]
    assert floored.threshold_rule["child"] == RULE_FLOOR != free.threshold_rule["child"]
    held_out = floored.decisions[:, 0]
    assert not held_out[child < 0.15].any() and held_out[child >= 0.15].all()


def test_the_child_floor_is_the_people_sources_own_child_cut() -> None:
    class People:
        name = "people"
        child_threshold = 0.2

    class Other:
        name = "text"

    assert floors_of([Other(), People()]) == {"child": 0.2}
    assert floors_of([Other()]) == {}
