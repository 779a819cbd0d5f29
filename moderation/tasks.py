"""django-q2 tasks: take primary keys, call one service."""

from __future__ import annotations

from typing import Any

from moderation import services


def classify_post(post_id: int) -> str:
    # The post and up to TAGLENS_CLASSIFY_BATCH - 1 other pending ones, one network run. A
    # failure of the whole batch is raised after the service recorded it on the post, so
    # django-q2 retries the task (ORM broker) and the admin shows it.
    return services.classification_run_batch(post_id=post_id).summary()


def classify_sweep() -> int:
    return services.classification_sweep()


def reevaluate_all_verdicts() -> int:
    return services.verdicts_reevaluate_all()


def reevaluate_verdicts(scope: dict[str, Any]) -> int:
    """``scope``: rules (ids or None for all), hashtags (names), word_keys."""
    return services.verdicts_reevaluate(
        rules=scope.get("rules"),
        hashtags=scope.get("hashtags", ()),
        word_keys=scope.get("word_keys", ()),
        words_later=True,
    ).total


def explain_verdicts(post_ids: list[int]) -> int:
    return services.verdicts_explain(post_ids=post_ids)


def rescore_model_version(version_id: int) -> int:
    return services.model_version_rescore(version_id=version_id)
