"""The real TagLens classifier: torchvision's ImageNet MobileNetV2 + the concept roll-up."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from mlmodels.base import Prediction
from mlmodels.concepts import rollup
from mlmodels.convert.quantize import INT8_REVISION
from mlmodels.network.backbones import MOBILENET_V2, Backbone
from mlmodels.network.engines import DEFAULT_BACKEND, Engine, make_engine
from mlmodels.network.modelfiles import ModelFilesMissing, read_manifest, require_files
from mlmodels.network.preprocess import DEFAULT_MODE, to_batch

BATCH_SIZE = 16
SIGNAL_PREFIX = "imagenet:"


def rollup_predictions(logits: np.ndarray, embeddings: np.ndarray) -> list[Prediction]:
    """Predictions of an ImageNet backbone: roll-up scores, top labels, its embedding."""
    probs = rollup.softmax(logits.astype(np.float64))
    return probability_predictions(probs, probs, embeddings)


def probability_predictions(
    probs: np.ndarray, text_probs: np.ndarray, embeddings: np.ndarray
) -> list[Prediction]:
    """Roll-up scores and top labels from ``probs``, the OCR gate's signals from ``text_probs``."""
    out: list[Prediction] = []
    for scores, texts, labels, emb in zip(
        rollup.rollup_scores(probs),
        rollup.text_scores(text_probs),
        rollup.top_labels(probs),
        embeddings,
        strict=True,
    ):
        emb = np.array(emb, dtype=np.float32)  # own copy, detached from the batch
        emb.flags.writeable = False
        out.append(
            Prediction(
                scores=scores,
                embedding=emb,
                top_labels=labels,
                # the same keys for every backbone; imagenet:text and :menu gate the OCR
                signals={f"{SIGNAL_PREFIX}{c}": v for c, v in {**scores, **texts}.items()},
            )
        )
    return out


class RollupClassifier:
    """An ImageNet backbone with ``concepts.rollup`` on top; loads lazily (thread-safe)."""

    backbone: Backbone = MOBILENET_V2
    version_prefix = "mobilenet_v2-tv"
    pipeline_revision = 1  # bump when preprocessing or the pipeline changes scores
    version_suffix = ""
    backends: tuple[str, ...] = ("tflite", "keras")
    thresholds: Mapping[str, float] = rollup.DEFAULT_THRESHOLDS

    def __init__(
        self,
        model_dir: str | Path,
        threads: int = 2,
        backend: str = DEFAULT_BACKEND,
        preprocess: str = DEFAULT_MODE,
    ) -> None:
        if backend not in self.backends:
            raise ValueError(
                f"{type(self).__name__} runs on {'/'.join(self.backends)}, not {backend!r}"
            )
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.backend = backend  # same scores to ~1e-5 either way, so not part of the version
        self.preprocess = preprocess
        self.concepts: frozenset[str] = rollup.ROLLUP_CONCEPTS
        self.version: str = (
            f"{self.version_prefix}-{self.backbone.weights_tag}-imagenet-rollup-"
            f"{self.pipeline_revision}-{rollup.table_hash()}"
        )
        if preprocess != DEFAULT_MODE:
            self.version += f"-{preprocess}"
        self.version += self.version_suffix
        self._engine: Engine | None = None
        self._init_lock = threading.Lock()

    def _build_hint(self) -> str:
        return f"run `python -m mlmodels.build --out {self.model_dir}`"

    @property
    def tflite_file(self) -> str:
        return self.backbone.tflite_file

    def _needed_files(self) -> list[str]:
        return [self.backbone.manifest_file, self.tflite_file]

    def check_files(self) -> None:
        hint = self._build_hint()
        require_files(self.model_dir, self._needed_files(), hint)
        manifest = read_manifest(self.model_dir, self.backbone.manifest_file) or {}
        if not str(manifest.get("source_sha256", "")).startswith(self.backbone.weights_tag):
            raise ModelFilesMissing(
                f"{self.model_dir} holds a model built from other weights than "
                f"{self.backbone.source_file}: {hint} --force"
            )
        if manifest.get("build_format") != self.backbone.build_format:
            raise ModelFilesMissing(
                f"{self.model_dir} holds a model built by an older conversion "
                f"({manifest.get('build_format')}): {hint}"
            )

    def _make_engine(self) -> Engine:
        return make_engine(self.backend, self.model_dir, self.threads, self.tflite_file)

    def _to_batch(self, images: Sequence[Image.Image]) -> np.ndarray:
        return to_batch(images, self.preprocess)

    def _get_engine(self) -> Engine:
        engine = self._engine
        if engine is None:  # double-checked locking: the common path takes no lock
            with self._init_lock:
                if self._engine is None:
                    self.check_files()
                    self._engine = self._make_engine()
                engine = self._engine
        return engine

    def run_batch(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._get_engine().run(batch)

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        if not images:
            return []
        out: list[Prediction] = []
        for start in range(0, len(images), BATCH_SIZE):
            out += self._predict_batch(self._to_batch(images[start : start + BATCH_SIZE]))
        return out

    def _predict_batch(self, batch: np.ndarray) -> list[Prediction]:
        return rollup_predictions(*self.run_batch(batch))


class MobileNetV2RollupClassifier(RollupClassifier):
    """ImageNet MobileNetV2 (torchvision weights, converted): the classifier the app serves."""

    pipeline_revision = 2  # 2: the embedding ends with the texture (keras_mobilenet)

    def __repr__(self) -> str:
        return f"MobileNetV2RollupClassifier({str(self.model_dir)!r}, backend={self.backend!r})"

    def _needed_files(self) -> list[str]:
        weights = self.tflite_file if self.backend == "tflite" else self.backbone.weights_file
        return [self.backbone.manifest_file, weights]


class MobileNetV2Int8RollupClassifier(MobileNetV2RollupClassifier):
    """The same network in int8 (``convert.quantize``), TFLite only: its own version and heads."""

    version_prefix = "mobilenet_v2-tv-int8"
    version_suffix = f"-q{INT8_REVISION}"
    backends = ("tflite",)

    def __repr__(self) -> str:
        return f"MobileNetV2Int8RollupClassifier({str(self.model_dir)!r})"

    @property
    def tflite_file(self) -> str:
        return self.backbone.int8_file
