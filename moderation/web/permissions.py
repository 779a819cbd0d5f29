"""Who may do what. A moderator is a user with the override_verdict permission
(members of the "moderators" group, and superusers); staff alone is not enough."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from rest_framework import permissions
from rest_framework.request import Request

OVERRIDE_PERMISSION = "moderation.override_verdict"
MODERATORS_GROUP = "moderators"


def is_moderator(user: User | AnonymousUser | Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(OVERRIDE_PERMISSION))


class IsModerator(permissions.BasePermission):
    message = "Only moderators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_moderator(request.user)
