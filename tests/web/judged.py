"""Posts uploaded through the service and judged with chosen scores (the fake classifier),
for the review queue, preview and hashtags-without-a-rule tests."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from mlmodels.fake import FakeClassifier
from moderation.models import Verdict
from posts.models import Post
from posts.services import post_create
from tests.factories import UserFactory, jpeg_bytes

NOTHING = {
    "food": 0.0,
    "beverage": 0.0,
    "animal": 0.0,
    "dog": 0.0,
    "cat": 0.0,
    "flower": 0.0,
    "mountain": 0.0,
    "sea": 0.0,
    "gym": 0.0,
}


def judged_post(capture: Callable[..., Any], tags: list[str], **scores: float) -> Post:
    """Upload a photo with these hashtags; it is classified with these scores (others 0)."""
    FakeClassifier.next_scores = {**NOTHING, **scores}
    with capture(execute=True):
        post = post_create(
            author=UserFactory(),
            image=_photo(),
            hashtags=tags,
        )
    post.refresh_from_db()
    assert post.status == Post.Status.CLASSIFIED
    return post


def _photo() -> io.BytesIO:
    return io.BytesIO(jpeg_bytes())


def verdict(post: Post, tag: str) -> Verdict:
    return post.verdicts.select_related("hashtag").get(hashtag__name=tag)


def shown_state() -> Mapping[int, tuple[bool, str]]:
    """Every verdict's (shown, decision), to compare before and after."""
    return {v.pk: (v.shown, v.decision) for v in Verdict.objects.all()}
