"""Per-hashtag counts (HashtagStats), moved or recounted in the transaction changing verdicts."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest

from moderation.models import HashtagStats, Verdict
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


def verdict_bucket(*, shown: bool, decision: str) -> str:
    """Which count a verdict is in: what `hashtag_counts_aggregate` counts it as."""
    if shown:
        return "shown"
    return "pending" if decision == Verdict.Decision.PENDING else "hidden"


class CountMoves:
    """Verdicts moved between counts, gathered per hashtag, then added in one `apply`."""

    def __init__(self) -> None:
        self.by_hashtag: dict[int, dict[str, int]] = defaultdict(
            lambda: {"shown": 0, "hidden": 0, "pending": 0}
        )

    def move(self, hashtag_id: int, *, old: str | None, new: str | None) -> None:
        """A verdict went from count `old` to `new` (None: it was not there, or is gone)."""
        counts = self.by_hashtag[hashtag_id]  # its cached page goes stale, moved or not
        if old != new:
            if old is not None:
                counts[old] -= 1
            if new is not None:
                counts[new] += 1

    def apply(self) -> None:
        """Add the moves to the stored counts inside the caller's transaction. Callers read each
        verdict's old state under a row lock, so concurrent writers each add their own moves;
        counts are locked in id order, as the recount locks them."""
        if not self.by_hashtag:
            return
        search_cache_stale(hashtag_ids=self.by_hashtag)
        moved = sorted(pk for pk, c in self.by_hashtag.items() if any(c.values()))
        if not moved:
            return
        stats = HashtagStats.objects.select_for_update().filter(pk__in=moved).order_by("pk")
        found = set(stats.values_list("pk", flat=True))
        # field -> move -> ids: a WHEN per distinct move, as each costs the ORM a filter to build
        by_move: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for pk in moved:
            for k, n in self.by_hashtag[pk].items():
                if n:
                    by_move[k][n].append(pk)
        # One statement; set-based re-evaluations recount when done: never below zero until then.
        HashtagStats.objects.filter(pk__in=moved).update(
            **{k: Greatest(F(k) + _moved_by(groups), 0) for k, groups in by_move.items()}
        )
        hashtag_counts_refresh(hashtag_ids=set(moved) - found)  # a tag's first verdict


def _moved_by(groups: dict[int, list[int]]) -> Case:
    whens = (When(pk__in=pks, then=Value(n)) for n, pks in sorted(groups.items()))
    return Case(*whens, default=Value(0))


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
