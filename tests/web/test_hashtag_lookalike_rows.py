"""Look-alike hashtags are refused at upload with the reason and nothing stored; ones stored
before the rule are reported by `manage.py hashtags_check` and kept."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from posts.models import Hashtag, Post
from tests.factories import HashtagFactory, PostFactory, UserFactory, upload

pytestmark = pytest.mark.django_db


def test_an_upload_with_a_filler_appended_to_a_real_tag_is_refused_and_nothing_stored() -> None:
    api = APIClient()
    api.force_authenticate(UserFactory())
    response = api.post(
        "/api/posts/", {"image": upload(), "hashtags": "#카페\u3164"}, format="multipart"
    )
    assert response.status_code == 400
    assert "U+3164 HANGUL FILLER" in str(response.json())
    assert Post.objects.count() == 0 and not Hashtag.objects.filter(name="카페\u3164").exists()


def test_hashtags_check_reports_stored_look_alikes_and_keeps_them() -> None:
    bad = HashtagFactory(name="cаfe")  # stored before the rule: a Cyrillic а
    post = PostFactory()
    post.hashtags.add(bad)
    HashtagFactory(name="카페")
    out = io.StringIO()
    call_command("hashtags_check", stdout=out)
    report = out.getvalue()
    assert "'cаfe'" in report and "1 posts" in report and "mixes Latin letters" in report
    assert "1 stored hashtags would be refused today; none changed." in report
    assert Hashtag.objects.filter(pk=bad.pk).exists() and post.hashtags.get() == bad
    with pytest.raises(CommandError):
        call_command("hashtags_check", "--fail", stdout=io.StringIO())


def test_a_stored_tag_without_a_letter_is_still_searched_though_no_longer_given(client) -> None:
    year = HashtagFactory(name="2024")  # stored before tags needed a letter
    PostFactory().hashtags.add(year)
    assert client.get("/explore/tags/2024/").status_code == 200
    assert client.get("/search/", {"q": "#2024"})["Location"].endswith("/explore/tags/2024/")
    found = APIClient().get("/api/search/", {"tag": "2024"})
    assert found.status_code == 200 and found.json()["tag"] == "2024"
    api = APIClient()
    api.force_authenticate(UserFactory())
    refused = api.post("/api/posts/", {"image": upload(), "hashtags": "#2024"}, format="multipart")
    assert refused.status_code == 400 and "no letter" in str(refused.json())


def test_the_empty_page_of_a_tag_that_cannot_be_given_does_not_invite_an_upload(client) -> None:
    page = client.get("/explore/tags/123/").content.decode()
    assert "No posts with #123 yet." in page and "it has no letter" in page
    assert "Upload</a> one?" not in page
    assert "Upload</a> one?" in client.get("/explore/tags/latte/").content.decode()
