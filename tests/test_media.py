"""Uploaded photos are served from the local media folder with DEBUG off too (make serve shows
them without a proxy), and nothing else under it: no other file, no listing, no writes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_the_post_pages_photo_is_served_with_debug_off(client, settings) -> None:
    settings.DEBUG = False
    post = PostFactory()
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    src = re.search(r'<img[^>]+src="(/media/[^"]+)"', page)
    assert src, "the post page shows no local photo"
    response = client.get(src.group(1))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == post.image.read()
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "max-age=86400"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.head(src.group(1)).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["posts/", "..%2Fconftest.py", "../conftest.py", "posts/nothing-here.jpg", "%2Fetc/passwd"],
)
def test_nothing_but_a_file_under_the_folder(client, path: str) -> None:
    PostFactory()
    assert client.get("/media/" + path).status_code == 404


def test_no_writes_and_off_where_a_proxy_serves_the_folder(client, settings) -> None:
    post = PostFactory()
    url = post.image.url
    assert client.post(url).status_code == 405
    settings.TAGLENS_SERVE_MEDIA = False
    assert client.get(url).status_code == 404
