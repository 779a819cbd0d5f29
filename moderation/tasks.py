"""django-q2 tasks: take primary keys, call one service."""

from __future__ import annotations

from typing import Any

from moderation.ingest.activation import rescore_claimed, rescore_sweep
from moderation.ingest.completion import (
    signals_complete,
    signals_complete_sweep,
    verdicts_reevaluate_completing,
)
from moderation.ingest.queue import classification_sweep
from moderation.ingest.runs import classification_run_task
from moderation.ingest.training_runs import training_run_execute
from moderation.judging.reevaluate import verdicts_reevaluate_all


def classify_post(post_id: int | None, count: int = 1, others: list[int] | None = None) -> str:
    # A failed batch raises after it is recorded on the post, so django-q2 retries the task.
    results = classification_run_task(post_id=post_id, count=count, others=others or ())
    return "; ".join(result.summary() for result in results)


def complete_signals(post_ids: list[int]) -> str:
    # Signal sources skipped on upload (lazy people) that the posts' rules now need.
    return signals_complete(post_ids=post_ids).summary()


def classify_sweep() -> str:
    # Posts left pending by lost tasks, and classified posts still owed their signals.
    tasks, owed = classification_sweep(), signals_complete_sweep()
    again = "; a model version's rescoring queued again" if rescore_sweep() else ""
    return f"{tasks} classification tasks queued, {owed} posts queued to complete{again}"


def reevaluate_all_verdicts() -> int:
    return verdicts_reevaluate_all()


def reevaluate_verdicts(scope: dict[str, Any]) -> int:
    """``scope``: rules (ids or None for all), hashtags (names), word_keys, word_concepts."""
    return verdicts_reevaluate_completing(scope)


def rescore_model_version(version_id: int) -> int:
    return rescore_claimed(version_id=version_id)


def train_model_version(run_id: int) -> str:
    return training_run_execute(run_id=run_id)
