"""Home's recent posts go on at /explore/ (and GET /api/explore/): every post shown under some
hashtag, newest first, a page at a time; posts hidden under all their hashtags are not there."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db


def grid_ids(html: str) -> list[int]:
    grid = html.split('<ul class="grid">', 1)[1].split("</ul>", 1)[0]
    return [int(found) for found in re.findall(r'href="/p/(\d+)/"', grid)]


def test_recent_posts_page_on_past_the_home_page(
    client, settings: Any, django_capture_on_commit_callbacks: Any, monkeypatch
) -> None:
    capture = django_capture_on_commit_callbacks
    shown = [judged_post(capture, ["카페"], food=0.9).pk for _ in range(5)]
    hidden = judged_post(capture, ["카페"], cat=0.9).pk
    settings.TAGLENS_PAGE_SIZE = 2
    monkeypatch.setattr("moderation.web.pages.HOME_RECENT", 3)

    home = client.get("/").content.decode()
    assert grid_ids(home) == shown[::-1][:3]
    more = unescape(re.search(r'href="(/explore/\?cursor=[^"]+)" rel="next"', home).group(1))

    seen = grid_ids(client.get("/explore/").content.decode())
    page = client.get(more).content.decode()
    seen_after_home = grid_ids(page)
    assert seen == shown[::-1][:2] and hidden not in seen
    assert seen_after_home == shown[::-1][3:5]
    assert 'rel="next"' not in page and 'href="/explore/" rel="first"' in page

    bad = client.get("/explore/", {"cursor": "damaged"})
    assert bad.status_code == 400 and "damaged or has expired" in bad.content.decode()


def test_the_api_pages_through_the_same_posts(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    shown = [judged_post(capture, ["카페"], food=0.9).pk for _ in range(3)]
    judged_post(capture, ["카페"], cat=0.9)  # hidden under its only hashtag
    settings.TAGLENS_PAGE_SIZE = 2
    api = APIClient()
    first = api.get("/api/explore/").json()
    assert [p["id"] for p in first["results"]] == shown[::-1][:2]
    second = api.get(first["next"]).json()
    assert [p["id"] for p in second["results"]] == shown[:1] and second["next"] is None
    bad = api.get("/api/explore/", {"cursor": "damaged"})
    assert bad.status_code == 400 and "cursor" in bad.json()
