"""A test double for the concept classifier. Never configured outside tests.

Its scores are whatever a test put in ``FakeClassifier.next_scores``: they describe
nothing in the image and must never be shown as a model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from mlmodels.base import Prediction

ROLLUP_CONCEPTS = frozenset(
    {"food", "beverage", "animal", "dog", "cat", "flower", "mountain", "sea", "gym"}
)


class FakeClassifier:
    version = "fake-1"
    concepts: frozenset[str] = ROLLUP_CONCEPTS
    next_scores: ClassVar[dict[str, float]] = {}
    calls: ClassVar[int] = 0

    def __init__(self, **options: Any) -> None:
        self.options = options

    @classmethod
    def reset(cls) -> None:
        cls.next_scores = {}
        cls.calls = 0

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        type(self).calls += 1
        results = []
        for image in images:
            # A deterministic stand-in embedding: the mean colour, repeated.
            mean = np.asarray(image.convert("RGB"), dtype=np.float32).mean(axis=(0, 1)) / 255.0
            embedding = np.resize(mean, 8).astype(np.float32)
            scores = {key: float(self.next_scores.get(key, 0.0)) for key in self.concepts}
            results.append(Prediction(scores=scores, embedding=embedding, top_labels=[]))
        return results
