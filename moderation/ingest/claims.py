"""Which worker classifies which post, until when: claims with a lease.

A classification task claims up to a batch of posts at once (its own post first), so several
workers never run the network on the same post, and a post whose worker died is taken again
once the lease has run out. The lease is longer than django-q2's task timeout, so a worker
that is still alive always finishes (or is killed by django-q2) before its claim expires.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from moderation.models import Embedding
from posts.models import Post


@dataclass(frozen=True)
class Claim:
    """Posts one worker holds until ``until``; ``token`` names the holder in ``claimed_by``."""

    token: str
    post_ids: list[int]
    until: datetime


def claim_token() -> str:
    """Host, process and a random part: readable in the admin, unique per claim."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def _wanted(post_id: int | None, backbone: str) -> Q:
    # Any pending post may join a batch. The task's own post is taken in any status unless it
    # is classified with an embedding from this backbone: that keeps a failed post's retry and
    # a model change (no embedding from the new backbone) working, and makes a second run of
    # the same task a no-op.
    wanted = Q(status=Post.Status.PENDING)
    if post_id is not None:
        has_embedding = Exists(Embedding.objects.filter(post=OuterRef("pk"), backbone=backbone))
        wanted |= Q(pk=post_id) & (~Q(status=Post.Status.CLASSIFIED) | Q(~has_embedding))
    return wanted


def claim_share(waiting: int, limit: int) -> int:
    """How many of the ``waiting`` posts one claim takes (guided self-scheduling): a full batch
    while two batches or more wait, else half of them, so that at the end of a burst two
    workers share the last posts rather than one taking a full batch while the other waits.
    Never less than half a batch, and never leaving fewer than half a batch behind (they would
    make a small batch of their own): a few posts go together."""
    if waiting >= 2 * limit:
        return limit
    half = -(-limit // 2)
    share = max(-(-waiting // 2), half)
    if waiting - share < half:
        share = waiting
    return min(share, limit)


def classification_claim(
    *, post_id: int | None, limit: int, lease_seconds: float, backbone: str
) -> Claim:
    """Claim up to ``limit`` posts that need classifying, ``post_id`` first, then the oldest
    pending ones, skipping posts another worker holds under a live lease; while fewer than
    two batches wait, about half of them (`claim_share`).

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` then an UPDATE of those rows, so
    concurrent workers take disjoint sets without waiting for each other. SQLite has no row
    locks but serialises writers: settings open every transaction IMMEDIATE, so the SELECT
    and the UPDATE below run under the database's single write lock. The UPDATE repeats the
    conditions either way, and the claimed rows are read back by token.
    """
    now = timezone.now()
    until = now + timedelta(seconds=lease_seconds)
    token = claim_token()
    first = Case(When(pk=post_id, then=Value(0)), default=Value(1), output_field=IntegerField())
    conditions = _unclaimed(now) & _wanted(post_id, backbone)
    candidates = Post.objects.filter(conditions).order_by(first, "pk")
    # Most tasks find their post already taken by an earlier batch and nothing else waiting: a
    # plain read says so without taking SQLite's write lock (or any row lock).
    waiting = len(candidates.values_list("pk", flat=True)[: 2 * limit])
    if not waiting:
        return Claim(token=token, post_ids=[], until=until)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("pk", flat=True)[: claim_share(waiting, limit)])
        if ids:
            Post.objects.filter(conditions, pk__in=ids).update(
                claimed_by=token, claimed_until=until
            )
            ids = list(
                Post.objects.filter(pk__in=ids, claimed_by=token)
                .order_by(first, "pk")
                .values_list("pk", flat=True)
            )
    return Claim(token=token, post_ids=ids, until=until)


def claimed_posts(*, claim: Claim) -> list[Post]:
    """The claimed posts still held by this claim (a post deleted meanwhile is gone)."""
    by_pk = {p.pk: p for p in Post.objects.filter(pk__in=claim.post_ids, claimed_by=claim.token)}
    return [by_pk[pk] for pk in claim.post_ids if pk in by_pk]


def classification_release(*, claim: Claim, post_ids: list[int] | None = None) -> int:
    """Give posts back without changing their status (they stay pending for the next worker)."""
    ids = claim.post_ids if post_ids is None else post_ids
    return Post.objects.filter(pk__in=ids, claimed_by=claim.token).update(
        claimed_by="", claimed_until=None
    )


def posts_abandoned(*, lease_seconds: float, limit: int) -> list[int]:
    """Pending posts no live worker holds and no queued task is likely to reach: the lease of
    the worker that claimed them ran out, or they were never claimed within a lease's time
    (a task lost with its worker: the Redis broker does not redeliver)."""
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds)
    return list(
        Post.objects.filter(status=Post.Status.PENDING)
        .filter(Q(claimed_until__lte=now) | Q(claimed_until__isnull=True, created_at__lte=stale))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
