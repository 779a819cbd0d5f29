"""Chunked request bodies are counted as they stream, so an oversize upload is refused before
any of it is written to disk (Django would read none of it); docs/security.md.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

from posts.uploads import amount_text

__all__ = ["StreamedBodyLimitMiddleware", "body_limit"]

_READ = 64 * 1024


def body_limit() -> int:
    """The largest request body accepted: the upload limit and room for the form's fields."""
    return int(settings.TAGLENS_MAX_UPLOAD_BYTES) + 1024 * 1024


def _answer(request: HttpRequest, message: str, status: int) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class StreamedBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or meta.get("CONTENT_LENGTH"):
            return self.get_response(request)
        if not meta.get("wsgi.input_terminated"):
            return _answer(
                request,
                "A body sent in chunks cannot be read by this server; send it with a "
                "Content-Length header. Nothing was stored.",
                411,
            )
        limit = body_limit()
        stream = meta["wsgi.input"]
        received = io.BytesIO()
        while chunk := stream.read(_READ):
            received.write(chunk)
            if received.tell() > limit:
                return _answer(
                    request,
                    f"The upload is larger than the limit ({amount_text(limit)}); it was "
                    "refused while it arrived and nothing was stored.",
                    413,
                )
        data = received.getvalue()
        # From here on Django reads the counted bytes as if they had come with a length.
        meta["CONTENT_LENGTH"] = str(len(data))
        request._stream = LimitedStream(io.BytesIO(data), len(data))  # type: ignore[assignment]
        return self.get_response(request)
