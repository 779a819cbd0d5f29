"""Comments on the post page: write (signed in), delete your own; moderators delete any (audited).
Thin: parse, call a service, redirect back to the post."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from moderation.judging.comments import comment_delete_moderated
from moderation.web.permissions import is_moderator
from posts.models import Comment, Post
from posts.services import CommentDeleteDenied, CommentRejected, comment_create, comment_delete


def comment_remove(*, comment: Comment, by: AbstractBaseUser | AnonymousUser) -> None:
    """The author deletes their own comment; a moderator any other, with an audit event.
    Raises ``CommentDeleteDenied`` for anyone else."""
    if by.is_authenticated and comment.author_id == by.pk:
        comment_delete(comment=comment, by=by)
    elif isinstance(by, User) and is_moderator(by):
        comment_delete_moderated(comment=comment, by=by)
    else:
        raise CommentDeleteDenied("Only the author or a moderator may delete a comment.")


@login_required
@require_POST
def comment_add(request: HttpRequest, post_id: int) -> HttpResponse:
    post = get_object_or_404(Post, pk=post_id)
    try:
        comment_create(post=post, author=request.user, text=request.POST.get("text", ""))  # type: ignore[arg-type]
    except CommentRejected as exc:
        messages.error(request, str(exc))
        return redirect("post-detail", post_id=post.pk)
    messages.success(request, "Comment added; the post's hashtags were judged again.")
    return redirect("post-detail", post_id=post.pk)


@login_required
@require_POST
def comment_remove_view(request: HttpRequest, post_id: int, comment_id: int) -> HttpResponse:
    comment = get_object_or_404(Comment, pk=comment_id, post_id=post_id)
    try:
        comment_remove(comment=comment, by=request.user)
    except CommentDeleteDenied as exc:
        messages.error(request, str(exc))
        return redirect("post-detail", post_id=post_id)
    messages.success(request, "Comment deleted.")
    return redirect("post-detail", post_id=post_id)
