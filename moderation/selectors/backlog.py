"""How far the workers are behind: posts waiting, failed, or owed their signals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min
from django.utils import timezone

from moderation.models import Embedding, ModelVersion
from posts.models import Post


@dataclass(frozen=True)
class Backlog:
    pending: int
    pending_minutes: int | None
    failed: int
    owed: int  # classified posts whose completion (people signals) is queued, not yet run
    owed_minutes: int | None  # *_minutes: the age of the oldest


def _minutes(since: dt.datetime | None) -> int | None:
    return None if since is None else int((timezone.now() - since).total_seconds() // 60)


def ingest_backlog() -> Backlog:
    """Counts from the status and partial completion indexes: cheap at a million posts."""
    pending = Post.objects.filter(status=Post.Status.PENDING).order_by()
    active = ModelVersion.objects.filter(is_active=True).values("backbone")[:1]
    owed = Embedding.objects.filter(completion_queued_at__isnull=False, backbone__in=active)
    owed = owed.order_by()
    return Backlog(
        pending=pending.count(),
        pending_minutes=_minutes(pending.aggregate(at=Min("created_at"))["at"]),
        failed=Post.objects.filter(status=Post.Status.FAILED).order_by().count(),
        owed=owed.count(),
        owed_minutes=_minutes(owed.aggregate(at=Min("completion_queued_at"))["at"]),
    )
