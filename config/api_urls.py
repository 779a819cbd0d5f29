from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from moderation.web.api import account, activity, catalog, comments, hashtags, views

router = DefaultRouter()
router.register("posts", views.PostViewSet, basename="post")
router.register("verdicts", catalog.VerdictViewSet, basename="verdict")
router.register("concepts", catalog.ConceptViewSet, basename="concept")
router.register("rules", catalog.RuleViewSet, basename="rule")
router.register("keywords", catalog.KeywordMappingViewSet, basename="keyword")
router.register("audit", catalog.AuditEventViewSet, basename="audit")
router.register("comments", comments.CommentViewSet, basename="comment")

urlpatterns = [
    path("", include(router.urls)),
    path("search/", views.SearchView.as_view(), name="api-search"),
    path("hashtags/", hashtags.HashtagListView.as_view(), name="api-hashtags"),
    path("explore/", views.ExploreView.as_view(), name="api-explore"),
    path("activity/", activity.ActivityView.as_view(), name="api-activity"),
    path("activity/read/", activity.ActivityReadView.as_view(), name="api-activity-read"),
    path("auth/token/", account.TokenView.as_view(), name="api-token"),
    path("account/delete/", account.AccountDeleteView.as_view(), name="api-account-delete"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    re_path(r"^", views.api_not_found),  # last: JSON 404 for any other /api/ address
]
