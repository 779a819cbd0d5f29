"""Model versions and their scores in the admin: reports, training, activation, rollback."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join

from mlmodels.concepts.heads import DIRECT_SIGNALS, SOURCE_HEAD, SOURCE_MAX, SOURCE_MEAN
from moderation.ingest.activation import (
    model_version_activate,
    model_version_previous,
    model_version_rollback,
)
from moderation.models import (
    Classification,
    ModelVersion,
)
from moderation.web.admin import training
from moderation.web.admin.report_errors import errors_html
from moderation.web.admin.review import moderator_view
from moderation.web.admin.shared import (
    ReasonActionForm,
    action_reason,
)
from moderation.web.permissions import is_moderator


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin[Classification]):
    list_display = ["post", "model_version", "created_at"]
    list_filter = ["model_version"]
    list_select_related = ["model_version"]
    readonly_fields = ["post", "model_version", "embedding", "scores", "unsupported", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


_CHECK_OUTCOME = {True: " (target met)", False: " (target MISSED)", None: ""}


def _plain(value: object) -> str:
    """A stored training detail in words: lists joined, mappings as "key value"."""
    if isinstance(value, dict):
        return " · ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _adult_vs_child(figures: dict[str, float]) -> str:
    # A fixed order: PostgreSQL's jsonb keeps keys sorted by length, not as written.
    shown = [f"n {figures['n']:.0f}"] if "n" in figures else []
    shown += [f"{k} {figures[k]:.3f}" for k in ("accuracy", "f1") if k in figures]
    return ", ".join(shown)


def _source_label(concept: str, source: str) -> str:
    if source == SOURCE_HEAD:
        return "trained head"
    direct = "people model" if concept in DIRECT_SIGNALS else "ImageNet roll-up"
    if source == SOURCE_MEAN:
        return f"mean of trained head and {direct}"
    return f"higher of trained head and {direct}" if source == SOURCE_MAX else direct


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    """Versions with their evaluation; "Train a new version" queues a training whose progress
    shows above the list; a trained version's page compares it with the active one.
    Activating one rescores every post from stored embeddings in the background (progress
    shown here). Both "Activate" and "Roll back" show a confirmation page first."""

    change_list_template = "admin/moderation/modelversion/change_list.html"
    change_form_template = "admin/moderation/modelversion/change_form.html"

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
        "thresholds_shown",
        "report",
        "training_shown",
    ]
    exclude = [
        "heads",
        "predictions",
        "metrics",
        "rescore_status",
        "rescore_done",
        "rescore_total",
        "thresholds",
        "training",
    ]
    actions = ["activate", "rollback"]
    action_form = ReasonActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training (the button above the list, or the CLI)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("train/", moderator_view(training.training_start), name="moderation_train"),
            path(
                "train/<int:run_id>/status/",
                moderator_view(training.training_status),
                name="moderation_train_status",
            ),
            path(
                "<int:version_id>/activate/",
                moderator_view(training.version_activate),
                name="moderation_modelversion_activate",
            ),
            path(
                "<int:version_id>/discard/",
                moderator_view(training.version_discard),
                name="moderation_modelversion_discard",
            ),
        ]
        return own + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), **training.training_context(request)}
        return super().changelist_view(request, context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        version = self.get_object(request, object_id)
        # Nothing on a version is edited here: activating and discarding have their own forms.
        context = {"show_save": False, "show_save_and_continue": False, **(extra_context or {})}
        if version is not None and version.kind == ModelVersion.Kind.HEADS:
            context.update(training.comparison_context(version))
            context["decide_allowed"] = is_moderator(request.user)
        return super().change_view(request, object_id, form_url, context)

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

    @admin.display(description="thresholds")
    def thresholds_shown(self, version: ModelVersion) -> str:
        shown = version.thresholds or {}
        return " · ".join(f"{c} {t:.3f}" for c, t in shown.items()) or "—"

    @admin.display(description="training")
    def training_shown(self, version: ModelVersion) -> str:
        lines = ((key, _plain(value)) for key, value in (version.training or {}).items())
        return format_html_join("", "<div><strong>{}</strong>: {}</div>", lines) or "—"

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
        searches = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    hashtag,
                    row["expression"],
                    f"{row['precision']:.3f}",
                    f"{row['recall']:.3f}",
                    row["support"],
                    "met" if row["passed"] else "MISSED",
                )
                for hashtag, row in metrics.get("hashtags", {}).items()
            ),
        )
        checks = format_html_join(
            "",
            "<li>{}: {} of {}{}</li>",
            (
                (c["name"], c["hits"], c["n"], _CHECK_OUTCOME[c.get("passed")])
                for c in metrics.get("checks", [])
            ),
        )
        missed = format_html_join(
            "", "<li>{}</li>", ((line,) for line in metrics.get("targets_missed", []))
        )
        return format_html(
            "<p>{}</p>"
            "<table><tr><th>concept</th><th>precision</th><th>recall</th><th>F1</th>"
            "<th>support</th><th>source</th><th>target</th></tr>{}</table>"
            "<p>macro F1 {} · adult vs child {}</p>"
            "<table><tr><th>hashtag</th><th>rule</th><th>search precision</th><th>recall</th>"
            "<th>relevant photos</th><th>target</th></tr>{}</table>{}<ul>{}</ul>"
            "<p>Targets missed:</p><ul>{}</ul>",
            metrics.get("method", {}).get("cv", ""),
            table,
            metrics.get("macro_f1", "—"),
            _adult_vs_child(metrics.get("adult_vs_child", {})),
            searches,
            errors_html(metrics.get("errors", [])),
            checks,
            missed or format_html("<li>none: every target met</li>"),
        )

    def _confirmation(
        self,
        request: HttpRequest,
        *,
        action: str,
        title: str,
        version: ModelVersion,
        active: ModelVersion | None,
        selected: ModelVersion,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "action": action,
            "version": version,
            "active": active,
            "selected": selected,
            "reason": action_reason(request),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        template = "admin/moderation/modelversion/activate_confirmation.html"
        return TemplateResponse(request, template, context)

    @admin.action(
        description="Activate (rescore every post from stored embeddings)", permissions=["activate"]
    )
    def activate(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion]
    ) -> TemplateResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, "Choose one version: only one is active at a time.", messages.ERROR
            )
            return None
        version = queryset.get()
        if version.is_active:
            self.message_user(request, f"{version.name} is already active.", messages.WARNING)
            return None
        if request.POST.get("confirm") != "yes":  # asks first, as delete_selected does
            return self._confirmation(
                request,
                action="activate",
                title=f"Activate {version.name}?",
                version=version,
                active=ModelVersion.objects.filter(is_active=True).first(),
                selected=version,
            )
        version = model_version_activate(
            version=version,
            by=request.user,  # type: ignore[arg-type]
            reason=action_reason(request),
        )
        self.message_user(request, f"{version.name} is active; rescoring in the background.")
        return None

    @admin.action(
        description=(
            "Roll back the selected active version to the one active before it "
            "(rescore every post from stored embeddings)"
        ),
        permissions=["activate"],
    )
    def rollback(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion]
    ) -> TemplateResponse | None:
        active = ModelVersion.objects.filter(is_active=True).first()
        if active is None or list(queryset.values_list("pk", flat=True)) != [active.pk]:
            named = f"the active version, {active.name}," if active else "the active version"
            self.message_user(request, f"Select {named} to roll it back.", messages.ERROR)
            return None
        previous = model_version_previous(current=active)
        if previous is None:
            self.message_user(
                request,
                "There is no earlier version to roll back to: "
                f"{active.name} is the only version that has been active.",
                messages.WARNING,
            )
            return None
        confirmed = request.POST.get("confirm") == "yes"
        if confirmed and request.POST.get("target") != str(previous.pk):
            self.message_user(
                request,
                f"The versions changed since you were asked: rolling back {active.name} now "
                f"makes {previous.name} active. Nothing was changed; confirm again.",
                messages.WARNING,
            )
            confirmed = False
        if not confirmed:
            return self._confirmation(
                request,
                action="rollback",
                title=f"Roll back {active.name} to {previous.name}?",
                version=previous,
                active=active,
                selected=active,
            )
        restored = model_version_rollback(
            by=request.user,  # type: ignore[arg-type]
            reason=action_reason(request),
            to=previous,
        )
        if restored is None:  # another activation landed between this check and the service's
            self.message_user(
                request,
                "The versions changed while rolling back: nothing was changed.",
                messages.WARNING,
            )
            return None
        self.message_user(request, f"Rolled back to {restored.name}; rescoring in the background.")
        return None
