"""Reads behind the search, home and post pages and the search API. Querysets carry their joins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value

from moderation.models import (
    Classification,
    HashtagStats,
    Verdict,
)
from moderation.selectors.cursor import SearchCursor
from moderation.selectors.review import review_waiting
from posts.hashtags import InvalidHashtag, normalize_hashtag
from posts.models import Hashtag, Post


def hashtag_lookup(raw: str) -> Hashtag | None:
    try:
        name = normalize_hashtag(raw, searched=True)
    except InvalidHashtag:
        return None
    return Hashtag.objects.select_related("stats").filter(name=name).first()


@dataclass(frozen=True)
class SearchPage:
    """One page of a tag's shown or hidden posts, newest first, and where its neighbours start."""

    posts: list[Post]
    next: SearchCursor | None  # older posts; None on the last page
    previous: SearchCursor | None  # newer posts; None on the first page
    is_first: bool  # the newest posts (reached without a cursor, or back at the top)


def posts_relevant_for_hashtag(
    *,
    hashtag: Hashtag,
    cursor: SearchCursor | None = None,
    size: int | None = None,
    hidden: bool = False,
) -> SearchPage:
    """A page of the posts shown under the hashtag (``hidden``: those TagLens itself hid),
    newest first (search page and API). Two queries at any depth: a keyset walk of the
    `verdict_search` index, then the posts."""
    size = size or settings.TAGLENS_PAGE_SIZE
    # `= true`, not Django's bare `WHERE shown`: SQLite uses an index column only when it is
    # compared, and without it sorts all the tag's verdicts for every page.
    listed = Verdict.objects.filter(hashtag=hashtag, shown=Value(not hidden))
    if hidden:  # a moderator's hide stays out of sight, and a pending post is not judged yet
        listed = listed.filter(override__isnull=True).exclude(decision=Verdict.Decision.PENDING)
    if cursor is not None and not cursor.older:
        newer = listed.filter(post_created_at__gte=cursor.created_at).filter(
            Q(post_created_at__gt=cursor.created_at) | Q(post_id__gt=cursor.post_id)
        )
        keys = _page_keys(newer.order_by("post_created_at", "post_id"), size + 1)
        if len(keys) > size:
            keys = keys[:size][::-1]
            return SearchPage(
                posts=_posts_in_order(keys),
                next=SearchCursor(*keys[-1], older=True),
                previous=SearchCursor(*keys[0], older=False),
                is_first=False,
            )
        cursor = None  # back at the top: the first page itself, so pages line up again
    older = listed.order_by("-post_created_at", "-post_id")
    if cursor is not None:
        # `<=` bounds the index range; the OR only drops rows of the same instant.
        older = older.filter(post_created_at__lte=cursor.created_at).filter(
            Q(post_created_at__lt=cursor.created_at) | Q(post_id__lt=cursor.post_id)
        )
    keys = _page_keys(older, size + 1)
    page = keys[:size]
    return SearchPage(
        posts=_posts_in_order(page),
        next=SearchCursor(*page[-1], older=True) if len(keys) > size else None,
        previous=SearchCursor(*page[0], older=False) if cursor is not None and page else None,
        is_first=cursor is None,
    )


def _page_keys(verdicts: QuerySet[Verdict], limit: int) -> list[tuple[dt.datetime, int]]:
    return list(verdicts.values_list("post_created_at", "post_id")[:limit])


def _posts_in_order(keys: list[tuple[dt.datetime, int]]) -> list[Post]:
    found = Post.objects.select_related("author").order_by().in_bulk([pk for _, pk in keys])
    # A post deleted between the two queries is simply left out.
    return [found[post_id] for _, post_id in keys if post_id in found]


@dataclass(frozen=True)
class HashtagSummary:
    shown: int
    hidden: int
    pending: int


def hashtag_summary(*, hashtag: Hashtag) -> HashtagSummary:
    """The maintained counts (HashtagStats): one row, however many posts the tag has."""
    try:
        stats = hashtag.stats
    except HashtagStats.DoesNotExist:
        return HashtagSummary(shown=0, hidden=0, pending=0)
    return HashtagSummary(shown=stats.shown, hidden=stats.hidden, pending=stats.pending)


