"""Upload → queued task → classification → verdicts, with the fake classifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from mlmodels.fake import FakeClassifier
from moderation.ingest.batches import classification_run
from moderation.judging.verdicts import verdicts_explain
from moderation.models import Classification, Embedding, Verdict
from posts.models import Post
from tests.factories import UserFactory, jpeg_bytes, upload

pytestmark = pytest.mark.django_db

CAT_SCORES = {
    "food": 0.01,
    "beverage": 0.0,
    "animal": 0.93,
    "dog": 0.02,
    "cat": 0.88,
    "flower": 0.0,
    "mountain": 0.0,
    "sea": 0.0,
    "gym": 0.0,
}


def verdicts_of(post: Post) -> dict[str, Verdict]:
    verdicts = list(post.verdicts.select_related("hashtag"))
    verdicts_explain(verdicts)
    return {v.hashtag.name: v for v in verdicts}


def test_upload_is_stored_pending_and_classified_after_commit(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
) -> None:
    FakeClassifier.next_scores = CAT_SCORES
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("post-upload"),
            {"image": upload(), "caption": "우리 고양이", "hashtags": "#카페 #고양이 Cat"},
        )
    post = Post.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("post-detail", kwargs={"post_id": post.pk})
    # Stored at once, judged later: nothing is shown while pending.
    assert post.status == Post.Status.PENDING
    assert set(verdicts_of(post)) == {"카페", "고양이", "cat"}
    assert not any(v.shown for v in verdicts_of(post).values())
    waiting = list(post.verdicts.all())
    with django_assert_num_queries(1):  # the posts' status: no rules, scores or words read
        verdicts_explain(waiting)
    assert [v.explanation for v in waiting] == [{}, {}, {}]
    assert FakeClassifier.calls == 0
    assert len(callbacks) == 1

    callbacks[0]()  # the on-commit hook queues the task; django-q2 runs it inline in tests

    post.refresh_from_db()
    assert post.status == Post.Status.CLASSIFIED
    assert FakeClassifier.calls == 1
    verdicts = verdicts_of(post)
    assert verdicts["카페"].decision == Verdict.Decision.NOT_RELEVANT
    assert verdicts["카페"].shown is False
    assert verdicts["고양이"].decision == Verdict.Decision.RELEVANT and verdicts["고양이"].shown
    assert verdicts["cat"].explanation["via"] == "cat"
    assert verdicts["cat"].explanation["rule"] == "고양이"
    classification = Classification.objects.select_related("embedding").get(post=post)
    # A fresh install scores with the backbone's own roll-up, recorded as the active version.
    assert classification.model_version.name == FakeClassifier.version
    assert classification.model_version.is_active
    embedding = classification.embedding
    assert embedding.backbone == FakeClassifier.version
    assert embedding.dim == len(embedding.vector) // 2 > 0  # float16
    assert "adult" in classification.unsupported


def test_food_keyword_is_judged_by_the_food_rule(
    client, django_capture_on_commit_callbacks
) -> None:
    FakeClassifier.next_scores = {**CAT_SCORES, "food": 0.9, "animal": 0.0, "cat": 0.0}
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "마라탕"})
    verdict = Verdict.objects.get(hashtag__name="마라탕")
    assert verdict.rule.hashtag == "음식"
    assert verdict.shown is True


def test_hashtag_without_a_rule_is_not_filtered(client, django_capture_on_commit_callbacks) -> None:
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#여행"})
    verdict = Verdict.objects.get(hashtag__name="여행")
    assert verdict.decision == Verdict.Decision.NO_RULE
    assert verdict.shown is True


def test_rules_needing_people_stay_undecided_and_hidden(
    client, django_capture_on_commit_callbacks
) -> None:
    FakeClassifier.next_scores = CAT_SCORES
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#패션"})
    verdict = Verdict.objects.get(hashtag__name="패션")
    verdicts_explain([verdict])
    assert verdict.decision == Verdict.Decision.UNKNOWN
    assert verdict.shown is False
    assert verdict.explanation["unknown"] == ["adult", "child", "clothing"]


def test_an_undecodable_stored_image_fails_with_a_reason(
    client, django_capture_on_commit_callbacks
) -> None:
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#카페"})
    post = Post.objects.get()
    Path(post.image.path).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    classification_run(post_id=post.pk)
    post.refresh_from_db()
    assert post.status == Post.Status.FAILED
    assert "could not be read" in post.failure_reason
    verdict = post.verdicts.get()
    assert verdict.decision == Verdict.Decision.UNKNOWN and not verdict.shown
    assert FakeClassifier.calls == 0


def test_running_the_task_twice_runs_the_model_once(
    client, django_capture_on_commit_callbacks
) -> None:
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#카페"})
    post = Post.objects.get()
    classification_run(post_id=post.pk)
    assert FakeClassifier.calls == 1
    assert Classification.objects.filter(post=post).count() == 1
    assert Embedding.objects.filter(post=post).count() == 1
    assert post.verdicts.count() == 1


@pytest.mark.parametrize(
    ("data", "hashtags", "message"),
    [
        (b"", "#카페", "empty"),
        (b"<html><script>alert(1)</script></html>", "#카페", "image"),
        (jpeg_bytes()[:60], "#카페", ""),
        (jpeg_bytes(), "", "hashtag"),
        (jpeg_bytes(), "#카 페!", ""),
    ],
)
def test_a_rejected_upload_leaves_no_row_and_no_file(
    client, settings, data: bytes, hashtags: str, message: str
) -> None:
    client.force_login(UserFactory())
    response = client.post(
        reverse("post-upload"), {"image": upload("x.jpg", data), "hashtags": hashtags}
    )
    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert Post.objects.count() == 0
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_anonymous_visitors_are_sent_to_log_in_before_uploading(client) -> None:
    response = client.get(reverse("post-upload"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_upload_form_names_every_hashtag_without_a_letter(client) -> None:
    client.force_login(UserFactory())
    response = client.post(
        reverse("post-upload"), {"image": upload(), "hashtags": "#카페 #_ #2024여행 #123"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "&#x27;_&#x27; is not a valid hashtag: it has no letter" in page
    assert "&#x27;123&#x27; is not a valid hashtag: it has no letter" in page
    assert "2024여행&#x27; is not" not in page
    assert Post.objects.count() == 0
