"""Queueing classification: a task per batch of a transaction's posts, after commit; retries
and the sweep for posts left behind."""

from __future__ import annotations

import functools
import logging
import threading

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.tasks import async_task

from moderation.ingest.claims import (
    posts_abandoned,
)
from posts.models import Post

logger = logging.getLogger(__name__)


CLASSIFY_TASK = "moderation.tasks.classify_post"


@functools.cache
def _broker() -> Broker:
    # One per process: django-q2 makes a new one per task otherwise, which for Redis is a new
    # client and connection each time.
    return get_broker()


def classification_enqueue(post_id: int | None, count: int = 1) -> None:
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
        classification_enqueue(post_id)  # autocommit: the post is there already
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
    classification_enqueue_chunks(ids, -(-len(ids) // tasks))


def classification_enqueue_chunks(ids: list[int], chunk: int) -> int:
    """One task per ``chunk`` of these posts, standing for them (its own post the first);
    returns the number of tasks queued."""
    starts = range(0, len(ids), chunk)
    for start in starts:
        classification_enqueue(ids[start], len(ids[start : start + chunk]))
    return len(starts)


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
    queued = classification_enqueue_chunks(ids, batch)
    if queued:
        logger.info("Sweep: %d posts left behind, %d tasks queued.", len(ids), queued)
    return queued
