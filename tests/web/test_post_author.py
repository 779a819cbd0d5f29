"""The author edits or deletes their post (page and API): a deletion takes the row, its verdicts,
comments and files, and counts its hashtags again; anyone else gets 403 and nothing changes."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.test import APIClient

from mlmodels.fake import FakeClassifier
from moderation.models import HashtagStats, Verdict
from posts.models import Comment, Post
from tests.factories import UserFactory, upload

pytestmark = pytest.mark.django_db

DRINK = {"food": 0.0, "beverage": 0.95, "animal": 0.0, "dog": 0.0, "cat": 0.0, "flower": 0.0}


@pytest.fixture
def post(client, django_capture_on_commit_callbacks) -> Post:  # type: ignore[no-untyped-def]
    FakeClassifier.next_scores = {**DRINK, "mountain": 0.0, "sea": 0.0, "gym": 0.0}
    author = UserFactory()
    client.force_login(author)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#카페"})
        created = Post.objects.get()
        Comment.objects.create(post=created, author=UserFactory(), text="맛있겠다")
    assert HashtagStats.objects.get(hashtag__name="카페").shown == 1
    return created


def test_the_author_confirms_and_the_post_is_gone_with_its_files(
    client, post: Post, django_capture_on_commit_callbacks
) -> None:
    files = [post.image.name, post.thumbnail.name]
    assert all(default_storage.exists(name) for name in files)
    url = reverse("post-delete", args=[post.pk])
    assert "Delete this post?" in client.get(url).content.decode()
    assert Post.objects.filter(pk=post.pk).exists()  # asking is not deleting
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302 and response.url == "/"
    assert not Post.objects.filter(pk=post.pk).exists()
    assert not Verdict.objects.exists() and not Comment.objects.exists()
    assert not any(default_storage.exists(name) for name in files)
    assert HashtagStats.objects.get(hashtag__name="카페").shown == 0
    assert client.get(reverse("post-detail", args=[post.pk])).status_code == 404


def test_the_post_page_offers_deletion_to_its_author_only(client, post: Post) -> None:
    link = reverse("post-delete", args=[post.pk])
    assert link in client.get(reverse("post-detail", args=[post.pk])).content.decode()
    client.force_login(UserFactory())
    assert link not in client.get(reverse("post-detail", args=[post.pk])).content.decode()
    assert client.post(link).status_code == 403
    client.logout()
    assert client.post(link).status_code == 302  # to the login page
    assert Post.objects.filter(pk=post.pk).exists()


def test_the_api_deletes_for_the_author_and_refuses_others(
    post: Post, django_capture_on_commit_callbacks
) -> None:
    api = APIClient()
    assert api.delete(f"/api/posts/{post.pk}/").status_code == 401
    api.force_authenticate(UserFactory())
    assert api.delete(f"/api/posts/{post.pk}/").status_code == 403
    assert Post.objects.filter(pk=post.pk).exists()
    api.force_authenticate(post.author)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/posts/{post.pk}/").status_code == 204
    assert not Post.objects.filter(pk=post.pk).exists()
    assert api.delete(f"/api/posts/{post.pk}/").status_code == 404


def test_the_author_edits_caption_and_hashtags_on_the_web(
    client, post: Post, django_capture_on_commit_callbacks
) -> None:
    url = reverse("post-edit", args=[post.pk])
    form = client.get(url).content.decode()
    assert 'value="#카페"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"caption": "아이스 라떼", "hashtags": "#카페 #고양이"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.caption == "아이스 라떼"
    shown = dict(Verdict.objects.filter(post=post).values_list("hashtag__name", "shown"))
    assert shown == {"카페": True, "고양이": False}


def test_a_bad_edit_says_why_and_changes_nothing(client, post: Post) -> None:
    url = reverse("post-edit", args=[post.pk])
    response = client.post(url, {"caption": "x", "hashtags": "#카페 #cafe!"})
    assert response.status_code == 400
    assert "use only letters, digits and _" in response.content.decode()
    post.refresh_from_db()
    assert post.caption == "" and list(post.hashtags.values_list("name", flat=True)) == ["카페"]
    client.force_login(UserFactory())
    assert client.post(url, {"caption": "mine now", "hashtags": "#x"}).status_code == 403
    post.refresh_from_db()
    assert post.caption == ""
