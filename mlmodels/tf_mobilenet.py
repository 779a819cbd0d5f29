"""The real TagLens classifier: torchvision's ImageNet MobileNetV2 + the concept roll-up."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from mlmodels import rollup
from mlmodels.base import Prediction
from mlmodels.build import MANIFEST_FILE, SOURCE_FILE, TFLITE_FILE, WEIGHTS_FILE, read_manifest
from mlmodels.engines import DEFAULT_BACKEND, Engine, make_engine
from mlmodels.preprocess import DEFAULT_MODE, to_batch

# Bump when preprocessing or the inference pipeline changes in a way that changes scores.
PIPELINE_REVISION = 1
# torchvision names its weight files after the sha256 prefix of their content.
WEIGHTS_TAG = SOURCE_FILE.rsplit("-", 1)[-1].split(".")[0]  # "b0353104"
BATCH_SIZE = 16
# Prediction.signals keys for the roll-up scores: "imagenet:<concept>".
SIGNAL_PREFIX = "imagenet:"


def rollup_predictions(logits: np.ndarray, embeddings: np.ndarray) -> list[Prediction]:
    """Predictions of an ImageNet backbone: roll-up scores, top labels, its embedding."""
    probs = rollup.softmax(logits.astype(np.float64))
    out: list[Prediction] = []
    for scores, labels, emb in zip(
        rollup.rollup_scores(probs), rollup.top_labels(probs), embeddings, strict=True
    ):
        emb = np.array(emb, dtype=np.float32)  # own copy, detached from the batch
        emb.flags.writeable = False
        out.append(
            Prediction(
                scores=scores,
                embedding=emb,
                top_labels=labels,
                # The same roll-up scores as evidence for trained concept heads (the same keys
                # for every backbone, so heads read either).
                signals={f"{SIGNAL_PREFIX}{c}": v for c, v in scores.items()},
            )
        )
    return out


class ModelFilesMissing(RuntimeError):
    """The converted model is not in ``model_dir``; the message tells the operator what to run."""


class MobileNetV2RollupClassifier:
    """ImageNet MobileNetV2 (torchvision weights, converted) whose 1000 class probabilities are
    summed into TagLens concepts by :mod:`mlmodels.rollup`.

    The model is loaded lazily on the first :meth:`predict` (thread-safe), so constructing the
    classifier in a web process is free.
    """

    def __init__(
        self,
        model_dir: str | Path,
        threads: int = 2,
        backend: str = DEFAULT_BACKEND,
        preprocess: str = DEFAULT_MODE,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.backend = (
            backend  # "tflite" or "keras": same scores to ~1e-5, so not part of the version
        )
        self.preprocess = preprocess
        self.concepts: frozenset[str] = rollup.ROLLUP_CONCEPTS
        # Changes with the weights, the roll-up table and the pipeline revision (and a non-default
        # preprocessing, which changes scores).
        self.version: str = (
            f"mobilenet_v2-tv-{WEIGHTS_TAG}-imagenet-rollup-{PIPELINE_REVISION}-"
            f"{rollup.table_hash()}"
        )
        if preprocess != DEFAULT_MODE:
            self.version += f"-{preprocess}"
        self._engine: Engine | None = None
        self._init_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MobileNetV2RollupClassifier({str(self.model_dir)!r}, backend={self.backend!r})"

    def _check_files(self) -> None:
        needed = [MANIFEST_FILE, TFLITE_FILE if self.backend == "tflite" else WEIGHTS_FILE]
        missing = [name for name in needed if not (self.model_dir / name).is_file()]
        hint = f"run `python -m mlmodels.build --out {self.model_dir}`"
        if missing:
            raise ModelFilesMissing(f"model files {missing} not found in {self.model_dir}: {hint}")
        manifest = read_manifest(self.model_dir) or {}
        if not str(manifest.get("source_sha256", "")).startswith(WEIGHTS_TAG):
            raise ModelFilesMissing(
                f"{self.model_dir} holds a model built from other weights than {SOURCE_FILE}: "
                f"{hint} --force"
            )

    def _get_engine(self) -> Engine:
        # Double-checked locking: the common path takes no lock.
        engine = self._engine
        if engine is None:
            with self._init_lock:
                if self._engine is None:
                    self._check_files()
                    self._engine = make_engine(self.backend, self.model_dir, self.threads)
                engine = self._engine
        return engine

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        if not images:
            return []
        engine = self._get_engine()
        out: list[Prediction] = []
        for start in range(0, len(images), BATCH_SIZE):
            chunk = images[start : start + BATCH_SIZE]
            out += rollup_predictions(*engine.run(to_batch(chunk, self.preprocess)))
        return out
