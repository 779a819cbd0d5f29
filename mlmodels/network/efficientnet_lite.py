"""EfficientNet-Lite0 (ImageNet) rebuilt in Keras from torch weights, and its roll-up classifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from mlmodels.convert import keras_mobilenet
from mlmodels.convert.quantize import INT8_REVISION
from mlmodels.network.backbones import EFFICIENTNET_LITE0
from mlmodels.network.preprocess import (
    DEFAULT_MODE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    INPUT_SIZE,
    to_batch,
)
from mlmodels.network.tf_mobilenet import RollupClassifier

if TYPE_CHECKING:
    import keras

# (repeats, kernel, first stride, expand ratio, output channels) of lukemelas' block strings
BLOCKS_ARGS: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM_CHANNELS = 32
EMBEDDING_DIM = 1280
NUM_CLASSES = 1000
BN_EPSILON = 1e-3  # TF's default, kept by the torch port (GlobalParams.batch_norm_epsilon)

# The TF "edge" models were trained on (pixel - 127) / 128, not torchvision's mean/std.
LITE_MEAN = 127.0
LITE_STD = 128.0


def build_model() -> keras.Model:
    """An uninitialised Keras EfficientNet-Lite0: (N, 224, 224, 3) scaled ``(pixel - 127) / 128``
    -> ``[logits(1000), embedding(1280)]``."""
    import keras
    from keras import layers

    def conv_bn(
        x: Any,
        filters: int,
        kernel: int,
        stride: int,
        conv_name: str,
        bn_name: str,
        depthwise: bool = False,
        relu: bool = True,
    ) -> Any:
        if depthwise:
            x = layers.DepthwiseConv2D(
                kernel, strides=stride, padding="same", use_bias=False, name=conv_name
            )(x)
        else:
            x = layers.Conv2D(
                filters, kernel, strides=stride, padding="same", use_bias=False, name=conv_name
            )(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=bn_name)(x)
        if relu:
            x = layers.ReLU(max_value=6.0, name=f"{bn_name}.relu6")(x)
        return x

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = conv_bn(inputs, STEM_CHANNELS, 3, 2, "_conv_stem", "_bn0")
    in_ch = STEM_CHANNELS
    idx = 0
    for repeats, kernel, first_stride, expand, out_ch in BLOCKS_ARGS:
        for i in range(repeats):
            stride = first_stride if i == 0 else 1
            p = f"_blocks.{idx}"
            block_in = x
            hidden = in_ch * expand
            if expand != 1:
                x = conv_bn(x, hidden, 1, 1, f"{p}._expand_conv", f"{p}._bn0")
            x = conv_bn(x, hidden, kernel, stride, f"{p}._depthwise_conv", f"{p}._bn1", True)
            x = conv_bn(x, out_ch, 1, 1, f"{p}._project_conv", f"{p}._bn2", relu=False)
            if stride == 1 and in_ch == out_ch:
                x = layers.Add(name=f"{p}.add")([block_in, x])
            in_ch = out_ch
            idx += 1
    x = conv_bn(x, EMBEDDING_DIM, 1, 1, "_conv_head", "_bn1")
    embedding = layers.GlobalAveragePooling2D(name="embedding")(x)
    logits = layers.Dense(NUM_CLASSES, name="_fc")(embedding)
    return keras.Model(inputs, [logits, embedding], name="efficientnet_lite0")


def load_torch_weights(model: keras.Model, state_dict: Mapping[str, np.ndarray]) -> None:
    """Copy the port's state-dict tensors (the Keras layers carry their names) into ``model``."""
    keras_mobilenet.load_torch_weights(model, state_dict, torch_name=lambda name: name)


# to_batch's (p/255 - m) / s and Lite's (p - 127) / 128 are both affine in p: one multiply-add.
_REMAP_SCALE = (IMAGENET_STD * 255.0 / LITE_STD).astype(np.float32)
_REMAP_SHIFT = ((IMAGENET_MEAN * 255.0 - LITE_MEAN) / LITE_STD).astype(np.float32)


def to_batch_lite(images: Sequence[Image.Image], mode: str = DEFAULT_MODE) -> np.ndarray:
    """Like :func:`preprocess.to_batch` (same resize and crop), scaled ``(p-127)/128``."""
    return remapped(to_batch(images, mode))


def remapped(batch: np.ndarray) -> np.ndarray:
    """A :func:`preprocess.to_batch` batch rescaled in place for Lite0 (returned)."""
    batch *= _REMAP_SCALE
    batch += _REMAP_SHIFT
    return batch


class EfficientNetLite0RollupClassifier(RollupClassifier):
    """ImageNet EfficientNet-Lite0 with the MobileNetV2-tuned roll-up (docs/backbones.md)."""

    backbone = EFFICIENTNET_LITE0
    version_prefix = "efficientnet_lite0-tf"
    backends = ("tflite",)

    def __repr__(self) -> str:
        return f"EfficientNetLite0RollupClassifier({str(self.model_dir)!r})"

    def _build_hint(self) -> str:
        return (
            f"run `python -m mlmodels.build --out {self.model_dir} --backbone efficientnet_lite0`"
        )

    def _to_batch(self, images: Sequence[Image.Image]) -> np.ndarray:
        return to_batch_lite(images, self.preprocess)


class EfficientNetLite0Int8RollupClassifier(EfficientNetLite0RollupClassifier):
    """The same network in int8 but for its outputs (``build.LITE0_INT8``): its own version."""

    version_prefix = "efficientnet_lite0-tf-int8"
    version_suffix = f"-q{INT8_REVISION}"

    def __repr__(self) -> str:
        return f"EfficientNetLite0Int8RollupClassifier({str(self.model_dir)!r})"

    @property
    def tflite_file(self) -> str:
        return self.backbone.int8_file
