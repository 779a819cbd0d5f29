"""The moderator dashboard: review queue, workers' backlog, overrides per day and rates; no JS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from moderation.selectors.backlog import ingest_backlog
from moderation.selectors.catalog import concepts_unseen
from moderation.selectors.review import override_rates, overrides_per_day, review_counts
from moderation.web.permissions import is_moderator

CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 600, 160, 16


def day_bars(days: list[tuple[Any, int]]) -> list[dict[str, Any]]:
    """SVG geometry for one bar per day, scaled to the busiest day."""
    peak = max((count for _, count in days), default=0) or 1
    step = CHART_WIDTH / max(len(days), 1)
    bars = []
    for i, (day, count) in enumerate(days):
        height = round((CHART_HEIGHT - CHART_TOP) * count / peak, 1)
        bars.append(
            {
                "day": day,
                "count": count,
                "x": round(i * step + 1, 1),
                "width": round(step - 2, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "height": height,
                "label_x": round(i * step + step / 2, 1),
                "label": i % 5 == 0 or i == len(days) - 1,
            }
        )
    return bars


def _dashboard(request: HttpRequest) -> HttpResponse:
    if not is_moderator(request.user):
        raise PermissionDenied("Only moderators may see the dashboard.")
    days = overrides_per_day(days=30)
    per_rule, per_concept = override_rates()
    waiting = review_counts()
    active, unseen = concepts_unseen()
    context = {
        **admin.site.each_context(request),
        "title": "Moderation dashboard",
        "queue_size": waiting.queue,
        "requests_waiting": waiting.requests,
        "reports_waiting": waiting.reports,
        "backlog": ingest_backlog(),
        "lease_seconds": settings.TAGLENS_CLASSIFY_LEASE,
        "days": days,
        "overrides_30d": sum(count for _, count in days),
        "bars": day_bars(days),
        "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT + 18, "base": CHART_HEIGHT},
        "per_rule": per_rule,
        "per_concept": per_concept,
        "active_version": active,
        "unseen": unseen,
    }
    return render(request, "admin/moderation/dashboard.html", context)


dashboard = admin.site.admin_view(_dashboard)
