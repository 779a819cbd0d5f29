"""Test double for :class:`mlmodels.base.Classifier`, NOT a model: used only in tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from PIL import Image

from mlmodels.base import ALL_CONCEPTS, Prediction

EMBEDDING_DIM = 8


class FakeClassifier:
    """Deterministic stand-in; supports the same concepts as the real ImageNet roll-up."""

    version: str = "fake-1"
    concepts: frozenset[str] = frozenset(ALL_CONCEPTS) - {"adult", "child", "nail", "clothing"}
    thresholds: ClassVar[Mapping[str, float]] = {}

    next_scores: ClassVar[Mapping[str, float]] = {}
    next_signals: ClassVar[Mapping[str, float]] = {}  # e.g. "imagenet:text" for the OCR gate
    calls: ClassVar[int] = 0  # number of predict() calls
    images_seen: ClassVar[int] = 0  # number of images over all calls

    def __init__(self, **options: object) -> None:
        self.options = dict(options)  # accepted and ignored, like a real classifier's settings

    @classmethod
    def reset(cls) -> None:
        cls.next_scores = {}
        cls.next_signals = {}
        cls.calls = 0
        cls.images_seen = 0

    @staticmethod
    def embedding_for(image: Image.Image) -> np.ndarray:
        """Mean R, G, B (0..1) repeated to length 8: equal pixels give equal embeddings."""
        mean = (
            np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(axis=0) / 255.0
        )
        emb = np.resize(mean, EMBEDDING_DIM).astype(np.float32)
        emb.flags.writeable = False
        return emb

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        cls = type(self)
        cls.calls += 1
        cls.images_seen += len(images)
        unknown = set(cls.next_scores) - self.concepts
        if unknown:
            # Mirrors the real contract: never a score for an unsupported concept.
            raise ValueError(
                f"FakeClassifier.next_scores has unsupported concepts {sorted(unknown)}"
            )
        scores = {c: float(cls.next_scores.get(c, 0.0)) for c in sorted(self.concepts)}
        return [
            Prediction(
                scores=dict(scores),
                embedding=self.embedding_for(img),
                top_labels=[],
                signals=dict(cls.next_signals),
            )
            for img in images
        ]
