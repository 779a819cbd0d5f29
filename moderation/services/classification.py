"""Classification: run the network once per post, then score with the active model version."""

from __future__ import annotations

import logging

import numpy as np
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from mlmodels.base import Classifier, ImageDecodeError, Prediction, load_image
from moderation.classifier import (
    get_backbone,
    get_signal_sources,
    score_embeddings,
    signal_keys_required,
)
from moderation.models import Classification, Embedding, ModelVersion
from moderation.services.model_versions import model_version_active
from moderation.services.text import text_extract
from moderation.services.verdicts import verdicts_evaluate
from posts.models import Post

logger = logging.getLogger(__name__)

CLASSIFY_TASK = "moderation.tasks.classify_post"


class BackboneMismatch(RuntimeError):
    """The active model version was trained on another backbone than the configured one."""


def classification_queue(*, post: Post) -> None:
    """Queue classification once the surrounding transaction commits."""
    post_id = post.pk
    transaction.on_commit(lambda: async_task(CLASSIFY_TASK, post_id, group="classify"))


def embedding_store(*, post: Post, prediction: Prediction, backbone: Classifier) -> Embedding:
    vector = np.asarray(prediction.embedding, dtype="<f4")
    signals = getattr(prediction, "signals", {}) or {}
    embedding, _ = Embedding.objects.update_or_create(
        post=post,
        backbone=backbone.version,
        defaults={
            "vector": vector.tobytes(),
            "dim": int(vector.size),
            "base_scores": {k: float(v) for k, v in prediction.scores.items()},
            "signals": {k: float(v) for k, v in signals.items()},
            "top_labels": [[name, float(p)] for name, p in prediction.top_labels],
        },
    )
    return embedding


def classifications_compute(
    *, version: ModelVersion, embeddings: list[Embedding]
) -> list[Classification]:
    """Score stored embeddings with a model version and keep the result (upsert)."""
    rows = [
        Classification(
            post_id=e.post_id,
            model_version=version,
            embedding=e,
            scores=scores,
            unsupported=unsupported,
        )
        for e, (scores, unsupported) in zip(
            embeddings, score_embeddings(version, embeddings), strict=True
        )
    ]
    Classification.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["post", "model_version"],
        update_fields=["embedding", "scores", "unsupported"],
    )
    return rows


def _fail(post: Post, reason: str) -> Post:
    post.status = Post.Status.FAILED
    post.failure_reason = reason
    post.save(update_fields=["status", "failure_reason"])
    verdicts_evaluate(posts=[post])
    return post


def classification_run(*, post_id: int) -> Post | None:
    """Classify one post's image and decide its verdicts. Safe to run twice: the network runs
    only when no embedding from the configured backbone is stored yet."""
    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        logger.info("Post %s is gone; nothing to classify.", post_id)
        return None
    backbone = get_backbone()
    version = model_version_active(backbone=backbone)
    if version.backbone != backbone.version:
        raise BackboneMismatch(
            f"The active model version {version.name} needs backbone {version.backbone}, "
            f"but TAGLENS_CLASSIFIER gives {backbone.version}."
        )
    embedding = Embedding.objects.filter(post=post, backbone=backbone.version).first()
    sources = get_signal_sources()
    needs_signals = embedding is not None and not signal_keys_required(version) <= set(
        embedding.signals
    )
    if embedding is None or needs_signals:
        try:
            with post.image.open("rb") as handle:
                image = load_image(handle)
        except (ImageDecodeError, OSError) as exc:
            return _fail(post, f"The image could not be read: {exc}")
        if embedding is None:
            [prediction] = backbone.predict([image])
            embedding = embedding_store(post=post, prediction=prediction, backbone=backbone)
            text_extract(post=post, image=image)
        extra: dict[str, float] = {}
        for source in sources:
            [found] = source.signals([image])
            extra.update(found)
        if extra:
            embedding.signals = {**embedding.signals, **{k: float(v) for k, v in extra.items()}}
            embedding.save(update_fields=["signals"])
    classifications_compute(version=version, embeddings=[embedding])
    post.status = Post.Status.CLASSIFIED
    post.failure_reason = ""
    post.classified_at = timezone.now()
    post.save(update_fields=["status", "failure_reason", "classified_at"])
    verdicts_evaluate(posts=[post])
    return post


def classification_retry(*, posts: QuerySet[Post]) -> int:
    """Put posts back to pending and queue them again (after a failure or a model change)."""
    count = 0
    for post in posts:
        post.status = Post.Status.PENDING
        post.failure_reason = ""
        post.save(update_fields=["status", "failure_reason"])
        classification_queue(post=post)
        count += 1
    return count
