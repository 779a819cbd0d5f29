"""torchvision-style preprocessing for the ImageNet MobileNetV2, in numpy + Pillow (no TF)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

INPUT_SIZE = 224
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

DEFAULT_MODE = "crop"
RESIZE_SHORT_SIDE = 256
# (x / 255 - mean) / std as x * SCALE - OFFSET in place: a third of the CPU time per photo
_SCALE = (1.0 / (255.0 * IMAGENET_STD)).astype(np.float32)
_OFFSET = (IMAGENET_MEAN / IMAGENET_STD).astype(np.float32)


def _fit(img: Image.Image, mode: str) -> Image.Image:
    if mode == "resize":
        return img.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
    if mode == "crop":
        w, h = img.size
        scale = RESIZE_SHORT_SIDE / min(w, h)
        img = img.resize(
            (max(INPUT_SIZE, round(w * scale)), max(INPUT_SIZE, round(h * scale))),
            Image.Resampling.BILINEAR,
        )
        w, h = img.size
        left, top = (w - INPUT_SIZE) // 2, (h - INPUT_SIZE) // 2
        return img.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))
    raise ValueError(f"unknown preprocessing mode {mode!r}")


def to_batch(images: Sequence[Image.Image], mode: str = DEFAULT_MODE) -> np.ndarray:
    """Stack RGB images into a normalised float32 NHWC batch of shape (N, 224, 224, 3)."""
    out = np.empty((len(images), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.float32)
    for i, img in enumerate(images):
        if img.mode != "RGB":
            img = img.convert("RGB")
        np.multiply(np.asarray(_fit(img, mode)), _SCALE, out=out[i])
        out[i] -= _OFFSET
    return out
