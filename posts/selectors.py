"""Reads for posts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from posts.hashtags import InvalidHashtag, normalize_hashtag
from posts.models import Hashtag


@dataclass(frozen=True)
class StoredHashtagProblem:
    hashtag: Hashtag
    problem: str
    posts: int


def hashtags_refused_now() -> list[StoredHashtagProblem]:
    """Stored hashtags that today's ``normalize_hashtag`` would refuse (stored before a rule
    was added), with how many posts carry each. Reading only: nothing is changed."""
    found = []
    tags = Hashtag.objects.annotate(post_total=Count("post_hashtags")).order_by("name")
    for tag in tags.iterator(chunk_size=2000):
        try:
            normalize_hashtag(tag.name)
        except InvalidHashtag as exc:
            found.append(StoredHashtagProblem(tag, str(exc), tag.post_total))
    return found
