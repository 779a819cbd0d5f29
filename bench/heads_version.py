"""The heads a bench measures as the active model version (bench/ingest.py, bench/pipeline.py);
imported after django.setup()."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from mlmodels.concepts.heads import ConceptHeads
from moderation.ingest.model_versions import model_version_register
from moderation.models import ModelVersion


def heads_activated(heads: ConceptHeads, name: str, training: dict[str, Any]) -> ModelVersion:
    """Register these heads under ``name`` (once) and make them the active version, with no
    rescoring task: a bench's database has nothing to rescore."""
    version = ModelVersion.objects.filter(name=name).first() or model_version_register(
        name=name,
        backbone=heads.backbone,
        concepts=list(heads.concepts),
        heads=heads.to_bytes(),
        thresholds=heads.thresholds,
        metrics={},
        training=training,
    )
    ModelVersion.objects.exclude(pk=version.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=timezone.now())
    return version
