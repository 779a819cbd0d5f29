"""The HTML search page is throttled like the search API, with the same counters: a client
has one budget for both (TAGLENS_THROTTLE_SEARCH_ANON / _USER)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from moderation.web.api.throttles import SearchAnonThrottle, SearchUserThrottle

View = Callable[..., HttpResponse]


def search_throttled(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        for throttle in (SearchAnonThrottle(), SearchUserThrottle()):
            # DRF's throttles read only request.user and request.META, which a Django
            # request has too.
            if not throttle.allow_request(request, None):  # type: ignore[arg-type]
                wait = math.ceil(throttle.wait() or 60)
                response = render(
                    request,
                    "moderation/search_error.html",
                    {
                        "query": kwargs.get("tag", ""),
                        "throttled": True,
                        "error": f"Too many searches from you just now; try again in {wait} s.",
                    },
                    status=429,
                )
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapped
