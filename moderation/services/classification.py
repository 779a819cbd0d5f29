"""Classification: run the network once per post, in batches, then score with the active model
version and decide the verdicts.

A task claims a batch of posts (``claims.classification_claim``: its own post first, then other
pending ones), decodes their images, runs the backbone's batch ``predict`` once, stores each
post's embedding, scores and verdicts in one transaction, and releases the claims. It goes on
with the next batch while posts are pending, the network on one batch overlapping the claim and
decoding of the next and the store of the one before (``classification_run_task``).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

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

    The posts one transaction queues share their tasks: one task per TAGLENS_CLASSIFY_BATCH
    of them and at least four (MIN_TASKS), each standing for its share of the posts (a single
    upload still queues one task, for itself). A task claims its own post and the oldest
    other pending ones, and claims again while posts are pending: however the workers' batch
    size is set, the tasks queued cover every post pending. Queueing one per post left most
    tasks with nothing to do (their posts taken along by an earlier batch), at a few
    milliseconds of CPU each in the broker, the worker and the monitor."""
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


# A transaction's posts get a task per batch of them, and at least MIN_TASKS. A django-q2
# cluster holds up to three tasks at once (the one running, one in its worker queue, one in its
# pusher's hand): with fewer tasks than that, one cluster could take them all while a second
# stayed idle (measured: 2 workers, people signals and OCR, 1.1 photos/s, the same as one). Each
# task goes on claiming while posts are pending, so the tasks past the first few find nothing to
# do; at a few milliseconds of CPU each, there are no more of them than that.
MIN_TASKS = 4


def _enqueue_gathered(outer: object) -> None:
    state: tuple[object, list[int]] | None = getattr(_gathered, "state", None)
    if state is None or state[0] is not outer:
        return
    _gathered.state = None
    ids = state[1]
    tasks = max(-(-len(ids) // settings.TAGLENS_CLASSIFY_BATCH), min(len(ids), MIN_TASKS))
    _enqueue_chunks(ids, -(-len(ids) // tasks))


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
    if connection.vendor == "postgresql":
        _embeddings_copy(rows)
        return rows
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


def _upsert_by_copy(
    rows: list[Embedding] | list[Classification],
    *,
    load: str,
    columns: str,
    values: Callable[[Any], tuple[object, ...]],
    upsert: str,
    params: list[Any],
    returning: bool,
) -> None:
    """PostgreSQL: COPY ``values(row)`` of each row into the temporary table ``load`` (made
    with ``columns``), then run ``upsert`` (``INSERT … SELECT … FROM load ON CONFLICT …``)
    with ``params`` and, for its last placeholder, the rows' ``created_at`` (now);
    ``returning``: the rows get their ids (by post), as from ``bulk_create``."""
    if not rows:
        return
    now = timezone.now()
    for row in rows:
        row.created_at = now
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {load} ({columns})")
        cursor.execute(f"TRUNCATE {load}")
        with cursor.cursor.copy(f"COPY {load} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        cursor.execute(upsert + (" RETURNING post_id, id" if returning else ""), [*params, now])
        if not returning:
            return
        ids = dict(cursor.fetchall())
    for row in rows:
        row.pk = ids[row.post_id]
        row._state.adding = False
        row._state.db = connection.alias


def _embeddings_copy(rows: list[Embedding]) -> None:
    """Upsert these rows through COPY and set their ids. ``bulk_create`` sent each 5 KB
    vector as a hex literal inside one statement (Django's psycopg backend binds parameters
    on the client), which both sides then had to parse."""
    _upsert_by_copy(
        rows,
        load="taglens_embedding_load",
        columns="post_id bigint, backbone text, vector bytea, dim integer, base_scores text, "
        "signals text, top_labels text",
        values=lambda row: (
            row.post_id,
            row.backbone,
            row.vector,
            row.dim,
            json.dumps(row.base_scores),
            json.dumps(row.signals),
            json.dumps(row.top_labels),
        ),
        upsert=f"INSERT INTO {connection.ops.quote_name(Embedding._meta.db_table)} (post_id, "
        "backbone, vector, dim, base_scores, signals, top_labels, created_at) SELECT post_id, "
        "backbone, vector, dim, base_scores::jsonb, signals::jsonb, top_labels::jsonb, %s "
        "FROM taglens_embedding_load ON CONFLICT (post_id, backbone) DO UPDATE SET "
        "vector = EXCLUDED.vector, dim = EXCLUDED.dim, base_scores = EXCLUDED.base_scores, "
        "signals = EXCLUDED.signals, top_labels = EXCLUDED.top_labels",
        params=[],
        returning=True,
    )


def classifications_compute(
    *, version: ModelVersion, embeddings: list[Embedding], copy: bool = False
) -> list[Classification]:
    """Score stored embeddings with a model version and keep the result (upsert); the rows
    returned carry their ids (except a rescoring's, ``copy=True``).

    PostgreSQL loads the rows with COPY into a temporary table and upserts from there
    (``bulk_create`` spent most of its time quoting their JSON in Python); ``copy``: a model
    version's rescoring, a million rows, whose ids are not read back."""
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
    if connection.vendor == "postgresql":
        _classifications_copy(rows, returning=not copy)
        return rows
    Classification.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["post", "model_version"],
        update_fields=["embedding", "scores", "unsupported"],
    )
    return rows


def _classifications_copy(rows: list[Classification], *, returning: bool) -> None:
    """Upsert these rows (one model version's) through COPY; ``returning``: set their ids."""
    if not rows:
        return
    _upsert_by_copy(
        rows,
        load="taglens_classification_load",
        columns="post_id bigint, embedding_id bigint, scores text, unsupported text",
        values=lambda row: (
            row.post_id,
            row.embedding_id,
            json.dumps(row.scores),
            json.dumps(row.unsupported),
        ),
        upsert=f"INSERT INTO {connection.ops.quote_name(Classification._meta.db_table)} "
        "(post_id, model_version_id, embedding_id, scores, unsupported, created_at) SELECT "
        "post_id, %s, embedding_id, scores::jsonb, unsupported::jsonb, %s FROM "
        "taglens_classification_load ON CONFLICT (post_id, model_version_id) DO UPDATE SET "
        "embedding_id = EXCLUDED.embedding_id, scores = EXCLUDED.scores, "
        "unsupported = EXCLUDED.unsupported",
        params=[rows[0].model_version_id],
        returning=returning,
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


@dataclass
class _Batch:
    """One claimed batch on its way through a worker: opened (claimed, posts read), decoded,
    predicted, stored."""

    post_id: int | None  # the task's own post, if any
    backbone: Classifier
    claim: Claim
    result: BatchResult
    version: ModelVersion | None = None
    posts: list[Post] = field(default_factory=list)
    stored: dict[int, Embedding] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    images: dict[int, Image.Image] = field(default_factory=dict)
    predictions: dict[int, Prediction] = field(default_factory=dict)
    extra: dict[int, dict[str, float]] = field(default_factory=dict)


def _batch_open(*, post_id: int | None, limit: int | None = None) -> _Batch:
    """Claim a batch (``post_id`` first) and read its posts. Database: the caller's thread."""
    clock = time.perf_counter()
    try:
        backbone = get_backbone()  # built once per process; the network loads on first use
        claim = classification_claim(
            post_id=post_id,
            limit=limit or settings.TAGLENS_CLASSIFY_BATCH,
            lease_seconds=settings.TAGLENS_CLASSIFY_LEASE,
            backbone=backbone.version,
        )
    except Exception as exc:  # nothing claimed: a post another worker holds is left alone
        logger.exception("Claiming a batch (post %s first) failed.", post_id)
        _own_post_failed(post_id=post_id, claim=None, exc=exc)
        raise
    batch = _Batch(post_id=post_id, backbone=backbone, claim=claim, result=BatchResult())
    batch.result.claimed = claim.post_ids
    if claim.post_ids:
        _guarded(batch, _batch_read)
    batch.result.seconds["claim"] = time.perf_counter() - clock
    return batch


def _batch_read(batch: _Batch) -> None:
    backbone = batch.backbone
    version = model_version_active(backbone=backbone)
    if version.backbone != backbone.version:
        raise BackboneMismatch(
            f"The active model version {version.name} needs backbone "
            f"{version.backbone}, but TAGLENS_CLASSIFIER gives {backbone.version}."
        )
    batch.version = version
    batch.posts = claimed_posts(claim=batch.claim)
    batch.stored = {
        e.post_id: e
        for e in Embedding.objects.filter(post__in=batch.posts, backbone=backbone.version)
    }
    batch.required = signal_keys_required(version)


def _batch_decode(batch: _Batch) -> None:
    """Decode the images the network needs (read through the storage; no database)."""
    clock = time.perf_counter()
    for post in batch.posts:
        embedding = batch.stored.get(post.pk)
        if embedding is not None and batch.required <= set(embedding.signals):
            continue  # the network ran for this post already: score it again only
        try:
            batch.images[post.pk] = _decode(post)
        except (ImageDecodeError, OSError) as exc:
            batch.result.failed[post.pk] = f"The image could not be read: {exc}"
    batch.result.seconds["decode"] = time.perf_counter() - clock


def _batch_predict(batch: _Batch) -> None:
    """The network and the signal sources over the new images. No database: it may run in a
    helper thread while the worker stores the batch before (``classification_run_task``)."""
    result, images = batch.result, batch.images
    clock = time.perf_counter()
    new = {pk: image for pk, image in images.items() if pk not in batch.stored}
    batch.predictions, unpredictable = _predict(batch.backbone, new)
    result.failed.update(unpredictable)
    result.predicted = len(new)
    batch.extra = {pk: {} for pk in images if pk not in result.failed}
    for source in get_signal_sources():
        ids = list(batch.extra)
        for pk, found in zip(ids, source.signals([images[pk] for pk in ids]), strict=True):
            batch.extra[pk].update({k: float(v) for k, v in found.items()})
    result.seconds["predict"] = time.perf_counter() - clock


def _batch_read_text(batch: _Batch) -> None:
    """OCR is slow (Tesseract, full resolution): outside the store's transaction, once per new
    post. Turned off, it is one statement: in that transaction, not a commit of its own."""
    clock = time.perf_counter()
    if settings.TAGLENS_OCR:
        texts_extract(items=_texts(batch))
    batch.result.seconds["text"] = time.perf_counter() - clock


def _texts(batch: _Batch) -> list[tuple[Post, Image.Image]]:
    by_pk = {p.pk: p for p in batch.posts}
    return [(by_pk[pk], batch.images[pk]) for pk in batch.predictions]


def _batch_store(batch: _Batch) -> None:
    """Embeddings, scores, statuses and verdicts of the batch, in one transaction; the claims
    are released with the statuses."""
    claim, result, posts = batch.claim, batch.result, batch.posts
    assert batch.version is not None
    clock = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        if not settings.TAGLENS_OCR:
            texts_extract(items=_texts(batch))
        fresh = embeddings_store(predictions=batch.predictions, backbone=batch.backbone)
        embeddings = {e.post_id: e for e in fresh}
        for pk, embedding in batch.stored.items():
            if pk not in result.failed:
                embeddings[pk] = embedding
        changed = []
        for pk, signals in batch.extra.items():
            if signals and pk in embeddings:
                embedding = embeddings[pk]
                embedding.signals = {**embedding.signals, **signals}
                changed.append(embedding)
        Embedding.objects.bulk_update(changed, ["signals"])
        ready = [embeddings[p.pk] for p in posts if p.pk in embeddings]
        scored = classifications_compute(version=batch.version, embeddings=ready)
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
        by_pk = {p.pk: p for p in posts}
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
    batch.images.clear()  # a batch's decoded photos are not held longer than needed
    if result.claimed:
        # bench/ingest.py reads the phases from this line.
        logger.info("Post %s's task %s (%s).", batch.post_id, result.summary(), result.timing())


def _batch_failed(batch: _Batch, exc: BaseException) -> None:
    """The whole batch failed (model missing, database error, ...). The task's own post shows
    as failed with the reason until a retry (django-q2's, or "Classify again") succeeds; the
    others it had taken along go back to pending, unclaimed, for the next worker."""
    logger.error("Classifying a batch (post %s first) failed.", batch.post_id, exc_info=exc)
    _own_post_failed(post_id=batch.post_id, claim=batch.claim, exc=exc)
    classification_release(claim=batch.claim)


def _own_post_failed(*, post_id: int | None, claim: Claim | None, exc: BaseException) -> None:
    if post_id is None:
        return
    own = Post.objects.filter(pk=post_id).exclude(status=Post.Status.CLASSIFIED)
    if claim is not None:
        own = own.filter(claimed_by=claim.token)
    else:  # failed before claiming: leave a post another worker holds alone
        own = own.filter(claimed_by="")
    own.update(
        status=Post.Status.FAILED, failure_reason=_error(exc), claimed_by="", claimed_until=None
    )


def _guarded(batch: _Batch, step: Callable[[_Batch], None]) -> None:
    try:
        step(batch)
    except Exception as exc:
        _batch_failed(batch, exc)
        raise


def classification_run_batch(*, post_id: int | None, limit: int | None = None) -> BatchResult:
    """Classify ``post_id`` (when it still needs it) and up to ``limit - 1`` other pending
    posts with one run of the network. Safe to run twice: a post classified with an embedding
    from the configured backbone is not taken again, and the network never runs twice for a
    post and backbone.

    An image that cannot be read fails only its post, with the reason. An error of the whole
    batch is raised after marking the task's own post failed and releasing the rest."""
    batch = _batch_open(post_id=post_id, limit=limit)
    if batch.result.claimed:
        for step in (_batch_decode, _batch_predict, _batch_read_text, _batch_store):
            _guarded(batch, step)
    return batch.result


def classification_run_task(*, post_id: int | None, count: int = 1) -> list[BatchResult]:
    """A queued task: classify ``post_id`` and other pending posts in batches, and go on
    claiming batches while posts are pending (at least the ``count`` posts the task was
    queued for, however this worker's batch size is set). A task that has run for a third of
    the task timeout stops claiming and queues another for the posts it still stands for, so
    it never runs into the timeout.

    The batches overlap (`_run_overlapped`) except where a worker has one model thread and
    nothing but the network to run (no OCR, no signal sources): with a worker per core the
    other workers keep the cores busy, and the overlap's second thread per worker only took
    cores from the network. Measured on two cores (bench/ingest.py, two workers, PostgreSQL
    + Redis, alternating runs): overlapped 0.84, 0.85, 0.69, 0.79 of the raw model, in turn
    0.86, 0.87, 0.83, 0.85. With OCR, Tesseract runs in a process of its own beside the
    network."""
    if _overlap():
        return _run_overlapped(post_id=post_id, count=count)
    started = time.monotonic()
    results = [classification_run_batch(post_id=post_id)]
    taken = len(results[0].claimed)
    while results[-1].claimed and not _out_of_time(started, taken, count):
        result = classification_run_batch(post_id=None)
        if not result.claimed:
            break
        results.append(result)
        taken += len(result.claimed)
    return results


def _overlap() -> bool:
    return (
        settings.TAGLENS_MODEL_THREADS > 1
        or settings.TAGLENS_OCR
        or bool(settings.TAGLENS_SIGNAL_SOURCES)
    )


def _out_of_time(started: float, taken: int, count: int) -> bool:
    """Past a third of the task timeout: queue a task for the posts this one still stands for
    (if any) and say so."""
    if time.monotonic() - started <= settings.Q_TIMEOUT / 3:
        return False
    if taken < count:
        _enqueue(None, count - taken)
    return True


def _run_overlapped(*, post_id: int | None, count: int) -> list[BatchResult]:
    """The network runs in a helper thread while this thread claims and decodes the next
    batch, then stores the one before (the network's threads release Python's lock; decoding
    and storing do not, and took a quarter of a worker's time between network runs, with a
    core idle). Everything that touches the database stays in this thread."""
    started = time.monotonic()
    results: list[BatchResult] = []
    taken = 0
    first = _batch_open(post_id=post_id)
    batch: _Batch | None = first
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taglens-network") as pool:
        predicting: Future[None] | None = None
        if first.result.claimed:
            _guarded(first, _batch_decode)
            predicting = pool.submit(_batch_predict, first)
        while batch is not None:
            results.append(batch.result)
            if predicting is None:
                break  # the task's first claim found nothing to do
            taken += len(batch.result.claimed)
            following: _Batch | None = None
            unclaimed: Exception | None = None
            try:
                if not _out_of_time(started, taken, count):
                    try:
                        following = _batch_open(post_id=None)
                        if following.result.claimed:
                            _guarded(following, _batch_decode)
                    except Exception as exc:  # logged; this batch is stored all the same
                        unclaimed, following = exc, None
                _guarded(batch, _waiting_for(predicting))
                predicting = None
                if following is not None and following.result.claimed:
                    predicting = pool.submit(_batch_predict, following)
                _guarded(batch, _batch_read_text)
                _guarded(batch, _batch_store)
            except BaseException:
                if following is not None:
                    if predicting is not None:
                        predicting.exception()  # wait: the network is done with its photos
                    classification_release(claim=following.claim)
                raise
            if unclaimed is not None:
                raise unclaimed
            batch = following if predicting is not None else None
    return results


def _waiting_for(work: Future[None]) -> Callable[[_Batch], None]:
    def wait(batch: _Batch) -> None:
        work.result()  # the helper thread's error, raised here

    return wait


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
