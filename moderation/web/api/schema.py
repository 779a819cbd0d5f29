"""OpenAPI post-processing: list the 400/401/403/404/429 answers every operation can give."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": 'Either {"detail": "message"} or, for invalid input, a message list per field.',
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    "400": "Invalid input; each field's problem is named.",
    "401": 'No credentials, or a wrong token: send "Authorization: Token <key>".',
    "403": "Not allowed: sign in, or the action is for moderators or the author only.",
    "404": "No such object, or a page past the end.",
    "409": "Still in use (a concept under it, a rule naming it), so it cannot be deleted.",
    "415": "The request body's media type is not accepted.",
    "429": "Too many requests; try again later.",
}
_WRITES = {"post", "put", "patch"}
# Throttled, and the token endpoint's sign-in lockout after failed logins (config/lockout.py).
_THROTTLED = {
    ("get", "/api/search/"),
    ("get", "/api/hashtags/"),
    ("get", "/api/explore/"),
    ("post", "/api/posts/"),
    ("post", "/api/auth/token/"),
}


def _codes(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    codes = ["401", "403", "404"]
    takes_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
    if method in _WRITES or method == "get" or takes_query:  # a delete's ?reason= too
        codes.append("400")
    if method in _WRITES:
        codes.append("415")
    if method == "delete" and "{" in path:  # an object in use; not the token's DELETE
        codes.append("409")
    if (method, path) in _THROTTLED:
        codes.append("429")
    return codes


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A drf-spectacular POSTPROCESSING_HOOKS entry."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for code in _codes(method, path, operation):
                responses.setdefault(code, {"description": _DESCRIPTIONS[code]})
            for code, response in responses.items():
                if str(code).startswith("4"):  # an operation's own errors have the same body
                    response.setdefault("content", reference)
    return result
