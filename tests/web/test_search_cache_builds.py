"""A stale first page is built by one request at a time: the others asking meanwhile get the
page from before the change (or, with none stored, wait for the build), so a popular tag's
change does not set every worker building the same page (docs/scaling.md, "Load")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connections

from moderation.selectors import search_cache
from moderation.selectors.search_cache import CachedSearch, search_cache_stale, search_cached


@pytest.fixture(autouse=True)
def cache_on(settings: Any) -> Iterator[None]:
    settings.TAGLENS_SEARCH_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def ask(build: Callable[[], CachedSearch]) -> Any:
    return search_cached(kind="page", name="카페", build=build).content


def thread(answers: list[Any], build: Callable[[], CachedSearch]) -> threading.Thread:
    """A request in another thread; its database connection is closed after it."""

    def run() -> None:
        try:
            answers.append(ask(build))
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def never() -> CachedSearch:
    raise AssertionError("built while another request was building")


class SlowBuild:
    """A build in another thread that holds until released, as a request building the page."""

    def __init__(self, content: str) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.content = content
        self.answer: list[Any] = []
        self.thread = thread(self.answer, self.build)

    def build(self) -> CachedSearch:
        self.started.set()
        assert self.release.wait(5)
        return CachedSearch(hashtag_id=1, content=self.content)

    def __enter__(self) -> SlowBuild:
        self.thread.start()
        assert self.started.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(5)


@pytest.mark.django_db
def test_while_one_request_builds_the_changed_page_the_others_get_the_one_before(
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert ask(lambda: CachedSearch(hashtag_id=1, content="before")) == "before"
    with django_capture_on_commit_callbacks(execute=True):
        search_cache_stale(hashtag_ids=None)
    with SlowBuild("after") as building:
        assert ask(never) == "before"
        assert ask(never) == "before"
    assert building.answer == ["after"]
    assert ask(never) == "after"


def test_with_nothing_stored_the_others_wait_for_the_build() -> None:
    with SlowBuild("first") as building:
        waiting: list[Any] = []
        asker = thread(waiting, never)
        asker.start()
        asker.join(0.05)
        assert asker.is_alive()  # waiting, not building
    asker.join(5)
    assert waiting == ["first"] and building.answer == ["first"]


def test_a_build_that_never_arrives_is_waited_for_only_briefly(monkeypatch: Any) -> None:
    monkeypatch.setattr(search_cache, "BUILD_WAIT_SECONDS", 0.05)
    with SlowBuild("stuck"):
        assert ask(lambda: CachedSearch(hashtag_id=1, content="own")) == "own"
