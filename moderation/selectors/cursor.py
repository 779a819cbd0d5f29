"""Keyset pagination of search results: a (created_at, post id, direction) position, signed
with the SECRET_KEY so an edited link is refused rather than read as another position."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "taglens.search-cursor"
_PAYLOAD = re.compile(r"^([on])(-?\d{1,19})\.(\d{1,19})$")
_MAX_TOKEN = 200  # real tokens are ~45 characters
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_ID = 2**63 - 1  # bigint: anything larger would be a database error, not a position
_INVALID = "This page link is damaged or has expired; start again from the newest posts."


class InvalidCursor(ValueError):
    """A cursor token that was not made by this site (or not with its current SECRET_KEY)."""


@dataclass(frozen=True)
class SearchCursor:
    created_at: dt.datetime
    post_id: int
    older: bool = True  # posts after this position (next page), else before it (previous)

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // dt.timedelta(microseconds=1)
        payload = f"{'o' if self.older else 'n'}{micros}.{self.post_id}".encode()
        return f"{_b64(payload)}.{_b64(_mac(payload))}"

    @classmethod
    def decode(cls, token: str) -> SearchCursor:
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
            raise InvalidCursor(_INVALID)
        body, _, signature = token.partition(".")
        try:
            payload, mac = _unb64(body), _unb64(signature)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor(_INVALID) from exc
        if not constant_time_compare(mac, _mac(payload)):
            raise InvalidCursor(_INVALID)
        found = _PAYLOAD.match(payload.decode("ascii", errors="replace"))
        if found is None:
            raise InvalidCursor(_INVALID)
        direction, micros, post_id = found.group(1), int(found.group(2)), int(found.group(3))
        try:
            created_at = _EPOCH + dt.timedelta(microseconds=micros)
        except OverflowError as exc:
            raise InvalidCursor(_INVALID) from exc
        if not 0 < post_id <= _MAX_ID:
            raise InvalidCursor(_INVALID)
        return cls(created_at=created_at, post_id=post_id, older=direction == "o")


@dataclass(frozen=True)
class PageRequest:
    cursor: SearchCursor | None
    # The first page of a search, counted in Hashtag.search_count; not a step through pages.
    is_new_search: bool


def page_request(params: Mapping[str, str]) -> PageRequest:
    """What the page and API asked for (the old ``?page=N``: the newest). Raises InvalidCursor."""
    raw = params.get("cursor")
    cursor = SearchCursor.decode(raw) if raw not in (None, "") else None
    return PageRequest(
        cursor=cursor, is_new_search=cursor is None and params.get("page", "1") in ("", "1")
    )


def _mac(payload: bytes) -> bytes:
    # 12 bytes of HMAC-SHA256: short links, still far beyond guessing.
    return salted_hmac(_SALT, payload, algorithm="sha256").digest()[:12]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
