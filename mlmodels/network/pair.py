"""MobileNetV2 with EfficientNet-Lite0 beside it: two ImageNet opinions, both embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from mlmodels.base import Prediction
from mlmodels.concepts import rollup
from mlmodels.convert.quantize import INT8_REVISION
from mlmodels.network.backbones import EFFICIENTNET_LITE0
from mlmodels.network.efficientnet_lite import EfficientNetLite0RollupClassifier, remapped
from mlmodels.network.engines import DEFAULT_BACKEND
from mlmodels.network.preprocess import DEFAULT_MODE
from mlmodels.network.tf_mobilenet import (
    BATCH_SIZE,
    MobileNetV2Int8RollupClassifier,
    probability_predictions,
)


class MobileNetV2Lite0Classifier(MobileNetV2Int8RollupClassifier):
    """Roll-up of both networks' probabilities averaged, both embeddings; the OCR gate reads
    MobileNetV2's text classes, as measured (docs/backbones.md, "EfficientNet-Lite0 beside…")."""

    version_prefix = "mobilenet_v2-tv-int8+efficientnet_lite0"
    version_suffix = f"-q{INT8_REVISION}-{EFFICIENTNET_LITE0.weights_tag}"

    def __init__(
        self,
        model_dir: str | Path,
        threads: int = 2,
        backend: str = DEFAULT_BACKEND,
        preprocess: str = DEFAULT_MODE,
    ) -> None:
        super().__init__(model_dir, threads, backend, preprocess)
        self.lite = EfficientNetLite0RollupClassifier(model_dir, threads, backend, preprocess)

    def __repr__(self) -> str:
        return f"MobileNetV2Lite0Classifier({str(self.model_dir)!r})"

    def _build_hint(self) -> str:
        return f"run `python -m mlmodels.build --out {self.model_dir} --backbone all`"

    def _check_files(self) -> None:
        super()._check_files()
        self.lite._check_files()

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        if not images:
            return []
        self._get_engine()
        out: list[Prediction] = []
        for start in range(0, len(images), BATCH_SIZE):
            batch = self._to_batch(images[start : start + BATCH_SIZE])
            logits, embeddings = self.run_batch(batch)
            lite_logits, lite_embeddings = self.lite.run_batch(remapped(batch))
            probs = rollup.softmax(logits.astype(np.float64))
            lite_probs = rollup.softmax(lite_logits.astype(np.float64))
            out += probability_predictions(
                (probs + lite_probs) / 2,
                probs,
                np.concatenate([embeddings, lite_embeddings], axis=1),
            )
        return out
