"""Shared by the admin pages: thumbnails, explanations, override permission, action reasons."""

from __future__ import annotations

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.http import HttpRequest
from django.utils.html import format_html

from moderation.judging.verdicts import verdicts_explain
from moderation.models import (
    Verdict,
)
from moderation.web.permissions import is_moderator
from posts.models import Post
from posts.services import plain_text


class OverridePermissionMixin:
    def has_override_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user)


REASON_HELP = "Why (kept in the audit trail; optional)."


class ReasonActionForm(ActionForm):
    """The action bar with a reason: bulk overrides and activations are audited with it."""

    reason = forms.CharField(required=False, max_length=300, label="Reason")


def action_reason(request: HttpRequest) -> str:
    return plain_text(str(request.POST.get("reason", "")))[:300]


def thumb(post: Post, size: int = 64) -> str:
    field = post.thumbnail if post.thumbnail else post.image
    if not field:
        return "—"
    return format_html(
        '<img src="{}" width="{}" height="{}" style="object-fit:cover;border-radius:4px" alt="">',
        field.url,
        size,
        size,
    )


def explanation_text(verdict: Verdict) -> str:
    if verdict.explanation is None:
        verdicts_explain([verdict])
    explanation = verdict.explanation or {}
    if "reason" in explanation:
        return str(explanation["reason"])
    parts = []
    for row in explanation.get("concepts", []):
        if row["score"] is None and row.get("not_measured"):
            parts.append(f"{row['name_en']}: not measured yet")
        elif row["score"] is None:
            parts.append(f"{row['name_en']}: unsupported by this model")
        else:
            sign = "≥" if row["present"] else "<"
            parts.append(f"{row['name_en']} {row['score']:.2f} {sign} {row['threshold']:.2f}")
    expression = explanation.get("expression", "")
    text = f"{expression} — " + "; ".join(parts) if parts else expression
    if explanation.get("stale"):
        text = f"(a rule change is being applied: the current rule decides otherwise) {text}"
    return text
