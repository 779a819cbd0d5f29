"""Admin pages: the review queue (keys a / r / s) and hashtags without a rule."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from moderation.judging import review
from moderation.judging.overrides import verdict_override
from moderation.judging.verdicts import verdicts_explain
from moderation.models import Rule, Verdict
from moderation.rules.syntax import RuleSyntaxError
from moderation.selectors.catalog import hashtags_without_rule
from moderation.web.permissions import is_moderator
from posts.models import Hashtag

SKIPPED = "review_skipped"
View = Callable[..., HttpResponse]


def moderator_view(view: View) -> View:
    """Staff login through the admin, then the moderator permission (staff alone is not enough)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_moderator(request.user):
            raise PermissionDenied("Only moderators may do this.")
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


def _context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "title": title, **extra}


class RuleForHashtagForm(forms.Form):
    expression = forms.CharField(
        max_length=500, help_text="Concepts with and / or / not, e.g. 'food or beverage'."
    )
    description = forms.CharField(max_length=200, required=False)


class MapHashtagForm(forms.Form):
    rule = forms.ModelChoiceField(queryset=Rule.objects.all(), empty_label="— choose a rule —")


def _hashtag_forms(hashtag: Hashtag) -> dict[str, Any]:
    suggestions = review.hashtag_rule_suggestions(hashtag=hashtag)
    # Chosen beforehand only where it fits most posts: otherwise the moderator picks, if at all.
    initial = {"rule": suggestions[0].rule.pk} if suggestions and suggestions[0].fits_most else {}
    return {
        "suggestions": suggestions,
        "rule_form": RuleForHashtagForm(),
        "map_form": MapHashtagForm(initial=initial),
    }


def review_page(request: HttpRequest) -> HttpResponse:
    state = review.review_next(skipped=request.session.get(SKIPPED, []))
    extra: dict[str, Any] = {}
    verdict = state.verdict
    if verdict is not None:
        verdicts_explain([verdict])
    if verdict is not None and verdict.decision == Verdict.Decision.NO_RULE:
        extra = _hashtag_forms(verdict.hashtag)
    return render(
        request,
        "admin/moderation/review.html",
        _context(
            request,
            "Review queue",
            state=state,
            verdict=verdict,
            rows=(verdict.explanation or {}).get("concepts", []) if verdict else [],
            **extra,
        ),
    )


@require_POST
def review_decide(request: HttpRequest, verdict_id: int) -> HttpResponse:
    verdict = get_object_or_404(Verdict.objects.select_related("hashtag"), pk=verdict_id)
    action = request.POST.get("action")
    if action == "skip":
        request.session[SKIPPED] = review.review_skip(
            skipped=request.session.get(SKIPPED, []), verdict_id=verdict.pk
        )
    elif action in ("accept", "reject"):
        verdict_override(
            verdict=verdict,
            relevant=action == "accept",
            by=request.user,  # type: ignore[arg-type]
            note="review queue",
        )
        word = "shown" if action == "accept" else "hidden"
        messages.success(request, f"Post {verdict.post_id} is {word} under {verdict.hashtag}.")
    else:
        messages.error(request, "Choose accept, reject or skip.")
    return redirect("moderation-review")


@require_POST
def review_restart(request: HttpRequest) -> HttpResponse:
    request.session.pop(SKIPPED, None)
    return redirect("moderation-review")


def unruled_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(hashtags_without_rule(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "admin/moderation/unruled.html",
        _context(request, "Hashtags without a rule", page=page),
    )


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return HttpResponseRedirect(target or default)


def unruled_hashtag(request: HttpRequest, hashtag_id: int) -> HttpResponse:
    hashtag = get_object_or_404(Hashtag, pk=hashtag_id)
    back = reverse("moderation-unruled")
    context = _hashtag_forms(hashtag)
    if request.method == "POST":
        if review.hashtag_has_rule(hashtag=hashtag):
            messages.warning(request, f"#{hashtag.name} is already judged by a rule.")
            return _back(request, back)
        if request.POST.get("action") == "map":
            map_form = MapHashtagForm(request.POST)
            if map_form.is_valid():
                rule = map_form.cleaned_data["rule"]
                review.hashtag_map(
                    hashtag=hashtag,
                    rule=rule,
                    by=request.user,  # type: ignore[arg-type]
                    reason="hashtag without a rule",
                )
                messages.success(request, f"#{hashtag.name} is judged by #{rule.hashtag} now.")
                return _back(request, back)
            context["map_form"] = map_form
        else:
            rule_form = RuleForHashtagForm(request.POST)
            if rule_form.is_valid():
                try:
                    review.hashtag_rule_create(
                        hashtag=hashtag,
                        expression=rule_form.cleaned_data["expression"],
                        description=rule_form.cleaned_data["description"],
                        by=request.user,  # type: ignore[arg-type]
                        reason="hashtag without a rule",
                    )
                except RuleSyntaxError as exc:
                    rule_form.add_error("expression", str(exc))
                except IntegrityError:
                    rule_form.add_error(None, f"#{hashtag.name} has a rule already.")
                else:
                    messages.success(request, f"#{hashtag.name} has a rule now.")
                    return _back(request, back)
            context["rule_form"] = rule_form
    return render(
        request,
        "admin/moderation/unruled_hashtag.html",
        _context(
            request,
            f"#{hashtag.name}: no rule",
            hashtag=hashtag,
            next=request.POST.get("next") or request.GET.get("next") or back,
            **context,
        ),
        status=400 if request.method == "POST" else 200,
    )
