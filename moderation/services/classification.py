"""Classification: run the network once per post, in batches, then score with the active model
version and decide the verdicts.

A task claims a batch of posts (``claims.classification_claim``: its own post first, then other
pending ones), decodes their images, runs the backbone's batch ``predict`` once, stores each
post's embedding, scores and verdicts in one transaction, and releases the claims.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.tasks import async_task
from PIL import Image

from mlmodels.base import Classifier, ImageDecodeError, Prediction, load_image
from moderation.classifier import (
    get_backbone,
    get_signal_sources,
    score_embeddings,
    signal_keys_required,
)
from moderation.models import Classification, Embedding, ModelVersion
from moderation.services.claims import (
    Claim,
    claimed_posts,
    classification_claim,
    classification_release,
    posts_abandoned,
)
from moderation.services.model_versions import model_version_active
from moderation.services.text import texts_extract
from moderation.services.verdicts import verdicts_evaluate
from posts.models import Post

logger = logging.getLogger(__name__)

CLASSIFY_TASK = "moderation.tasks.classify_post"


class BackboneMismatch(RuntimeError):
    """The active model version was trained on another backbone than the configured one."""


@dataclass
class BatchResult:
    """What one batch did; ``seconds`` splits its time for profiling (bench/ingest.py)."""

    claimed: list[int] = field(default_factory=list)
    classified: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    predicted: int = 0  # images the backbone ran on
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"claimed {len(self.claimed)}: {len(self.classified)} classified, "
            f"{len(self.failed)} failed, network ran on {self.predicted}"
        )

    def timing(self) -> str:
        return ", ".join(f"{phase} {seconds:.4f} s" for phase, seconds in self.seconds.items())


@functools.cache
def _broker() -> Broker:
    # One per process: django-q2 makes a new one per task otherwise, which for Redis is a new
    # client and connection each time.
    return get_broker()


def _enqueue(post_id: int | None, count: int = 1) -> None:
    """Queue the task of ``post_id`` standing for ``count`` posts (see `classification_queue`).
    save=False: a successful task leaves no django-q2 result row (the post's status is the
    record). Failures are kept, and counted for max_attempts."""
    args = (post_id,) if count == 1 else (post_id, count)
    if Conf.SYNC:
        async_task(CLASSIFY_TASK, *args, group="classify", save=False)  # runs here and now
        return
    broker = _broker()
    if not isinstance(broker, ORM):
        async_task(CLASSIFY_TASK, *args, group="classify", save=False, broker=broker)
        return
    # The ORM broker closes the database connection before each use outside a transaction
    # (with CONN_MAX_AGE=0, always: a reconnect, on SQLite with a WAL checkpoint at close,
    # ~3 ms of CPU per upload). Inside one it uses the connection that is open.
    with transaction.atomic():
        async_task(CLASSIFY_TASK, *args, group="classify", save=False, broker=broker)


_gathered = threading.local()


def classification_queue(*, post: Post) -> None:
    """Queue classification once the surrounding transaction commits.

    The posts one transaction queues share their tasks: one task per quarter of
    TAGLENS_CLASSIFY_BATCH of them, standing for that many posts (a single upload still queues
    one task, for itself). A task claims its own post and the oldest other pending ones, and
    claims again while its batches come back full until it has taken as many posts as it
    stands for: however the workers' batch size is set, the tasks queued cover every post
    pending. Queueing one per post left most tasks with nothing to do (their posts taken along
    by an earlier batch), at a few milliseconds of CPU each in the broker, the worker and the
    monitor."""
    post_id = post.pk
    if not connection.in_atomic_block:
        _enqueue(post_id)  # autocommit: the post is there already
        return
    # Gathered per outermost transaction (its Atomic, held): ids left by a transaction that
    # rolled back are dropped when the next one starts gathering.
    outer = connection.atomic_blocks[0]
    state: tuple[object, list[int]] | None = getattr(_gathered, "state", None)
    if state is None or state[0] is not outer:
        state = _gathered.state = (outer, [])
    state[1].append(post_id)
    # One callback per call (a rolled-back savepoint drops its own), but the first to run
    # takes every post gathered.
    transaction.on_commit(lambda: _enqueue_gathered(outer))


# A transaction's posts get a task per quarter batch, not one per batch. A django-q2 cluster
# holds up to three tasks at once (the one running, one in its worker queue, one in its
# pusher's hand): with one task per batch, 32 uploads with batches of 16 made two tasks, one
# cluster took both and a second cluster stayed idle (measured: 2 workers, people signals and
# OCR, 1.1 photos/s, the same as one). Each task still claims a full batch, so most of the
# extra tasks find nothing to do (a few ms each).
TASKS_PER_BATCH = 4


def _enqueue_gathered(outer: object) -> None:
    state: tuple[object, list[int]] | None = getattr(_gathered, "state", None)
    if state is None or state[0] is not outer:
        return
    _gathered.state = None
    _enqueue_chunks(state[1], max(1, settings.TAGLENS_CLASSIFY_BATCH // TASKS_PER_BATCH))


def _enqueue_chunks(ids: list[int], chunk: int) -> int:
    """One task per ``chunk`` of these posts, standing for them (its own post the first);
    returns the number of tasks queued."""
    starts = range(0, len(ids), chunk)
    for start in starts:
        _enqueue(ids[start], len(ids[start : start + chunk]))
    return len(starts)


def embedding_store(*, post: Post, prediction: Prediction, backbone: Classifier) -> Embedding:
    [embedding] = embeddings_store(predictions={post.pk: prediction}, backbone=backbone)
    return embedding


def _embedding_row(post_id: int, prediction: Prediction, backbone: Classifier) -> Embedding:
    vector = np.asarray(prediction.embedding, dtype="<f4")
    signals = getattr(prediction, "signals", {}) or {}
    return Embedding(
        post_id=post_id,
        backbone=backbone.version,
        vector=vector.tobytes(),
        dim=int(vector.size),
        base_scores={k: float(v) for k, v in prediction.scores.items()},
        signals={k: float(v) for k, v in signals.items()},
        top_labels=[[name, float(p)] for name, p in prediction.top_labels],
    )


def embeddings_store(
    *, predictions: dict[int, Prediction], backbone: Classifier
) -> list[Embedding]:
    """Upsert one embedding per post (by post and backbone), in one statement."""
    if not predictions:
        return []
    rows = [_embedding_row(post_id, p, backbone) for post_id, p in predictions.items()]
    Embedding.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["post", "backbone"],
        update_fields=["vector", "dim", "base_scores", "signals", "top_labels"],
    )
    if all(row.pk is not None for row in rows):
        # PostgreSQL and SQLite >= 3.35 return each row's id, inserted or updated: the rows
        # need not be read back (5 KB of vector each).
        return rows
    stored = Embedding.objects.filter(post_id__in=list(predictions), backbone=backbone.version)
    by_post = {e.post_id: e for e in stored}
    return [by_post[post_id] for post_id in predictions]


def classifications_compute(
    *, version: ModelVersion, embeddings: list[Embedding], copy: bool = False
) -> list[Classification]:
    """Score stored embeddings with a model version and keep the result (upsert).

    ``copy``: on PostgreSQL, load the rows with COPY into a temporary table and upsert from
    there (a model version's rescoring writes a million rows: ``bulk_create`` spends most of
    its time quoting their JSON in Python)."""
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
    if copy and connection.vendor == "postgresql":
        _classifications_copy(rows)
        return rows
    Classification.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["post", "model_version"],
        update_fields=["embedding", "scores", "unsupported"],
    )
    return rows


_LOAD = "taglens_classification_load"


def _classifications_copy(rows: list[Classification]) -> None:
    """Upsert these rows (one model version's) through COPY into a temporary table."""
    if not rows:
        return
    table = connection.ops.quote_name(Classification._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_LOAD} (post_id bigint, embedding_id bigint, "
            "scores text, unsupported text)"
        )
        cursor.execute(f"TRUNCATE {_LOAD}")
        with cursor.cursor.copy(f"COPY {_LOAD} FROM STDIN") as load:
            for row in rows:
                row.created_at = now
                load.write_row(
                    (
                        row.post_id,
                        row.embedding_id,
                        json.dumps(row.scores),
                        json.dumps(row.unsupported),
                    )
                )
        cursor.execute(
            f"INSERT INTO {table} (post_id, model_version_id, embedding_id, scores, unsupported, "
            f"created_at) SELECT post_id, %s, embedding_id, scores::jsonb, unsupported::jsonb, %s "
            f"FROM {_LOAD} ON CONFLICT (post_id, model_version_id) DO UPDATE SET "
            "embedding_id = EXCLUDED.embedding_id, scores = EXCLUDED.scores, "
            "unsupported = EXCLUDED.unsupported",
            [rows[0].model_version_id, now],
        )


def _decode(post: Post) -> Image.Image:
    # Through the storage (local folder or S3), never a file-system path. load_image decodes
    # big JPEGs at reduced size (JPEG draft): the backbone needs 224 px.
    with post.image.open("rb") as handle:
        return load_image(handle)


def _error(exc: BaseException) -> str:
    return f"Classification error ({type(exc).__name__}): {exc}"[:500]


def _predict(
    backbone: Classifier, images: dict[int, Image.Image]
) -> tuple[dict[int, Prediction], dict[int, str]]:
    """The backbone over the whole batch at once. When the batch fails, each image alone,
    so one image the network cannot take fails only its own post; when every image fails
    alone too, the fault is the model's and the batch fails."""
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
            failed[post_id] = _error(exc)
            last = exc
    if not done and last is not None:
        raise last
    return done, failed


def _classify_claimed(
    *, claim: Claim, backbone: Classifier, version: ModelVersion, result: BatchResult
) -> None:
    clock = time.perf_counter()
    posts = claimed_posts(claim=claim)
    stored = {
        e.post_id: e for e in Embedding.objects.filter(post__in=posts, backbone=backbone.version)
    }
    required = signal_keys_required(version)
    images: dict[int, Image.Image] = {}
    for post in posts:
        embedding = stored.get(post.pk)
        if embedding is not None and required <= set(embedding.signals):
            continue  # the network ran for this post already: score it again only
        try:
            images[post.pk] = _decode(post)
        except (ImageDecodeError, OSError) as exc:
            result.failed[post.pk] = f"The image could not be read: {exc}"
    result.seconds["decode"] = time.perf_counter() - clock

    clock = time.perf_counter()
    new = {pk: image for pk, image in images.items() if pk not in stored}
    predictions, unpredictable = _predict(backbone, new)
    result.failed.update(unpredictable)
    result.predicted = len(new)
    extra: dict[int, dict[str, float]] = {pk: {} for pk in images if pk not in result.failed}
    for source in get_signal_sources():
        ids = list(extra)
        for pk, found in zip(ids, source.signals([images[pk] for pk in ids]), strict=True):
            extra[pk].update({k: float(v) for k, v in found.items()})
    result.seconds["predict"] = time.perf_counter() - clock

    clock = time.perf_counter()
    by_pk = {p.pk: p for p in posts}
    texts = [(by_pk[pk], images[pk]) for pk in predictions]
    # OCR is slow (Tesseract, full resolution): outside the transaction, once per new post.
    # Turned off, it is one statement: in the transaction below, not a commit of its own.
    if settings.TAGLENS_OCR:
        texts_extract(items=texts)
    result.seconds["text"] = time.perf_counter() - clock

    clock = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        if not settings.TAGLENS_OCR:
            texts_extract(items=texts)
        fresh = embeddings_store(predictions=predictions, backbone=backbone)
        embeddings = {e.post_id: e for e in fresh}
        for pk, embedding in stored.items():
            if pk not in result.failed:
                embeddings[pk] = embedding
        changed = []
        for pk, signals in extra.items():
            if signals and pk in embeddings:
                embedding = embeddings[pk]
                embedding.signals = {**embedding.signals, **signals}
                changed.append(embedding)
        Embedding.objects.bulk_update(changed, ["signals"])
        ready = [embeddings[p.pk] for p in posts if p.pk in embeddings]
        scored = classifications_compute(version=version, embeddings=ready)
        result.classified = [e.post_id for e in ready]
        released: dict[str, object] = {"claimed_by": "", "claimed_until": None}
        done: dict[str, object] = {
            "status": Post.Status.CLASSIFIED,
            "failure_reason": "",
            "classified_at": now,
            **released,
        }
        written: dict[int, dict[str, object]] = {pk: done for pk in result.classified}
        for pk, reason in result.failed.items():
            written[pk] = {"status": Post.Status.FAILED, "failure_reason": reason, **released}
        held = Post.objects.filter(pk__in=result.classified, claimed_by=claim.token).update(**done)
        for pk in result.failed:
            held += Post.objects.filter(pk=pk, claimed_by=claim.token).update(**written[pk])
        if held != len(written):
            # The lease ran out and another worker took some posts: the rows stored here are
            # upserts of the same results, so nothing is lost or doubled.
            logger.warning(
                "Claim %s lost %d posts to another worker.", claim.token, len(written) - held
            )
        judged = [by_pk[pk] for pk in written]
        if held == len(written) and all(c.pk is not None for c in scored):
            # Every post is still ours, as written just now: the verdicts are judged from these
            # objects and the scores just computed, without reading either again.
            for post in judged:
                for name, value in written[post.pk].items():
                    setattr(post, name, value)
            verdicts_evaluate(posts=judged, classifications={c.post_id: c for c in scored})
        else:
            verdicts_evaluate(posts=judged)  # statuses and scores read again
    result.seconds["store"] = time.perf_counter() - clock


def _batch_failed(*, claim: Claim | None, post_id: int | None, exc: BaseException) -> None:
    """The whole batch failed (model missing, database error, ...). The task's own post shows
    as failed with the reason until a retry (django-q2's, or "Classify again") succeeds; the
    others it had taken along go back to pending, unclaimed, for the next worker."""
    reason = _error(exc)
    if post_id is not None:
        own = Post.objects.filter(pk=post_id).exclude(status=Post.Status.CLASSIFIED)
        if claim is not None:
            own = own.filter(claimed_by=claim.token)
        else:  # failed before claiming: leave a post another worker holds alone
            own = own.filter(claimed_by="")
        own.update(
            status=Post.Status.FAILED, failure_reason=reason, claimed_by="", claimed_until=None
        )
    if claim is not None:
        classification_release(claim=claim)


def classification_run_batch(*, post_id: int | None, limit: int | None = None) -> BatchResult:
    """Classify ``post_id`` (when it still needs it) and up to ``limit - 1`` other pending
    posts with one run of the network. Safe to run twice: a post classified with an embedding
    from the configured backbone is not taken again, and the network never runs twice for a
    post and backbone.

    An image that cannot be read fails only its post, with the reason. An error of the whole
    batch is raised after marking the task's own post failed and releasing the rest."""
    result = BatchResult()
    claim: Claim | None = None
    try:
        backbone = get_backbone()  # built once per process; the network loads on first use
        clock = time.perf_counter()
        claim = classification_claim(
            post_id=post_id,
            limit=limit or settings.TAGLENS_CLASSIFY_BATCH,
            lease_seconds=settings.TAGLENS_CLASSIFY_LEASE,
            backbone=backbone.version,
        )
        result.claimed = claim.post_ids
        result.seconds["claim"] = time.perf_counter() - clock
        if claim.post_ids:
            version = model_version_active(backbone=backbone)
            if version.backbone != backbone.version:
                raise BackboneMismatch(
                    f"The active model version {version.name} needs backbone "
                    f"{version.backbone}, but TAGLENS_CLASSIFIER gives {backbone.version}."
                )
            _classify_claimed(claim=claim, backbone=backbone, version=version, result=result)
    except Exception as exc:
        logger.exception("Classifying a batch (post %s first) failed.", post_id)
        _batch_failed(claim=claim, post_id=post_id, exc=exc)
        raise
    if result.claimed:
        # bench/ingest.py reads the phases from this line.
        logger.info("Post %s's task %s (%s).", post_id, result.summary(), result.timing())
    return result


def classification_run_task(*, post_id: int | None, count: int = 1) -> list[BatchResult]:
    """A queued task: classify ``post_id`` and other pending posts in batches, claiming again
    while batches come back full, until ``count`` posts are taken (or none are left).

    A task that has run for a third of the task timeout queues another for the posts it still
    stands for and stops, so a task queued with more posts than this worker's batches take
    (the web's TAGLENS_CLASSIFY_BATCH larger than the worker's) never runs into the timeout."""
    started = time.monotonic()
    results = [classification_run_batch(post_id=post_id)]
    taken = len(results[0].claimed)
    limit = settings.TAGLENS_CLASSIFY_BATCH
    while taken < count and len(results[-1].claimed) >= limit:
        if time.monotonic() - started > settings.Q_TIMEOUT / 3:
            _enqueue(None, count - taken)
            break
        results.append(classification_run_batch(post_id=None))
        taken += len(results[-1].claimed)
    return results


def classification_run(*, post_id: int) -> Post | None:
    """Classify one post alone (no other posts taken along) and return it."""
    classification_run_batch(post_id=post_id, limit=1)
    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        logger.info("Post %s is gone; nothing to classify.", post_id)
    return post


def classification_retry(*, posts: QuerySet[Post]) -> int:
    """Put posts back to pending and queue them again (after a failure or a model change).
    A post a live worker holds stays with it; the task classifies it once the claim is gone."""
    count = 0
    for post in posts:
        post.status = Post.Status.PENDING
        post.failure_reason = ""
        post.save(update_fields=["status", "failure_reason"])
        classification_queue(post=post)
        count += 1
    return count


def classification_sweep(*, max_tasks: int = 100) -> int:
    """Queue tasks for posts left behind (their worker died, or their task was lost with it):
    one task per batch of them. Run every minute by django-q2's scheduler and when a worker
    starts. Returns the number of tasks queued."""
    batch = settings.TAGLENS_CLASSIFY_BATCH
    ids = posts_abandoned(lease_seconds=settings.TAGLENS_CLASSIFY_LEASE, limit=batch * max_tasks)
    queued = _enqueue_chunks(ids, batch)
    if queued:
        logger.info("Sweep: %d posts left behind, %d tasks queued.", len(ids), queued)
    return queued
