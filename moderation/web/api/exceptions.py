"""API errors the database raises for bad input become 4xx answers, not server errors."""

from __future__ import annotations

from typing import Any

from django.db import DataError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DataError):
        # e.g. PostgreSQL refuses NUL characters in text, even in a lookup.
        return Response(
            {"detail": "The request holds characters or values the database cannot store."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {"detail": f"Still in use, so it cannot be deleted: {exc.args[0]}"},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
