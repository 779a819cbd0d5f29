from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlmodels.base import Classifier, Prediction
from mlmodels.build import build
from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS, present_concepts, table_hash
from mlmodels.convert.keras_mobilenet import EMBEDDING_DIM, TEXTURE_BLOCK, TEXTURE_DIM, build_model
from mlmodels.network.backbones import MOBILENET_V2
from mlmodels.network.modelfiles import ModelFilesMissing, read_manifest
from mlmodels.network.preprocess import to_batch
from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier


def _present(pred: Prediction) -> list[str]:
    return present_concepts(pred.scores, DEFAULT_THRESHOLDS)


def test_build_is_idempotent(model_dir: Path) -> None:
    before = read_manifest(model_dir)
    result = build(model_dir)
    assert result.rebuilt is False
    assert read_manifest(model_dir) == before
    for name in (*MOBILENET_V2.outputs, MOBILENET_V2.manifest_file):
        assert (model_dir / name).is_file()
    assert str(before["source_sha256"]).startswith("b0353104")


def test_coffee_is_a_beverage(classifier: MobileNetV2RollupClassifier, coffee: Image.Image) -> None:
    (pred,) = classifier.predict([coffee])
    assert "beverage" in _present(pred)
    assert pred.top_labels[0][0] in {"espresso", "tea cup", "coffee mug", "eggnog"}


def test_chelsea_is_a_cat(classifier: MobileNetV2RollupClassifier, chelsea: Image.Image) -> None:
    (pred,) = classifier.predict([chelsea])
    present = _present(pred)
    assert {"animal", "cat"} <= set(present)
    assert not {"food", "beverage", "dog"} & set(present)
    assert pred.top_labels[0][0] in {"tabby cat", "a cat having a striped coat", "Egyptian Mau"}


def test_astronaut_is_not_an_animal(
    classifier: MobileNetV2RollupClassifier, astronaut: Image.Image
) -> None:
    (pred,) = classifier.predict([astronaut])
    assert "animal" not in _present(pred)


def test_prediction_shape(
    classifier: MobileNetV2RollupClassifier, coffee: Image.Image, chelsea: Image.Image
) -> None:
    assert isinstance(classifier, Classifier)
    preds = classifier.predict([coffee, chelsea, coffee])
    assert len(preds) == 3
    for pred in preds:
        assert set(pred.scores) == classifier.concepts
        assert all(0.0 <= v <= 1.0 for v in pred.scores.values())
        assert pred.embedding.shape == (EMBEDDING_DIM + TEXTURE_DIM,)
        assert pred.embedding.dtype == np.float32
        assert pred.embedding[EMBEDDING_DIM:].std() > 0  # the texture is there, not padding
        assert not pred.embedding.flags.writeable
        assert len(pred.top_labels) == 5
        assert sum(p for _, p in pred.top_labels) <= 1.0 + 1e-6
    # same image, same batch: identical results; embeddings of different photos differ
    np.testing.assert_allclose(preds[0].embedding, preds[2].embedding, rtol=1e-5, atol=1e-5)
    assert float(np.dot(preds[0].embedding, preds[1].embedding)) < float(
        np.dot(preds[0].embedding, preds[0].embedding)
    )
    assert classifier.predict([]) == []


def test_batches_larger_than_sixteen(
    classifier: MobileNetV2RollupClassifier, coffee: Image.Image
) -> None:
    preds = classifier.predict([coffee] * 19)  # 16 + 3: sub-batches of 4 and singles
    assert len(preds) == 19
    np.testing.assert_allclose(preds[0].embedding, preds[18].embedding, rtol=1e-4, atol=1e-4)


def test_keras_backend_matches_tflite(
    model_dir: Path, coffee: Image.Image, chelsea: Image.Image
) -> None:
    tflite = MobileNetV2RollupClassifier(model_dir, backend="tflite").predict([coffee, chelsea])
    keras = MobileNetV2RollupClassifier(model_dir, backend="keras").predict([coffee, chelsea])
    for a, b in zip(tflite, keras, strict=True):
        for concept in a.scores:
            assert a.scores[concept] == pytest.approx(b.scores[concept], abs=1e-4)
        np.testing.assert_allclose(a.embedding, b.embedding, rtol=1e-3, atol=1e-3)


def test_the_texture_is_block_13_averaged(model_dir: Path, coffee: Image.Image) -> None:
    import keras

    model = build_model()
    model.load_weights(str(model_dir / MOBILENET_V2.weights_file))
    block = keras.Model(model.inputs, model.get_layer(f"features_{TEXTURE_BLOCK}_add").output)
    batch = to_batch([coffee])
    expected = np.asarray(block([batch], training=False)).mean(axis=(1, 2))
    (pred,) = MobileNetV2RollupClassifier(model_dir, backend="keras").predict([coffee])
    np.testing.assert_allclose(pred.embedding[EMBEDDING_DIM:], expected[0], rtol=1e-4, atol=1e-4)


def test_files_of_an_older_conversion_ask_for_a_build(
    model_dir: Path, tmp_path: Path, coffee: Image.Image
) -> None:
    old = tmp_path / "models"
    old.mkdir()
    manifest = read_manifest(model_dir) or {}
    manifest["build_format"] = "mobilenet_v2-tv-imagenet-keras-tflite-1"  # before the texture
    (old / MOBILENET_V2.manifest_file).write_text(json.dumps(manifest))
    (old / MOBILENET_V2.tflite_file).symlink_to(model_dir / MOBILENET_V2.tflite_file)
    with pytest.raises(ModelFilesMissing, match=r"older conversion.*python -m mlmodels\.build"):
        MobileNetV2RollupClassifier(old).predict([coffee])


def test_version_tracks_weights_and_table(model_dir: Path) -> None:
    clf = MobileNetV2RollupClassifier(model_dir)
    assert clf.version.startswith("mobilenet_v2-tv-b0353104-imagenet-rollup-")
    assert clf.version.endswith(table_hash())
    assert MobileNetV2RollupClassifier(model_dir, preprocess="resize").version != clf.version


def test_missing_model_files_explain_the_fix(tmp_path: Path, coffee: Image.Image) -> None:
    clf = MobileNetV2RollupClassifier(tmp_path / "models")  # constructing is free and never fails
    with pytest.raises(ModelFilesMissing, match=r"python -m mlmodels\.build --out .*models"):
        clf.predict([coffee])
