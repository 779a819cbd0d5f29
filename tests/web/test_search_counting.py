"""A search is counted once per client per hashtag per window, and the HTML tag page is
throttled like the search API, from the same budget."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from posts.models import Hashtag
from posts.services import hashtag_search_record
from tests.factories import HashtagFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("explore-tag", kwargs={"tag": "바다"})


def count() -> int:
    return Hashtag.objects.get(name="바다").search_count


def test_one_client_searching_again_and_again_is_counted_once(client) -> None:
    HashtagFactory(name="바다")
    for _ in range(5):
        assert client.get(URL).status_code == 200
    APIClient().get("/api/search/", {"tag": "바다"})  # the same address, through the API
    assert count() == 1


def test_different_clients_and_signed_in_users_are_each_counted(client) -> None:
    HashtagFactory(name="바다")
    client.get(URL, REMOTE_ADDR="192.0.2.1")
    client.get(URL, REMOTE_ADDR="192.0.2.2")
    client.force_login(UserFactory())
    client.get(URL, REMOTE_ADDR="192.0.2.1")
    client.get(URL, REMOTE_ADDR="192.0.2.3")  # the same user from elsewhere: already counted
    assert count() == 3


def test_a_client_is_counted_again_after_the_window(settings) -> None:
    settings.TAGLENS_SEARCH_COUNT_WINDOW = 3600
    tag = HashtagFactory(name="바다")
    assert hashtag_search_record(hashtag_id=tag.pk, client="addr:192.0.2.1") is True
    assert hashtag_search_record(hashtag_id=tag.pk, client="addr:192.0.2.1") is False
    cache.clear()  # the window has passed
    assert hashtag_search_record(hashtag_id=tag.pk, client="addr:192.0.2.1") is True
    assert count() == 2


def test_the_html_tag_page_is_throttled_and_shares_the_api_budget(client, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"search_anon": "3/minute", "search_user": "240/minute"},
    }
    HashtagFactory(name="바다")
    assert client.get(URL).status_code == 200
    assert APIClient().get("/api/search/", {"tag": "바다"}).status_code == 200
    assert client.get(URL).status_code == 200
    refused = client.get(URL)
    assert refused.status_code == 429
    assert "Too many searches" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert APIClient().get("/api/search/", {"tag": "바다"}).status_code == 429
    # Another client is not affected.
    assert client.get(URL, REMOTE_ADDR="192.0.2.7").status_code == 200
