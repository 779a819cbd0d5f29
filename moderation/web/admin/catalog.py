"""The moderators' working tool. Actions call services and report counts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from moderation.judging.catalog import (
    concept_delete,
    concept_save,
    keyword_mapping_delete,
    keyword_mapping_save,
    rule_delete,
    rule_save,
)
from moderation.judging.preview import Preview
from moderation.models import (
    Concept,
    KeywordMapping,
    Rule,
)
from moderation.rules.syntax import RuleSyntaxError, validate
from moderation.selectors.catalog import concept_catalog, concept_names
from moderation.web.admin.audit import audit_history
from moderation.web.admin.preview import (
    ChangePreviewMixin,
    concept_preview,
    mapping_preview,
    rule_preview,
)
from moderation.web.admin.shared import (
    REASON_HELP,
)
from posts.hashtags import InvalidHashtag, normalize_hashtag


class AuditedCatalogMixin:
    """Saves and deletes go through the services: audited, verdicts re-applied (as in the API)."""

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
        fields = ["hashtag", "expression", "description"]

    def clean_hashtag(self) -> str:
        try:
            return normalize_hashtag(self.cleaned_data["hashtag"])
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
    list_display = ["hashtag", "expression", "description", "words", "updated_at", "updated_by"]
    search_fields = ["hashtag", "expression", "keyword_mappings__word"]
    readonly_fields = ["updated_at", "updated_by", "history"]

    def change_preview(self, obj: Rule, form: Any) -> Preview:
        return rule_preview(obj, form)

    def _save(self, obj: Rule, by: Any, reason: str) -> None:
        rule_save(rule=obj, by=by, reason=reason)

    def _delete(self, obj: Rule, by: Any, reason: str) -> None:
        rule_delete(rule=obj, by=by, reason=reason)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rule]:
        return super().get_queryset(request).prefetch_related("keyword_mappings")

    @admin.display(description="words mapped to it")
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
        if Rule.objects.filter(hashtag=word).exists():
            raise forms.ValidationError(f"#{word} has a rule of its own; edit that rule instead.")
        return word


@admin.register(KeywordMapping)
class KeywordMappingAdmin(
    ChangePreviewMixin, AuditedCatalogMixin, admin.ModelAdmin[KeywordMapping]
):
    form = KeywordMappingForm
    list_display = ["word", "rule", "updated_at"]
    list_filter = ["rule"]
    search_fields = ["word", "rule__hashtag"]
    list_select_related = ["rule"]
    autocomplete_fields = ["rule"]
    readonly_fields = ["history"]

    def change_preview(self, obj: KeywordMapping, form: Any) -> Preview:
        return mapping_preview(obj, form)

    def _save(self, obj: KeywordMapping, by: Any, reason: str) -> None:
        keyword_mapping_save(mapping=obj, by=by, reason=reason)

    def _delete(self, obj: KeywordMapping, by: Any, reason: str) -> None:
        keyword_mapping_delete(mapping=obj, by=by, reason=reason)
