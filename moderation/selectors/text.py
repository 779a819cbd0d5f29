"""What a post says in words: caption, comments, text read in its image."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet

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
    # Beside ``comments``, who wrote each (None once the account is gone): the "why" names them.
    comment_authors: list[str | None] = field(default_factory=list)


# A deferred text counts the words known before reading (a menu's word).
COUNTED = (TextExtraction.Status.OK, TextExtraction.Status.DEFERRED)


def post_texts(*, post_ids: list[int]) -> dict[int, PostText]:
    """Two queries for any number of posts."""
    comments = Comment.objects.select_related("author").only("post_id", "text", "author__username")
    rows = (
        Post.objects.filter(pk__in=post_ids)
        .select_related("text_extraction")
        .prefetch_related(Prefetch("comments", queryset=comments))
        .only("pk", "caption", "text_extraction__status", "text_extraction__words")
    )
    texts: dict[int, PostText] = {}
    for post in rows:
        extraction = getattr(post, "text_extraction", None)
        read = extraction is not None and extraction.status in COUNTED
        written = list(post.comments.all())
        texts[post.pk] = PostText(
            caption=post.caption,
            comments=[c.text for c in written],
            image_words=list(extraction.words) if read and extraction else [],
            comment_authors=[c.author.username if c.author else None for c in written],
        )
    return texts


def text_extraction_for(*, post: Post) -> TextExtraction | None:
    return TextExtraction.objects.filter(post=post).first()


def post_comments(*, post: Post) -> QuerySet[Comment]:
    """A post's comments, oldest first, with their authors."""
    rows = Comment.objects.filter(post=post).select_related("author")
    return rows.prefetch_related("mentions__user").order_by("created_at", "pk")
