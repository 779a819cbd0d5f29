"""The TFLite people models: which TF.js graphs, cut where, and the input both detectors share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

LITE_BUILD_FORMAT = "people-tflite-2"
DEFAULT_LITE_OUT = Path("var/models/people-lite")
LICENSE_FILE = "LICENSE.human-models.txt"
DETECTOR_SIZE = 256  # MoveNet and BlazeFace both take 256 px: one letterboxed image feeds both
_MOVENET = "StatefulPartitionedCall/"


@dataclass(frozen=True)
class LiteModel:
    file: str  # output .tflite
    source: str  # model.json in the npm package
    input: str  # graph tensor fed (its batch dimension is freed for TFLite)
    size: int
    dtype: str  # "int32" | "float32"
    outputs: tuple[str, ...]  # graph tensors kept; everything after them is done in numpy
    whole_graph_output: str  # the TF.js graph's own final output, for the agreement check


MOVENET = LiteModel(
    file="movenet.tflite",
    source="movenet-multipose",
    input="input:0",
    size=DETECTOR_SIZE,
    dtype="int32",
    # the six heads in decode.movenet_decode's argument order; the graph's decoding is cut off
    outputs=tuple(
        f"{_MOVENET}{name}:0"
        for name in (
            "Sigmoid",
            "Sigmoid_1",
            "kpt_regress_0/conv2d_8/BiasAdd",
            "kpt_offset_0/conv2d_9/BiasAdd",
            "box_scale_0/conv2d_5/BiasAdd",
            "box_offset_0/conv2d_6/BiasAdd",
        )
    ),
    whole_graph_output="Identity:0",
)
BLAZEFACE = LiteModel(
    file="blazeface.tflite",
    source="blazeface",  # the 256 px full-range ("back camera") detector: small faces in scenes
    input="input:0",
    size=DETECTOR_SIZE,
    dtype="float32",
    outputs=("Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"),
    whole_graph_output="Identity:0",
)
FACERES = LiteModel(
    file="faceres.tflite",
    source="faceres",
    input="input_1:0",
    size=224,
    dtype="float32",
    outputs=("age_pred/Softmax:0",),
    whole_graph_output="age_pred/Softmax:0",
)
LITE_MODELS = (MOVENET, BLAZEFACE, FACERES)
LITE_OUTPUT_FILES = (*(m.file for m in LITE_MODELS), LICENSE_FILE)
TARBALL_MEMBERS = (
    "package/LICENSE",
    *(f"package/models/{m.source}.{ext}" for m in LITE_MODELS for ext in ("json", "bin")),
)


def letterbox(img: Image.Image, size: int = DETECTOR_SIZE) -> np.ndarray:
    """``img`` padded (black, bottom/right) to a square and resized to ``size``: uint8 (size,
    size, 3). Boxes normalised to it map back to image px by the image's long side."""
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    side = max(rgb.size)
    square = Image.new("RGB", (side, side))
    square.paste(rgb, (0, 0))
    return np.asarray(square.resize((size, size), Image.Resampling.BILINEAR), np.uint8)


def blazeface_input(boxed: np.ndarray) -> np.ndarray:
    """Letterboxed uint8 RGB -> BlazeFace's float input in -1..1 (MediaPipe's normalisation)."""
    return np.asarray(boxed, np.float32) / np.float32(127.5) - np.float32(1.0)


def output_order(name: str) -> int:
    """Sort key of a converted model's outputs: the converter names them Identity, Identity_1,
    ... in the order ``LiteModel.outputs`` gave them, but lists them in its own order."""
    tail = name.rsplit(":", 1)[0].rsplit("_", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 0
