"""A person's activity page, and the top bar's count of what is new in it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from moderation.judging.review import activity_read
from moderation.selectors.activity import UNREAD_CAP, activity_for, activity_unread


@login_required
def activity(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    events = activity_for(user_id=request.user.pk)
    activity_read(user=request.user, at=now)  # type: ignore[arg-type]
    return render(request, "moderation/activity.html", {"events": events})


def unread(request: HttpRequest) -> dict[str, Any]:
    """Context processor, lazy: anonymous and cached pages run no query for it."""

    def count() -> str:
        if not request.user.is_authenticated:
            return ""
        n = activity_unread(user_id=request.user.pk)
        return "" if n == 0 else f"{UNREAD_CAP}+" if n > UNREAD_CAP else str(n)

    return {"activity_unread": count}
