"""The configured backbone and the active model version's scoring, loaded once per process."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from mlmodels.base import ALL_CONCEPTS, Classifier, SignalSource, load_classifier
from moderation.models import Embedding, ModelVersion


def get_backbone() -> Classifier:
    """The network that makes embeddings (and its own roll-up scores)."""
    return load_classifier(
        settings.TAGLENS_CLASSIFIER,
        model_dir=str(settings.TAGLENS_MODEL_DIR),
        threads=settings.TAGLENS_MODEL_THREADS,
    )


@functools.lru_cache(maxsize=4)
def _signal_sources(paths: tuple[str, ...], model_dir: str) -> tuple[SignalSource, ...]:
    sources = []
    for path in paths:
        module_name, _, attr = path.rpartition(".")
        cls = getattr(importlib.import_module(module_name), attr)
        # Each source's files sit in their own folder (people-lite's differ from people's).
        folder = getattr(cls, "model_subdir", cls.name)
        sources.append(cls(model_dir=str(Path(model_dir) / folder)))
    return tuple(sources)


def get_signal_sources() -> tuple[SignalSource, ...]:
    """Evidence beside the embedding (people: faces and ages), loaded once per process."""
    return _signal_sources(tuple(settings.TAGLENS_SIGNAL_SOURCES), str(settings.TAGLENS_MODEL_DIR))


def signal_keys_required(version: ModelVersion) -> set[str]:
    """Stored signals the version's heads read (other than the backbone's own)."""
    if version.kind != ModelVersion.Kind.HEADS:
        return set()
    heads = _heads(version.pk, bytes(version.heads or b""))
    return {key for key in heads.signal_keys if not key.startswith("imagenet:")}


@functools.lru_cache(maxsize=8)
def _heads(version_pk: int, blob: bytes) -> Any:
    from mlmodels.heads import ConceptHeads

    return ConceptHeads.from_bytes(blob)


def embedding_vector(embedding: Embedding) -> np.ndarray:
    return np.frombuffer(bytes(embedding.vector), dtype="<f4")


def score_embeddings(
    version: ModelVersion, embeddings: Sequence[Embedding]
) -> list[tuple[dict[str, float], list[str]]]:
    """Concept scores (and unsupported concepts) from stored embeddings: no network run."""
    unsupported = [c for c in ALL_CONCEPTS if c not in version.concepts]
    if version.kind == ModelVersion.Kind.ROLLUP:
        return [
            (
                {k: float(v) for k, v in e.base_scores.items() if k in version.concepts},
                unsupported,
            )
            for e in embeddings
        ]
    if not embeddings:
        return []
    heads = _heads(version.pk, bytes(version.heads or b""))
    matrix = np.stack([embedding_vector(e) for e in embeddings])
    scored = heads.scores(matrix, [dict(e.signals) for e in embeddings])
    return [({k: float(v) for k, v in s.items()}, unsupported) for s in scored]


def get_active_classifier() -> Classifier:
    """The backbone with the active version's heads on top (or the backbone's own roll-up)."""
    backbone = get_backbone()
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or version.kind == ModelVersion.Kind.ROLLUP:
        return backbone
    from mlmodels.heads import HeadsClassifier

    heads = _heads(version.pk, bytes(version.heads or b""))
    return HeadsClassifier(backbone, heads, version.name, signal_sources=get_signal_sources())
