"""django-q2 tasks: take primary keys, call one service."""

from __future__ import annotations

from moderation import services


def classify_post(post_id: int) -> str:
    post = services.classification_run(post_id=post_id)
    return "gone" if post is None else post.status


def reevaluate_all_verdicts() -> int:
    return services.verdicts_reevaluate_all()


def rescore_model_version(version_id: int) -> int:
    return services.model_version_rescore(version_id=version_id)
