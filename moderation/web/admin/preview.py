"""A "Preview" button on the rule, concept and keyword mapping forms: how many posts the change
would hide and show, with samples; the posted values come back under a Save button, unsaved."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from moderation.judging.preview import (
    Preview,
    concept_threshold_preview,
    keyword_mapping_preview,
    rule_change_preview,
)
from moderation.models import Concept, KeywordMapping, Rule

PREVIEW = "_preview"


class ChangePreviewMixin:
    change_form_template: ClassVar[Any] = "admin/moderation/change_form_preview.html"

    def change_preview(self, obj: Any, form: Any) -> Preview:
        raise NotImplementedError

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and PREVIEW in request.POST:
            response = self._preview_response(request, object_id)
            if response is not None:
                return response
        return super().changeform_view(  # type: ignore[misc, no-any-return]
            request, object_id, form_url, extra_context
        )

    def _preview_response(self, request: HttpRequest, object_id: str | None) -> HttpResponse | None:
        model_admin: admin.ModelAdmin[Any] = self  # type: ignore[assignment]
        obj = model_admin.get_object(request, unquote(object_id)) if object_id else None
        if object_id and obj is None:
            return None  # the normal view answers a missing object
        allowed = (
            model_admin.has_change_permission(request, obj)
            if obj is not None
            else model_admin.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        form = model_admin.get_form(request, obj, change=obj is not None)(
            request.POST, request.FILES, instance=obj
        )
        if not form.is_valid():
            return None  # the normal view shows the errors
        preview = self.change_preview(form.instance, form)
        fields = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in ("csrfmiddlewaretoken", PREVIEW, "_save", "_continue", "_addanother")
            for value in values
        ]
        opts = model_admin.model._meta
        return TemplateResponse(
            request,
            "admin/moderation/change_preview.html",
            {
                **model_admin.admin_site.each_context(request),
                "title": f"Preview: {form.instance}",
                "opts": opts,
                "original": obj,
                "preview": preview,
                "fields": fields,
            },
        )


def rule_preview(obj: Rule, form: Any) -> Preview:
    return rule_change_preview(
        rule=obj,
        new_expression=form.cleaned_data["expression"],
        new_hashtag=form.cleaned_data["hashtag"],
    )


def concept_preview(obj: Concept, form: Any) -> Preview:
    return concept_threshold_preview(concept=obj, new_threshold=form.cleaned_data["threshold"])


def mapping_preview(obj: KeywordMapping, form: Any) -> Preview:
    return keyword_mapping_preview(
        mapping=obj, word=form.cleaned_data["word"], rule=form.cleaned_data["rule"]
    )
