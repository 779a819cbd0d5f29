"""API throttles. Rates come from settings (env), read at request time so they can change."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

from posts.services import comments_wait, uploads_wait


class _RateFromSettings:
    scope: str

    def get_rate(self) -> str | None:
        # The stubs type the rates as numbers; DRF's own are strings like "60/minute".
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return None if rate is None else str(rate)


class SearchAnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Anonymous searches, per client address (TAGLENS_THROTTLE_SEARCH_ANON)."""

    scope = "search_anon"


class SearchUserThrottle(_RateFromSettings, UserRateThrottle):
    """Signed-in searches, per user (TAGLENS_THROTTLE_SEARCH_USER)."""

    scope = "search_user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        # DRF's would also count anonymous clients by address, already SearchAnonThrottle's
        # job: two more cache calls on every anonymous search.
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class SuggestAnonThrottle(SearchAnonThrottle):
    """Anonymous hashtag suggestions, per client address (TAGLENS_THROTTLE_SUGGEST_ANON)."""

    scope = "suggest_anon"


class SuggestUserThrottle(SearchUserThrottle):
    """Signed-in hashtag suggestions, per user (TAGLENS_THROTTLE_SUGGEST_USER)."""

    scope = "suggest_user"


class _PerHourThrottle(BaseThrottle):
    """A signed-in user's POSTs, limited per hour from stored rows (the same check as the page),
    so the limit holds across processes without a shared cache."""

    def __init__(self) -> None:
        self._wait = 0

    def seconds_to_wait(self, user: Any) -> int:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST" or not request.user.is_authenticated:
            return True
        self._wait = self.seconds_to_wait(request.user)
        return not self._wait

    def wait(self) -> float | None:
        return float(self._wait)


class UploadThrottle(_PerHourThrottle):
    """Uploads per user per hour (TAGLENS_UPLOADS_PER_HOUR)."""

    def seconds_to_wait(self, user: Any) -> int:
        return uploads_wait(author=user)


class CommentThrottle(_PerHourThrottle):
    """Comments per user per hour (TAGLENS_COMMENTS_PER_HOUR)."""

    def seconds_to_wait(self, user: Any) -> int:
        return comments_wait(author=user)
