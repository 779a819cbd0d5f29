"""Writes for moderation. Callers import from here: `from moderation import services`."""

from __future__ import annotations

from moderation.services.audit import (
    UndoRefused,
    audit_record,
    verdict_override_undo,
)
from moderation.services.catalog import (
    concept_delete,
    concept_save,
    keyword_mapping_delete,
    keyword_mapping_save,
    rule_delete,
    rule_save,
)
from moderation.services.classification import (
    BackboneMismatch,
    BatchResult,
    classification_queue,
    classification_retry,
    classification_run,
    classification_run_batch,
    classification_run_task,
    classification_sweep,
    classifications_compute,
    embedding_store,
    embeddings_store,
)
from moderation.services.counts import hashtag_counts_refresh, hashtag_counts_refresh_on_commit
from moderation.services.model_versions import (
    model_version_activate,
    model_version_active,
    model_version_baseline,
    model_version_register,
    model_version_rescore,
    model_version_rollback,
)
from moderation.services.reevaluate import (
    Reevaluation,
    verdicts_reevaluate,
    verdicts_reevaluate_all,
    verdicts_reevaluate_queue,
)
from moderation.services.verdicts import (
    verdict_override,
    verdicts_create_pending,
    verdicts_evaluate,
    verdicts_explain,
    verdicts_override_bulk,
)

__all__ = [
    "BackboneMismatch",
    "BatchResult",
    "Reevaluation",
    "UndoRefused",
    "audit_record",
    "classification_queue",
    "classification_retry",
    "classification_run",
    "classification_run_batch",
    "classification_run_task",
    "classification_sweep",
    "classifications_compute",
    "concept_delete",
    "concept_save",
    "embedding_store",
    "embeddings_store",
    "hashtag_counts_refresh",
    "hashtag_counts_refresh_on_commit",
    "keyword_mapping_delete",
    "keyword_mapping_save",
    "model_version_activate",
    "model_version_active",
    "model_version_baseline",
    "model_version_register",
    "model_version_rescore",
    "model_version_rollback",
    "rule_delete",
    "rule_save",
    "verdict_override",
    "verdict_override_undo",
    "verdicts_create_pending",
    "verdicts_evaluate",
    "verdicts_explain",
    "verdicts_override_bulk",
    "verdicts_reevaluate",
    "verdicts_reevaluate_all",
    "verdicts_reevaluate_queue",
]
