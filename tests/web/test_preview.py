"""Previews of rule, threshold and keyword mapping changes: computed from stored scores, they
save nothing, run no model, and match exactly what saving then does."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from mlmodels.fake import FakeClassifier
from moderation.judging.overrides import verdict_override
from moderation.judging.preview import rule_change_preview
from moderation.models import Concept, KeywordMapping, Rule
from tests.factories import ModeratorFactory
from tests.web.judged import judged_post, shown_state, verdict

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Posts under #카페 (food or beverage) and #cafe, which maps to it."""
    capture = django_capture_on_commit_callbacks
    posts = {
        "cake": judged_post(capture, ["카페"], food=0.9),
        "latte": judged_post(capture, ["카페"], beverage=0.5),
        "tulip": judged_post(capture, ["카페", "꽃"], flower=0.5),
        "tea": judged_post(capture, ["cafe"], beverage=0.4),
        "ad": judged_post(capture, ["카페"], beverage=0.6),
        "sea": judged_post(capture, ["바다"], sea=0.9),
    }
    # A moderator already said the ad is not a cafe photo: the override wins.
    verdict_override(verdict=verdict(posts["ad"], "카페"), relevant=False, by=ModeratorFactory())
    return posts


def _changes(before: dict[int, Any], after: dict[int, Any]) -> tuple[int, int]:
    hidden = sum(1 for pk, (shown, _) in before.items() if shown and not after[pk][0])
    shown = sum(1 for pk, (shown, _) in before.items() if not shown and after[pk][0])
    return hidden, shown


def _admin(client: Any) -> None:
    client.force_login(ModeratorFactory(is_staff=True))


def test_rule_preview_counts_what_the_change_hides_and_shows(cafe) -> None:
    preview = rule_change_preview(
        rule=Rule.objects.get(hashtag="카페"), new_expression="food or flower"
    )
    assert (preview.hidden, preview.shown, preview.total) == (2, 1, 5)
    assert preview.hashtags == ["cafe", "카페"]
    assert {p.pk for p in preview.samples_hidden} == {cafe["latte"].pk, cafe["tea"].pk}
    assert [p.pk for p in preview.samples_shown] == [cafe["tulip"].pk]
    assert str(preview) == "This change hides 2 and shows 1 of 5 posts under #cafe, #카페."


def test_rule_preview_in_the_admin_matches_what_saving_does_and_saves_nothing(
    client, cafe, django_capture_on_commit_callbacks
) -> None:
    _admin(client)
    rule = Rule.objects.get(hashtag="카페")
    url = reverse("admin:moderation_rule_change", args=[rule.pk])
    form = {"hashtag": "카페", "expression": "음식 or 꽃", "description": "Cafe"}
    before, calls = shown_state(), FakeClassifier.calls

    page = client.post(url, {**form, "_preview": "Preview"})

    assert page.status_code == 200
    preview = page.context["preview"]
    body = page.content.decode()
    assert "This change hides" in body and 'name="_save"' in body
    assert 'name="expression" value="음식 or 꽃"' in body  # posted again on Save
    assert cafe["latte"].thumbnail.url in body and cafe["tulip"].thumbnail.url in body
    assert shown_state() == before
    assert Rule.objects.get(pk=rule.pk).expression == "food or beverage"
    assert FakeClassifier.calls == calls

    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(url, {**form, "_save": "Save"})
    assert saved.status_code == 302
    assert Rule.objects.get(pk=rule.pk).expression == "food or flower"
    after = shown_state()
    assert _changes(before, after) == (preview.hidden, preview.shown) == (2, 1)
    assert verdict(cafe["ad"], "카페").shown is False  # overridden: unchanged
    assert FakeClassifier.calls == calls


