"""A hashtag's first search page in Django's cache, served only while the marks read before it
was built are unchanged; writers renew marks after commit (docs/scaling.md, "Load")."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from posts.models import Hashtag

# Marks outlive the answers they guard; an expired one is drawn afresh (a miss, never stale).
MARK_SECONDS = 24 * 3600
EVERY_HASHTAG = "search-mark"
# One request builds a stale page; the others asking meanwhile get the one before, or with
# none stored, wait this long at most.
BUILD_WAIT_SECONDS = 0.5
POLL_SECONDS = 0.004


@dataclass(frozen=True)
class CachedSearch:
    """A first page: the hashtag's id (None: no post yet), to count the search, and its content."""

    hashtag_id: int | None
    content: Any


def search_cache_on() -> bool:
    return bool(settings.TAGLENS_SEARCH_CACHE_SECONDS > 0)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _mark_key(name: str) -> str:
    return f"{EVERY_HASHTAG}:{_digest(name)}"


def search_cached(
    *, kind: str, name: str, variant: str = "", build: Callable[[], CachedSearch]
) -> CachedSearch:
    """The stored answer of `kind` ("page", "api") for hashtag `name`, else `build()`'s, stored.
    `variant` names whatever else the answer depends on (the API's links carry the URL)."""
    if not search_cache_on():
        return build()
    key = f"search:{kind}:{_digest(name + chr(0) + variant)}"
    marks = [EVERY_HASHTAG, _mark_key(name)]
    found = cache.get_many([key, *marks])
    current = tuple(found.get(mark) or _mark_drawn(mark) for mark in marks)
    stored = found.get(key)
    if stored is not None and stored[0] == current:
        return stored[1]  # type: ignore[no-any-return]
    if None in current:
        return build()
    building = f"{key}:building:{_digest(repr(current))}"
    if not cache.add(building, 1, timeout=10):
        # Another request is building it: until it is stored, the page before the change.
        if stored is not None:
            return stored[1]  # type: ignore[no-any-return]
        waited = _built_meanwhile(key, current)
        if waited is not None:
            return waited
    answer = build()  # from rows read after the marks: a commit in between left them changed
    cache.set(key, (current, answer), settings.TAGLENS_SEARCH_CACHE_SECONDS)
    return answer


def _built_meanwhile(key: str, current: tuple[str | None, ...]) -> CachedSearch | None:
    """The answer another request is building for the same marks, once stored; None when it
    is not there within BUILD_WAIT_SECONDS (that request failed or is slow: build here)."""
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        stored = cache.get(key)
        if stored is not None and stored[0] == current:
            return stored[1]  # type: ignore[no-any-return]
    return None


def _mark_drawn(mark: str) -> str | None:
    cache.add(mark, secrets.token_hex(8), MARK_SECONDS)
    return cache.get(mark)  # type: ignore[no-any-return]  # another process's, if it won


def search_cache_stale(*, hashtag_ids: Iterable[int] | None) -> None:
    """After commit, these hashtags' (None: every hashtag's) stored first pages are stale."""
    if not search_cache_on():
        return
    if hashtag_ids is None:
        marks = [EVERY_HASHTAG]
    else:
        names = Hashtag.objects.filter(pk__in=set(hashtag_ids)).values_list("name", flat=True)
        marks = [_mark_key(name) for name in names]
    if marks:
        transaction.on_commit(lambda: _marks_redrawn(marks))


def search_cache_stale_posts(*, post_ids: Iterable[int]) -> None:
    """After commit, the stored first pages of these posts' hashtags are stale."""
    if not search_cache_on():
        return
    tags = Hashtag.objects.filter(post_hashtags__post_id__in=set(post_ids)).values_list("pk")
    search_cache_stale(hashtag_ids=[pk for (pk,) in tags])


def _marks_redrawn(marks: list[str]) -> None:
    cache.set_many({mark: secrets.token_hex(8) for mark in marks}, MARK_SECONDS)
