"""Model versions: the baseline roll-up, trained heads, activation with rescoring, rollback."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from mlmodels.base import Classifier
from moderation.judging.audit import audit_record
from moderation.models import AuditEvent, Concept, ModelVersion

logger = logging.getLogger(__name__)


def model_version_baseline(*, backbone: Classifier) -> ModelVersion:
    """The backbone's own roll-up scores as a version (created on first use), with the
    thresholds calibrated for them."""
    version, _ = ModelVersion.objects.get_or_create(
        name=backbone.version,
        defaults={
            "kind": ModelVersion.Kind.ROLLUP,
            "backbone": backbone.version,
            "concepts": sorted(backbone.concepts),
            "thresholds": {key: float(t) for key, t in backbone.thresholds.items()},
            "training": {"source": "ImageNet classes rolled up into concepts; no training"},
        },
    )
    return version


def model_version_active(*, backbone: Classifier) -> ModelVersion:
    """The active version; on a fresh install the backbone's roll-up becomes active."""
    active = ModelVersion.objects.filter(is_active=True).first()
    if active is not None:
        return active
    with transaction.atomic():
        baseline = model_version_baseline(backbone=backbone)
        if not ModelVersion.objects.select_for_update().filter(is_active=True).exists():
            baseline.is_active = True
            baseline.activated_at = timezone.now()
            baseline.save(update_fields=["is_active", "activated_at"])
            before = concept_thresholds_set(baseline.thresholds)
            if before != baseline.thresholds:  # audited only where a threshold moved
                audit_record(
                    action=AuditEvent.Action.MODEL_ACTIVATE,
                    obj=baseline,
                    actor=None,
                    before={"version": None, "thresholds": before},
                    after={
                        "version": baseline.name,
                        "version_id": baseline.pk,
                        "thresholds": baseline.thresholds,
                    },
                    reason="first use: the backbone's roll-up, at the thresholds calibrated for it",
                )
        return ModelVersion.objects.get(is_active=True)


def concept_thresholds_set(thresholds: dict[str, float]) -> dict[str, float]:
    """The concepts' thresholds become an activated version's (those it names); returns what
    they were."""
    before = dict(Concept.objects.filter(key__in=thresholds).values_list("key", "threshold"))
    for key, threshold in thresholds.items():
        Concept.objects.filter(key=key).update(threshold=float(threshold))
    return before


def model_version_register(
    *,
    name: str,
    backbone: str,
    concepts: list[str],
    heads: bytes,
    thresholds: dict[str, float],
    metrics: dict[str, Any],
    training: dict[str, Any],
    predictions: bytes | None = None,
) -> ModelVersion:
    """Store trained heads as a new, inactive version."""
    return ModelVersion.objects.create(
        name=name,
        kind=ModelVersion.Kind.HEADS,
        backbone=backbone,
        concepts=sorted(concepts),
        heads=heads,
        thresholds=thresholds,
        metrics=metrics,
        training=training,
        predictions=predictions,
    )


class NotDiscardable(ValueError):
    pass


def model_version_discard(*, version: ModelVersion, by: User | None, reason: str = "") -> str:
    """Delete a trained version that was never active, and its report files; audited.
    A version that was ever active stays: rollback and stored scores point to it."""
    if version.kind != ModelVersion.Kind.HEADS:
        raise NotDiscardable(f"{version.name} is the backbone's roll-up, not a trained version.")
    if version.is_active or version.activated_at is not None:
        raise NotDiscardable(f"{version.name} has been active: it is kept for rollback.")
    name = version.name
    report_dir = Path(str(version.training.get("report_dir", "")))
    reports = (Path(settings.VAR_DIR) / "reports").resolve()
    with transaction.atomic():
        audit_record(
            action=AuditEvent.Action.MODEL_DISCARD,
            obj=version,
            actor=by,
            before={
                "version": name,
                "version_id": version.pk,
                "macro_f1": (version.metrics or {}).get("macro_f1"),
                "report_dir": str(report_dir) if report_dir.parts else None,
            },
            after=None,
            reason=reason,
        )
        version.delete()
        # Only a folder of our own reports is removed, whatever the stored path says.
        if report_dir.parts and report_dir.resolve().parent == reports:
            transaction.on_commit(lambda: shutil.rmtree(report_dir, ignore_errors=True))
    return name
