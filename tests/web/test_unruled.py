"""Hashtags without a rule: listed most-searched first, with the existing rules their posts
already fit; a moderator maps one to a keyword or gives it a rule, and its posts are judged
again at once from stored scores."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mlmodels.fake import FakeClassifier
from moderation.judging.review import hashtag_rule_suggestions
from moderation.models import KeywordMapping, Rule, Verdict
from moderation.selectors.catalog import hashtags_without_rule
from posts.models import Hashtag
from tests.factories import ModeratorFactory, UserFactory
from tests.web.judged import judged_post, verdict

pytestmark = pytest.mark.django_db

REVIEW = "/admin/moderation/review/"


@pytest.fixture
def lattes(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Ten #라떼 posts: nine drinks, one mountain."""
    capture = django_capture_on_commit_callbacks
    drinks = [judged_post(capture, ["라떼"], beverage=0.9) for _ in range(9)]
    return [*drinks, judged_post(capture, ["라떼", "등산"], mountain=0.9)]


def test_suggestions_are_the_rules_its_posts_fit_most_often(lattes) -> None:
    calls = FakeClassifier.calls
    suggestions = hashtag_rule_suggestions(hashtag=Hashtag.objects.get(name="라떼"))
    assert [(s.rule.hashtag, s.fits, s.of) for s in suggestions] == [
        ("음료", 9, 10),
        ("카페", 9, 10),
        ("산", 1, 10),
    ]
    assert suggestions[0].percent == 90
    assert FakeClassifier.calls == calls


def test_unruled_list_shows_only_hashtags_without_rule_or_mapping_most_searched_first(
    client, lattes, django_capture_on_commit_callbacks
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["주말", "카페", "cafe"], food=0.9)
    Hashtag.objects.filter(name="주말").update(search_count=3)
    assert [h.name for h in hashtags_without_rule()] == ["주말", "라떼"]
    client.force_login(ModeratorFactory(is_staff=True))
    body = client.get(reverse("moderation-unruled")).content.decode()
    assert body.index("#주말") < body.index("#라떼")
    assert "#카페" not in body.split('id="unruled"')[1]


def test_hashtag_page_shows_the_suggestions_with_their_share(client, lattes) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    latte = Hashtag.objects.get(name="라떼")
    body = client.get(reverse("moderation-unruled-hashtag", args=[latte.pk])).content.decode()
    assert "9 of 10 posts (90%) fit <strong>#카페</strong> (food or beverage)" in body


def test_a_rule_that_fits_only_some_posts_is_not_offered_as_a_mapping(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    for scores in ({"sea": 0.9}, {"sea": 0.9}, {"mountain": 0.9}, {}, {}, {}):
        judged_post(capture, ["일상"], **scores)
    client.force_login(ModeratorFactory(is_staff=True))
    daily = Hashtag.objects.get(name="일상")
    body = client.get(reverse("moderation-unruled-hashtag", args=[daily.pk])).content.decode()
    assert (
        "2 of 6 posts (33%) fit <strong>#바다</strong> (sea): mapping would hide the other 4"
        in body
    )
    assert "map to 바다?" not in body and "No rule fits most of its posts" in body
    assert "selected>— choose a rule —" in body or '<option value="" selected>' in body
    refused = client.post(
        reverse("moderation-unruled-hashtag", args=[daily.pk]), {"action": "map", "rule": ""}
    )
    assert not KeywordMapping.objects.filter(word="일상").exists()
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()


def test_mapping_from_the_queue_judges_its_posts_again_at_once(client, lattes) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    latte = Hashtag.objects.get(name="라떼")
    assert all(v.decision == Verdict.Decision.NO_RULE for v in latte.verdicts.all())
    calls = FakeClassifier.calls
    cafe = Rule.objects.get(hashtag="카페")

    response = client.post(
        reverse("moderation-unruled-hashtag", args=[latte.pk]),
        {"action": "map", "rule": cafe.pk, "next": REVIEW},
    )

    assert response.status_code == 302 and response["Location"] == REVIEW
    assert KeywordMapping.objects.get(word="라떼").rule == cafe
    assert verdict(lattes[0], "라떼").decision == Verdict.Decision.RELEVANT
    assert verdict(lattes[0], "라떼").rule == cafe
    assert verdict(lattes[-1], "라떼").shown is False
    assert latte.verdicts.filter(shown=True).count() == 9
    assert FakeClassifier.calls == calls
    assert "라떼" not in [h.name for h in hashtags_without_rule()]


def test_a_rule_of_its_own_judges_its_posts_and_a_bad_one_is_explained(client, lattes) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    latte = Hashtag.objects.get(name="라떼")
    url = reverse("moderation-unruled-hashtag", args=[latte.pk])

    bad = client.post(url, {"action": "rule", "expression": "beverage and ("})
    assert bad.status_code == 400 and "position" in bad.content.decode()
    assert not Rule.objects.filter(hashtag="라떼").exists()

    client.post(url, {"action": "rule", "expression": "음료", "description": "Lattes"})
    rule = Rule.objects.get(hashtag="라떼")
    assert rule.expression == "beverage"
    assert latte.verdicts.filter(shown=True, rule=rule).count() == 9
    assert verdict(lattes[-1], "라떼").decision == Verdict.Decision.NOT_RELEVANT


def test_a_hashtag_that_has_a_rule_already_is_left_alone(client, lattes) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    cafe = Hashtag.objects.get_or_create(name="카페")[0]
    response = client.post(
        reverse("moderation-unruled-hashtag", args=[cafe.pk]),
        {"action": "rule", "expression": "food"},
    )
    assert response.status_code == 302
    assert Rule.objects.get(hashtag="카페").expression == "food or beverage"


def test_only_moderators_may_map_hashtags(client, lattes) -> None:
    client.force_login(UserFactory(is_staff=True))
    latte = Hashtag.objects.get(name="라떼")
    response = client.post(
        reverse("moderation-unruled-hashtag", args=[latte.pk]),
        {"action": "map", "rule": Rule.objects.get(hashtag="카페").pk},
    )
    assert response.status_code == 403
    assert not KeywordMapping.objects.filter(word="라떼").exists()
