"""Claims with a lease: no two workers run the network on one post, and a dead worker's posts
are taken again. The lease outlasts django-q2's task timeout, so a live worker never loses one."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
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


def _wanted(own: list[int], backbone: str) -> Q:
    # The own posts in any status unless classified with this backbone's embedding: retries and
    # model changes work, and a second run of the same task is a no-op.
    wanted = Q(status=Post.Status.PENDING)
    if own:
        has_embedding = Exists(Embedding.objects.filter(post=OuterRef("pk"), backbone=backbone))
        wanted |= Q(pk__in=own) & (~Q(status=Post.Status.CLASSIFIED) | Q(~has_embedding))
    return wanted


def claim_share(waiting: int, limit: int) -> int:
    """How many of ``waiting`` posts one claim takes (guided self-scheduling): a full batch
    while two wait, else about half, so two workers share a burst's tail; at least half a
    batch, and never leaving less than half a batch behind."""
    if waiting >= 2 * limit:
        return limit
    half = -(-limit // 2)
    share = max(-(-waiting // 2), half)
    if waiting - share < half:
        share = waiting
    return min(share, limit)


def classification_claim(
    *,
    post_id: int | None,
    limit: int,
    lease_seconds: float,
    backbone: str,
    others: Sequence[int] = (),
) -> Claim:
    """Claim ``post_id``, ``others`` (any status), then the oldest pending, up to ``limit`` and
    none a live lease holds (`claim_share`). PostgreSQL: SKIP LOCKED; SQLite: IMMEDIATE
    transactions serialise the SELECT and UPDATE. The UPDATE repeats the conditions."""
    now = timezone.now()
    until = now + timedelta(seconds=lease_seconds)
    token = claim_token()
    own = ([] if post_id is None else [post_id]) + list(others)
    first = Case(
        When(pk=post_id, then=Value(0)),
        When(pk__in=own, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    conditions = _unclaimed(now) & _wanted(own, backbone)
    candidates = Post.objects.filter(conditions).order_by(first, "pk")
    # Most tasks find nothing waiting: a plain read says so without taking any lock.
    waiting = len(candidates.values_list("pk", flat=True)[: 2 * limit])
    if not waiting:
        return Claim(token=token, post_ids=[], until=until)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        share = max(claim_share(waiting, limit), len(own))  # no other task asks for its own
        ids = list(candidates.values_list("pk", flat=True)[:share])
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


def completion_claim(*, post_ids: list[int], lease_seconds: float, backbone: str) -> Claim:
    """Claim those of ``post_ids`` that are classified with this backbone's embedding and held
    by no live lease, for their signal sources to run (`signals_complete`)."""
    now = timezone.now()
    until = now + timedelta(seconds=lease_seconds)
    token = claim_token()
    with transaction.atomic():
        candidates = Post.objects.filter(
            _unclaimed(now),
            pk__in=post_ids,
            status=Post.Status.CLASSIFIED,
            embeddings__backbone=backbone,
        )
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = sorted(candidates.values_list("pk", flat=True))
        if ids:
            Post.objects.filter(_unclaimed(now), pk__in=ids).update(
                claimed_by=token, claimed_until=until
            )
            ids = sorted(
                Post.objects.filter(pk__in=ids, claimed_by=token).values_list("pk", flat=True)
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
    """Pending posts whose lease ran out, or never claimed within a lease's time (a task lost
    with its worker: the Redis broker does not redeliver)."""
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds)
    return list(
        Post.objects.filter(status=Post.Status.PENDING)
        .filter(Q(claimed_until__lte=now) | Q(claimed_until__isnull=True, created_at__lte=stale))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
