"""Model versions: the baseline roll-up, trained heads, activation with rescoring, rollback."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from mlmodels.base import Classifier
from moderation.models import ModelVersion

logger = logging.getLogger(__name__)


def model_version_baseline(*, backbone: Classifier) -> ModelVersion:
    """The backbone's own roll-up scores as a version (created on first use)."""
    version, _ = ModelVersion.objects.get_or_create(
        name=backbone.version,
        defaults={
            "kind": ModelVersion.Kind.ROLLUP,
            "backbone": backbone.version,
            "concepts": sorted(backbone.concepts),
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
        return ModelVersion.objects.get(is_active=True)


def model_version_register(
    *,
    name: str,
    backbone: str,
    concepts: list[str],
    heads: bytes,
    thresholds: dict[str, float],
    metrics: dict[str, Any],
    training: dict[str, Any],
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
    )
