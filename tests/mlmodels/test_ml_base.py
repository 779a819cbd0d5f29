from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mlmodels.base import (
    ALL_CONCEPTS,
    Classifier,
    Prediction,
    clear_classifier_cache,
    import_dotted,
    load_classifier,
)
from mlmodels.concepts.rollup import ROLLUP_CONCEPTS
from mlmodels.fake import FakeClassifier
from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier


def test_all_concepts() -> None:
    assert ALL_CONCEPTS == (
        "food", "beverage", "adult", "child", "animal", "dog", "cat",
        "nail", "flower", "mountain", "sea", "gym", "clothing",
    )  # fmt: skip


def test_load_classifier_caches_by_path_and_options() -> None:
    clear_classifier_cache()
    a = load_classifier("mlmodels.fake.FakeClassifier")
    assert a is load_classifier("mlmodels.fake.FakeClassifier")
    assert a is not load_classifier("mlmodels.fake.FakeClassifier", model_dir="/x")
    assert load_classifier("mlmodels.fake:FakeClassifier", model_dir="/x") is not None
    clear_classifier_cache()
    assert load_classifier("mlmodels.fake.FakeClassifier") is not a


def test_a_setting_naming_a_moved_module_still_loads() -> None:
    old = "mlmodels.tf_mobilenet.MobileNetV2RollupClassifier"
    assert import_dotted(old) is MobileNetV2RollupClassifier
    with pytest.raises(ModuleNotFoundError):
        import_dotted("mlmodels.tf_mobilenet_gone.MobileNetV2RollupClassifier")


def test_load_classifier_errors() -> None:
    with pytest.raises(ImportError):
        load_classifier("mlmodels.fake.NoSuchClass")
    with pytest.raises(ImportError):
        load_classifier("nodots")
    with pytest.raises(TypeError, match="Classifier protocol"):
        load_classifier("collections.OrderedDict")


def test_load_classifier_does_not_load_the_model(tmp_path: object) -> None:
    clf = load_classifier(
        "mlmodels.network.tf_mobilenet.MobileNetV2RollupClassifier", model_dir=str(tmp_path)
    )
    assert isinstance(clf, Classifier)
    assert clf.concepts == ROLLUP_CONCEPTS
    clear_classifier_cache()


def test_fake_classifier(fake: type[FakeClassifier]) -> None:
    clf = FakeClassifier()
    assert clf.version == "fake-1"
    assert clf.concepts == ROLLUP_CONCEPTS  # same support as the real roll-up
    red, blue = Image.new("RGB", (4, 4), (255, 0, 0)), Image.new("RGB", (4, 4), (0, 0, 255))

    first = clf.predict([red, blue])
    assert fake.calls == 1 and fake.images_seen == 2
    assert all(v == 0.0 for v in first[0].scores.values())
    assert first[0].embedding.shape == (8,)
    np.testing.assert_allclose(first[0].embedding[:3], [1.0, 0.0, 0.0])
    assert not np.allclose(first[0].embedding, first[1].embedding)

    fake.next_scores = {"cat": 0.9}
    (second,) = clf.predict([red])
    assert second.scores["cat"] == 0.9 and "adult" not in second.scores
    np.testing.assert_array_equal(second.embedding, first[0].embedding)

    fake.next_scores = {"adult": 0.9}
    with pytest.raises(ValueError, match="unsupported"):
        clf.predict([red])


def test_prediction_is_frozen() -> None:
    pred = Prediction(scores={"cat": 1.0}, embedding=np.zeros(3, np.float32), top_labels=[])
    with pytest.raises(AttributeError):
        pred.scores = {}  # type: ignore[misc]
    assert pred == Prediction(scores={"cat": 1.0}, embedding=np.ones(3, np.float32), top_labels=[])
