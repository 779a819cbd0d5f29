"""A hashtag's first page (tag page and search API) is cached, and whatever changes what it
shows is there on the very next request: overrides in the admin and their undo through the API,
re-evaluations after a rule, threshold or keyword change, a new classification, a caption edit,
a deletion, a model version's activation. Searches are still counted and throttled on a hit,
and one user's page is never served to another."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from mlmodels.fake import FakeClassifier
from moderation.ingest import queue, receivers
from moderation.ingest.batches import classification_run
from moderation.judging import catalog
from moderation.models import AuditEvent, Concept, Rule
from posts.models import Hashtag, Post
from tests.factories import ModeratorFactory, UserFactory, jpeg_bytes, upload
from tests.web.judged import NOTHING, judged_post, verdict
from tests.web.test_model_versions import heads_version

# Real commits: the cache is made stale after commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAGE = reverse("explore-tag", kwargs={"tag": "카페"})
POST_LINK = re.compile(r'href="/p/(\d+)/"')


@pytest.fixture(autouse=True)
def cache_on(settings: Any) -> None:
    settings.TAGLENS_SEARCH_CACHE_SECONDS = 60


def shown(tag: str = "카페") -> set[int]:
    """The posts on the tag's first page, asked anonymously; the page and the API agree."""
    page = Client().get(reverse("explore-tag", kwargs={"tag": tag}))
    api = APIClient().get("/api/search/", {"tag": f"#{tag}"})  # kept under the tag's name
    assert page.status_code == 200 and api.status_code == 200
    on_page = {int(pk) for pk in POST_LINK.findall(page.content.decode())}
    assert on_page == {row["id"] for row in api.json()["results"]}
    return on_page


def moderator_api() -> APIClient:
    api = APIClient()
    api.force_authenticate(ModeratorFactory())
    return api


def test_a_cached_first_page_is_answered_without_the_database(
    django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    assert shown() == {post.pk}  # built and stored; this client's search counted
    client, api = Client(), APIClient()
    with django_assert_num_queries(0):
        assert str(post.pk) in client.get(PAGE).content.decode()
        assert api.get("/api/search/", {"tag": "#카페"}).json()["results"][0]["id"] == post.pk


def test_an_override_in_the_admin_and_its_undo_show_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    assert shown() == {post.pk}
    admin = Client()
    admin.force_login(ModeratorFactory(is_staff=True))
    cafe = verdict(post, "카페")
    admin.post(
        reverse("admin:moderation_verdict_changelist"),
        {"action": "mark_not_relevant", "_selected_action": [cafe.pk], "reason": "an ad"},
    )
    assert shown() == set()
    event = AuditEvent.objects.get(action=AuditEvent.Action.OVERRIDE)
    undone = moderator_api().post(f"/api/audit/{event.pk}/undo/", {"reason": "not an ad"})
    assert undone.status_code == 200
    assert shown() == {post.pk}


def test_an_override_through_the_api_shows_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    assert shown() == {post.pk}
    url = f"/api/verdicts/{verdict(post, '카페').pk}/override/"
    assert moderator_api().post(url, {"relevant": False}, format="json").status_code == 200
    assert shown() == set()


def test_a_rule_change_is_re_applied_and_shows_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    food = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    drink = judged_post(django_capture_on_commit_callbacks, ["카페"], beverage=0.9)
    assert shown() == {food.pk, drink.pk}
    rule = Rule.objects.get(hashtag="카페")
    changed = moderator_api().patch(
        f"/api/rules/{rule.pk}/", {"expression": "beverage"}, format="json"
    )
    assert changed.status_code == 200
    assert shown() == {drink.pk}
    assert '<code class="expr">beverage</code>' in Client().get(PAGE).content.decode()


def test_a_threshold_change_shows_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.8)
    assert shown() == {post.pk}
    food = Concept.objects.get(key="food")
    changed = moderator_api().patch(f"/api/concepts/{food.pk}/", {"threshold": 0.9}, format="json")
    assert changed.status_code == 200
    assert shown() == set()


def test_a_keyword_mapping_shows_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["티타임"], sea=0.9)
    assert shown("티타임") == {post.pk}  # no rule judges #티타임: every post is shown
    mapped = moderator_api().post(
        "/api/keywords/", {"word": "티타임", "rule": "카페"}, format="json"
    )
    assert mapped.status_code == 201
    assert shown("티타임") == set()


def test_a_new_classification_shows_on_the_very_next_request(monkeypatch: Any) -> None:
    # The upload's task is not run inline here: the test runs it as a worker would, later.
    monkeypatch.setattr(receivers, "classification_queue", lambda *, post: None)
    author = APIClient()
    author.force_authenticate(UserFactory())
    created = author.post(
        "/api/posts/", {"image": upload(), "hashtags": "카페"}, format="multipart"
    )
    assert created.status_code == 201
    assert shown() == set()
    assert APIClient().get("/api/search/", {"tag": "카페"}).json()["pending"] == 1
    FakeClassifier.next_scores = {**NOTHING, "food": 0.9}
    classification_run(post_id=created.json()["id"])
    assert shown() == {created.json()["id"]}
    assert APIClient().get("/api/search/", {"tag": "카페"}).json()["pending"] == 0


