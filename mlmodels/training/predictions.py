"""The out-of-fold decisions a cross-validation report measures, kept per row so that other
measures (a rule's search precision) come from the very same predictions."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from mlmodels.training.crossval import CVResult


@dataclass(frozen=True)
class Predictions:
    concepts: tuple[str, ...]
    labels: np.ndarray  # (N, C) int8: 1, 0, -1 ignore
    decisions: np.ndarray  # (N, C) bool: the selected source, nested thresholds
    rollup: np.ndarray  # (N, C) bool: the ImageNet roll-up alone, nested thresholds
    rollup_concepts: tuple[str, ...]  # the concepts the roll-up can score

    def __post_init__(self) -> None:
        shape = (self.labels.shape[0], len(self.concepts))
        if self.labels.shape != shape or self.decisions.shape != shape:
            raise ValueError(f"predictions of shape {self.decisions.shape}, expected {shape}")
        if self.rollup.shape != shape:
            raise ValueError(f"roll-up predictions of shape {self.rollup.shape}, expected {shape}")


def predictions_of(cv: CVResult) -> Predictions:
    return Predictions(
        concepts=tuple(cv.concepts),
        labels=np.asarray(cv.labels, dtype=np.int8),
        decisions=np.asarray(cv.decisions, dtype=bool),
        rollup=np.asarray(cv.imagenet_decisions, dtype=bool),
        rollup_concepts=tuple(c for c in cv.concepts if c in cv.imagenet),
    )


def predictions_to_bytes(predictions: Predictions) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        concepts=np.array(predictions.concepts, dtype=str),
        labels=predictions.labels,
        decisions=predictions.decisions,
        rollup=predictions.rollup,
        rollup_concepts=np.array(predictions.rollup_concepts, dtype=str),
    )
    return buffer.getvalue()


def predictions_from_bytes(data: bytes) -> Predictions:
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        return Predictions(
            concepts=tuple(str(c) for c in stored["concepts"]),
            labels=stored["labels"].astype(np.int8),
            decisions=stored["decisions"].astype(bool),
            rollup=stored["rollup"].astype(bool),
            rollup_concepts=tuple(str(c) for c in stored["rollup_concepts"]),
        )
