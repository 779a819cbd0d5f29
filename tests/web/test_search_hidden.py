"""The photos TagLens hid under a hashtag, on request: its own verdicts only (not a moderator's
hide, not a pending post), newest first, a page at a time, on the page and in the search API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from moderation.models import Verdict
from posts.models import Hashtag, Post
from tests.factories import HashtagFactory, PostFactory, VerdictFactory

pytestmark = pytest.mark.django_db

URL = reverse("explore-tag", kwargs={"tag": "카페"})
DECIDED = Verdict.Decision


def _verdict(tag: Hashtag, minutes: int, **fields: Any) -> int:
    when = timezone.now() - timedelta(days=1) + timedelta(minutes=minutes)
    post = PostFactory()
    Post.objects.filter(pk=post.pk).update(created_at=when)
    post.created_at = when
    return VerdictFactory(hashtag=tag, post=post, **fields).post_id


@pytest.fixture
def posts() -> dict[str, int]:
    tag = HashtagFactory(name="카페")
    return {
        "shown": _verdict(tag, 1),
        "not relevant": _verdict(tag, 2, shown=False, decision=DECIDED.NOT_RELEVANT),
        "unknown": _verdict(tag, 3, shown=False, decision=DECIDED.UNKNOWN),
        "moderator hid": _verdict(tag, 4, shown=False, override=False),
        "pending": _verdict(tag, 5, shown=False, decision=DECIDED.PENDING),
        "moderator showed": _verdict(
            tag, 6, shown=True, decision=DECIDED.NOT_RELEVANT, override=True
        ),
    }


def _ids(response: Any) -> list[int]:
    return [post.pk for post in response.context["page"].posts]


def test_the_page_lists_only_what_taglens_itself_hid(client, posts) -> None:
    shown = client.get(URL)
    assert set(_ids(shown)) == {posts["shown"], posts["moderator showed"]}
    assert 'href="/explore/tags/%EC%B9%B4%ED%8E%98/?hidden=1"' in shown.content.decode()
    hidden = client.get(URL, {"hidden": "1"})
    assert hidden.status_code == 200
    assert _ids(hidden) == [posts["unknown"], posts["not relevant"]]  # newest first
    body = hidden.content.decode()
    assert "<title>#카페 · 숨긴 게시물 Hidden by TagLens" in body
    assert "Hidden by TagLens" in body and "Photos a moderator hid are not listed" in body
    assert f'href="{URL}"' in body  # back to the photos shown


def test_no_link_where_nothing_is_hidden_and_an_empty_list_says_so(client) -> None:
    tag = HashtagFactory(name="카페")
    _verdict(tag, 1)
    assert "?hidden=1" not in client.get(URL).content.decode()
    _verdict(tag, 2, shown=False, override=False)  # hidden, by a moderator only
    body = client.get(URL, {"hidden": "1"}).content.decode()
    assert "TagLens itself hid no photo tagged #카페" in body


def test_pages_of_hidden_posts_keep_to_the_hidden_list(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 2
    tag = HashtagFactory(name="카페")
    hidden = [_verdict(tag, i, shown=False, decision=DECIDED.NOT_RELEVANT) for i in range(5)]
    for i in range(5):
        _verdict(tag, 10 + i)  # shown, newer than every hidden one
    seen, response = [], client.get(URL, {"hidden": "1"})
    while True:
        seen.extend(_ids(response))
        following = response.context["next_url"]
        if following is None:
            break
        assert "hidden=1" in following
        response = client.get(URL + following)
    assert seen == hidden[::-1]
    assert response.context["newest_url"] == URL + "?hidden=1"


def test_a_cached_first_page_is_kept_apart_from_the_hidden_one(client, settings, posts) -> None:
    settings.TAGLENS_SEARCH_CACHE_SECONDS = 60
    cache.clear()
    shown = client.get(URL).content.decode()
    hidden = client.get(URL, {"hidden": "1"}).content.decode()
    assert f"/p/{posts['not relevant']}/" in hidden and f"/p/{posts['not relevant']}/" not in shown
    assert f"/p/{posts['shown']}/" in client.get(URL).content.decode()
    assert f"/p/{posts['shown']}/" not in client.get(URL, {"hidden": "1"}).content.decode()


def test_looking_at_the_hidden_posts_is_not_another_search(client, posts) -> None:
    client.get(URL, {"hidden": "1"})
    assert Hashtag.objects.get(name="카페").search_count == 0
    client.get(URL)
    assert Hashtag.objects.get(name="카페").search_count == 1


def test_the_search_api_gives_the_hidden_posts_on_request(settings, posts) -> None:
    settings.TAGLENS_PAGE_SIZE = 1
    api = APIClient()
    shown = api.get("/api/search/", {"tag": "카페"}).json()
    assert {row["id"] for row in shown["results"]} <= {posts["shown"], posts["moderator showed"]}
    first = api.get("/api/search/", {"tag": "카페", "hidden": "true"}).json()
    assert [row["id"] for row in first["results"]] == [posts["unknown"]]
    assert "hidden=true" in first["next"]
    second = api.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [posts["not relevant"]]
    assert second["next"] is None
    wrong = api.get("/api/search/", {"tag": "카페", "hidden": "maybe"})
    assert wrong.status_code == 400 and "hidden" in wrong.json()
