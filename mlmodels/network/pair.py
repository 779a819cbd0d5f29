"""MobileNetV2 with EfficientNet-Lite0 beside it: two ImageNet opinions, both embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlmodels.base import Prediction
from mlmodels.concepts import rollup
from mlmodels.convert.quantize import INT8_REVISION
from mlmodels.network.backbones import EFFICIENTNET_LITE0
from mlmodels.network.efficientnet_lite import EfficientNetLite0Int8RollupClassifier, remapped
from mlmodels.network.tf_mobilenet import (
    MobileNetV2Int8RollupClassifier,
    probability_predictions,
)


class MobileNetV2Lite0Classifier(MobileNetV2Int8RollupClassifier):
    """Both networks in int8, probabilities averaged, both embeddings (docs/backbones.md)."""

    version_prefix = "mobilenet_v2-tv-int8+efficientnet_lite0-int8"
    version_suffix = f"-q{INT8_REVISION}-{EFFICIENTNET_LITE0.weights_tag}"
    thresholds = rollup.AVERAGED_THRESHOLDS

    def __init__(self, model_dir: str | Path, **options: Any) -> None:
        super().__init__(model_dir, **options)
        self.lite = EfficientNetLite0Int8RollupClassifier(
            model_dir, threads=self.threads, backend=self.backend, preprocess=self.preprocess
        )

    def __repr__(self) -> str:
        return f"MobileNetV2Lite0Classifier({str(self.model_dir)!r})"

    def _build_hint(self) -> str:
        return f"run `python -m mlmodels.build --out {self.model_dir} --backbone all`"

    def check_files(self) -> None:
        super().check_files()
        self.lite.check_files()

    def _predict_batch(self, batch: np.ndarray) -> list[Prediction]:
        logits, embeddings = self.run_batch(batch)
        lite_logits, lite_embeddings = self.lite.run_batch(remapped(batch))  # in place
        probs = rollup.softmax(logits.astype(np.float64))
        lite_probs = rollup.softmax(lite_logits.astype(np.float64))
        return probability_predictions(
            (probs + lite_probs) / 2,
            probs,  # the OCR gate reads MobileNetV2's text classes: it was measured on them
            np.concatenate([embeddings, lite_embeddings], axis=1),
        )
