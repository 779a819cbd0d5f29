"""Posts in the admin: thumbnails, verdicts inline, filters, re-classification."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from moderation.ingest.queue import classification_retry
from moderation.judging.overrides import verdict_override
from moderation.models import (
    Verdict,
)
from moderation.web.admin.shared import (
    OverridePermissionMixin,
    explanation_text,
    thumb,
)
from moderation.web.permissions import is_moderator
from posts.models import Post


class OverrideSelect(forms.NullBooleanSelect):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "Model decides"), ("true", "Show"), ("false", "Hide")]


class VerdictInlineForm(forms.ModelForm[Verdict]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A table row's inputs have no <label>: screen readers name them by the row's hashtag.
        tag = f"#{self.instance.hashtag.name}" if self.instance.hashtag_id else "this hashtag"
        for name, what in (("override", "Override"), ("override_note", "Override note")):
            if name in self.fields:
                self.fields[name].widget.attrs["aria-label"] = f"{what} for {tag}"


class VerdictInline(admin.TabularInline[Verdict, Post]):
    """A post's verdicts; moderators override one by choosing Show or Hide."""

    model = Verdict
    form = VerdictInlineForm
    extra = 0
    can_delete = False
    formfield_overrides = {models.BooleanField: {"widget": OverrideSelect}}
    fields = [
        "hashtag",
        "decision",
        "shown",
        "override",
        "override_note",
        "override_by",
        "override_at",
        "review_requested_at",
        "why",
    ]
    readonly_fields = [
        "hashtag",
        "decision",
        "shown",
        "override_by",
        "override_at",
        "review_requested_at",
        "why",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if is_moderator(request.user):
            return list(self.readonly_fields)
        return [str(name) for name in self.fields]

    @admin.display(description="why")
    def why(self, verdict: Verdict) -> str:
        return explanation_text(verdict)


class VerdictStateFilter(admin.SimpleListFilter):
    title = "verdicts"
    parameter_name = "verdicts"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("hidden", "Hidden under some hashtag"),
            ("unknown", "Undecided (unknown)"),
            ("overridden", "Overridden by a moderator"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Post]) -> QuerySet[Post]:
        if self.value() == "hidden":
            return queryset.filter(verdicts__shown=False).distinct()
        if self.value() == "unknown":
            return queryset.filter(verdicts__decision=Verdict.Decision.UNKNOWN).distinct()
        if self.value() == "overridden":
            return queryset.filter(verdicts__override__isnull=False).distinct()
        return queryset


@admin.register(Post)
class PostAdmin(OverridePermissionMixin, admin.ModelAdmin[Post]):
    list_display = ["thumb", "id", "author", "status", "verdict_summary", "created_at"]
    list_display_links = ["thumb", "id"]
    list_filter = ["status", VerdictStateFilter, "created_at"]
    search_fields = ["caption", "hashtags__name", "author__username"]
    list_select_related = ["author"]
    readonly_fields = [
        "big_thumb",
        "author",
        "image",
        "thumbnail",
        "width",
        "height",
        "status",
        "failure_reason",
        "created_at",
        "classified_at",
        "public_link",
    ]
    fields = [*readonly_fields, "caption"]
    inlines = [VerdictInline]
    actions = ["retry_classification"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        return super().get_queryset(request).prefetch_related("verdicts__hashtag")

    @admin.display(description="photo")
    def thumb(self, post: Post) -> str:
        return thumb(post)

    @admin.display(description="photo")
    def big_thumb(self, post: Post) -> str:
        return thumb(post, 240)

    @admin.display(description="public page")
    def public_link(self, post: Post) -> str:
        url = reverse("post-detail", kwargs={"post_id": post.pk})
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description="verdicts")
    def verdict_summary(self, post: Post) -> str:
        return format_html_join(
            " ",
            '<span title="{}" style="padding:1px 6px;border-radius:8px;background:{};color:#fff">'
            "#{}{}</span>",
            (
                (
                    v.get_decision_display(),
                    "#2e7d32" if v.shown else "#9e9e9e",
                    v.hashtag.name,
                    " ✎" if v.override is not None else "",
                )
                for v in post.verdicts.all()
            ),
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Verdict:
            super().save_formset(request, form, formset, change)
            return
        # Overrides go through the service, which records who and when and recomputes `shown`.
        formset.new_objects, formset.deleted_objects, formset.changed_objects = [], [], []
        for verdict_form in formset.forms:
            if not verdict_form.has_changed() or not is_moderator(request.user):
                continue
            formset.changed_objects.append((verdict_form.instance, verdict_form.changed_data))
            verdict_override(
                verdict=verdict_form.instance,
                relevant=verdict_form.cleaned_data.get("override"),
                by=request.user,  # type: ignore[arg-type]
                note=verdict_form.cleaned_data.get("override_note", ""),
            )

    @admin.action(description="Classify again (failed or stuck posts)")
    def retry_classification(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        count = classification_retry(posts=queryset)
        self.message_user(request, f"{count} post(s) queued for classification.")
