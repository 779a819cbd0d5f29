"""JSON nested too deep for the recursive decoder is refused before any view (a 500 otherwise)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

# Deeper than any body TagLens accepts (the deepest is a list of strings inside an object).
MAX_JSON_DEPTH = 32
# A whole string literal (its brackets do not count) or one bracket.
_BRACKET_OR_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than ``limit``. No recursion, so it
    cannot itself run out of stack; bodies with few brackets are passed at C speed."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _BRACKET_OR_STRING.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _is_json(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    return content_type == "application/json" or content_type.endswith("+json")


class JsonDepthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and _is_json(request):
            body = request.body
            if json_depth_exceeds(body):
                return JsonResponse(
                    {
                        "detail": "JSON parse error: the body is nested more than "
                        f"{MAX_JSON_DEPTH} levels deep; nothing was changed."
                    },
                    status=400,
                )
        return self.get_response(request)
