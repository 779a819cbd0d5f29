"""What a post says in words: caption, comments, text read in its image."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from moderation.models import (
    TextExtraction,
)
from posts.models import Comment, Post


@dataclass(frozen=True)
class PostText:
    """What people and the image say about a post: caption, comments, words read in it."""

    caption: str
    comments: list[str]
    image_words: list[str]


def post_texts(*, post_ids: list[int]) -> dict[int, PostText]:
    """Two queries for any number of posts."""
    rows = (
        Post.objects.filter(pk__in=post_ids)
        .select_related("text_extraction")
        .prefetch_related(Prefetch("comments", queryset=Comment.objects.only("post_id", "text")))
        .only("pk", "caption", "text_extraction__status", "text_extraction__words")
    )
    texts: dict[int, PostText] = {}
    for post in rows:
        extraction = getattr(post, "text_extraction", None)
        read = extraction is not None and extraction.status == TextExtraction.Status.OK
        texts[post.pk] = PostText(
            caption=post.caption,
            comments=[c.text for c in post.comments.all()],
            image_words=list(extraction.words) if read and extraction else [],
        )
    return texts


def text_extraction_for(*, post: Post) -> TextExtraction | None:
    return TextExtraction.objects.filter(post=post).first()
