"""django-q2 tasks: take primary keys, call one service."""

from __future__ import annotations

from typing import Any

from moderation.ingest.activation import model_version_rescore
from moderation.ingest.batches import classification_run_task
from moderation.ingest.queue import classification_sweep
from moderation.ingest.training_runs import training_run_execute
from moderation.judging.reevaluate import verdicts_reevaluate, verdicts_reevaluate_all


def classify_post(post_id: int | None, count: int = 1) -> str:
    # A failed batch raises after it is recorded on the post, so django-q2 retries the task.
    results = classification_run_task(post_id=post_id, count=count)
    return "; ".join(result.summary() for result in results)


def classify_sweep() -> int:
    return classification_sweep()


def reevaluate_all_verdicts() -> int:
    return verdicts_reevaluate_all()


def reevaluate_verdicts(scope: dict[str, Any]) -> int:
    """``scope``: rules (ids or None for all), hashtags (names), word_keys."""
    return verdicts_reevaluate(
        rules=scope.get("rules"),
        hashtags=scope.get("hashtags", ()),
        word_keys=scope.get("word_keys", ()),
        word_concepts=scope.get("word_concepts"),  # None (tasks queued before): every rule
    ).total


def rescore_model_version(version_id: int) -> int:
    return model_version_rescore(version_id=version_id)


def train_model_version(run_id: int) -> str:
    return training_run_execute(run_id=run_id)
