"""django-q2 tasks: take primary keys, call one service."""

from __future__ import annotations

import logging
from typing import Any

from moderation import services
from posts.models import Post

logger = logging.getLogger(__name__)


def classify_post(post_id: int) -> str:
    try:
        post = services.classification_run(post_id=post_id)
    except Exception as exc:
        # Never lose an accepted upload: it shows as failed, with the reason, until a retry
        # (django-q2's own, or "Classify again" in the admin) succeeds.
        Post.objects.filter(pk=post_id).exclude(status=Post.Status.CLASSIFIED).update(
            status=Post.Status.FAILED,
            failure_reason=f"Classification error ({type(exc).__name__}): {exc}"[:500],
        )
        logger.exception("Classifying post %s failed.", post_id)
        raise
    return "gone" if post is None else post.status


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
