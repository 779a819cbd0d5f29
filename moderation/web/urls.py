from __future__ import annotations

from django.urls import path

from moderation.web import activity, comments, review_requests
from moderation.web import pages as views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("explore/", views.recent, name="explore-recent"),
    path("explore/tags/<str:tag>/", views.explore_tag, name="explore-tag"),
    path("p/<int:post_id>/", views.post_detail, name="post-detail"),
    path("u/<str:username>/", views.user_posts, name="user-posts"),
    path("activity/", activity.activity, name="activity"),
    path("p/<int:post_id>/comments/", comments.comment_add, name="comment-add"),
    path(
        "p/<int:post_id>/comments/<int:comment_id>/delete/",
        comments.comment_remove_view,
        name="comment-delete",
    ),
    path(
        "p/<int:post_id>/verdicts/<int:verdict_id>/review/",
        review_requests.review_request_add,
        name="review-request",
    ),
    path(
        "p/<int:post_id>/verdicts/<int:verdict_id>/report/",
        review_requests.verdict_report_add,
        name="verdict-report",
    ),
]