def test_renaming_a_rule_previews_both_hashtags(client, cafe) -> None:
    _admin(client)
    rule = Rule.objects.get(hashtag="바다")
    page = client.post(
        reverse("admin:moderation_rule_change", args=[rule.pk]),
        {"hashtag": "해수욕", "expression": "sea", "description": "", "_preview": "1"},
    )
    preview = page.context["preview"]
    # #바다 loses its rule (not filtered: unchanged, already shown); #해수욕 has no posts.
    assert preview.hashtags == ["바다"]
    assert (preview.hidden, preview.shown, preview.total) == (0, 0, 1)


def test_threshold_preview_matches_saving_the_concept(
    client, cafe, django_capture_on_commit_callbacks
) -> None:
    _admin(client)
    beverage = Concept.objects.get(key="beverage")
    url = reverse("admin:moderation_concept_change", args=[beverage.pk])
    form = {
        "key": "beverage",
        "name_ko": beverage.name_ko,
        "name_en": beverage.name_en,
        "kind": beverage.kind,
        "parent": "",
        "threshold": "0.45",
    }
    before, calls = shown_state(), FakeClassifier.calls
    page = client.post(url, {**form, "_preview": "Preview"})
    preview = page.context["preview"]
    assert (preview.hidden, preview.shown) == (1, 0)  # the tea (0.40) under #cafe
    assert preview.hashtags == ["cafe", "카페"]  # the beverage rules with posts
    assert shown_state() == before
    assert Concept.objects.get(pk=beverage.pk).threshold == beverage.threshold  # not saved

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {**form, "_save": "Save"}).status_code == 302
    assert _changes(before, shown_state()) == (preview.hidden, preview.shown)
    assert FakeClassifier.calls == calls


def test_keyword_mapping_preview_matches_saving_it(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    judged_post(capture, ["라떼"], beverage=0.9)
    judged_post(capture, ["라떼"], beverage=0.05)
    judged_post(capture, ["라떼"], mountain=0.9)
    _admin(client)
    cafe = Rule.objects.get(hashtag="카페")
    url = reverse("admin:moderation_keywordmapping_add")
    form = {"word": "#라떼", "rule": cafe.pk}
    before, calls = shown_state(), FakeClassifier.calls

    page = client.post(url, {**form, "_preview": "Preview"})
    preview = page.context["preview"]
    assert (preview.hidden, preview.shown, preview.total) == (2, 0, 3)  # unruled were shown
    assert not KeywordMapping.objects.filter(word="라떼").exists()
    assert shown_state() == before

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {**form, "_save": "Save"}).status_code == 302
    assert KeywordMapping.objects.get(word="라떼").rule == cafe
    assert _changes(before, shown_state()) == (preview.hidden, preview.shown)
    assert FakeClassifier.calls == calls


def test_changing_a_mappings_rule_previews_its_word(client, cafe) -> None:
    _admin(client)
    mapping = KeywordMapping.objects.get(word="cafe")
    page = client.post(
        reverse("admin:moderation_keywordmapping_change", args=[mapping.pk]),
        {"word": "cafe", "rule": Rule.objects.get(hashtag="음식").pk, "_preview": "1"},
    )
    preview = page.context["preview"]
    assert (preview.hidden, preview.shown, preview.total) == (1, 0, 1)
    assert KeywordMapping.objects.get(pk=mapping.pk).rule.hashtag == "카페"


def test_an_invalid_rule_shows_the_form_error_instead_of_a_preview(client, cafe) -> None:
    _admin(client)
    rule = Rule.objects.get(hashtag="카페")
    before = shown_state()
    page = client.post(
        reverse("admin:moderation_rule_change", args=[rule.pk]),
        {"hashtag": "카페", "expression": "food or (", "description": "", "_preview": "1"},
    )
    assert page.status_code == 200
    assert "preview" not in page.context
    assert "position" in page.content.decode()
    assert shown_state() == before and Rule.objects.get(pk=rule.pk).expression == "food or beverage"


def test_the_rule_form_has_a_preview_button(client, cafe) -> None:
    _admin(client)
    rule = Rule.objects.get(hashtag="카페")
    body = client.get(reverse("admin:moderation_rule_change", args=[rule.pk])).content.decode()
    assert 'name="_preview"' in body
