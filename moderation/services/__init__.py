"""Writes for moderation. Callers import from here: `from moderation import services`."""

from __future__ import annotations

from moderation.services.classification import (
    BackboneMismatch,
    classification_queue,
    classification_retry,
    classification_run,
    classifications_compute,
    embedding_store,
)
from moderation.services.model_versions import (
    model_version_activate,
    model_version_active,
    model_version_baseline,
    model_version_register,
    model_version_rescore,
    model_version_rollback,
)
from moderation.services.verdicts import (
    verdict_override,
    verdicts_create_pending,
    verdicts_evaluate,
    verdicts_override_bulk,
    verdicts_reevaluate_all,
    verdicts_reevaluate_queue,
)

__all__ = [
    "BackboneMismatch",
    "classification_queue",
    "classification_retry",
    "classification_run",
    "classifications_compute",
    "embedding_store",
    "model_version_activate",
    "model_version_active",
    "model_version_baseline",
    "model_version_register",
    "model_version_rescore",
    "model_version_rollback",
    "verdict_override",
    "verdicts_create_pending",
    "verdicts_evaluate",
    "verdicts_override_bulk",
    "verdicts_reevaluate_all",
    "verdicts_reevaluate_queue",
]
