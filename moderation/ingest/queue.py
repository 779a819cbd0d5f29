"""Queueing classification after commit, a task per batch of posts; retries; the sweep."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence

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
from moderation.selectors.search_cache import search_cache_stale_posts
from posts.models import Post

logger = logging.getLogger(__name__)


CLASSIFY_TASK = "moderation.tasks.classify_post"


@functools.cache
def _broker() -> Broker:
    # One per process: django-q2 otherwise makes one per task (for Redis, a new connection).
    return get_broker()


def classification_enqueue(post_id: int | None, count: int = 1, others: Sequence[int] = ()) -> None:
    """Queue the task of ``post_id`` standing for ``count`` posts, ``others`` among them.
    save=False: the post's status is the record of success; failures count for max_attempts."""
    args: tuple[object, ...] = (post_id,) if count == 1 else (post_id, count)
    if others:
        args = (post_id, count, list(others))
    if Conf.SYNC:
        async_task(CLASSIFY_TASK, *args, group="classify", save=False)  # runs here and now
        return
    broker = _broker()
    if not isinstance(broker, ORM):
        async_task(CLASSIFY_TASK, *args, group="classify", save=False, broker=broker)
        return
    # Outside a transaction the ORM broker reconnects on each use (~3 ms CPU per upload).
    with transaction.atomic():
        async_task(CLASSIFY_TASK, *args, group="classify", save=False, broker=broker)


_gathered = threading.local()


def classification_queue(*, post: Post) -> None:
    """Queue classification once the surrounding transaction commits. A transaction's posts
    share tasks: one per TAGLENS_CLASSIFY_BATCH of them, at least MIN_TASKS."""
    post_id = post.pk
    if not connection.in_atomic_block:
        classification_enqueue(post_id)  # autocommit: the post is there already
        return
    # Keyed by the outermost Atomic, so ids of a rolled-back transaction are dropped.
    outer = connection.atomic_blocks[0]
    state: tuple[object, list[int]] | None = getattr(_gathered, "state", None)
    if state is None or state[0] is not outer:
        state = _gathered.state = (outer, [])
    state[1].append(post_id)
    # One callback per call (savepoint rollbacks drop theirs); the first to run takes all.
    transaction.on_commit(lambda: _enqueue_gathered(outer))


# A django-q2 cluster holds up to three tasks at once; fewer could leave a second cluster idle.
MIN_TASKS = 4


def _enqueue_gathered(outer: object) -> None:
    state: tuple[object, list[int]] | None = getattr(_gathered, "state", None)
    if state is None or state[0] is not outer:
        return
    _gathered.state = None
    ids = state[1]
    tasks = max(-(-len(ids) // settings.TAGLENS_CLASSIFY_BATCH), min(len(ids), MIN_TASKS))
    classification_enqueue_chunks(ids, -(-len(ids) // tasks))


def classification_enqueue_chunks(ids: list[int], chunk: int, *, named: bool = False) -> int:
    """Queue a task per ``chunk`` of these posts (its own post first; ``named``: the rest named
    too, taken whatever their status); returns how many."""
    starts = range(0, len(ids), chunk)
    for start in starts:
        part = ids[start : start + chunk]
        if named:
            classification_enqueue(part[0], len(part), others=part[1:])
        else:
            classification_enqueue(part[0], len(part))
    return len(starts)


def classification_requeue(ids: list[int]) -> int:
    """Queue classified posts again (a new backbone needs their embeddings) a batch a task, once
    the surrounding transaction commits; their verdicts stand till then. Returns the tasks."""
    size = settings.TAGLENS_CLASSIFY_BATCH
    enqueue = functools.partial(classification_enqueue_chunks, ids, size, named=True)
    transaction.on_commit(enqueue)
    return -(-len(ids) // size)


def classification_retry(*, posts: QuerySet[Post]) -> int:
    """Re-queue posts as pending; returns how many. A live worker keeps a post it holds."""
    count = 0
    for post in posts:
        post.status = Post.Status.PENDING
        post.failure_reason = ""
        post.save(update_fields=["status", "failure_reason"])
        classification_queue(post=post)
        search_cache_stale_posts(post_ids=[post.pk])  # the API shows its status
        count += 1
    return count


def classification_sweep(*, max_tasks: int = 100) -> int:
    """Queue a task per batch of posts left behind by dead workers or lost tasks (run every
    minute and at worker start); returns the number of tasks queued."""
    batch = settings.TAGLENS_CLASSIFY_BATCH
    ids = posts_abandoned(lease_seconds=settings.TAGLENS_CLASSIFY_LEASE, limit=batch * max_tasks)
    queued = classification_enqueue_chunks(ids, batch)
    if queued:
        logger.info("Sweep: %d posts left behind, %d tasks queued.", len(ids), queued)
    return queued
