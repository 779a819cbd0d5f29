"""Moderators deleting someone else's comment: the content write is posts' own, the audit
event is moderation's."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from moderation.judging.audit import audit_record
from moderation.models import AuditEvent
from posts.models import Comment
from posts.services import comment_delete


def comment_delete_moderated(*, comment: Comment, by: User, reason: str = "") -> None:
    """Delete the comment and record who did, with its text (the row itself is gone). The
    caller has checked that ``by`` is a moderator; the post is judged again."""
    author = comment.author.get_username() if comment.author else None
    with transaction.atomic():
        audit_record(
            action=AuditEvent.Action.COMMENT_DELETE,
            obj=comment,
            actor=by,
            before={"post": comment.post_id, "author": author, "text": comment.text},
            after=None,
            reason=reason,
            object_repr=f"comment by @{author or 'unknown'} on post {comment.post_id}",
        )
        comment_delete(comment=comment, by=by, as_moderator=True)
