"""The backbones in 8-bit integers (MobileNetV2 up to its last stage, Lite0 all but its outputs).

Calibrated on the photos that ship inside scikit-image, cut into fixed crops and mirrors, so
every machine builds the same file with or without the development photos. What it costs the
heads is measured by the source-grouped CV (docs/backbones.md, "int8").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from mlmodels.convert import keras_mobilenet
from mlmodels.network.engines import flatbuffer_tensor_names, run_flatbuffer
from mlmodels.network.preprocess import INPUT_SIZE, to_batch

INT8_REVISION = 1  # bump when the calibration or the conversion changes: embeddings change
FLOAT_FROM = 14  # from this block on (the 7x7 stage, the classifier) float32: int8 erred most
LAST_BLOCK = 18

CALIBRATION_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "retina",
    "immunohistochemistry",
    "colorwheel",
    "camera",
    "coins",
    "moon",
    "page",
    "text",
    "brick",
    "grass",
    "gravel",
    "horse",
    "cell",
    "clock",
)
MIN_MEDIAN_COSINE = 0.8  # on the calibration views (built: 0.97): below, a broken converter
MIN_TOP1_AGREEMENT = 0.3  # (built: 0.68)


@dataclass(frozen=True)
class Int8Recipe:
    """How one backbone goes to int8: its preprocessing, and the tensors that stay float32."""

    to_input: Callable[[list[Image.Image]], np.ndarray]
    stays_float: Callable[[str], bool]  # by the name in the float32 conversion


def calibration_photos() -> list[Image.Image]:
    from skimage import data

    photos = []
    for name in CALIBRATION_PHOTOS:
        pixels = np.asarray(getattr(data, name)())
        if pixels.dtype == bool:
            pixels = pixels.astype(np.uint8) * 255
        elif pixels.dtype != np.uint8:
            low, span = pixels.min(), float(np.ptp(pixels)) or 1.0
            pixels = (255 * (pixels - low) / span).astype(np.uint8)
        photos.append(Image.fromarray(pixels).convert("RGB"))
    return photos


def calibration_views(photos: list[Image.Image]) -> list[Image.Image]:
    """Each photo whole, its four quarters and its centre, each also mirrored."""
    views = []
    for photo in photos:
        w, h = photo.size
        for box in (
            (0, 0, w, h),
            (0, 0, w // 2, h // 2),
            (w // 2, 0, w, h // 2),
            (0, h // 2, w // 2, h),
            (w // 2, h // 2, w, h),
            (w // 4, h // 4, 3 * w // 4, 3 * h // 4),
        ):
            crop = photo.crop(box)
            views += [crop, ImageOps.mirror(crop)]
    return views


def convert_int8(
    model: Any, views: list[Image.Image], float_model: bytes, recipe: Int8Recipe
) -> bytes:
    """``model`` (Keras, outputs logits, embedding[, texture]) as a TFLite flatbuffer in int8 but
    for the ops ``recipe`` keeps float32: the quantization debugger converts it with those ops,
    named as in ``float_model`` (its float32 conversion), denylisted (selective quantization)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    def forward(x: Any) -> dict[str, Any]:
        return keras_mobilenet.named_outputs(model(x, training=False))

    def representative() -> Iterator[list[np.ndarray]]:
        for view in views:
            yield [recipe.to_input([view])]

    spec = tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32, name="image")
    frozen = convert_variables_to_constants_v2(
        tf.function(forward, input_signature=[spec]).get_concrete_function()
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    kept = [name for name in flatbuffer_tensor_names(float_model) if recipe.stays_float(name)]
    return selective_int8(converter, representative, kept)


def selective_int8(
    converter: Any, representative: Callable[[], Iterator[list[np.ndarray]]], kept: list[str]
) -> bytes:
    """``converter``'s model in int8, calibrated on ``representative``, but for the tensors
    named in ``kept`` (as named in its float32 conversion), which stay float32."""
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=representative,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=kept),
    )
    return bytes(debugger.get_nondebug_quantized_model())


def outputs_stay_float(tensor: str) -> bool:
    return tensor.startswith("Identity")


def _mobilenet_stays_float(tensor: str) -> bool:
    blocks = (f"features_{i}_" for i in range(FLOAT_FROM, LAST_BLOCK + 1))
    return outputs_stay_float(tensor) or any(block in tensor for block in blocks)


MOBILENET_V2_INT8 = Int8Recipe(to_batch, _mobilenet_stays_float)


def _logits_and_embedding(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    by_width = {out.shape[-1]: out for out in outputs.values()}
    return by_width[1000], by_width[1280]


def agreement(
    float_model: bytes, int8_model: bytes, views: list[Image.Image], recipe: Int8Recipe
) -> dict[str, float]:
    """Median and least embedding cosine, and top-1 ImageNet agreement, int8 against float."""
    batch = recipe.to_input(views)
    return outputs_agreement(
        _logits_and_embedding(run_flatbuffer(float_model, batch)),
        _logits_and_embedding(run_flatbuffer(int8_model, batch)),
    )


def outputs_agreement(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> dict[str, float]:
    """The same figures for two runs' (logits, embeddings) of the same images."""
    (logits_f, emb_f), (logits_q, emb_q) = a, b
    cos = (emb_f * emb_q).sum(1) / (
        np.linalg.norm(emb_f, axis=1) * np.linalg.norm(emb_q, axis=1) + 1e-12
    )
    return {
        "median_embedding_cosine": round(float(np.median(cos)), 4),
        "least_embedding_cosine": round(float(cos.min()), 4),
        "top1_agreement": round(float(np.mean(logits_f.argmax(1) == logits_q.argmax(1))), 4),
    }


def check(figures: dict[str, float]) -> None:
    if not (
        figures["median_embedding_cosine"] >= MIN_MEDIAN_COSINE
        and figures["top1_agreement"] >= MIN_TOP1_AGREEMENT
    ):
        raise RuntimeError(f"the int8 backbone disagrees with float32: {figures}")
