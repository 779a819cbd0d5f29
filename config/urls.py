from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from config.health import health
from config.media import media
from moderation.web.metrics import metrics


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:  # the admin has no link
    return HttpResponsePermanentRedirect(static_url("favicon.svg"))


urlpatterns = [
    path("health/", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("favicon.ico", favicon),
    # Moderator pages that are not model lists; before the admin so they are not shadowed.
    path("admin/moderation/", include("moderation.web.admin.urls")),
    # The site's page counts wrong passwords and revokes the API token; the admin's does neither.
    path("admin/password_change/", RedirectView.as_view(pattern_name="password-change")),
    path("admin/", admin.site.urls),
    path("", include("posts.urls")),  # its sign-in page before Django's
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("config.api_urls")),
    path("", include("moderation.web.urls")),
]
if settings.TAGLENS_STORAGE == "local":
    urlpatterns.append(re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.+)$", media))
