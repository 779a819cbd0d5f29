"""The configured backbone and the active model version's scoring, loaded once per process."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from mlmodels.base import (
    ALL_CONCEPTS,
    Classifier,
    Prediction,
    SignalSource,
    import_dotted,
    load_classifier,
)
from mlmodels.concepts.heads import ConceptHeads, HeadsClassifier, source_of
from moderation.models import Embedding, ModelVersion

logger = logging.getLogger(__name__)


def get_backbone() -> Classifier:
    """The network that makes embeddings (and its own roll-up scores)."""
    return load_classifier(
        settings.TAGLENS_CLASSIFIER,
        model_dir=str(settings.TAGLENS_MODEL_DIR),
        threads=settings.TAGLENS_MODEL_THREADS,
    )


def classification_error(exc: BaseException) -> str:
    return f"Classification error ({type(exc).__name__}): {exc}"[:500]


BATCH_FAILURE = (  # a whole batch's error is the operators' (in the workers' log), not the post's
    "TagLens could not check photos just then, for a reason on its side, not this photo's. "
    "A moderator can have it checked again."
)


def backbone_predict(
    backbone: Classifier, images: dict[int, Image.Image]
) -> tuple[dict[int, Prediction], dict[int, str]]:
    """Predict the batch; if it fails, each image alone so a bad image fails only its post.
    Raises when every image fails alone too (the model's fault)."""
    if not images:
        return {}, {}
    ids = list(images)
    try:
        predictions = backbone.predict([images[i] for i in ids])
        if len(predictions) != len(ids):
            raise RuntimeError(f"{len(predictions)} predictions for {len(ids)} images")
        return dict(zip(ids, predictions, strict=True)), {}
    except Exception:
        if len(ids) == 1:
            raise
        logger.warning("Batch predict failed; predicting %d images one by one.", len(ids))
    done: dict[int, Prediction] = {}
    failed: dict[int, str] = {}
    last: Exception | None = None
    for post_id in ids:
        try:
            [done[post_id]] = backbone.predict([images[post_id]])
        except Exception as exc:
            failed[post_id] = classification_error(exc)
            last = exc
    if not done and last is not None:
        raise last
    return done, failed


@functools.lru_cache(maxsize=4)
def _signal_sources(
    paths: tuple[str, ...], model_dir: str, threads: int
) -> tuple[SignalSource, ...]:
    sources = []
    for path in paths:
        cls = import_dotted(path)
        # Each source's files sit in their own folder (people-lite's differ from people's).
        folder = getattr(cls, "model_subdir", cls.name)
        sources.append(cls(model_dir=str(Path(model_dir) / folder), threads=threads))
    return tuple(sources)


def get_signal_sources() -> tuple[SignalSource, ...]:
    """Evidence beside the embedding (people: faces and ages), loaded once per process, with
    the backbone's threads (they run one after the other)."""
    return _signal_sources(
        tuple(settings.TAGLENS_SIGNAL_SOURCES),
        str(settings.TAGLENS_MODEL_DIR),
        settings.TAGLENS_MODEL_THREADS,
    )


def models_warm() -> None:
    """Load the backbone and signal sources now (a worker starting), not on a user's upload."""
    blank = Image.new("RGB", (64, 64), "white")
    get_backbone().predict([blank])
    for source in get_signal_sources():
        source.signals([blank])


def version_heads(version: ModelVersion) -> ConceptHeads | None:
    """The version's trained heads; None for the backbone's roll-up."""
    if version.kind != ModelVersion.Kind.HEADS:
        return None
    return _heads(version.pk, bytes(version.heads or b""))


def signal_keys_required(version: ModelVersion) -> set[str]:
    """Stored signals the version's heads read (other than the backbone's own)."""
    heads = version_heads(version)
    if heads is None:
        return set()
    return {key for key in heads.signal_keys if not key.startswith("imagenet:")}


def signals_expected(version: ModelVersion, source: str) -> str | None:
    """The version of ``source`` the heads were trained on, from the training record's
    ``signal_sources`` ("name@version" each); None when not recorded (read any)."""
    recorded = (version.training or {}).get("signal_sources") or []
    for entry in recorded:
        name, _, made_by = str(entry).partition("@")
        if name == source:
            return made_by
    return None


def signals_usable(version: ModelVersion, embedding: Embedding) -> dict[str, float]:
    """The stored signals ``version`` may read: a source's keys made by another version than
    its heads were trained on are left out (read as not run)."""
    signals: Mapping[str, float] = embedding.signals or {}
    made = embedding.signal_versions or {}
    out = {}
    for key, value in signals.items():
        source = source_of(key)
        expected = signals_expected(version, source)
        if expected is None or made.get(source) == expected:
            out[key] = float(value)
    return out


@functools.lru_cache(maxsize=8)
def _heads(version_pk: int, blob: bytes) -> ConceptHeads:
    return ConceptHeads.from_bytes(blob)


def vector_bytes(values: np.ndarray) -> bytes:
    """An embedding as stored: float16, half of float32's bytes for the same decisions."""
    return np.asarray(values, dtype="<f2").tobytes()


def embedding_vector(embedding: Embedding) -> np.ndarray:
    raw = bytes(embedding.vector)
    dtype = "<f2" if len(raw) == 2 * embedding.dim else "<f4"  # float32: rows stored before
    return np.frombuffer(raw, dtype=dtype).astype(np.float32, copy=False)


def score_embeddings(
    version: ModelVersion, embeddings: Sequence[Embedding]
) -> list[tuple[dict[str, float], list[str]]]:
    """Concept scores (and unsupported concepts) from stored embeddings: no network run. A
    concept a source answers that did not run for the post has no score (unknown)."""
    unsupported = [c for c in ALL_CONCEPTS if c not in version.concepts]
    heads = version_heads(version)
    if heads is None:
        return [
            (
                {k: float(v) for k, v in e.base_scores.items() if k in version.concepts},
                unsupported,
            )
            for e in embeddings
        ]
    if not embeddings:
        return []
    matrix = np.stack([embedding_vector(e) for e in embeddings])
    scored = heads.scores(matrix, [signals_usable(version, e) for e in embeddings])
    return [({k: float(v) for k, v in s.items()}, unsupported) for s in scored]


def get_active_classifier() -> Classifier:
    """The backbone with the active version's heads on top (or the backbone's own roll-up)."""
    backbone = get_backbone()
    version = ModelVersion.objects.filter(is_active=True).first()
    heads = None if version is None else version_heads(version)
    if version is None or heads is None:
        return backbone
    return HeadsClassifier(backbone, heads, version.name, signal_sources=get_signal_sources())
