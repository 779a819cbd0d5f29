"""Django REST framework's and drf-spectacular's settings: the API's authentication, paging,
throttles and OpenAPI document (config/api.md is its description)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.env import env_str


def rest_framework_settings(*, page_size: int, proxy_count: int) -> dict[str, Any]:
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.TokenAuthentication",  # first: its challenge makes 401s
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "EXCEPTION_HANDLER": "moderation.web.api.exceptions.api_exception_handler",
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": page_size,
        # Uploads are limited per user from stored posts instead (TAGLENS_UPLOADS_PER_HOUR).
        "NUM_PROXIES": proxy_count or None,
        "DEFAULT_THROTTLE_RATES": {
            "search_anon": env_str("TAGLENS_THROTTLE_SEARCH_ANON", "60/minute"),
            "search_user": env_str("TAGLENS_THROTTLE_SEARCH_USER", "240/minute"),
            "suggest_anon": env_str("TAGLENS_THROTTLE_SUGGEST_ANON", "300/minute"),
            "suggest_user": env_str("TAGLENS_THROTTLE_SUGGEST_USER", "600/minute"),
        },
    }


def spectacular_settings(*, description: Path) -> dict[str, Any]:
    return {
        "TITLE": "TagLens API",
        "DESCRIPTION": description.read_text(encoding="utf-8"),
        "VERSION": "0.1.0",
        "SERVE_INCLUDE_SCHEMA": False,
        # Our own static files, so the Content-Security-Policy allows no other origin.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
        # Two choice sets named "status": the post's keeps the name it had before the text's came.
        "ENUM_NAME_OVERRIDES": {
            "StatusEnum": "posts.models.Post.Status",
            "TextReadStatusEnum": "moderation.models.ingest.TextExtraction.Status",
        },
        # Error answers (400/401/403/404/429) are listed too; the fuzz test holds the API to them.
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "moderation.web.api.schema.add_error_responses",
        ],
    }
