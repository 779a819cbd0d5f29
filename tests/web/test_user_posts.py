"""A user's page lists every post of theirs, shown under its hashtags or not, pending or judged;
the API lists the same with ``?author=``."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse

from posts.models import Post
from posts.services import post_create
from tests.factories import UserFactory, jpeg_bytes
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db


def _notes(page: str) -> list[str]:
    notes = re.findall(r'<p class="grid-note[^"]*">(.*?)</p>', page, re.S)
    return [" ".join(note.split()) for note in notes]


def test_a_users_page_lists_their_posts_shown_or_not(
    client, django_capture_on_commit_callbacks
) -> None:
    hidden = judged_post(django_capture_on_commit_callbacks, ["카페"])  # nothing scores: hidden
    shown = judged_post(django_capture_on_commit_callbacks, ["카페", "연애"], food=0.95)
    shown.author = hidden.author
    shown.save(update_fields=["author"])
    someone_else = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.95)
    failed = post_create(author=hidden.author, image=io.BytesIO(jpeg_bytes()), hashtags=["카페"])
    Post.objects.filter(pk=failed.pk).update(
        status=Post.Status.FAILED, failure_reason="The photo could not be decoded."
    )
    pending = post_create(author=hidden.author, image=io.BytesIO(jpeg_bytes()), hashtags=["카페"])

    response = client.get(reverse("user-posts", kwargs={"username": hidden.author.username}))
    assert response.status_code == 200
    page = response.content.decode()
    linked = [int(i) for i in re.findall(r'href="/p/(\d+)/"', page)]
    assert linked == [pending.pk, failed.pk, shown.pk, hidden.pk]  # newest first
    assert someone_else.pk not in linked
    assert _notes(page) == [
        "대기 pending: being looked at",
        "실패 failed: The photo could not be decoded.",
        "shown under 1 of 2 hashtags",
        "shown under 0 of 1 hashtag",
    ]
    assert "게시물 4 posts" in page


def test_the_nav_and_the_post_page_link_to_the_users_page(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"])
    address = reverse("user-posts", kwargs={"username": post.author.username})
    assert f'href="{address}"' in client.get(f"/p/{post.pk}/").content.decode()
    client.force_login(post.author)
    assert f'href="{address}"' in client.get("/").content.decode()


def test_an_unknown_user_is_404_and_a_new_one_has_no_posts_yet(client) -> None:
    assert client.get(reverse("user-posts", kwargs={"username": "nobody-here"})).status_code == 404
    newcomer = UserFactory()
    client.force_login(newcomer)
    page = client.get(reverse("user-posts", kwargs={"username": newcomer.username}))
    assert "No posts yet" in page.content.decode() and "upload a photo" in page.content.decode()


def test_the_api_lists_one_authors_posts(client, django_capture_on_commit_callbacks) -> None:
    mine = judged_post(django_capture_on_commit_callbacks, ["카페"])
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.95)
    listed = client.get("/api/posts/", {"author": mine.author.username}).json()["results"]
    assert [row["id"] for row in listed] == [mine.pk]
    assert client.get("/api/posts/", {"author": "nobody-here"}).json()["results"] == []
    assert len(client.get("/api/posts/").json()["results"]) == 2
