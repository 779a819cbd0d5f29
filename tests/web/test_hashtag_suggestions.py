"""Hashtags suggested as someone types: those in use that start with what was typed, most
shown first, then those a rule judges that show nothing yet (`GET /api/hashtags/`, and the
page of a hashtag no post carries)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(django_capture_on_commit_callbacks: Any) -> None:
    capture = django_capture_on_commit_callbacks
    for _ in range(2):
        judged_post(capture, ["카페라떼"], beverage=0.9)
    judged_post(capture, ["카페"], food=0.9)
    judged_post(capture, ["카페인"], cat=0.9)  # no rule: shown
    judged_post(capture, ["음식"], cat=0.9)  # its rule hides it: nothing shown under #음식
    judged_post(capture, ["Cafe"], food=0.9)
    judged_post(capture, ["라떼"], beverage=0.9)


def names(answer: Any) -> list[str]:
    return [row["name"] for row in answer.json()["results"]]


def test_hashtags_starting_with_the_prefix_most_shown_first(tagged: None) -> None:
    api = APIClient()
    answer = api.get("/api/hashtags/", {"prefix": "#카페"})
    assert answer.status_code == 200
    assert answer.json()["prefix"] == "카페"
    # Ties by name; not #라떼; then #카페스타그램, mapped to the 카페 rule but shown nowhere.
    assert names(answer) == ["카페라떼", "카페", "카페인", "카페스타그램"]
    assert answer.json()["results"][3]["shown"] == 0
    first = answer.json()["results"][0]
    assert first["shown"] == 2
    assert first["url"].endswith("/explore/tags/%EC%B9%B4%ED%8E%98%EB%9D%BC%EB%96%BC/")
    assert api.get(first["search"]).json()["count"] == 2
    judged = api.get("/api/hashtags/", {"prefix": "음"}).json()["results"]
    assert [(h["name"], h["shown"]) for h in judged] == [("음료", 0), ("음식", 0)]  # rules
    assert names(api.get("/api/hashtags/", {"prefix": "CA"}))[0] == "cafe"  # case-folded
    assert names(api.get("/api/hashtags/", {"prefix": "zq"})) == []
    assert names(api.get("/api/hashtags/", {"prefix": "카", "limit": 1})) == ["카페라떼"]
    everything = names(api.get("/api/hashtags/", {"prefix": ""}))
    assert everything[0] == "카페라떼" and "음식" not in everything and len(everything) == 5


def test_a_bad_prefix_or_limit_is_a_clear_400() -> None:
    api = APIClient()
    bad = api.get("/api/hashtags/", {"prefix": "카 페"})
    assert bad.status_code == 400 and "one word" in bad.json()["prefix"][0]
    assert api.get("/api/hashtags/", {"limit": 0}).status_code == 400
    assert "20" in api.get("/api/hashtags/", {"limit": 21}).json()["limit"][0]


def test_suggestions_have_their_own_throttle(tagged: None, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"suggest_anon": "2/minute", "search_anon": "60/minute"},
    }
    api = APIClient(REMOTE_ADDR="192.0.2.7")
    for _ in range(2):
        assert api.get("/api/hashtags/", {"prefix": "카"}).status_code == 200
    assert api.get("/api/hashtags/", {"prefix": "카"}).status_code == 429
    assert api.get("/api/search/", {"tag": "카페"}).status_code == 200


def test_the_page_of_a_hashtag_no_post_carries_names_those_it_starts(tagged: None, client) -> None:
    page = client.get("/explore/tags/카/").content.decode()
    assert "Hashtags starting with #카" in page
    section = page.split("Hashtags starting with #카", 1)[1]
    assert section.index("#카페라떼") < section.index("#카페 ") < section.index("#카페인")
    assert "Hashtags starting with" not in client.get("/explore/tags/카페/").content.decode()
    assert "Hashtags starting with" not in client.get("/explore/tags/zzz/").content.decode()
    assert "Hashtags starting with" not in client.get("/explore/tags/음/").content.decode()


def test_a_search_typed_as_words_names_the_hashtags_in_use_it_may_mean(
    client, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    judged_post(capture, ["강남카페"], food=0.9)
    for _ in range(2):
        judged_post(capture, ["카페"], food=0.9)
    judged_post(capture, ["강남"], cat=0.9)  # no rule: shown
    answer = client.get("/search/", {"q": "강남 카페"})
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "contains a space" in page and "Did you mean" in page
    chips = page.split("Did you mean", 1)[1]
    assert chips.index("#카페 ") < chips.index("#강남 ") and "#강남카페" in chips
    assert "Did you mean" not in client.get("/search/", {"q": "없는 단어"}).content.decode()
