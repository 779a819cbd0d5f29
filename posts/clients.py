"""Who "the client" is: one definition for lockouts, throttles and search counts."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

_IDENT = BaseThrottle()


def client_address(request: HttpRequest) -> str:
    """The client's address as DRF's throttles see it: REMOTE_ADDR, or X-Forwarded-For
    behind TAGLENS_PROXY_COUNT proxies (DRF's NUM_PROXIES)."""
    return str(_IDENT.get_ident(request))  # type: ignore[arg-type]


def client_key(request: HttpRequest) -> str:
    """A signed-in user is one client wherever they are; anyone else is their address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"addr:{client_address(request)}"
