"""The moderators' working tool. Actions call services and report counts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from moderation.ingest.activation import model_version_activate, model_version_rollback
from moderation.ingest.queue import classification_retry
from moderation.judging.catalog import (
    concept_delete,
    concept_save,
    keyword_mapping_delete,
    keyword_mapping_save,
    rule_delete,
    rule_save,
)
from moderation.judging.overrides import verdict_override, verdicts_override_bulk
from moderation.judging.preview import Preview
from moderation.judging.verdicts import verdicts_explain
from moderation.models import (
    Classification,
    Concept,
    KeywordMapping,
    ModelVersion,
    Rule,
    Verdict,
)
from moderation.rules.syntax import RuleSyntaxError, validate
from moderation.selectors.catalog import concept_catalog, concept_names
from moderation.web.admin.audit import audit_history
from moderation.web.admin.preview import (
    ChangePreviewMixin,
    concept_preview,
    keyword_preview,
    rule_preview,
)
from moderation.web.permissions import is_moderator
from posts.hashtags import InvalidHashtag, normalize_hashtag
from posts.models import Post


def _thumb(post: Post, size: int = 64) -> str:
    field = post.thumbnail if post.thumbnail else post.image
    if not field:
        return "—"
    return format_html(
        '<img src="{}" width="{}" height="{}" style="object-fit:cover;border-radius:4px" alt="">',
        field.url,
        size,
        size,
    )


class OverridePermissionMixin:
    def has_override_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user)


class VerdictInline(admin.TabularInline[Verdict, Post]):
    """A post's verdicts; moderators override one by choosing Yes (show) / No (hide)."""

    model = Verdict
    extra = 0
    can_delete = False
    fields = [
        "hashtag",
        "decision",
        "shown",
        "override",
        "override_note",
        "override_by",
        "override_at",
        "why",
    ]
    readonly_fields = ["hashtag", "decision", "shown", "override_by", "override_at", "why"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if is_moderator(request.user):
            return list(self.readonly_fields)
        return [str(name) for name in self.fields]

    @admin.display(description="why")
    def why(self, verdict: Verdict) -> str:
        return _explanation_text(verdict)


def _explanation_text(verdict: Verdict) -> str:
    if verdict.explanation is None:
        verdicts_explain([verdict])
    explanation = verdict.explanation or {}
    if "reason" in explanation:
        return str(explanation["reason"])
    parts = []
    for row in explanation.get("concepts", []):
        if row["score"] is None:
            parts.append(f"{row['name_en']}: unsupported by this model")
        else:
            sign = "≥" if row["present"] else "<"
            parts.append(f"{row['name_en']} {row['score']:.2f} {sign} {row['threshold']:.2f}")
    expression = explanation.get("expression", "")
    text = f"{expression} — " + "; ".join(parts) if parts else expression
    if explanation.get("stale"):
        text = f"(a rule change is being applied: the current rule decides otherwise) {text}"
    return text


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
        return _thumb(post)

    @admin.display(description="photo")
    def big_thumb(self, post: Post) -> str:
        return _thumb(post, 240)

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


REASON_HELP = "Why (kept in the audit trail; optional)."


class ReasonActionForm(ActionForm):
    """The action bar with a reason: bulk overrides and activations are audited with it."""

    reason = forms.CharField(required=False, max_length=300, label="Reason")


def _action_reason(request: HttpRequest) -> str:
    return str(request.POST.get("reason", ""))[:300]


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
    list_filter = ["decision", "shown", ("override", admin.EmptyFieldListFilter), "rule"]
    search_fields = ["hashtag__name", "post__caption"]
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
        return _thumb(verdict.post)

    @admin.display(description="photo")
    def big_thumb(self, verdict: Verdict) -> str:
        return _thumb(verdict.post, 240)

    @admin.display(description="why")
    def why(self, verdict: Verdict) -> str:
        return _explanation_text(verdict)

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
            reason=_action_reason(request),
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


class AuditedCatalogMixin:
    """Concepts, rules and keywords are saved and deleted through their services, which record
    an audit event and re-apply every verdict from stored scores (the API does the same)."""

    def _save(self, obj: Any, by: Any, reason: str) -> None:
        raise NotImplementedError

    def _delete(self, obj: Any, by: Any, reason: str) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        reason = getattr(form, "cleaned_data", {}).get("reason", "")
        self._save(obj, request.user, reason)
        self.message_user(  # type: ignore[attr-defined]
            request, "Verdicts are being re-evaluated in the background from stored scores."
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._delete(obj, request.user, "")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # One by one, so each deletion is recorded (a bulk delete would skip the audit).
        for obj in queryset:
            self._delete(obj, request.user, "")

    @admin.display(description="history")
    def history(self, obj: Model) -> str:
        return audit_history(obj) if obj.pk else "—"


class AuditReasonForm(forms.ModelForm[Any]):
    reason = forms.CharField(required=False, max_length=300, help_text=REASON_HELP)


class ConceptForm(AuditReasonForm):
    class Meta:
        model = Concept
        fields = ["key", "name_ko", "name_en", "kind", "parent", "threshold"]


@admin.register(Concept)
class ConceptAdmin(ChangePreviewMixin, AuditedCatalogMixin, admin.ModelAdmin[Concept]):
    form = ConceptForm
    list_display = ["key", "name_ko", "name_en", "kind", "parent", "threshold", "updated_at"]
    list_editable = ["threshold"]
    list_filter = ["kind"]
    search_fields = ["key", "name_ko", "name_en"]
    list_select_related = ["parent"]
    readonly_fields = ["history"]

    def change_preview(self, obj: Concept, form: Any) -> Preview:
        return concept_preview(obj, form)

    def _save(self, obj: Concept, by: Any, reason: str) -> None:
        concept_save(concept=obj, by=by, reason=reason)

    def _delete(self, obj: Concept, by: Any, reason: str) -> None:
        concept_delete(concept=obj, by=by, reason=reason)


class RuleForm(AuditReasonForm):
    class Meta:
        model = Rule
        fields = ["keyword", "expression", "description"]

    def clean_keyword(self) -> str:
        try:
            return normalize_hashtag(self.cleaned_data["keyword"])
        except InvalidHashtag as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_expression(self) -> str:
        try:
            return validate(self.cleaned_data["expression"], concept_names(concept_catalog()))
        except RuleSyntaxError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(Rule)
class RuleAdmin(ChangePreviewMixin, AuditedCatalogMixin, admin.ModelAdmin[Rule]):
    form = RuleForm
    list_display = ["keyword", "expression", "description", "words", "updated_at", "updated_by"]
    search_fields = ["keyword", "expression", "keyword_mappings__word"]
    readonly_fields = ["updated_at", "updated_by", "history"]

    def change_preview(self, obj: Rule, form: Any) -> Preview:
        return rule_preview(obj, form)

    def _save(self, obj: Rule, by: Any, reason: str) -> None:
        rule_save(rule=obj, by=by, reason=reason)

    def _delete(self, obj: Rule, by: Any, reason: str) -> None:
        rule_delete(rule=obj, by=by, reason=reason)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rule]:
        return super().get_queryset(request).prefetch_related("keyword_mappings")

    @admin.display(description="keywords judged by it")
    def words(self, rule: Rule) -> str:
        return ", ".join(f"#{m.word}" for m in rule.keyword_mappings.all())


class KeywordMappingForm(AuditReasonForm):
    class Meta:
        model = KeywordMapping
        fields = ["word", "rule"]

    def clean_word(self) -> str:
        try:
            word = normalize_hashtag(self.cleaned_data["word"])
        except InvalidHashtag as exc:
            raise forms.ValidationError(str(exc)) from exc
        if Rule.objects.filter(keyword=word).exists():
            raise forms.ValidationError(f"#{word} has a rule of its own; edit that rule instead.")
        return word


@admin.register(KeywordMapping)
class KeywordMappingAdmin(
    ChangePreviewMixin, AuditedCatalogMixin, admin.ModelAdmin[KeywordMapping]
):
    form = KeywordMappingForm
    list_display = ["word", "rule", "updated_at"]
    list_filter = ["rule"]
    search_fields = ["word", "rule__keyword"]
    list_select_related = ["rule"]
    autocomplete_fields = ["rule"]
    readonly_fields = ["history"]

    def change_preview(self, obj: KeywordMapping, form: Any) -> Preview:
        return keyword_preview(obj, form)

    def _save(self, obj: KeywordMapping, by: Any, reason: str) -> None:
        keyword_mapping_save(mapping=obj, by=by, reason=reason)

    def _delete(self, obj: KeywordMapping, by: Any, reason: str) -> None:
        keyword_mapping_delete(mapping=obj, by=by, reason=reason)


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin[Classification]):
    list_display = ["post", "model_version", "created_at"]
    list_filter = ["model_version"]
    list_select_related = ["model_version"]
    readonly_fields = ["post", "model_version", "embedding", "scores", "unsupported", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


def _source_label(concept: str, source: str) -> str:
    from mlmodels.heads import DIRECT_SIGNALS, SOURCE_HEAD

    if source == SOURCE_HEAD:
        return "trained head"
    return "face + age model" if concept in DIRECT_SIGNALS else "ImageNet roll-up"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    """Versions with their evaluation; activating one rescores every post from stored
    embeddings in the background (progress shown here); rollback is one action."""

    list_display = [
        "name",
        "kind",
        "is_active",
        "macro_f1",
        "rescore_progress",
        "created_at",
        "activated_at",
    ]
    list_filter = ["kind", "is_active"]
    readonly_fields = [
        "name",
        "kind",
        "backbone",
        "concepts",
        "is_active",
        "created_at",
        "activated_at",
        "activated_by",
        "rescore_progress",
        "rescore_message",
        "thresholds",
        "report",
        "training",
    ]
    exclude = ["heads", "metrics", "rescore_status", "rescore_done", "rescore_total"]
    actions = ["activate", "rollback"]
    action_form = ReasonActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training (manage.py train_concepts)

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user)

    @admin.display(description="macro F1 (CV)")
    def macro_f1(self, version: ModelVersion) -> str:
        value = (version.metrics or {}).get("macro_f1")
        return f"{value:.3f}" if isinstance(value, int | float) else "—"

    @admin.display(description="rescoring")
    def rescore_progress(self, version: ModelVersion) -> str:
        if version.rescore_status == ModelVersion.Rescore.IDLE:
            return "—"
        return (
            f"{version.get_rescore_status_display()} {version.rescore_done}/{version.rescore_total}"
        )

    @admin.display(description="evaluation report (cross-validated)")
    def report(self, version: ModelVersion) -> str:
        metrics = version.metrics or {}
        rows = metrics.get("concepts", {})
        if not rows:
            return "No evaluation stored for this version."
        table = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    key,
                    f"{row['selected']['precision']:.3f}",
                    f"{row['selected']['recall']:.3f}",
                    f"{row['selected']['f1']:.3f}",
                    row["selected"]["support"],
                    _source_label(key, row["final"]["source"]),
                    "met" if row["selected"]["f1"] >= row["target_f1"] else "MISSED",
                )
                for key, row in sorted(rows.items())
            ),
        )
        return format_html(
            "<table><tr><th>concept</th><th>precision</th><th>recall</th><th>F1</th>"
            "<th>support</th><th>source</th><th>target</th></tr>{}</table>"
            "<p>macro F1 {} · adult vs child {}</p><p>{}</p>",
            table,
            metrics.get("macro_f1", "—"),
            ", ".join(f"{k} {v:.3f}" for k, v in metrics.get("adult_vs_child", {}).items()),
            "; ".join(metrics.get("targets_missed", [])) or "Every target met.",
        )

    @admin.action(
        description="Activate (rescore every post from stored embeddings)", permissions=["activate"]
    )
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one version.", messages.ERROR)
            return
        version = model_version_activate(
            version=queryset.get(),
            by=request.user,  # type: ignore[arg-type]
            reason=_action_reason(request),
        )
        self.message_user(request, f"{version.name} is active; rescoring in the background.")

    @admin.action(
        description="Roll back to the previously active version", permissions=["activate"]
    )
    def rollback(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        version = model_version_rollback(
            by=request.user,  # type: ignore[arg-type]
            reason=_action_reason(request),
        )
        if version is None:
            self.message_user(
                request, "There is no earlier version to roll back to.", messages.WARNING
            )
        else:
            self.message_user(request, f"Rolled back to {version.name}; rescoring.")