def hashtag_counts_aggregate(*, hashtag_ids: list[int] | None = None) -> dict[int, HashtagSummary]:
    """The same counts computed from the verdicts (what hashtag_counts_refresh stores)."""
    verdicts = Verdict.objects.all()
    if hashtag_ids is not None:
        verdicts = verdicts.filter(hashtag_id__in=hashtag_ids)
    rows = (
        verdicts.order_by()
        .values("hashtag_id")
        .annotate(
            n_total=Count("hashtag"),
            n_shown=Count("hashtag", filter=Q(shown=True)),
            n_pending=Count("hashtag", filter=Q(shown=False, decision=Verdict.Decision.PENDING)),
        )
    )
    return {
        row["hashtag_id"]: HashtagSummary(
            shown=row["n_shown"],
            pending=row["n_pending"],
            hidden=row["n_total"] - row["n_shown"] - row["n_pending"],
        )
        for row in rows
    }


def post_with_verdicts(*, post_id: int) -> Post | None:
    return (
        Post.objects.select_related("author")
        .prefetch_related(
            Prefetch(
                "verdicts",
                queryset=Verdict.objects.select_related(
                    "hashtag", "rule", "override_by", "classification"
                ).order_by("hashtag__name"),
            ),
            classifications_active_first(),
        )
        .filter(pk=post_id)
        .first()
    )


def classifications_active_first() -> Prefetch[str]:
    """A post's classifications, the active version's first, then the newest: what it shows."""
    return Prefetch(
        "classifications",
        queryset=Classification.objects.select_related("model_version", "embedding").order_by(
            "-model_version__is_active", "-created_at", "-id"
        ),
    )


def classification_shown(post: Post) -> Classification | None:
    """The classification a post's page shows, from ``classifications_active_first``."""
    return next(iter(post.classifications.all()), None)


def hashtags_popular(
    *, prefix: str = "", names: Collection[str] | None = None, limit: int = 20
) -> QuerySet[Hashtag]:
    """Most shown posts first, from the maintained counts (index hashtagstats_popular); with a
    normalised `prefix`, only the hashtags that start with it (what someone typing may mean);
    with `names`, only those among them."""
    rows = Hashtag.objects.filter(stats__shown__gt=0)
    if prefix:
        rows = rows.filter(name__startswith=prefix)
    if names is not None:
        rows = rows.filter(name__in=names)
    return rows.annotate(shown_count=F("stats__shown")).order_by("-stats__shown", "name")[:limit]


def posts_recent_shown(*, size: int, cursor: SearchCursor | None = None) -> SearchPage:
    """A page of the newest posts shown under at least one hashtag, older ones from `cursor`
    on (its direction is ignored: pages go one way); walks newest posts, not verdicts."""
    shown = Verdict.objects.filter(post=OuterRef("pk"), shown=True)
    posts = Post.objects.filter(Exists(shown)).select_related("author")
    if cursor is not None:
        posts = posts.filter(created_at__lte=cursor.created_at).filter(
            Q(created_at__lt=cursor.created_at) | Q(id__lt=cursor.post_id)
        )
    found = list(posts.order_by("-created_at", "-id")[: size + 1])
    page = found[:size]
    last = SearchCursor(page[-1].created_at, page[-1].pk) if len(found) > size else None
    return SearchPage(posts=page, next=last, previous=None, is_first=cursor is None)


def posts_by_author(*, author_id: int) -> QuerySet[Post]:
    """One author's posts, newest first, whatever their verdicts, with how many are shown and
    how many reviews the author asked for are waiting for a moderator."""
    waiting = review_waiting("verdicts__")
    return (
        Post.objects.filter(author_id=author_id)
        .annotate(
            shown_count=Count("verdicts", filter=Q(verdicts__shown=True)),
            verdict_count=Count("verdicts"),
            reviews_waiting=Count("verdicts", filter=waiting),
        )
        .order_by("-created_at", "-id")
    )
