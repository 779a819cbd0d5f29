"""Keyset pagination of the tag page and the search API: cursors, their errors, and query
counts that do not grow with the tag's size or the page's depth."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from moderation.models import Verdict
from moderation.selectors.cursor import InvalidCursor, SearchCursor, page_request
from moderation.selectors.search import posts_relevant_for_hashtag
from posts.models import Hashtag, Post
from tests.factories import HashtagFactory, PostFactory, VerdictFactory

pytestmark = pytest.mark.django_db

URL = reverse("explore-tag", kwargs={"tag": "바다"})


def ids(response: Any) -> list[int]:
    return [post.pk for post in response.context["page"].posts]


def tagged(tag: Hashtag, count: int, *, same_instant: bool = False) -> list[int]:
    """`count` shown posts under `tag`; returns their ids newest first."""
    start = timezone.now() - timedelta(days=1)
    made = []
    for i in range(count):
        when = start if same_instant else start + timedelta(minutes=i)
        post = PostFactory()
        Post.objects.filter(pk=post.pk).update(created_at=when)
        post.created_at = when
        made.append(VerdictFactory(hashtag=tag, post=post).post_id)
    return sorted(made, key=lambda pk: (Post.objects.get(pk=pk).created_at, pk), reverse=True)


def walk(client: Any, url: str, params: dict[str, str] | None = None) -> list[list[int]]:
    pages, response = [], client.get(url, params or {})
    while True:
        pages.append(ids(response))
        if response.context["next_url"] is None:
            return pages
        response = client.get(url + response.context["next_url"])


@pytest.mark.parametrize("same_instant", [False, True])
def test_following_next_shows_every_post_once_newest_first(
    client, settings, same_instant: bool
) -> None:
    settings.TAGLENS_PAGE_SIZE = 3
    tag = HashtagFactory(name="바다")
    expected = tagged(tag, 10, same_instant=same_instant)
    VerdictFactory(hashtag=tag, shown=False, decision=Verdict.Decision.NOT_RELEVANT)
    pages = walk(client, URL)
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    assert [pk for page in pages for pk in page] == expected


def test_previous_goes_back_page_by_page_to_the_first_page(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 3
    tagged(HashtagFactory(name="바다"), 8)
    first = client.get(URL)
    second = client.get(URL + first.context["next_url"])
    third = client.get(URL + second.context["next_url"])
    assert first.context["previous_url"] is None
    back = client.get(URL + third.context["previous_url"])
    assert ids(back) == ids(second)
    top = client.get(URL + back.context["previous_url"])
    assert ids(top) == ids(first)
    assert top.context["page"].is_first and top.context["previous_url"] is None
    body = third.content.decode()
    assert 'rel="prev"' in body and 'rel="first"' in body


def test_a_new_post_does_not_shift_the_pages_already_reached(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 2
    tag = HashtagFactory(name="바다")
    tagged(tag, 4)
    first = client.get(URL)
    VerdictFactory(hashtag=tag)  # newest of all: would push everything one place with OFFSET
    second = client.get(URL + first.context["next_url"])
    assert set(ids(first)).isdisjoint(ids(second))
    assert len(ids(second)) == 2


def test_page_and_api_walk_the_same_posts_through_their_next_links(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    tagged(HashtagFactory(name="바다"), 5)
    api = APIClient()
    through_api, answer = [], api.get("/api/search/", {"tag": "#바다"}).json()
    while True:
        through_api.append([p["id"] for p in answer["results"]])
        if answer["next"] is None:
            break
        assert answer["next"].startswith("http://testserver/api/search/?")
        answer = api.get(answer["next"]).json()
        assert answer["previous"] is not None
    assert through_api == walk(client, URL)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "....",
        "a" * 500,
        "bzE3MDAwMDAwMDAwMDAwMDAwLjU.AAAAAAAAAAAAAAAA",  # well formed, signature made up
        "%00",
    ],
)
def test_a_bad_cursor_is_a_clear_400_on_the_page_and_the_api(client, token: str) -> None:
    VerdictFactory(hashtag=HashtagFactory(name="바다"))
    page = client.get(URL, {"cursor": token})
    assert page.status_code == 400
    assert "damaged or has expired" in page.content.decode()
    assert f'href="{URL}"' in page.content.decode()  # a way back to the newest posts
    api = APIClient().get("/api/search/", {"tag": "바다", "cursor": token})
    assert api.status_code == 400
    assert "damaged or has expired" in api.json()["cursor"][0]


def test_an_edited_cursor_is_refused() -> None:
    token = SearchCursor(created_at=timezone.now(), post_id=41).encode()
    body, _, signature = token.partition(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b".41", b".42")
    edited = base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + signature
    with pytest.raises(InvalidCursor):
        SearchCursor.decode(edited)
    assert SearchCursor.decode(token).post_id == 41


def test_a_cursor_survives_its_round_trip_to_the_microsecond() -> None:
    when = timezone.now().replace(microsecond=123456)
    for older in (True, False):
        cursor = SearchCursor(created_at=when, post_id=2**40, older=older)
        assert SearchCursor.decode(cursor.encode()) == cursor


def test_old_numbered_page_links_show_the_newest_posts_and_are_not_counted(client) -> None:
    VerdictFactory(hashtag=HashtagFactory(name="바다"))
    for value in ("3", "x", "-1"):
        response = client.get(URL, {"page": value})
        assert response.status_code == 200
        assert len(ids(response)) == 1
        assert APIClient().get("/api/search/", {"tag": "바다", "page": value}).status_code == 200
    assert Hashtag.objects.get(name="바다").search_count == 0
    assert page_request({"page": "1"}).is_new_search


def test_only_the_first_page_counts_as_a_search(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 1
    tagged(HashtagFactory(name="바다"), 3)
    first = client.get(URL)
    second = client.get(URL + first.context["next_url"])
    client.get(URL + second.context["previous_url"])  # back to the top, by a link
    cursor = first.context["next_url"].split("cursor=")[1]
    APIClient().get("/api/search/", {"tag": "바다", "cursor": cursor})
    assert Hashtag.objects.get(name="바다").search_count == 1


def test_past_the_last_page_is_empty_with_a_way_back(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 2
    tag = HashtagFactory(name="바다")
    tagged(tag, 1)
    oldest = SearchCursor(created_at=timezone.now() - timedelta(days=30), post_id=1)
    response = client.get(URL, {"cursor": oldest.encode()})
    assert response.status_code == 200 and ids(response) == []
    assert "No older posts" in response.content.decode()
    assert 'rel="first"' in response.content.decode()


def queries_for(client: Any, url: str) -> int:
    # Each measurement is a fresh client's search: a client's repeat search is not counted
    # again (posts.services.hashtag_search_record), which would save the UPDATE.
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_tag_page_and_api_queries_do_not_grow_with_posts_or_depth(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    tag = HashtagFactory(name="바다")
    tagged(tag, 3)
    small = (queries_for(client, URL), queries_for(client, "/api/search/?tag=바다"))
    tagged(tag, 30)
    first = client.get(URL)
    deep = first
    for _ in range(10):
        deep = client.get(URL + deep.context["next_url"])
    assert len(ids(deep)) == 2
    big = (queries_for(client, URL), queries_for(client, "/api/search/?tag=바다"))
    later = queries_for(client, URL + deep.context["next_url"])
    api_deep = APIClient().get("/api/search/", {"tag": "바다"}).json()
    for _ in range(10):
        api_deep = APIClient().get(api_deep["next"]).json()
    later_api = queries_for(client, api_deep["next"])
    assert small == big, (small, big)
    # A later page is not a search (no search_count UPDATE): one query fewer, never more.
    assert later == big[0] - 1 and later_api == big[1] - 1, (later, later_api, big)
    # Lookup (with counts), search_count, rule (2), related hashtags, verdict keys, posts with
    # authors.
    assert big[0] == 7


def test_a_page_loads_authors_with_the_posts_in_one_query(django_assert_num_queries) -> None:
    tag = HashtagFactory(name="바다")
    tagged(tag, 5)
    with django_assert_num_queries(2):
        page = posts_relevant_for_hashtag(hashtag=tag, size=10)
        authors = [post.author.username for post in page.posts if post.author]
    assert len(authors) == 5
