"""Reads for moderators: the review queue and the dashboard's override figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from moderation.models import (
    AuditEvent,
    Rule,
    Verdict,
    VerdictReport,
)
from moderation.selectors.catalog import concept_catalog, concept_names, rule_concept_keys


def review_queue(*, margin: float | None = None) -> QuerySet[Verdict]:
    """Non-overridden verdicts a human should look at, in the order docs/moderation.md gives
    ("The review queue")."""
    margin = settings.TAGLENS_REVIEW_MARGIN if margin is None else margin
    reports = (
        VerdictReport.objects.filter(verdict=OuterRef("pk"))
        .order_by()
        .values("verdict")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Verdict.objects.filter(override__isnull=True)
        .annotate(report_count=Coalesce(Subquery(reports), 0))
        .filter(
            Q(decision__in=[Verdict.Decision.UNKNOWN, Verdict.Decision.NO_RULE])
            | Q(
                decision__in=[Verdict.Decision.RELEVANT, Verdict.Decision.NOT_RELEVANT],
                margin__lt=margin,
            )
            | review_waiting()
            | report_waiting()
        )
        .select_related("post", "hashtag", "rule", "classification")
        .order_by(
            F("review_requested_at").asc(nulls_last=True),
            "-report_count",
            "-hashtag__search_count",
            "-post_created_at",
            "-post_id",
            "-id",
        )
    )


def review_waiting(prefix: str = "") -> Q:
    """Verdicts (through ``prefix``, e.g. "verdicts__") an author asked about that no
    moderator has answered and that still hide the post."""
    return Q(
        **{
            f"{prefix}review_requested_at__isnull": False,
            f"{prefix}override__isnull": True,
            f"{prefix}shown": False,
        }
    )


def report_waiting() -> Q:
    """Verdicts someone reported as not fitting that no moderator has answered and that still
    show the post."""
    reported = Exists(VerdictReport.objects.filter(verdict=OuterRef("pk")))
    return Q(reported, override__isnull=True, shown=True)


def reports_today(*, reporter_id: int) -> QuerySet[VerdictReport]:
    since = timezone.now() - dt.timedelta(days=1)
    return VerdictReport.objects.filter(reporter_id=reporter_id, created_at__gte=since)


def reported_by(*, reporter_id: int | None, post_id: int) -> set[int]:
    """Ids of the post's verdicts this person has reported (none when signed out)."""
    if reporter_id is None:
        return set()
    mine = VerdictReport.objects.filter(reporter_id=reporter_id, verdict__post_id=post_id)
    return set(mine.values_list("verdict_id", flat=True))


def reports_waiting() -> QuerySet[Verdict]:
    return Verdict.objects.filter(report_waiting())


def review_requests_open(*, author_id: int | None = None) -> QuerySet[Verdict]:
    asked = Verdict.objects.filter(review_waiting())
    return asked.filter(post__author_id=author_id) if author_id is not None else asked


def review_queue_size() -> int:
    return review_queue().order_by().count()


@dataclass(frozen=True)
class ReviewCounts:
    queue: int  # verdicts in the review queue
    requests: int  # authors' review requests no moderator has answered
    reports: int  # reported verdicts no moderator has decided


def review_counts() -> ReviewCounts:
    """What waits for moderators, as the dashboard and /metrics show it."""
    return ReviewCounts(
        queue=review_queue_size(),
        requests=review_requests_open().order_by().count(),
        reports=reports_waiting().order_by().count(),
    )


def _override_events(since: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(action=AuditEvent.Action.OVERRIDE)
    return events.filter(at__gte=since) if since is not None else events


def _sets_override(after: Any) -> bool:
    """An override event that shows or hides (clearing one is not a correction)."""
    return isinstance(after, dict) and after.get("override") is not None


def overrides_per_day(*, days: int = 30, today: dt.date | None = None) -> list[tuple[dt.date, int]]:
    """Overrides set per local day, oldest first, every day present (zero included)."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    counts: dict[dt.date, int] = {}
    for at, after in _override_events(since).values_list("at", "after"):
        if _sets_override(after):
            day = timezone.localdate(at)
            counts[day] = counts.get(day, 0) + 1
    return [
        (first + dt.timedelta(days=i), counts.get(first + dt.timedelta(days=i), 0))
        for i in range(days)
    ]


@dataclass(frozen=True)
class OverrideRate:
    label: str
    overridden: int  # verdicts a moderator has shown or hidden at least once
    decided: int  # verdicts decided with the rule (or with rules naming the concept)

    @property
    def rate(self) -> float:
        return self.overridden / self.decided if self.decided else 0.0

    @property
    def percent(self) -> int:
        # A verdict may have been overridden under an earlier rule: never past 100 %.
        return min(100, round(self.rate * 100))


def override_rates() -> tuple[list[OverrideRate], list[OverrideRate]]:
    """Override rate per rule and per concept (via the concepts of the verdict's rule), highest
    first. The audit trail gives the overridden verdicts, the verdicts table the decided ones."""
    names = concept_names(concept_catalog())
    decided_by_rule: dict[str, int] = {}
    decided_by_concept: dict[str, int] = {}
    decided = (
        Verdict.objects.exclude(decision=Verdict.Decision.PENDING)
        .filter(rule__isnull=False)
        .values("rule")
        .annotate(n=Count("id"))
    )
    counts = {row["rule"]: row["n"] for row in decided}
    for rule in Rule.objects.filter(pk__in=list(counts)):
        decided_by_rule[rule.hashtag] = counts[rule.pk]
        for key in rule_concept_keys(rule, names):
            decided_by_concept[key] = decided_by_concept.get(key, 0) + counts[rule.pk]
    by_rule: dict[str, set[str]] = {}
    by_concept: dict[str, set[str]] = {}
    rows = _override_events().values_list("object_id", "rule_hashtag", "concept_keys", "after")
    for object_id, rule_hashtag, keys, after in rows:
        if not _sets_override(after):
            continue
        if rule_hashtag:
            by_rule.setdefault(rule_hashtag, set()).add(object_id)
        for key in keys or []:
            by_concept.setdefault(key, set()).add(object_id)

    def rates(overridden: dict[str, set[str]], totals: dict[str, int]) -> list[OverrideRate]:
        labels = set(overridden) | set(totals)
        found = [OverrideRate(k, len(overridden.get(k, ())), totals.get(k, 0)) for k in labels]
        return sorted(found, key=lambda r: (-r.rate, -r.overridden, r.label))

    return rates(by_rule, decided_by_rule), rates(by_concept, decided_by_concept)
