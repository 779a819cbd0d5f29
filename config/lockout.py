"""Lockout after repeated failed logins (django-axes), on every way of signing in."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes is untyped
    """django-axes' check before the password is tried, on the Django request under DRF's.

    Without a request (``client.login``, scripts) there is no address to count: not checked.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        django_request = getattr(request, "_request", request)
        try:
            return super().authenticate(django_request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            # axes' failure handler flags the request it was sent (DRF's wrapper, for the
            # token view); the middleware reads the flag from the Django request.
            django_request.axes_locked_out = True  # type: ignore[union-attr]
            raise


def password_confirmed(request: HttpRequest, user: AbstractBaseUser, password: str) -> bool:
    """A signed-in person's password, checked as a sign-in is: a wrong one counts towards the
    lockout (a stolen session cannot guess it), and a locked account confirms nothing."""
    django_request = getattr(request, "_request", request)
    signed = authenticate(django_request, username=user.get_username(), password=password)
    return signed is not None and signed.pk == user.pk


def _minutes() -> int:
    cool_off = get_cool_off()
    return round(cool_off.total_seconds() / 60) if cool_off else 0


def lockout_message() -> str:
    minutes = _minutes()
    wait = f"in {minutes} minutes" if minutes else "later, or ask the administrators to unlock it"
    return (
        f"Too many failed logins ({settings.AXES_FAILURE_LIMIT}) for this account from this "
        f"address (a wrong password on its own pages counts too); sign-in is locked. "
        f"Try again {wait}."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """429 with the reason: JSON for the API, the login page's look for people."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": lockout_message()}, status=status)
    else:
        response = render(
            request, "registration/locked_out.html", {"message": lockout_message()}, status=status
        )
    if _minutes():
        response["Retry-After"] = str(_minutes() * 60)
    return response
