"""Asking moderators to look again: the author at a verdict that hides their post, anyone
signed in at a post shown under a hashtag it does not fit. Thin: call the service, say what
happened, go back to the post."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from moderation.judging.review import ReviewRefused, review_request, verdict_report
from moderation.models import Verdict


def _asked(
    request: HttpRequest, post_id: int, verdict_id: int, ask: Callable[[Verdict], str]
) -> HttpResponse:
    """Run ``ask`` on the post's verdict; its answer, or the refusal, is the page's message."""
    verdict = get_object_or_404(
        Verdict.objects.select_related("post", "hashtag", "rule"), pk=verdict_id, post_id=post_id
    )
    try:
        messages.success(request, ask(verdict))
    except ReviewRefused as exc:
        messages.error(request, str(exc))
    return redirect("post-detail", post_id=post_id)


@login_required
@require_POST
def review_request_add(request: HttpRequest, post_id: int, verdict_id: int) -> HttpResponse:
    def ask(verdict: Verdict) -> str:
        review_request(verdict=verdict, by=request.user, note=request.POST.get("note", ""))  # type: ignore[arg-type]
        return f"Review asked for: a moderator will look at the post under #{verdict.hashtag.name}."

    return _asked(request, post_id, verdict_id, ask)


@login_required
@require_POST
def verdict_report_add(request: HttpRequest, post_id: int, verdict_id: int) -> HttpResponse:
    def ask(verdict: Verdict) -> str:
        verdict_report(verdict=verdict, by=request.user)  # type: ignore[arg-type]
        return f"Thank you: a moderator will check whether it fits #{verdict.hashtag.name}."

    return _asked(request, post_id, verdict_id, ask)
