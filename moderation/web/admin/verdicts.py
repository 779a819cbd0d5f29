"""Verdicts in the admin: filters and bulk overrides with a reason for the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from moderation.judging.overrides import verdicts_override_bulk
from moderation.judging.verdicts import verdicts_explain
from moderation.models import (
    Verdict,
)
from moderation.web.admin.audit import audit_history
from moderation.web.admin.shared import (
    OverridePermissionMixin,
    ReasonActionForm,
    action_reason,
    explanation_text,
    thumb,
)


@admin.register(Verdict)
class VerdictAdmin(OverridePermissionMixin, admin.ModelAdmin[Verdict]):
    action_form = ReasonActionForm
    list_display = [
        "thumb",
        "hashtag",
        "decision",
        "shown",
        "override",
        "override_by",
        "rule",
        "why",
        "post_created_at",
    ]
    list_filter = [
        "decision",
        "shown",
        ("override", admin.EmptyFieldListFilter),
        ("review_requested_at", admin.EmptyFieldListFilter),
        "rule",
    ]
    search_fields = ["hashtag__name", "post__caption", "=post__id"]
    list_select_related = ["post", "hashtag", "rule", "override_by"]
    readonly_fields = [
        "big_thumb",
        "post",
        "hashtag",
        "rule",
        "classification",
        "decision",
        "why",
        "decided_at",
        "override",
        "override_by",
        "override_at",
        "override_note",
        "review_requested_at",
        "review_request_note",
        "shown",
        "post_created_at",
        "history",
    ]
    actions = ["mark_relevant", "mark_not_relevant", "clear_override"]
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        verdicts_explain(changelist.result_list)  # the page's "why" column at once
        return changelist

    @admin.display(description="photo")
    def thumb(self, verdict: Verdict) -> str:
        return thumb(verdict.post)

    @admin.display(description="photo")
    def big_thumb(self, verdict: Verdict) -> str:
        return thumb(verdict.post, 240)

    @admin.display(description="why")
    def why(self, verdict: Verdict) -> str:
        return explanation_text(verdict)

    @admin.display(description="history")
    def history(self, verdict: Verdict) -> str:
        return audit_history(verdict)

    def _override(
        self, request: HttpRequest, queryset: QuerySet[Verdict], value: bool | None, label: str
    ) -> None:
        count = verdicts_override_bulk(
            verdicts=queryset,
            relevant=value,
            by=request.user,  # type: ignore[arg-type]
            reason=action_reason(request),
        )
        self.message_user(request, f"{count} verdict(s) {label}.", messages.SUCCESS)

    @admin.action(description="Override: relevant (show)", permissions=["override"])
    def mark_relevant(self, request: HttpRequest, queryset: QuerySet[Verdict]) -> None:
        self._override(request, queryset, True, "marked relevant")

    @admin.action(description="Override: not relevant (hide)", permissions=["override"])
    def mark_not_relevant(self, request: HttpRequest, queryset: QuerySet[Verdict]) -> None:
        self._override(request, queryset, False, "marked not relevant")

    @admin.action(description="Clear override (back to the model)", permissions=["override"])
    def clear_override(self, request: HttpRequest, queryset: QuerySet[Verdict]) -> None:
        self._override(request, queryset, None, "returned to the model")
