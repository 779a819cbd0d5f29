"""Concept heads: serialisation, scoring sources, and the HeadsClassifier wrapper.

The numeric features here are synthetic: they test the plumbing, not any accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from PIL import Image

from mlmodels.base import Classifier, Prediction, SignalSource
from mlmodels.fake import EMBEDDING_DIM, FakeClassifier
from mlmodels.heads import (
    SOURCE_HEAD,
    SOURCE_IMAGENET,
    SOURCE_MEAN,
    BackboneMismatch,
    ConceptHeads,
    HeadsClassifier,
    signal_matrix,
)
from mlmodels.training.fit import train_heads


def _heads(backbone: str = "fake-1", signal_keys: tuple[str, ...] = ()) -> ConceptHeads:
    rng = np.random.default_rng(0)
    n_features = EMBEDDING_DIM + len(signal_keys)
    return ConceptHeads(
        concepts=("cat", "food"),
        source={"cat": SOURCE_IMAGENET, "food": SOURCE_HEAD},
        mean=rng.normal(size=n_features).astype(np.float32),
        scale=rng.uniform(0.5, 2, size=n_features).astype(np.float32),
        weights=rng.normal(size=(n_features, 2)).astype(np.float32),
        bias=np.array([0.25, -0.5], dtype=np.float32),
        signal_keys=signal_keys,
        backbone=backbone,
        thresholds={"cat": 0.3, "food": 0.123456789012345},
        metadata={"l2": {"cat": 0.1, "food": 1.0}, "note": "synthetic"},
    )


class PeopleStub:
    """A SignalSource stand-in: reports how bright the image is as a fake 'face' signal."""

    name = "people"

    def signals(self, images: Sequence[Image.Image]) -> list[dict[str, float]]:
        return [{"people:faces": float(np.asarray(im).mean() / 255)} for im in images]


def test_prediction_signals_default_to_empty() -> None:
    pred = Prediction(scores={"cat": 0.5}, embedding=np.zeros(2, dtype=np.float32))
    assert pred.signals == {}


def test_to_from_bytes_round_trip_is_exact() -> None:
    heads = _heads(signal_keys=("imagenet:cat", "people:faces"))
    back = ConceptHeads.from_bytes(heads.to_bytes())
    for name in ("mean", "scale", "weights", "bias"):
        assert np.array_equal(getattr(back, name), getattr(heads, name)), name
        assert getattr(back, name).dtype == np.float32
    assert back.concepts == heads.concepts
    assert back.source == heads.source
    assert back.signal_keys == heads.signal_keys
    assert back.backbone == heads.backbone
    assert back.thresholds == heads.thresholds
    assert back.metadata == heads.metadata
    assert back.to_bytes() == heads.to_bytes()
    assert back.digest() == heads.digest()


def test_scores_use_each_concepts_source_and_missing_signals_read_as_zero() -> None:
    heads = _heads(signal_keys=("people:faces",))
    emb = np.ones((2, EMBEDDING_DIM), dtype=np.float32)
    signals = [{"imagenet:cat": 0.7, "people:faces": 2.0}, {}]
    scores = heads.scores(emb, signals)
    assert scores[0]["cat"] == pytest.approx(0.7)  # the stored roll-up signal, unchanged
    assert scores[1]["cat"] == 0.0  # no roll-up signal for this photo
    assert 0.0 < scores[0]["food"] < 1.0
    assert scores[0]["food"] != scores[1]["food"]  # the signal feature matters
    assert signal_matrix(signals, ["people:faces"]).tolist() == [[2.0], [0.0]]


def test_a_mean_source_averages_the_head_and_the_direct_evidence() -> None:
    heads = _heads()
    mixed = ConceptHeads(**{**heads.__dict__, "source": {"cat": SOURCE_MEAN, "food": "head"}})
    emb = np.ones((1, EMBEDDING_DIM), dtype=np.float32)
    head = heads.head_probabilities(emb, [{"imagenet:cat": 0.7}])[0, 0]
    assert mixed.scores(emb, [{"imagenet:cat": 0.7}])[0]["cat"] == pytest.approx((head + 0.7) / 2)
    assert ConceptHeads.from_bytes(mixed.to_bytes()).source["cat"] == SOURCE_MEAN
    with pytest.raises(ValueError, match="source"):
        ConceptHeads(**{**heads.__dict__, "source": {"cat": "median", "food": "head"}})


def test_heads_classifier_refuses_a_mismatched_backbone() -> None:
    with pytest.raises(BackboneMismatch, match="retrain"):
        HeadsClassifier(FakeClassifier(), _heads(backbone="mobilenet_v2-other"), "v")


def test_heads_classifier_refuses_signals_nobody_provides() -> None:
    with pytest.raises(ValueError, match="people"):
        HeadsClassifier(FakeClassifier(), _heads(signal_keys=("people:faces",)), "v")


def test_heads_classifier_predicts_with_signal_sources(fake: type[FakeClassifier]) -> None:
    # Heads trained on the fake backbone's 8-d colour embedding + a stub signal.
    rng = np.random.default_rng(1)
    emb = rng.uniform(size=(40, EMBEDDING_DIM)).astype(np.float32)
    signals = [{"people:faces": float(v)} for v in rng.uniform(size=40)]
    labels = np.stack([emb[:, 0] > 0.5, emb[:, 1] > 0.5], axis=1).astype(np.int8)
    heads = train_heads(
        emb,
        signals,
        labels,
        ("food", "cat"),
        backbone="fake-1",
        l2=0.1,
        signal_keys=("people:faces",),
    )
    source: SignalSource = PeopleStub()
    clf = HeadsClassifier(FakeClassifier(), heads, "fake-1+heads", [source])
    assert isinstance(clf, Classifier)
    assert clf.concepts == frozenset({"food", "cat"})
    red, blue = Image.new("RGB", (8, 8), (250, 10, 10)), Image.new("RGB", (8, 8), (10, 10, 250))
    preds = clf.predict([red, blue])
    assert fake.calls == 1
    assert set(preds[0].scores) == {"food", "cat"}
    assert preds[0].scores["food"] > 0.5 > preds[1].scores["food"]  # red channel -> "food"
    assert preds[0].signals["people:faces"] == pytest.approx(np.asarray(red).mean() / 255)
    assert np.array_equal(preds[0].embedding, FakeClassifier.embedding_for(red))
    assert clf.predict([]) == []


@pytest.mark.model
def test_real_classifier_stores_rollup_scores_as_signals(
    classifier: object, coffee: Image.Image
) -> None:
    assert isinstance(classifier, Classifier)
    (pred,) = classifier.predict([coffee])
    rolled_up = {f"imagenet:{c}": v for c, v in pred.scores.items()}
    # and beside them the OCR gate's text-likeness (mlmodels.textlike): no coffee has text
    assert pred.signals == {
        **rolled_up,
        "imagenet:text": pytest.approx(0, abs=0.01),
        "imagenet:menu": pytest.approx(0, abs=0.01),
    }
