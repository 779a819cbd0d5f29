"""Moderator pages under /admin/moderation/ that are not model lists (see review.py)."""

from __future__ import annotations

from django.urls import path

from moderation.web.admin import review as views
from moderation.web.admin.dashboard import dashboard

urlpatterns = [
    path("dashboard/", dashboard, name="moderation-dashboard"),
    path("review/", views.moderator_view(views.review_page), name="moderation-review"),
    path(
        "review/<int:verdict_id>/",
        views.moderator_view(views.review_decide),
        name="moderation-review-decide",
    ),
    path(
        "review/restart/",
        views.moderator_view(views.review_restart),
        name="moderation-review-restart",
    ),
    path("unruled/", views.moderator_view(views.unruled_list), name="moderation-unruled"),
    path(
        "unruled/<int:hashtag_id>/",
        views.moderator_view(views.unruled_hashtag),
        name="moderation-unruled-hashtag",
    ),
]
