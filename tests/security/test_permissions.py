"""Who may do what: authors edit their own posts, moderators override and edit rules,
tokens authenticate, nobody else gets in."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from moderation.models import Concept, KeywordMapping, Rule
from posts.models import Post
from posts.signals import post_hashtags_changed
from tests.factories import (
    HashtagFactory,
    ModeratorFactory,
    PostFactory,
    UserFactory,
    VerdictFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def tagged_post(author: Any, *tags: str) -> Post:
    post = PostFactory(author=author, caption="before")
    for position, name in enumerate(tags):
        post.post_hashtags.create(hashtag=HashtagFactory(name=name), position=position)
    return post


def test_the_author_changes_the_caption_through_the_api(api) -> None:
    author = UserFactory()
    post = tagged_post(author, "카페")
    api.force_authenticate(author)
    response = api.patch(f"/api/posts/{post.pk}/", {"caption": "after"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["caption"] == "after"
    post.refresh_from_db()
    assert post.caption == "after"


@pytest.mark.parametrize("who", ["anonymous", "another user", "a moderator"])
def test_nobody_but_the_author_edits_a_post(api, who: str) -> None:
    post = tagged_post(UserFactory(), "카페")
    if who == "another user":
        api.force_authenticate(UserFactory())
    elif who == "a moderator":
        api.force_authenticate(ModeratorFactory())
    response = api.patch(
        f"/api/posts/{post.pk}/", {"caption": "mine now", "hashtags": "#x"}, format="json"
    )
    assert response.status_code in ((401, 403) if who == "anonymous" else (403,))
    post.refresh_from_db()
    assert post.caption == "before"
    assert [t.name for t in post.hashtags.all()] == ["카페"]


def test_a_hashtag_edit_replaces_the_list_and_sends_the_named_signal(api) -> None:
    author = UserFactory()
    post = tagged_post(author, "카페", "고양이")
    received: list[dict[str, Any]] = []

    def receiver(sender: type[Post], **kwargs: Any) -> None:
        received.append(kwargs)

    post_hashtags_changed.connect(receiver, dispatch_uid="test-receiver")
    try:
        api.force_authenticate(author)
        response = api.patch(
            f"/api/posts/{post.pk}/", {"hashtags": ["#Cat", "고양이"]}, format="json"
        )
        unchanged = api.patch(f"/api/posts/{post.pk}/", {"hashtags": "cat 고양이"}, format="json")
    finally:
        post_hashtags_changed.disconnect(dispatch_uid="test-receiver")
    assert response.status_code == 200, response.content
    assert response.json()["hashtags"] == ["cat", "고양이"]
    assert unchanged.status_code == 200
    assert len(received) == 1  # the second request changed nothing
    assert received[0]["post"].pk == post.pk
    assert (received[0]["added"], received[0]["removed"]) == (["cat"], ["카페"])


def test_a_bad_hashtag_edit_is_refused_and_changes_nothing(api) -> None:
    author = UserFactory()
    post = tagged_post(author, "카페")
    api.force_authenticate(author)
    response = api.patch(
        f"/api/posts/{post.pk}/", {"caption": "new", "hashtags": "<script>"}, format="json"
    )
    assert response.status_code == 400
    assert "hashtags" in response.json()
    empty = api.patch(f"/api/posts/{post.pk}/", {"hashtags": ""}, format="json")
    assert empty.status_code == 400
    post.refresh_from_db()
    assert post.caption == "before"
    assert [t.name for t in post.hashtags.all()] == ["카페"]


def test_posts_cannot_be_replaced_and_only_their_author_deletes_them(api) -> None:
    author = UserFactory()
    post = tagged_post(author, "카페")
    api.force_authenticate(author)
    assert api.put(f"/api/posts/{post.pk}/", {"caption": "x"}, format="json").status_code == 405
    api.force_authenticate(ModeratorFactory())  # moderators hide posts; they do not delete them
    assert api.delete(f"/api/posts/{post.pk}/").status_code == 403
    assert Post.objects.filter(pk=post.pk).exists()


def test_the_author_of_a_post_cannot_override_its_verdicts(api) -> None:
    author = UserFactory()
    verdict = VerdictFactory(post=PostFactory(author=author), shown=False)
    api.force_authenticate(author)
    response = api.post(f"/api/verdicts/{verdict.pk}/override/", {"relevant": True})
    assert response.status_code == 403
    verdict.refresh_from_db()
    assert verdict.shown is False


@pytest.mark.parametrize(
    ("url", "payload"),
    [
        ("/api/concepts/", {"key": "cake", "name_ko": "케이크", "name_en": "cake"}),
        ("/api/keywords/", {"word": "tiramisu", "rule": "카페"}),
        ("/api/rules/", {"hashtag": "디저트", "expression": "food"}),
    ],
)
def test_signed_in_users_cannot_change_the_catalog(api, url: str, payload: dict) -> None:
    counts = (Concept.objects.count(), KeywordMapping.objects.count(), Rule.objects.count())
    api.force_authenticate(UserFactory(is_staff=True))
    assert api.post(url, payload, format="json").status_code == 403
    rule = Rule.objects.get(hashtag="카페")
    assert api.patch(f"/api/rules/{rule.pk}/", {"expression": "dog"}).status_code == 403
    assert api.delete(f"/api/rules/{rule.pk}/").status_code == 403
    assert (Concept.objects.count(), KeywordMapping.objects.count(), Rule.objects.count()) == (
        counts
    )
    assert Rule.objects.get(hashtag="카페").expression == "food or beverage"


def test_staff_without_moderator_rights_cannot_edit_rules_in_the_admin(client) -> None:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_rule"))
    client.force_login(staff)
    rule = Rule.objects.get(hashtag="카페")
    url = reverse("admin:moderation_rule_change", args=[rule.pk])
    assert client.get(url).status_code == 200  # may look
    response = client.post(url, {"hashtag": "카페", "expression": "dog", "description": ""})
    assert response.status_code == 403
    assert Rule.objects.get(hashtag="카페").expression == "food or beverage"


def test_a_token_authenticates_and_a_wrong_token_does_not(api) -> None:
    moderator = ModeratorFactory()
    verdict = VerdictFactory(shown=True)
    url = f"/api/verdicts/{verdict.pk}/override/"
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    # 403 rather than 401: session authentication comes first and sends no challenge.
    assert api.post(url, {"relevant": False}, format="json").status_code in (401, 403)
    assert not verdict.__class__.objects.filter(pk=verdict.pk, shown=False).exists()
    api.credentials()
    token = api.post(
        "/api/auth/token/", {"username": moderator.username, "password": "pw-for-tests-only"}
    ).json()["token"]
    assert Token.objects.get(user=moderator).key == token
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post(url, {"relevant": False}, format="json").status_code == 200
    verdict.refresh_from_db()
    assert verdict.shown is False


def test_a_wrong_password_gets_no_token(api) -> None:
    user = UserFactory()
    response = api.post("/api/auth/token/", {"username": user.username, "password": "guess"})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_malformed_id_is_a_json_404_everywhere_in_the_api(api) -> None:
    # Found by the schemathesis fuzz test: the override action answered 500.
    api.force_authenticate(ModeratorFactory())
    for method, url in [
        ("post", "/api/verdicts/abc/override/"),
        ("get", "/api/posts/1.5/"),
        ("get", "/api/no-such-thing/"),
    ]:
        response = getattr(api, method)(url, {"relevant": True}, format="json")
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
