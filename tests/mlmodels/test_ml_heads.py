"""Concept heads: serialisation, scoring sources, and the HeadsClassifier wrapper.

The numeric features here are synthetic: they test the plumbing, not any accuracy.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import numpy as np
import pytest
from PIL import Image

from mlmodels.base import Classifier, Prediction, SignalSource
from mlmodels.concepts.heads import (
    ADULT_IN_BODY,
    ANIMAL_VETO_POWER,
    IN_BODY_VETO_POWER,
    SOURCE_HEAD,
    SOURCE_IMAGENET,
    SOURCE_MAX,
    SOURCE_MEAN,
    BackboneMismatch,
    ConceptHeads,
    HeadsClassifier,
    signal_matrix,
    signal_value,
)
from mlmodels.fake import EMBEDDING_DIM, FakeClassifier
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
    version = "stub-1"

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


def test_scores_use_each_concepts_source_and_a_key_missing_from_a_run_reads_zero() -> None:
    heads = _heads(signal_keys=("people:faces", "people:person"))
    emb = np.ones((2, EMBEDDING_DIM), dtype=np.float32)
    signals = [{"imagenet:cat": 0.7, "people:faces": 2.0}, {"people:person": 0.0}]
    scores = heads.scores(emb, signals)
    assert scores[0]["cat"] == pytest.approx(0.7)  # the stored roll-up signal, unchanged
    assert scores[1]["cat"] == 0.0  # no roll-up signal for this photo
    assert 0.0 < scores[0]["food"] < 1.0
    assert scores[0]["food"] != scores[1]["food"]  # the signal feature matters
    assert signal_matrix(signals, ["people:faces"]).tolist() == [[2.0], [0.0]]


def _people_heads() -> ConceptHeads:
    keys = ("imagenet:food", "people:person")
    n = EMBEDDING_DIM + 2
    weights = np.zeros((n, 3), dtype=np.float32)
    weights[0, 0] = 1.0  # food from the embedding only
    weights[EMBEDDING_DIM + 1, 1] = 3.0  # gym leans on people:person
    mean = np.zeros(n, dtype=np.float32)
    scale = np.ones(n, dtype=np.float32)
    mean[-1], scale[-1] = 0.4, 0.2
    return ConceptHeads(
        concepts=("food", "gym", "adult"),
        source={"food": SOURCE_HEAD, "gym": SOURCE_HEAD, "adult": SOURCE_IMAGENET},
        mean=mean,
        scale=scale,
        weights=weights,
        bias=np.zeros(3, dtype=np.float32),
        signal_keys=keys,
        backbone="fake-1",
        thresholds={"food": 0.5, "gym": 0.5, "adult": 0.5},
    )


def test_a_source_not_run_leaves_its_concepts_unscored_and_its_features_at_the_mean() -> None:
    heads = _people_heads()
    emb = np.zeros((3, EMBEDDING_DIM), dtype=np.float32)
    ran, nobody, not_run = {"people:person": 1.0, "people:adult": 0.8}, {"people:person": 0.0}, {}
    scores = heads.scores(emb, [ran, nobody, not_run])
    assert heads.absent(not_run) == {"people"} and heads.absent(nobody) == frozenset()
    assert scores[0]["adult"] == pytest.approx(0.8)
    assert scores[1]["adult"] == 0.0  # the source ran and found nobody
    assert "adult" not in scores[2]  # it did not run: unknown, not "nobody"
    assert scores[2]["gym"] == pytest.approx(0.5)  # people:person at its mean: z = 0
    assert scores[1]["gym"] == pytest.approx(1 / (1 + np.exp(6.0)))  # z = -2
    assert scores[2]["food"] == scores[0]["food"]


def test_adult_evidence_counts_only_as_far_as_the_backbone_sees_no_animal() -> None:
    heads = _people_heads()  # adult answered by people:adult directly
    emb = np.zeros((4, EMBEDDING_DIM), dtype=np.float32)
    person = {"people:person": 0.6, "people:adult": 1.0, "imagenet:animal": 0.0}
    pet = {"people:person": 0.6, "people:adult": 1.0, "imagenet:animal": 0.99}
    with_horse = {"people:person": 0.6, "people:adult": 1.0, "imagenet:animal": 0.6}
    no_rollup = {"people:person": 0.6, "people:adult": 1.0}
    scores = heads.scores(emb, [person, pet, with_horse, no_rollup])
    assert scores[0]["adult"] == 1.0 and scores[3]["adult"] == 1.0
    assert scores[1]["adult"] == pytest.approx(1 - 0.99**3) and scores[1]["adult"] < 0.03
    assert scores[2]["adult"] == pytest.approx(1 - 0.6**3)  # 0.784: most of it is kept
    assert signal_value(pet, "people:adult") == pytest.approx(1 - 0.99**3)
    assert signal_value(pet, "imagenet:animal") == pytest.approx(0.99)  # only adult is read so
    keys = ("people:adult", "people:person")
    assert signal_matrix([with_horse], keys).tolist() == [
        [pytest.approx(0.784), pytest.approx(0.6)]
    ]


def test_an_adult_face_on_a_body_is_vetoed_only_where_an_animal_is_all_but_sure() -> None:
    dog = {"people:adult": 1.0, ADULT_IN_BODY: 1.0, "imagenet:animal": 0.99}
    with_horse = {"people:adult": 1.0, ADULT_IN_BODY: 1.0, "imagenet:animal": 0.6}
    face_alone = {"people:adult": 1.0, ADULT_IN_BODY: 0.0, "imagenet:animal": 0.6}
    assert signal_value(dog, "people:adult") == pytest.approx(1 - 0.99**IN_BODY_VETO_POWER)
    assert signal_value(dog, "people:adult") < 0.1
    assert signal_value(with_horse, "people:adult") > 0.99
    assert signal_value(face_alone, "people:adult") == pytest.approx(1 - 0.6**3)
    assert signal_value(with_horse, ADULT_IN_BODY) == 1.0  # read as itself elsewhere


def test_heads_read_the_adult_evidence_with_the_veto_they_were_trained_with() -> None:
    heads = _people_heads()
    emb = np.zeros((1, EMBEDDING_DIM), dtype=np.float32)
    with_horse = {"people:person": 0.6, "people:adult": 1.0, "imagenet:animal": 0.6}
    again = ConceptHeads.from_bytes(heads.to_bytes())
    assert again.veto_power == heads.veto_power == ANIMAL_VETO_POWER
    assert again.scores(emb, [with_horse])[0]["adult"] == pytest.approx(1 - 0.6**3)
    # heads saved before the power was kept were trained on the plain 1 - animal
    blob = np.load(io.BytesIO(heads.to_bytes()))
    meta = json.loads(str(blob["meta"]))
    del meta["veto_power"]
    arrays = {k: blob[k] for k in blob.files if k != "meta"}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
    older = ConceptHeads.from_bytes(buffer.getvalue())
    assert older.veto_power == 1.0
    assert older.scores(emb, [with_horse])[0]["adult"] == pytest.approx(0.4)


def test_score_ranges_span_nothing_found_to_two_sd_above_the_mean_for_absent_sources() -> None:
    heads = _people_heads()
    emb = np.zeros((2, EMBEDDING_DIM), dtype=np.float32)
    ranges = heads.score_ranges(emb, [{}, {"people:person": 0.5}])
    low, high = ranges[0]["gym"]
    assert low == pytest.approx(1 / (1 + np.exp(6.0)))  # person 0: z = -2, logit -6
    assert high == pytest.approx(1 / (1 + np.exp(-6.0)))  # z = +2, logit +6
    assert set(ranges[0]) == {"gym"}  # food reads no people feature; adult is no head
    assert ranges[1] == {}  # the source ran: nothing hangs on it


def test_a_mean_source_averages_the_head_and_the_direct_evidence() -> None:
    heads = _heads()
    mixed = ConceptHeads(**{**heads.__dict__, "source": {"cat": SOURCE_MEAN, "food": "head"}})
    emb = np.ones((1, EMBEDDING_DIM), dtype=np.float32)
    head = heads.head_probabilities(emb, [{"imagenet:cat": 0.7}])[0, 0]
    assert mixed.scores(emb, [{"imagenet:cat": 0.7}])[0]["cat"] == pytest.approx((head + 0.7) / 2)
    assert ConceptHeads.from_bytes(mixed.to_bytes()).source["cat"] == SOURCE_MEAN
    with pytest.raises(ValueError, match="source"):
        ConceptHeads(**{**heads.__dict__, "source": {"cat": "median", "food": "head"}})


def test_a_max_source_takes_whichever_of_the_head_and_the_direct_evidence_is_higher() -> None:
    heads = _heads()
    mixed = ConceptHeads(**{**heads.__dict__, "source": {"cat": SOURCE_MAX, "food": "head"}})
    emb = np.ones((1, EMBEDDING_DIM), dtype=np.float32)
    head = float(heads.head_probabilities(emb, [{}])[0, 0])
    for direct in (0.0, 0.99):
        score = mixed.scores(emb, [{"imagenet:cat": direct}])[0]["cat"]
        assert score == pytest.approx(max(head, direct))
    assert ConceptHeads.from_bytes(mixed.to_bytes()).source["cat"] == SOURCE_MAX


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
    # and beside them the OCR gate's text-likeness (mlmodels.text.textlike): no coffee has text
    assert pred.signals == {
        **rolled_up,
        "imagenet:text": pytest.approx(0, abs=0.01),
        "imagenet:menu": pytest.approx(0, abs=0.01),
    }
