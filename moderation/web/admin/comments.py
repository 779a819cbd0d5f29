"""Comments in the admin: find them by text, author or post; moderators delete them, each
deletion an audit event (the same service as the post page and the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from moderation.judging.comments import comment_delete_moderated
from moderation.web.permissions import is_moderator
from posts.models import Comment


class HasAuthorFilter(admin.SimpleListFilter):
    title = "author account"
    parameter_name = "account"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "still exists"), ("no", "deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.value() in ("yes", "no"):
            return queryset.filter(author__isnull=self.value() == "no")
        return queryset


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin[Comment]):
    list_display = ["pk", "post", "author", "short_text", "created_at"]
    list_filter = ["created_at", HasAuthorFilter, "post__status"]
    search_fields = ["text", "author__username", "=post__id"]
    list_select_related = ["author", "post"]
    readonly_fields = ["post", "author", "text", "created_at"]
    date_hierarchy = "created_at"

    @admin.display(description="text")
    def short_text(self, comment: Comment) -> str:
        return comment.text if len(comment.text) <= 80 else comment.text[:79] + "…"

    # Comments are written by people on the post page, never in the admin.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user)

    def delete_model(self, request: HttpRequest, obj: Comment) -> None:
        comment_delete_moderated(comment=obj, by=_moderator(request), reason="deleted in the admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        by = _moderator(request)
        for comment in queryset.select_related("author", "post"):
            comment_delete_moderated(comment=comment, by=by, reason="deleted in the admin")


def _moderator(request: HttpRequest) -> User:
    if not isinstance(request.user, User) or not is_moderator(request.user):
        raise PermissionDenied("Only moderators may delete comments.")
    return request.user
