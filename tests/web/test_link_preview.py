"""Pages say what a link preview (messengers, social sites) shows: a post its author, caption
and photo at an absolute address; a hashtag page its hashtag."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db


def meta(html: str, name: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{name}" content="([^"]*)">', html)
    assert found is not None, name
    return unescape(found.group(1))


def test_a_post_a_hashtag_and_home_describe_themselves_for_previews(
    client, django_capture_on_commit_callbacks: Any
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    type(post).objects.filter(pk=post.pk).update(caption="오늘의 라떼 <3")
    page = client.get(f"/p/{post.pk}/").content.decode()
    assert meta(page, "og:title") == f"@{post.author.username} · TagLens"
    assert meta(page, "og:description") == "오늘의 라떼 <3"
    assert meta(page, "og:image").startswith("http://testserver/")
    assert meta(page, "og:image").endswith(post.thumbnail.url.rsplit("/", 1)[1])
    assert meta(page, "og:url") == f"http://testserver/p/{post.pk}/"

    tag = client.get("/explore/tags/카페/").content.decode()
    assert meta(tag, "og:title") == "#카페 · TagLens"
    assert "og:image" not in tag
    assert meta(client.get("/").content.decode(), "og:site_name") == "TagLens"
