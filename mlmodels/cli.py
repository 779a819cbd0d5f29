"""Classify files and folders: the engine behind the Django management command."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from mlmodels.base import ALL_CONCEPTS, Classifier, ImageDecodeError, load_image
from mlmodels.concepts.rollup import present_concepts

BATCH_SIZE = 16


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Given files, and every non-hidden file under given folders (sorted); no extension
    filter, so a non-image is reported by :func:`load_image` rather than silently skipped."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path  # a missing path becomes an error result from load_image


def classify_paths(
    paths: Iterable[str | os.PathLike[str]],
    classifier: Classifier,
    thresholds: Mapping[str, float],
) -> Iterator[dict[str, Any]]:
    """Yield one dict per file, in walk order."""
    unsupported = [c for c in ALL_CONCEPTS if c not in classifier.concepts]
    # (path, image or error) in walk order, though images are predicted in batches.
    pending: list[tuple[str, Image.Image | str]] = []

    def flush() -> Iterator[dict[str, Any]]:
        images = [item for _, item in pending if isinstance(item, Image.Image)]
        predictions = iter(classifier.predict(images) if images else [])
        for path, item in pending:
            if isinstance(item, str):
                yield {"path": path, "error": item}
                continue
            pred = next(predictions)
            yield {
                "path": path,
                "model_version": classifier.version,
                "scores": dict(pred.scores),
                "present": present_concepts(pred.scores, thresholds),
                "unsupported": list(unsupported),
            }
        pending.clear()

    queued_images = 0
    for path in iter_files(paths):
        try:
            pending.append((str(path), load_image(path)))
            queued_images += 1
        except ImageDecodeError as exc:
            pending.append((str(path), str(exc)))
        if queued_images >= BATCH_SIZE:
            yield from flush()
            queued_images = 0
    yield from flush()
