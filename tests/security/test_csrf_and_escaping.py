"""CSRF on every form, and hostile text escaped wherever it is shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from moderation.models import Verdict
from posts.models import Post
from tests.factories import (
    HashtagFactory,
    ModeratorFactory,
    PostFactory,
    UserFactory,
    VerdictFactory,
    upload,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HOSTILE = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>"
RAW_MARKERS = ("<script>alert(1)", "<img src=x onerror")


def test_every_post_form_in_the_templates_carries_a_csrf_token() -> None:
    forms = 0
    for template in TEMPLATES.rglob("*.html"):
        for form in re.findall(r"<form\b[^>]*>.*?</form>", template.read_text(), re.S | re.I):
            if re.search(r'method="post"', form, re.I):
                forms += 1
                assert "{% csrf_token %}" in form, f"{template}: a POST form without csrf_token"
    assert forms >= 4  # upload, login, signup, logout


@pytest.mark.django_db
def test_the_upload_and_login_forms_refuse_a_post_without_the_csrf_token() -> None:
    browser = Client(enforce_csrf_checks=True)
    user = UserFactory()
    assert browser.post(reverse("login"), {"username": user.username}).status_code == 403
    browser.force_login(user)
    response = browser.post(reverse("post-upload"), {"image": upload(), "hashtags": "#카페"})
    assert response.status_code == 403
    assert Post.objects.count() == 0


@pytest.mark.django_db
def test_the_api_needs_csrf_with_a_session_but_not_with_a_token() -> None:
    user = UserFactory()
    session = APIClient(enforce_csrf_checks=True)
    session.login(username=user.username, password="pw-for-tests-only")
    data = {"image": upload(), "hashtags": "#카페"}
    response = session.post("/api/posts/", data, format="multipart")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    token = APIClient(enforce_csrf_checks=True)
    token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert token.post("/api/posts/", {"image": upload(), "hashtags": "#카페"}).status_code == 201


@pytest.mark.django_db
def test_login_never_redirects_to_another_site(client) -> None:
    user = UserFactory()
    response = client.post(
        reverse("login") + "?next=https://evil.example/",
        {"username": user.username, "password": "pw-for-tests-only"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.fixture
def hostile_post(db) -> Post:  # type: ignore[no-untyped-def]
    post = PostFactory(caption=HOSTILE)
    VerdictFactory(
        post=post,
        hashtag=HashtagFactory(name="카페"),
        shown=True,
        override=True,
        override_by=ModeratorFactory(),
        override_note=HOSTILE[:200],
    )
    return post


def assert_escaped(body: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in body
    assert "&lt;script&gt;alert(1)" in body


@pytest.mark.parametrize("page", ["post", "tag", "home"])
def test_a_hostile_caption_and_note_are_escaped_on_the_pages(
    client, hostile_post: Post, page: str
) -> None:
    url = {
        "post": reverse("post-detail", kwargs={"post_id": hostile_post.pk}),
        "tag": reverse("explore-tag", kwargs={"tag": "카페"}),
        "home": reverse("home"),
    }[page]
    response = client.get(url)
    assert response.status_code == 200
    assert_escaped(response.content.decode())


@pytest.mark.parametrize(
    "url_name", ["admin:posts_post_change", "admin:posts_post_changelist", "verdicts"]
)
def test_a_hostile_caption_is_escaped_in_the_admin(client, hostile_post: Post, url_name) -> None:
    client.force_login(ModeratorFactory(is_staff=True, is_superuser=True))
    if url_name == "admin:posts_post_change":
        url = reverse(url_name, args=[hostile_post.pk])
    elif url_name == "verdicts":
        verdict = Verdict.objects.get(post=hostile_post)
        url = reverse("admin:moderation_verdict_change", args=[verdict.pk])
    else:
        url = reverse(url_name) + "?q=" + "%3Cscript%3Ealert(1)%3C/script%3E"
    body = client.get(url).content.decode()
    for marker in RAW_MARKERS:
        assert marker not in body


@pytest.mark.django_db
def test_a_hostile_search_is_escaped_on_the_error_page(client) -> None:
    response = client.get(reverse("search"), {"q": HOSTILE})
    assert response.status_code == 400
    assert_escaped(response.content.decode())


def test_the_api_returns_hostile_text_as_json_data_never_as_html(hostile_post: Post) -> None:
    api = APIClient()
    response = api.get(f"/api/posts/{hostile_post.pk}/")
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["caption"] == HOSTILE
    browsable = api.get(f"/api/posts/{hostile_post.pk}/", HTTP_ACCEPT="text/html")
    assert browsable["Content-Type"].startswith("text/html")
    for marker in RAW_MARKERS:
        assert marker not in browsable.content.decode()
    docs = api.get("/api/docs/").content.decode()
    assert HOSTILE not in docs


@pytest.mark.django_db
def test_a_hashtag_cannot_carry_markup() -> None:
    api = APIClient()
    api.force_authenticate(UserFactory())
    response = api.post(
        "/api/posts/", {"image": upload(), "hashtags": "<script>"}, format="multipart"
    )
    assert response.status_code == 400
    assert Post.objects.count() == 0


@pytest.mark.django_db
def test_bidi_controls_are_taken_out_of_captions_and_comments(client) -> None:
    """U+202E would show "txet LTR" for what is stored as "RTL text" (Trojan Source)."""
    author = UserFactory()
    client.force_login(author)
    hostile = "good \u202eRTL text\u202c and \u2067isolated\u2069 שלום"
    client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#x", "caption": hostile})
    post = Post.objects.get()
    assert post.caption == "good RTL text and isolated שלום"  # right-to-left letters stay
    api = APIClient()
    api.force_authenticate(author)
    api.patch(f"/api/posts/{post.pk}/", {"caption": "\u202dnew"}, format="json")
    post.refresh_from_db()
    assert post.caption == "new"
    api.post("/api/comments/", {"post": post.pk, "text": "\u202eok"})
    assert post.comments.get().text == "ok"
