"""torchvision's ``mobilenet_v2`` rebuilt layer by layer in Keras (NHWC), plus weight transfer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mlmodels.network.preprocess import INPUT_SIZE

if TYPE_CHECKING:
    import keras

# (expansion t, output channels c, repeats n, first stride s): torchvision's setting
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
EMBEDDING_DIM = 1280
# The 14x14 stage's last block, averaged: what the 7x7 embedding loses (docs/backbones.md).
TEXTURE_BLOCK = 13
TEXTURE_DIM = 96
NUM_CLASSES = 1000
BN_EPSILON = 1e-5


def named_outputs(outputs: Sequence[Any]) -> dict[str, Any]:
    """A converted network's outputs by name (EfficientNet-Lite0 has no texture)."""
    return dict(zip(("logits", "embedding", "texture"), outputs, strict=False))


def _torch_name(keras_name: str) -> str:
    return keras_name.replace("_", ".")


def build_model() -> keras.Model:
    """An uninitialised Keras MobileNetV2: ``[logits(1000), embedding(1280), texture(96)]``."""
    import keras
    from keras import layers

    def conv_bn(
        x: Any,
        filters: int,
        kernel: int,
        stride: int,
        name: str,
        depthwise: bool = False,
        relu: bool = True,
    ) -> Any:
        # name is the torch prefix of the ConvBNReLU/Conv+BN pair, e.g. "features_2_conv_0"
        if kernel == 3:
            x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        if depthwise:
            x = layers.DepthwiseConv2D(
                kernel, strides=stride, padding="valid", use_bias=False, name=f"{name}_0"
            )(x)
        else:
            x = layers.Conv2D(
                filters, kernel, strides=stride, padding="valid", use_bias=False, name=f"{name}_0"
            )(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.9, name=f"{name}_1")(x)
        if relu:
            x = layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x)
        return x

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = conv_bn(inputs, 32, 3, 2, "features_0")
    in_ch = 32
    idx = 1
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            prefix = f"features_{idx}_conv"
            block_in = x
            hidden = in_ch * t
            j = 0
            if t != 1:
                x = conv_bn(x, hidden, 1, 1, f"{prefix}_{j}")
                j += 1
            x = conv_bn(x, hidden, 3, stride, f"{prefix}_{j}", depthwise=True)
            j += 1
            # projection: plain conv (index j) followed by BN (index j+1), no activation
            x = layers.Conv2D(c, 1, use_bias=False, name=f"{prefix}_{j}")(x)
            x = layers.BatchNormalization(
                epsilon=BN_EPSILON, momentum=0.9, name=f"{prefix}_{j + 1}"
            )(x)
            if stride == 1 and in_ch == c:
                x = layers.Add(name=f"features_{idx}_add")([block_in, x])
            in_ch = c
            if idx == TEXTURE_BLOCK:
                texture = layers.GlobalAveragePooling2D(name="texture")(x)
            idx += 1
    x = conv_bn(x, EMBEDDING_DIM, 1, 1, "features_18")
    embedding = layers.GlobalAveragePooling2D(name="embedding")(x)
    # torchvision has Dropout(0.2) at classifier.0; it is a no-op at inference so it is omitted.
    logits = layers.Dense(NUM_CLASSES, name="classifier_1")(embedding)
    return keras.Model(inputs, [logits, embedding, texture], name="mobilenet_v2_tv")


def _conv_kernel(w: np.ndarray, depthwise: bool) -> np.ndarray:
    if depthwise:
        # torch (C, 1, kh, kw) -> keras DepthwiseConv2D (kh, kw, C, 1)
        return np.transpose(w, (2, 3, 0, 1))
    # torch OIHW -> keras HWIO
    return np.transpose(w, (2, 3, 1, 0))


def load_torch_weights(
    model: keras.Model,
    state_dict: Mapping[str, np.ndarray],
    torch_name: Callable[[str], str] = _torch_name,
) -> None:
    """Copy state-dict tensors into ``model``, each exactly once; ``torch_name`` maps a Keras
    layer name to its state-dict prefix (default: torchvision's layout)."""
    from keras import layers

    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        if key not in state_dict:
            raise KeyError(f"state dict has no {key!r}")
        used.add(key)
        return np.asarray(state_dict[key], dtype=np.float32)

    for layer in model.layers:
        prefix = torch_name(layer.name)
        if isinstance(layer, layers.DepthwiseConv2D):
            layer.set_weights([_conv_kernel(take(f"{prefix}.weight"), depthwise=True)])
        elif isinstance(layer, layers.Conv2D):
            layer.set_weights([_conv_kernel(take(f"{prefix}.weight"), depthwise=False)])
        elif isinstance(layer, layers.BatchNormalization):
            layer.set_weights(
                [
                    take(f"{prefix}.weight"),
                    take(f"{prefix}.bias"),
                    take(f"{prefix}.running_mean"),
                    take(f"{prefix}.running_var"),
                ]
            )
            used.add(f"{prefix}.num_batches_tracked")  # training statistic, not needed
        elif isinstance(layer, layers.Dense):
            layer.set_weights([take(f"{prefix}.weight").T, take(f"{prefix}.bias")])
    unused = set(state_dict) - used
    if unused:
        raise ValueError(f"state dict tensors not mapped onto the model: {sorted(unused)[:5]}...")
