"""Asking moderators to look again: the author at a verdict that hides their post, anyone
signed in at a post shown under a hashtag it does not fit. Thin: call the service, say what
happened, go back to the post."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from moderation.judging.review import ReviewRefused, review_request, verdict_report
from moderation.models import Verdict


@login_required
@require_POST
def review_request_add(request: HttpRequest, post_id: int, verdict_id: int) -> HttpResponse:
    verdict = get_object_or_404(
        Verdict.objects.select_related("post", "hashtag", "rule"), pk=verdict_id, post_id=post_id
    )
    try:
        review_request(verdict=verdict, by=request.user, note=request.POST.get("note", ""))  # type: ignore[arg-type]
    except ReviewRefused as exc:
        messages.error(request, str(exc))
        return redirect("post-detail", post_id=post_id)
    tag = verdict.hashtag.name
    messages.success(request, f"Review asked for: a moderator will look at the post under #{tag}.")
    return redirect("post-detail", post_id=post_id)


@login_required
@require_POST
def verdict_report_add(request: HttpRequest, post_id: int, verdict_id: int) -> HttpResponse:
    verdict = get_object_or_404(
        Verdict.objects.select_related("post", "hashtag"), pk=verdict_id, post_id=post_id
    )
    try:
        verdict_report(verdict=verdict, by=request.user)  # type: ignore[arg-type]
    except ReviewRefused as exc:
        messages.error(request, str(exc))
        return redirect("post-detail", post_id=post_id)
    tag = verdict.hashtag.name
    messages.success(request, f"Thank you: a moderator will check whether it fits #{tag}.")
    return redirect("post-detail", post_id=post_id)
