"""The review queue: borderline, undecided and unruled verdicts, most-searched first, worked
through one at a time in the admin with accept / reject / skip."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from moderation.judging.overrides import verdict_override
from moderation.models import Concept, Verdict
from moderation.rules.compiled import ConceptInfo, compile_rule, evaluate
from moderation.rules.syntax import parse
from moderation.selectors.cursor import SearchCursor
from moderation.selectors.review import review_queue
from posts.models import Hashtag
from tests.factories import ModeratorFactory, UserFactory
from tests.web.judged import judged_post, verdict

REVIEW = "/admin/moderation/review/"
STATIC = Path(__file__).resolve().parents[2] / "static"


def food_threshold() -> float:
    return Concept.objects.get(key="food").threshold


def _margin(
    rule: str, rows: dict[str, tuple[float | None, float]], result: bool | None
) -> float | None:
    names = {key: key for key in rows}
    catalog = {key: ConceptInfo(key, key, key, threshold) for key, (_, threshold) in rows.items()}
    scores = {key: score for key, (score, _) in rows.items() if score is not None}
    evaluation = evaluate(compile_rule(parse(rule, names), catalog), scores)
    assert evaluation.result is result
    return evaluation.margin


def test_margin_of_an_or_is_the_farthest_present_item_to_push_below_its_threshold() -> None:
    # Each as a share of the room above its threshold: 0.05 / 0.45 and 0.2 / 0.9.
    rows = {"food": (0.6, 0.55), "beverage": (0.3, 0.1)}
    assert _margin("food or beverage", rows, True) == pytest.approx(0.2222)


def test_margin_of_an_and_is_the_closest_item_to_flip() -> None:
    rows = {"adult": (0.7, 0.5), "child": (0.45, 0.5)}  # 0.2 / 0.5 above, 0.05 / 0.5 below
    assert _margin("adult and not child", rows, True) == pytest.approx(0.1)


def test_margin_of_a_rejection_is_the_closest_item_to_reach_its_threshold() -> None:
    rows = {"food": (0.5, 0.55), "beverage": (0.0, 0.1)}  # 0.05 / 0.55 below; 0.1 / 0.1
    assert _margin("food or beverage", rows, False) == pytest.approx(0.0909)


def test_an_unknown_concept_needs_no_push_and_an_undecided_rule_has_no_margin() -> None:
    rows = {"food": (0.9, 0.55), "adult": (None, 0.5)}
    assert _margin("food or adult", rows, True) == pytest.approx(0.7778)
    assert _margin("food and adult", rows, None) is None


def test_a_score_at_the_far_end_is_sure_however_close_the_threshold_sits_to_it() -> None:
    # Seen in a walk: cat 0.000 against 0.057 and dog 0.967 against 0.923 were "borderline".
    assert _margin("cat", {"cat": (0.0, 0.057)}, False) == pytest.approx(1.0)
    assert _margin("dog", {"dog": (0.967, 0.923)}, True) == pytest.approx(0.5714)
    assert _margin("dog", {"dog": (0.93, 0.923)}, True) == pytest.approx(0.0909)


@pytest.mark.django_db
def test_verdicts_store_their_margin_and_undecided_ones_none(
    django_capture_on_commit_callbacks,
) -> None:
    food = round(food_threshold() + 0.05, 4)
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "패션", "라떼"], food=food)
    assert verdict(post, "카페").margin == pytest.approx(0.05 / (1 - food_threshold()), abs=1e-4)
    assert verdict(post, "패션").decision == Verdict.Decision.UNKNOWN
    assert verdict(post, "패션").margin is None
    assert verdict(post, "라떼").decision == Verdict.Decision.NO_RULE
    assert verdict(post, "라떼").margin is None


@pytest.mark.django_db
def test_queue_holds_borderline_unknown_and_unruled_verdicts_but_not_clear_ones(
    django_capture_on_commit_callbacks,
) -> None:
    capture = django_capture_on_commit_callbacks
    food = food_threshold()
    borderline = judged_post(capture, ["카페"], food=round(food + 0.05, 4))
    almost = judged_post(capture, ["음식"], food=round(food - 0.05, 4))  # hidden, but close
    clear = judged_post(capture, ["카페", "산"], food=0.95, beverage=0.9)
    person = judged_post(capture, ["패션"], food=0.9)  # fashion needs concepts unseen
    latte = judged_post(capture, ["라떼"], beverage=0.9)

    queued = set(review_queue().values_list("pk", flat=True))

    assert verdict(borderline, "카페").pk in queued
    assert verdict(almost, "음식").pk in queued
    assert verdict(clear, "카페").pk not in queued
    assert verdict(clear, "산").pk not in queued  # mountain 0.0 is far from its threshold
    assert verdict(person, "패션").pk in queued
    assert verdict(latte, "라떼").pk in queued
    assert len(queued) == 4


@pytest.mark.django_db
def test_overridden_verdicts_leave_the_queue_and_the_margin_is_a_setting(
    settings, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "라떼"], food=0.6)
    verdict_override(verdict=verdict(post, "라떼"), relevant=True, by=ModeratorFactory())
    assert list(review_queue()) == [verdict(post, "카페")]
    settings.TAGLENS_REVIEW_MARGIN = 0.01
    assert list(review_queue()) == []


@pytest.mark.django_db
def test_queue_puts_the_most_searched_hashtags_first_then_the_newest_posts(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    old_cafe = judged_post(capture, ["카페"], food=0.6)
    new_cafe = judged_post(capture, ["카페"], food=0.6)
    latte = judged_post(capture, ["라떼"], beverage=0.9)
    assert [v.post_id for v in review_queue()] == [latte.pk, new_cafe.pk, old_cafe.pk]

    # Two clients search #카페 (a search counts once per client per window), one #라떼.
    client.get(reverse("explore-tag", kwargs={"tag": "카페"}), REMOTE_ADDR="192.0.2.1")
    client.get(reverse("explore-tag", kwargs={"tag": "카페"}), REMOTE_ADDR="192.0.2.2")
    client.get("/api/search/", {"tag": "라떼"})

    assert Hashtag.objects.get(name="카페").search_count == 2
    assert [v.post_id for v in review_queue()] == [new_cafe.pk, old_cafe.pk, latte.pk]


@pytest.mark.django_db
def test_a_search_is_counted_with_one_update_and_later_pages_are_not(
    client, django_capture_on_commit_callbacks
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    url = reverse("explore-tag", kwargs={"tag": "카페"})
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "search_count" in updates[0]
    later = SearchCursor(created_at=timezone.now(), post_id=1).encode()
    client.get(url, {"cursor": later})
    client.get("/api/search/", {"tag": "#카페", "cursor": later})
    assert Hashtag.objects.get(name="카페").search_count == 1


@pytest.fixture
def queue(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    capture = django_capture_on_commit_callbacks
    first = judged_post(capture, ["카페"], food=0.6)
    second = judged_post(capture, ["카페"], food=0.58)
    Hashtag.objects.filter(name="카페").update(search_count=5)
    third = judged_post(capture, ["라떼"], beverage=0.9)
    # Ordered: #카페 (5 searches) newest first, then #라떼.
    return [verdict(second, "카페"), verdict(first, "카페"), verdict(third, "라떼")]


@pytest.mark.django_db
def test_review_page_shows_one_item_with_a_large_photo_scores_and_keys(client, queue) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    response = client.get(REVIEW)
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["verdict"] == queue[0]
    assert (
        'Item <strong id="queue-position">1</strong> of <strong id="queue-size">3</strong>' in body
    )
    assert queue[0].post.image.url in body and "moderation/admin.css" in body
    assert "width: 440px" in (STATIC / "moderation" / "admin.css").read_text()
    assert "#카페 = food or beverage" in body
    assert "0.580" in body and floatformat(food_threshold(), 3) in body  # score, threshold
    for key in ("a", "r", "s"):
        assert f'accesskey="{key}"' in body


@pytest.mark.django_db
def test_reject_hides_the_verdict_and_moves_to_the_next_item(client, queue) -> None:
    moderator = ModeratorFactory(is_staff=True)
    client.force_login(moderator)
    response = client.post(
        reverse("moderation-review-decide", args=[queue[0].pk]), {"action": "reject"}
    )
    assert response.status_code == 302 and response["Location"] == REVIEW
    queue[0].refresh_from_db()
    assert (queue[0].shown, queue[0].override, queue[0].override_by) == (False, False, moderator)
    page = client.get(REVIEW)
    assert page.context["verdict"] == queue[1]
    assert (page.context["state"].position, page.context["state"].size) == (1, 2)


@pytest.mark.django_db
def test_accept_shows_the_verdict(client, queue) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    client.post(reverse("moderation-review-decide", args=[queue[2].pk]), {"action": "accept"})
    queue[2].refresh_from_db()
    assert queue[2].override is True and queue[2].shown is True
    assert queue[2].pk not in set(review_queue().values_list("pk", flat=True))


@pytest.mark.django_db
def test_skip_moves_on_without_changing_anything_and_can_start_over(client, queue) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    for expected_next in (queue[1], queue[2]):
        current = client.get(REVIEW).context["verdict"]
        client.post(reverse("moderation-review-decide", args=[current.pk]), {"action": "skip"})
        page = client.get(REVIEW)
        assert page.context["verdict"] == expected_next
    assert page.context["state"].position == 3
    client.post(reverse("moderation-review-decide", args=[queue[2].pk]), {"action": "skip"})
    assert client.get(REVIEW).context["verdict"] is None
    client.post(reverse("moderation-review-restart"))
    assert client.get(REVIEW).context["verdict"] == queue[0]
    assert not Verdict.objects.filter(override__isnull=False).exists()


@pytest.mark.django_db
def test_unruled_item_offers_suggestions_and_the_map_form(client, queue) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    for v in queue[:2]:
        client.post(reverse("moderation-review-decide", args=[v.pk]), {"action": "skip"})
    body = client.get(REVIEW).content.decode()
    assert "No rule judges #라떼" in body
    assert "1 of 1 posts (100%) fit <strong>#음료</strong>" in body


@pytest.mark.django_db
def test_only_moderators_may_review(client, queue) -> None:
    client.force_login(UserFactory(is_staff=True))
    assert client.get(REVIEW).status_code == 403
    response = client.post(
        reverse("moderation-review-decide", args=[queue[0].pk]), {"action": "reject"}
    )
    assert response.status_code == 403
    client.logout()
    assert client.get(REVIEW).status_code == 302  # to the admin login
    queue[0].refresh_from_db()
    assert queue[0].override is None
