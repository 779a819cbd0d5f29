"""A person's activity: comments others wrote on their posts or that name them (@name),
moderators' decisions on their posts (which answer their review requests) and on posts they
reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet

from moderation.models import ActivityRead, Verdict, VerdictReport
from posts.models import Comment, CommentMention, Post

ACTIVITY_SHOWN = 50
UNREAD_CAP = 99  # the top bar says "99+" past it; counting further costs for nothing


@dataclass(frozen=True)
class Activity:
    kind: str  # COMMENT, MENTION, DECISION or REPORT_ANSWER
    at: dt.datetime
    post: Post
    new: bool
    by: str = ""  # who commented ("" when their account is gone)
    text: str = ""  # the comment
    hashtag: str = ""
    shown: bool | None = None  # the moderator's decision
    asked: bool = False  # the decision answered the author's review request
    comment_id: int | None = None


COMMENT, MENTION, DECISION, REPORT_ANSWER = "comment", "mention", "decision", "report_answer"


def activity_read_at(*, user_id: int) -> dt.datetime | None:
    return ActivityRead.objects.filter(user_id=user_id).values_list("read_at", flat=True).first()


def _comments(user_id: int) -> QuerySet[Comment]:
    # exclude() on the nullable author keeps comments whose account was deleted.
    return Comment.objects.filter(post__author_id=user_id).exclude(author_id=user_id)


def _mentions(user_id: int) -> QuerySet[CommentMention]:
    # On their own post the comment is news already.
    return CommentMention.objects.filter(user_id=user_id).exclude(comment__post__author_id=user_id)


def _decisions(user_id: int) -> QuerySet[Verdict]:
    return Verdict.objects.filter(
        post__author_id=user_id, override__isnull=False, override_at__isnull=False
    ).exclude(override_by_id=user_id)


def _report_answers(user_id: int) -> QuerySet[VerdictReport]:
    return VerdictReport.objects.filter(
        reporter_id=user_id,
        verdict__override__isnull=False,
        verdict__override_at__gte=F("created_at"),
    ).exclude(verdict__override_by_id=user_id)


def _sources(user_id: int) -> list[tuple[str, QuerySet[Any], str]]:
    """Each kind of event: its rows and the field that says when it happened."""
    return [
        (COMMENT, _comments(user_id).select_related("author", "post"), "created_at"),
        (
            MENTION,
            _mentions(user_id).select_related("comment__author", "comment__post"),
            "comment__created_at",
        ),
        (DECISION, _decisions(user_id).select_related("post", "hashtag"), "override_at"),
        (
            REPORT_ANSWER,
            _report_answers(user_id).select_related("verdict__post", "verdict__hashtag"),
            "verdict__override_at",
        ),
    ]


def _event(kind: str, row: Any, new: Callable[[dt.datetime], bool]) -> Activity:
    if kind in (COMMENT, MENTION):
        c: Comment = row if kind == COMMENT else row.comment
        by = c.author.get_username() if c.author else ""
        return Activity(kind, c.created_at, c.post, new(c.created_at), by, c.text, comment_id=c.pk)
    v: Verdict = row if kind == DECISION else row.verdict
    at: Any = v.override_at  # not null: the sources filter on it
    asked = kind == DECISION and v.review_requested_at is not None and v.review_requested_at <= at
    return Activity(
        kind, at, v.post, new(at), hashtag=v.hashtag.name, shown=v.override, asked=asked
    )


def activity_for(*, user_id: int | None, limit: int = ACTIVITY_SHOWN) -> list[Activity]:
    """The newest ``limit`` events, newest first; ``new`` marks those after the last read."""
    if user_id is None:  # signed out
        return []
    read_at = activity_read_at(user_id=user_id)

    def new(at: dt.datetime) -> bool:
        return read_at is None or at > read_at

    events = [
        _event(kind, row, new)
        for kind, rows, at in _sources(user_id)
        for row in rows.order_by(f"-{at}", "-pk")[:limit]
    ]
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]


def activity_unread(*, user_id: int | None) -> int:
    """Events since the last read, at most UNREAD_CAP + 1 (four bounded counts)."""
    if user_id is None:
        return 0
    read_at = activity_read_at(user_id=user_id)
    total = 0
    for _, rows, at in _sources(user_id):
        if read_at is not None:
            rows = rows.filter(**{f"{at}__gt": read_at})
        total += rows[: UNREAD_CAP + 1 - total].count()
        if total > UNREAD_CAP:
            break
    return total
