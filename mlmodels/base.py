"""Framework-free interface of TagLens image classifiers."""

from __future__ import annotations

import importlib
import io
import os
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Every concept TagLens knows. A classifier supports a subset of them (``Classifier.concepts``);
# scores are only ever reported for supported concepts.
ALL_CONCEPTS: tuple[str, ...] = (
    "food",
    "beverage",
    "adult",
    "child",
    "animal",
    "dog",
    "cat",
    "nail",
    "flower",
    "mountain",
    "sea",
    "gym",
    "clothing",
)

# Pillow format names we accept. Everything else (TIFF, PSD, ICO, EPS, ...) is refused: fewer
# decoders exposed to user uploads, and these cover what phones and browsers produce.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

DRAFT_MIN_SIZE = 256


@dataclass(frozen=True)
class Prediction:
    scores: dict[str, float]
    embedding: np.ndarray = field(compare=False, repr=False)
    top_labels: list[tuple[str, float]] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Classifier(Protocol):
    version: str  # changes whenever weights or score mapping change
    concepts: frozenset[str]  # concept keys this classifier can score
    thresholds: Mapping[str, float]  # cuts calibrated for its own scores; empty: the concepts'

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]: ...


@runtime_checkable
class SignalSource(Protocol):
    """Extra evidence per image (faces, ages): one dict per image, keys prefixed ``name + ":"``;
    a missing key means "not found" and reads as 0 in the concept heads, while no key of the
    source at all means it did not run (``ConceptHeads.scores``)."""

    name: str
    version: str  # stored beside the signals: heads read only the version they were trained on

    def signals(self, images: Sequence[Image.Image]) -> list[dict[str, float]]: ...


class ImageDecodeError(ValueError):
    """A file is not an image we accept; ``str(exc)`` is a message fit to show a user."""


def _read_bytes(path_or_file: str | os.PathLike[str] | IO[bytes]) -> tuple[bytes, str]:
    if isinstance(path_or_file, (str, os.PathLike)):
        name = str(path_or_file)
        try:
            return Path(path_or_file).read_bytes(), name
        except OSError as exc:
            raise ImageDecodeError(f"{name}: cannot read file ({exc.strerror or exc})") from exc
    name = str(getattr(path_or_file, "name", "") or "<upload>")
    if hasattr(path_or_file, "seek"):
        path_or_file.seek(0)
    return path_or_file.read(), name


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    # Transparent pixels carry arbitrary colour: compose on white, as a browser shows it.
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def load_image(
    path_or_file: str | os.PathLike[str] | IO[bytes], draft_size: int | None = DRAFT_MIN_SIZE
) -> Image.Image:
    """Open, verify and normalise an image for classification."""
    data, name = _read_bytes(path_or_file)
    if not data:
        raise ImageDecodeError(f"{name}: empty file (0 bytes)")
    allowed = ", ".join(ALLOWED_FORMATS)
    try:
        img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        if type(img).verify is not ImageFile.ImageFile.verify:
            img.verify()
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        if img.format == "JPEG" and draft_size and min(img.size) >= 2 * draft_size:
            img.draft("RGB", (draft_size, draft_size))
        img.seek(0)  # first frame of animated GIF/WebP
        img.load()  # decode now so truncation is reported here, not later
        if draft_size and min(img.size) >= 2 * draft_size:
            img = img.reduce(min(img.size) // draft_size)  # type: ignore[assignment]
        # In place: otherwise every photo is copied (docs/scaling.md, "Ingest and workers").
        ImageOps.exif_transpose(img, in_place=True)
        return _to_rgb(img)
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(
            f"{name}: not a recognised image (allowed formats: {allowed})"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"{name}: image dimensions too large ({exc})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        # struct.error: some Pillow plugins let it escape on malformed headers.
        raise ImageDecodeError(f"{name}: truncated or corrupt image data ({exc})") from exc


_classifier_cache: dict[tuple[str, str], Classifier] = {}
_classifier_lock = threading.Lock()


MOVED_MODULES = {
    "mlmodels.tf_mobilenet": "mlmodels.network.tf_mobilenet",
    "mlmodels.efficientnet_lite": "mlmodels.network.efficientnet_lite",
}


def import_dotted(dotted_path: str) -> Any:
    """The object a setting names (``package.module.Name``), also by a moved module's old name."""
    module_name, sep, attr = dotted_path.replace(":", ".").rpartition(".")
    module_name = MOVED_MODULES.get(module_name, module_name)
    if not sep or not module_name:
        raise ImportError(f"{dotted_path!r} is not a dotted path like 'package.module.ClassName'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from exc


def load_classifier(dotted_path: str, **options: Any) -> Classifier:
    """Instantiate ``dotted_path`` with ``options``; cached per process per path and options."""
    key = (dotted_path, repr(sorted(options.items())))
    with _classifier_lock:
        cached = _classifier_cache.get(key)
        if cached is None:
            cls = import_dotted(dotted_path)
            cached = cls(**options)
            if not isinstance(cached, Classifier):
                raise TypeError(f"{dotted_path} does not implement the Classifier protocol")
            _classifier_cache[key] = cached
        return cached


def clear_classifier_cache() -> None:
    """Forget instances made by :func:`load_classifier` (for tests and reconfiguration)."""
    with _classifier_lock:
        _classifier_cache.clear()
