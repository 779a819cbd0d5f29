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
    pending_seconds: float | None
    failed: int
    owed: int  # classified posts whose completion (people signals) is queued, not yet run
    owed_seconds: float | None  # *_seconds: the age of the oldest

    @property
    def pending_minutes(self) -> int | None:
        return None if self.pending_seconds is None else int(self.pending_seconds // 60)

    @property
    def owed_minutes(self) -> int | None:
        return None if self.owed_seconds is None else int(self.owed_seconds // 60)


def _age(since: dt.datetime | None) -> float | None:
    return None if since is None else max(0.0, (timezone.now() - since).total_seconds())


def ingest_backlog() -> Backlog:
    """Counts from the status and partial completion indexes: cheap at a million posts."""
    pending = Post.objects.filter(status=Post.Status.PENDING).order_by()
    active = ModelVersion.objects.filter(is_active=True).values("backbone")[:1]
    owed = Embedding.objects.filter(completion_queued_at__isnull=False, backbone__in=active)
    owed = owed.order_by()
    return Backlog(
        pending=pending.count(),
        pending_seconds=_age(pending.aggregate(at=Min("created_at"))["at"]),
        failed=Post.objects.filter(status=Post.Status.FAILED).order_by().count(),
        owed=owed.count(),
        owed_seconds=_age(owed.aggregate(at=Min("completion_queued_at"))["at"]),
    )
