"""GET /media/<path>: uploaded photos and thumbnails from the local media folder, so `make serve`
shows them without a proxy (README, "Serving for real"). A proxy may serve the folder instead."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.static import serve

# A day, not forever: a deleted post's photo should not outlive it long in caches.
CACHE_SECONDS = 24 * 3600


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    if not settings.TAGLENS_SERVE_MEDIA:
        raise Http404("Photos are served by the proxy here.")
    # serve(): no listings, If-Modified-Since, the type from the name the upload checks gave.
    try:
        response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    except SuspiciousFileOperation as exc:  # a path out of the folder
        raise Http404("No such photo.") from exc
    response["Cache-Control"] = f"max-age={CACHE_SECONDS}"
    return response
