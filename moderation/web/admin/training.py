"""Training a new version from the model-version list: queue, progress, comparison, then
activate or discard. Each view calls one ingest function."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from mlmodels.training.metrics import Metrics
from moderation.ingest.activation import model_version_activate
from moderation.ingest.comparison import Comparison, Side, version_comparison
from moderation.ingest.model_versions import NotDiscardable, model_version_discard
from moderation.ingest.training_runs import (
    UNCHANGED,
    TrainingBusy,
    training_request,
    training_run_current,
)
from moderation.models import ModelVersion, TrainingRun
from moderation.web.admin.shared import action_reason
from moderation.web.permissions import is_moderator

CHANGELIST = "admin:moderation_modelversion_changelist"
CHANGE = "admin:moderation_modelversion_change"


def run_state(run: TrainingRun) -> dict[str, Any]:
    version = run.model_version
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "in_progress": run.in_progress,
        "stage": run.stage,
        "unchanged": run.stage == UNCHANGED,
        "percent": run.percent,
        "error": run.error,
        "version": version.name if version else None,
        "version_url": reverse(CHANGE, args=[version.pk]) if version else None,
        "version_active": bool(version and version.is_active),
    }


def training_context(request: HttpRequest) -> dict[str, Any]:
    """The training panel above the model-version list."""
    run = training_run_current()
    return {
        "training_run": run,
        "training_state": run_state(run) if run else None,
        "training_allowed": is_moderator(request.user),
    }


@require_POST
def training_start(request: HttpRequest) -> HttpResponse:
    try:
        training_request(by=request.user)  # type: ignore[arg-type]
    except TrainingBusy as exc:
        busy = exc.run
        detail = f" (started {busy.created_at:%Y-%m-%d %H:%M}, {busy.stage})" if busy else ""
        messages.error(request, f"{exc}{detail}")
    else:
        messages.success(
            request,
            "Training queued: it runs in the background for a few minutes; "
            "its progress shows below.",
        )
    return redirect(CHANGELIST)


@require_GET
def training_status(request: HttpRequest, run_id: int) -> JsonResponse:
    training_run_current()  # marks a dead run failed, so a poll ends
    return JsonResponse(run_state(get_object_or_404(TrainingRun, pk=run_id)))


@require_POST
def version_activate(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=version_id)
    if version.is_active:
        messages.warning(request, f"{version.name} is already active.")
    elif request.POST.get("confirm") != "on":
        messages.error(request, "Tick the box to confirm: activating rescores every post.")
    else:
        model_version_activate(
            version=version,
            by=request.user,  # type: ignore[arg-type]
            reason=action_reason(request),
        )
        messages.success(request, f"{version.name} is active; rescoring in the background.")
    return redirect(CHANGE, version.pk)


@require_POST
def version_discard(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=version_id)
    if request.POST.get("confirm") != "on":
        messages.error(request, "Tick the box to confirm: discarding deletes the version.")
        return redirect(CHANGE, version.pk)
    try:
        name = model_version_discard(
            version=version,
            by=request.user,  # type: ignore[arg-type]
            reason=action_reason(request),
        )
    except NotDiscardable as exc:
        messages.error(request, str(exc))
        return redirect(CHANGE, version.pk)
    messages.success(request, f"{name} and its report files are deleted.")
    return redirect(CHANGELIST)


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _change(new: float | None, old: float | None) -> dict[str, str]:
    if new is None or old is None:
        return {"text": "", "tone": ""}
    delta = round(new - old, 4)
    tone = "better" if delta > 0 else "worse" if delta < 0 else ""
    return {"text": f"{delta:+.3f}".replace("-", "−"), "tone": tone}


def _triple(new: float | None, old: float | None) -> list[dict[str, str]]:
    return [
        {"text": _cell(new), "tone": ""},
        {"text": _cell(old), "tone": ""},
        _change(new, old),
    ]


def _metric(row: dict[str, Any] | None, key: str) -> float | None:
    if not row or (not row.get("support") and key != "precision"):
        return None
    if key == "precision" and row.get("tp", 0) + row.get("fp", 0) == 0:
        return None  # nothing tagged: no precision to speak of
    return float(row[key])


def _rule_metric(figures: Metrics | None, key: str) -> float | None:
    if figures is None:
        return None
    raw = {"precision": figures.precision, "recall": figures.recall, "f1": figures.f1}
    return _metric({**raw, "support": figures.support, "tp": figures.tp, "fp": figures.fp}, key)


def _side_rule(side: Side | None, hashtag: str) -> Metrics | None:
    return side.rules.get(hashtag) if side and side.rules is not None else None


def comparison_context(version: ModelVersion) -> dict[str, Any]:
    """Rows of formatted cells for the comparison tables on a version's page."""
    found: Comparison = version_comparison(candidate=version)
    new, old = found.candidate, found.active
    concept_rows = []
    for key in found.concepts:
        a = new.concepts.get(key)
        b = old.concepts.get(key) if old else None
        cells = []
        for metric in ("precision", "recall", "f1"):
            cells += _triple(_metric(a, metric), _metric(b, metric))
        concept_rows.append({"key": key, "support": a["support"] if a else "—", "cells": cells})
    rule_rows = []
    for row in found.rules:
        a_rule, b_rule = _side_rule(new, row.hashtag), _side_rule(old, row.hashtag)
        cells = []
        for metric in ("precision", "recall"):
            cells += _triple(_rule_metric(a_rule, metric), _rule_metric(b_rule, metric))
        rule_rows.append(
            {
                "row": row,
                "relevant": a_rule.support if a_rule else "—",
                "shown": a_rule.tp + a_rule.fp if a_rule else "—",
                "cells": cells,
            }
        )
    return {
        "comparison": found,
        "concept_rows": concept_rows,
        "rule_rows": rule_rows,
        "can_decide": is_candidate(version),
        "can_discard": is_candidate(version) and version.activated_at is None,
    }


def is_candidate(version: ModelVersion) -> bool:
    return version.kind == ModelVersion.Kind.HEADS and not version.is_active
