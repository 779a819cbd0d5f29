"""The post page says what the people models saw: faces with their ages, people whose face is
not readable, or that they have not looked yet; the API gives one post the same reading."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from moderation.models import Embedding, TextExtraction
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
            "people:child": 0.164,
        },
    )
    line = _people_line(client, post.pk)
    assert "2 faces, aged about 8–38; 1 may be a child (16 % by the age model)" in line, line
    assert "1 person whose face is not readable, presumed adult" in line, line
    older = {"people:faces": 2.0, "people:children": 0.0, "people:adults": 3.0}
    _store(post.pk, {**older, "people:age_min": 37.6, "people:age_max": 38.2})
    line = _people_line(client, post.pk)
    assert "2 faces, aged about 38 · 1 person" in line and "child" not in line, line


def test_nobody_and_not_looked_for_are_told_apart(
    client, django_capture_on_commit_callbacks
) -> None:
    nobody = judged_post(django_capture_on_commit_callbacks, ["연애"])
    _store(nobody.pk, {"people:faces": 0.0, "people:children": 0.0, "people:adults": 0.0})
    assert _people_line(client, nobody.pk).endswith("nobody found")
    unseen = judged_post(django_capture_on_commit_callbacks, ["카페"])
    _store(unseen.pk, None)
    assert "not looked for in this photo" in _people_line(client, unseen.pk)


def test_the_api_gives_one_post_what_its_page_shows(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "연애"], food=0.93)
    ages = {"people:age_min": 30.4, "people:age_max": 30.4}
    _store(post.pk, {"people:faces": 1.0, "people:adults": 1.0, "people:child": 0.02, **ages})
    TextExtraction.objects.update_or_create(
        post=post,
        defaults={
            "engine": "test",
            "status": "ok",
            "text": "김치찌개 9,000원",
            "words": ["김치찌개"],
        },
    )
    seen = client.get(f"/api/posts/{post.pk}/").json()["seen"]
    scores = {row["concept"]: row for row in seen["concepts"]}
    assert scores["food"]["score"] == pytest.approx(0.93) and scores["food"]["present"]
    assert scores["beverage"]["score"] == 0.0 and scores["beverage"]["present"] is False
    # no score is unknown, not absent: a client must not read "no adult" into it
    assert scores["adult"]["score"] is None and scores["adult"]["present"] is None
    assert seen["people"] == {
        "looked": True,
        "faces": 1,
        "faces_aged_as_child": 0,
        "faceless_people": 0,
        "age_min": 30,
        "age_max": 30,
        "child_chance": 2,
    }
    assert _people_line(client, post.pk).endswith("1 face, aged about 30")
    assert seen["text"]["text"] == "김치찌개 9,000원" and seen["text"]["words"] == ["김치찌개"]
    assert seen["model_version"]
    listed = client.get("/api/posts/").json()["results"]
    assert [row["id"] for row in listed] == [post.pk] and "seen" not in listed[0]
    assert b"faceless_people" in client.get("/api/schema/").content


def test_the_api_says_a_post_not_yet_seen_was_not_seen(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"])
    post.classifications.all().delete()
    TextExtraction.objects.filter(post=post).delete()
    seen = client.get(f"/api/posts/{post.pk}/").json()["seen"]
    assert seen == {
        "model_version": None,
        "concepts": [],
        "people": None,
        "text": None,
        "top_labels": [],
    }
