"""Per-hashtag counts (HashtagStats), recomputed from the verdicts in the changing transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict

from django.db import transaction

from moderation.models import HashtagStats
from moderation.selectors.search import HashtagSummary, hashtag_counts_aggregate
from moderation.selectors.search_cache import search_cache_stale
from posts.models import Hashtag

_deferred = threading.local()


def hashtag_counts_refresh(*, hashtag_ids: Iterable[int] | None = None) -> int:
    """Recompute the counts of these hashtags (None: all); returns how many. Rows are locked
    in id order before counting, so concurrent refreshes neither deadlock nor miss verdicts."""
    wanted = None if hashtag_ids is None else sorted(set(hashtag_ids))
    if wanted == []:
        return 0
    with transaction.atomic():
        # Every change of verdicts refreshes the counts: their cached pages go stale with them.
        search_cache_stale(hashtag_ids=wanted)
        stats = HashtagStats.objects.select_for_update().order_by("pk")
        existing: list[int] = []
        if wanted is not None:
            existing = list(Hashtag.objects.filter(pk__in=wanted).values_list("pk", flat=True))
            HashtagStats.objects.bulk_create(
                [HashtagStats(hashtag_id=pk) for pk in existing], ignore_conflicts=True
            )
            stats = stats.filter(pk__in=existing)
        locked = list(stats.values_list("pk", flat=True))
        counted = hashtag_counts_aggregate(hashtag_ids=existing if wanted is not None else None)
        zero = HashtagSummary(shown=0, hidden=0, pending=0)
        rows = [
            HashtagStats(hashtag_id=pk, **asdict(counted.get(pk, zero)))
            for pk in sorted(set(locked) | set(counted))
        ]
        HashtagStats.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["hashtag"],
            update_fields=["shown", "hidden", "pending"],
        )
    return len(rows)


def hashtag_counts_refresh_on_commit(*, hashtag_ids: Iterable[int]) -> None:
    """Refresh these hashtags after commit, each once however many posts a transaction deletes."""
    ids = set(hashtag_ids)
    if not ids:
        return
    pending: set[int] | None = getattr(_deferred, "ids", None)
    if pending is None:
        pending = _deferred.ids = set()
    pending.update(ids)
    # One callback per call, but the first to run takes them all. After a rollback the ids
    # stay gathered and are refreshed with the next commit: a recount is never wrong.
    transaction.on_commit(_refresh_deferred)


def _refresh_deferred() -> None:
    ids: set[int] | None = getattr(_deferred, "ids", None)
    _deferred.ids = None
    if ids:
        hashtag_counts_refresh(hashtag_ids=ids)
