"""A person deletes their account with their password: their posts (and files), their comments
on others' posts (those judged again without their words) and their reports go with it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.authtoken.models import Token

from moderation.judging.review import verdict_report
from moderation.models import Concept, HashtagStats, VerdictReport
from posts.models import Comment, Post
from posts.services import comment_create
from tests.factories import ModeratorFactory, UserFactory
from tests.web.judged import judged_post, verdict

pytestmark = pytest.mark.django_db

PASSWORD = "Xk29!abcQ-long"


def test_the_account_goes_with_its_posts_comments_and_reports(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    leaving = UserFactory(username="leaving")
    leaving.set_password(PASSWORD)
    leaving.save()
    mine = judged_post(capture, ["카페"], food=0.9)
    Post.objects.filter(pk=mine.pk).update(author=leaving)
    threshold = Concept.objects.get(key="food").threshold
    theirs = judged_post(capture, ["음식"], food=round(threshold * 0.8, 4))  # a word decides
    other = judged_post(capture, ["카페"], food=0.9)
    with capture(execute=True):
        comment_create(post=theirs, author=leaving, text="여기 마라탕 맛집이에요")
        comment_create(post=mine, author=theirs.author, text="좋아요")
    verdict_report(verdict=verdict(other, "카페"), by=leaving)
    assert verdict(theirs, "음식").shown
    files = [mine.image.name, mine.thumbnail.name]
    assert all(default_storage.exists(f) for f in files)

    client.force_login(leaving)
    page = client.get("/u/leaving/").content.decode()
    assert 'href="/accounts/delete/"' in page
    assert "cannot be undone" in client.get(reverse("account-delete")).content.decode()
    wrong = client.post(reverse("account-delete"), {"password": "nope"})
    assert wrong.status_code == 400 and "The password is wrong" in wrong.content.decode()
    assert Post.objects.filter(pk=mine.pk).exists() and Comment.objects.count() == 2

    with capture(execute=True):
        done = client.post(reverse("account-delete"), {"password": PASSWORD}, follow=True)
    assert "Your account and its 1 post are deleted" in done.content.decode()
    assert not get_user_model().objects.filter(username="leaving").exists()
    assert not Post.objects.filter(pk=mine.pk).exists()
    assert not any(default_storage.exists(f) for f in files)
    assert not Comment.objects.exists()  # theirs on the other post, and the one under theirs
    assert not verdict(theirs, "음식").shown  # judged again without the comment's word
    assert not VerdictReport.objects.exists()
    assert HashtagStats.objects.get(hashtag__name="카페").shown == 1  # the other post only
    assert client.get("/upload/").status_code == 302  # signed out


def test_staff_accounts_and_the_api(client, django_capture_on_commit_callbacks) -> None:
    moderator = ModeratorFactory(is_staff=True)
    moderator.set_password(PASSWORD)
    moderator.save()
    client.force_login(moderator)
    page = client.get(reverse("account-delete")).content.decode()
    assert "closed by an operator" in page and 'name="password"' not in page
    assert client.post(reverse("account-delete"), {"password": PASSWORD}).status_code == 400
    assert get_user_model().objects.filter(pk=moderator.pk).exists()

    user = UserFactory()
    user.set_password(PASSWORD)
    user.save()
    auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}
    assert client.post("/api/account/delete/", {"password": "x"}, **auth).status_code == 403
    assert client.post("/api/account/delete/", {"password": PASSWORD}, **auth).status_code == 204
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert client.get("/api/activity/", **auth).status_code == 401