def test_a_caption_edit_and_a_deletion_show_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    other = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    assert shown() == {post.pk, other.pk}
    author = APIClient()
    author.force_authenticate(post.author)
    assert author.patch(f"/api/posts/{post.pk}/", {"caption": "좋은 하루"}).status_code == 200
    results = APIClient().get("/api/search/", {"tag": "카페"}).json()["results"]
    assert {row["id"]: row["caption"] for row in results}[post.pk] == "좋은 하루"
    Post.objects.get(pk=other.pk).delete()
    assert shown() == {post.pk}


def test_a_model_version_activation_shows_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The fake embedding starts with the mean red channel; the version's heads call red food.
    FakeClassifier.next_scores = {"food": 0.0}
    author = APIClient()
    author.force_authenticate(UserFactory())
    image = upload("red.jpg", jpeg_bytes((250, 10, 10)))
    created = author.post("/api/posts/", {"image": image, "hashtags": "음식"}, format="multipart")
    assert shown("음식") == set()
    admin = Client()
    admin.force_login(ModeratorFactory(is_staff=True))
    admin.post(
        reverse("admin:moderation_modelversion_changelist"),
        {"action": "activate", "_selected_action": [heads_version().pk], "confirm": "yes"},
    )
    assert shown("음식") == {created.json()["id"]}


def test_searches_are_counted_and_throttled_on_a_cache_hit(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"search_anon": "3/minute", "search_user": "240/minute"},
    }
    client = Client()
    assert client.get(PAGE, REMOTE_ADDR="192.0.2.1").status_code == 200  # stored
    assert client.get(PAGE, REMOTE_ADDR="192.0.2.2").status_code == 200  # served from the cache
    assert Hashtag.objects.get(name="카페").search_count == 2
    api = APIClient()
    assert api.get("/api/search/", {"tag": "카페"}, REMOTE_ADDR="192.0.2.2").status_code == 200
    assert api.get("/api/search/", {"tag": "카페"}, REMOTE_ADDR="192.0.2.2").status_code == 200
    assert client.get(PAGE, REMOTE_ADDR="192.0.2.2").status_code == 429
    assert api.get("/api/search/", {"tag": "카페"}, REMOTE_ADDR="192.0.2.2").status_code == 429


def test_a_signed_in_users_page_is_never_served_to_anyone_else(
    django_capture_on_commit_callbacks: Any,
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    moderator = ModeratorFactory(is_staff=True)
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(moderator)
    assert f"@{moderator.username}" in signed_in.get(PAGE).content.decode()
    anonymous = Client().get(PAGE).content.decode()
    assert moderator.username not in anonymous and "csrfmiddlewaretoken" not in anonymous
    again = signed_in.get(PAGE).content.decode()  # the content from the cache, the rest its own
    assert f"@{moderator.username}" in again
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', again)
    assert token is not None
    logout = signed_in.post(reverse("logout"), {"csrfmiddlewaretoken": token.group(1)})
    assert logout.status_code == 302  # the token on a page with cached content is this user's


def test_the_api_answer_is_kept_per_address_asked(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TAGLENS_PAGE_SIZE = 1
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    for host in ("localhost", "testserver", "localhost"):
        answer = APIClient().get("/api/search/", {"tag": "카페"}, HTTP_HOST=host).json()
        assert answer["next"].startswith(f"http://{host}/api/search/?")


def test_a_changed_rule_is_shown_above_the_grid_before_its_re_evaluation_has_run(
    django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    assert '<code class="expr">food or beverage</code>' in Client().get(PAGE).content.decode()
    # In production the re-evaluation is a background task that may not have run yet.
    monkeypatch.setattr(catalog, "verdicts_reevaluate_queue", lambda **scope: None)
    rule = Rule.objects.get(hashtag="카페")
    changed = moderator_api().patch(
        f"/api/rules/{rule.pk}/", {"expression": "beverage"}, format="json"
    )
    assert changed.status_code == 200
    assert '<code class="expr">beverage</code>' in Client().get(PAGE).content.decode()
    assert APIClient().get("/api/search/", {"tag": "카페"}).json()["expression"] == "beverage"


def test_classify_again_shows_the_post_pending_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)

    def status() -> str:
        answer = APIClient().get("/api/search/", {"tag": "카페"}).json()
        return str(answer["results"][0]["status"])

    assert status() == "classified"
    monkeypatch.setattr(queue, "classification_queue", lambda *, post: None)
    admin = Client()
    admin.force_login(ModeratorFactory(is_staff=True))
    admin.post(
        reverse("admin:posts_post_changelist"),
        {"action": "retry_classification", "_selected_action": [post.pk]},
    )
    assert status() == "pending"  # still shown under its verdicts until judged again
    classification_run(post_id=post.pk)
    assert status() == "classified"


def test_a_hashtag_renamed_in_the_admin_shows_on_the_very_next_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    assert shown() == {post.pk}
    tag = Hashtag.objects.get(name="카페")
    admin = Client()
    admin.force_login(ModeratorFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:posts_hashtag_change", args=[tag.pk])
    assert admin.post(url, {"name": "커피", "search_count": 0}).status_code == 302
    assert "No posts with #카페 yet" in Client().get(PAGE).content.decode()
