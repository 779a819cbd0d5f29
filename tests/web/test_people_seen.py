"""The post page says what the people models saw: faces with their ages, people whose face is
not readable, or that they have not looked yet."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from moderation.models import Embedding
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db


def _people_line(client, post_id: int) -> str:
    page = client.get(reverse("post-detail", kwargs={"post_id": post_id})).content.decode()
    found = re.search(r'<p class="people[^"]*">(.*?)</p>', page, re.S)
    assert found, "the post page has no people line"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def _store(post_id: int, signals: dict[str, float] | None) -> None:
    embedding = Embedding.objects.get(post_id=post_id)
    embedding.signals = {**embedding.signals, **(signals or {})}
    embedding.signal_versions = {"people": "people-lite-test"} if signals is not None else {}
    embedding.save()


def test_faces_with_their_ages_and_faceless_people(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["연애"])
    _store(
        post.pk,
        {
            "people:faces": 2.0,
            "people:children": 1.0,
            "people:adults": 2.0,  # one adult face and one body without a readable face
            "people:age_min": 7.6,
            "people:age_max": 38.2,
        },
    )
    line = _people_line(client, post.pk)
    assert "2 faces, aged about 8–38 (1 aged as a child)" in line, line
    assert "1 person whose face is not readable, presumed adult" in line, line
    _store(post.pk, {"people:faces": 2.0, "people:age_min": 37.6, "people:age_max": 38.2})
    assert "2 faces, aged about 38 " in _people_line(client, post.pk) + " "


def test_nobody_and_not_looked_for_are_told_apart(
    client, django_capture_on_commit_callbacks
) -> None:
    nobody = judged_post(django_capture_on_commit_callbacks, ["연애"])
    _store(nobody.pk, {"people:faces": 0.0, "people:children": 0.0, "people:adults": 0.0})
    assert _people_line(client, nobody.pk).endswith("nobody found")
    unseen = judged_post(django_capture_on_commit_callbacks, ["카페"])
    _store(unseen.pk, None)
    assert "not looked for in this photo" in _people_line(client, unseen.pk)
