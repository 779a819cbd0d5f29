"""The audit trail in the admin: read-only events, per-object history, undo for overrides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from moderation.judging.audit import UndoRefused
from moderation.judging.overrides import verdict_override_undo
from moderation.models import AuditEvent
from moderation.web.permissions import is_moderator

HISTORY_ROWS = 20
# Kept in the event for undo, but noise to a reader.
HIDDEN_KEYS = {"override_by_id", "override_at", "version_id"}


def _flat(values: dict[str, Any] | None) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key in HIDDEN_KEYS:
            continue
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def audit_changes(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field that differs; all fields for a create or delete."""
    before, after = _flat(event.before), _flat(event.after)
    keys = list(dict.fromkeys([*before, *after]))
    return [
        (key, _show(before.get(key)), _show(after.get(key)))
        for key in keys
        if event.before is None or event.after is None or before.get(key) != after.get(key)
    ]


def changes_html(event: AuditEvent) -> str:
    rows = audit_changes(event)
    if not rows:
        return "no change"
    return format_html_join(
        "",
        '<div class="audit-change"><b>{}</b>: <del>{}</del> → <ins>{}</ins></div>',
        rows,
    )


def audit_history(obj: Model) -> str:
    """The object's latest events as a small table, with a link to all of them."""
    object_type = obj._meta.model_name or ""
    events = AuditEvent.objects.filter(object_type=object_type, object_id=str(obj.pk))
    rows = list(events.select_related("actor")[:HISTORY_ROWS])
    link = reverse("admin:moderation_auditevent_changelist")
    all_link = format_html(
        '<a href="{}?object_type={}&amp;object_id={}">All audit events for this {}</a>',
        link,
        object_type,
        obj.pk,
        obj._meta.verbose_name,
    )
    if not rows:
        return format_html("No changes recorded yet. {}", all_link)
    table = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{e.at:%Y-%m-%d %H:%M}",
                e.actor.get_username() if e.actor else "system",
                e.get_action_display(),
                changes_html(e),
                e.reason,
            )
            for e in rows
        ),
    )
    return format_html(
        '<table class="audit-history"><tr><th>when</th><th>who</th><th>what</th>'
        "<th>before → after</th><th>reason</th></tr>{}</table>{}",
        table,
        all_link,
    )


AUDIT_FIELDS: tuple[str, ...] = (
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "reason",
    "concept_keys",
    "rule_hashtag",
    "before",
    "after",
    "undo_link",
)


class UndoForm(forms.Form):
    reason = forms.CharField(required=False, max_length=300, label="Reason (optional)")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only for everyone: events are evidence, so nobody adds, edits or deletes them."""

    list_display = ["at", "actor", "action", "object_link", "changes", "reason", "undo_link"]
    list_filter = ["action", ("actor", admin.RelatedOnlyFieldListFilter), "at", "object_type"]
    search_fields = ["object_repr", "reason", "rule_hashtag"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.display(description="before → after")
    def changes(self, event: AuditEvent) -> str:
        return changes_html(event)

    @admin.display(description="object", ordering="object_repr")
    def object_link(self, event: AuditEvent) -> str:
        if event.after is None:  # deleted: no page to go to
            return event.object_repr
        try:
            url = reverse(
                f"admin:moderation_{event.object_type}_change", args=[int(event.object_id)]
            )
        except (NoReverseMatch, ValueError):
            return event.object_repr
        return format_html('<a href="{}">{}</a>', url, event.object_repr)

    @admin.display(description="undo")
    def undo_link(self, event: AuditEvent) -> str:
        if event.action != AuditEvent.Action.OVERRIDE:
            return ""
        url = reverse("admin:moderation_auditevent_undo", args=[event.pk])
        return format_html('<a href="{}" class="button">Undo</a>', url)

    def get_urls(self) -> list[URLPattern]:
        undo = path(
            "<int:event_id>/undo/",
            self.admin_site.admin_view(self.undo_view),
            name="moderation_auditevent_undo",
        )
        return [undo, *super().get_urls()]

    def undo_view(self, request: HttpRequest, event_id: int) -> HttpResponse:
        """GET asks for confirmation (and a reason); POST puts the override back."""
        if not is_moderator(request.user):
            raise PermissionDenied("Only moderators may undo an override.")
        event = get_object_or_404(AuditEvent, pk=event_id)
        form = UndoForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                verdict = verdict_override_undo(
                    event=event,
                    by=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                )
            except UndoRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(
                    reverse("admin:moderation_auditevent_change", args=[event.pk])
                )
            self.message_user(request, f"Override undone: {verdict}.", messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:moderation_verdict_change", args=[verdict.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Undo this override?",
            "event": event,
            "changes": audit_changes(event),
            "form": form,
            "opts": self.opts,
        }
        return render(request, "admin/moderation/audit_undo.html", context)
