from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from moderation.web.api import comments, views

router = DefaultRouter()
router.register("posts", views.PostViewSet, basename="post")
router.register("verdicts", views.VerdictViewSet, basename="verdict")
router.register("concepts", views.ConceptViewSet, basename="concept")
router.register("rules", views.RuleViewSet, basename="rule")
router.register("keywords", views.KeywordMappingViewSet, basename="keyword")
router.register("audit", views.AuditEventViewSet, basename="audit")
router.register("comments", comments.CommentViewSet, basename="comment")

urlpatterns = [
    path("", include(router.urls)),
    path("search/", views.SearchView.as_view(), name="api-search"),
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^", views.api_not_found),  # last: JSON 404 for any other /api/ address
]
