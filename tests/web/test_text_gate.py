"""Text only where there is text: the gate before Tesseract, menus as food evidence, and the
food lexicon moderators edit (migration 0018)."""

from __future__ import annotations

import importlib

import pytest
from django.urls import reverse

from mlmodels.fake import FakeClassifier
from mlmodels.text.ocr import TesseractReader
from mlmodels.text.textlike import MENU_SIGNAL, TEXT_SIGNAL
from moderation.ingest.text import MENU_WORD
from moderation.judging.catalog import keyword_mapping_delete
from moderation.models import KeywordMapping, Rule, TextExtraction, Verdict
from moderation.selectors.catalog import rule_index_for
from tests.web.test_text import NOTHING, judged, ocr, printed_jpeg, threshold, verdict

pytestmark = pytest.mark.django_db
__all__ = ["ocr"]  # the fixture, imported for these tests

LEXICON = importlib.import_module("moderation.migrations.0018_food_lexicon")
MENU_PHOTO = {TEXT_SIGNAL: 0.95, MENU_SIGNAL: 0.9}
NOT_TEXT_LIKE = {TEXT_SIGNAL: 0.01, MENU_SIGNAL: 0.0}


def test_a_photo_the_backbone_sees_no_text_in_is_not_read(
    ocr, client, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    def no_read(self, image):  # type: ignore[no-untyped-def]
        raise AssertionError("Tesseract ran behind a shut gate")

    monkeypatch.setattr(TesseractReader, "read", no_read)
    FakeClassifier.next_signals = NOT_TEXT_LIKE
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.SKIPPED
    assert extraction.text == "" and extraction.words == []
    assert "0.01" in extraction.message
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "the photo does not look like it holds text" in page


def test_a_text_like_photo_is_read(ocr, django_capture_on_commit_callbacks) -> None:
    FakeClassifier.next_signals = {TEXT_SIGNAL: 0.4, MENU_SIGNAL: 0.0}
    image = printed_jpeg(["마라탕 12,000원"])
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING, image=image)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.OK and "마라탕" in extraction.words
    assert MENU_WORD not in extraction.words  # one price and no menu class: not a menu


def test_a_photo_the_backbone_calls_a_menu_counts_for_food_while_its_mapping_stands(
    ocr, client, django_capture_on_commit_callbacks
) -> None:
    FakeClassifier.next_signals = MENU_PHOTO
    image = printed_jpeg(["Today special", "Set A"])  # no food word at all
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING, image=image)
    extraction = TextExtraction.objects.get(post=post)
    assert MENU_WORD in extraction.words and MENU_WORD not in extraction.text
    assert extraction.message.startswith("Recognised as a menu (menu class 0.90")
    food = verdict(post, "음식")
    assert food.shown
    assert (MENU_WORD, "image", "food") in {
        (w["word"], w["source"], w["concept"]) for w in food.explanation["words"]
    }
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "Recognised as a menu" in page

    with django_capture_on_commit_callbacks(execute=True):
        keyword_mapping_delete(mapping=KeywordMapping.objects.get(word=MENU_WORD), by=None)
    assert not verdict(post, "음식").shown  # set-based re-evaluation, the SQL path


def test_prices_make_a_menu_of_a_text_like_photo(ocr, django_capture_on_commit_callbacks) -> None:
    FakeClassifier.next_signals = {TEXT_SIGNAL: 0.3, MENU_SIGNAL: 0.05}
    image = printed_jpeg(["Set A 9,000원", "Set B 9,500원", "Set C 12,000원"])
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING, image=image)
    extraction = TextExtraction.objects.get(post=post)
    assert MENU_WORD in extraction.words, extraction.text
    assert "3 prices" in extraction.message
    assert verdict(post, "음식").shown


def test_the_food_lexicon_maps_common_dishes_to_the_food_rule() -> None:
    assert len(LEXICON.KOREAN) >= 150 and len(LEXICON.ENGLISH) >= 40
    food = Rule.objects.get(hashtag="음식")
    mapped = set(KeywordMapping.objects.filter(rule=food).values_list("word", flat=True))
    assert set(LEXICON.WORDS) <= mapped
    assert {"김치찌개", "삼겹살", "떡볶이", "noodle", "bánhmì"} <= mapped
    rule, via = rule_index_for("김치찌개")  # the hashtag #김치찌개 is judged by the food rule
    assert rule == food and via == "김치찌개"


def test_a_dish_in_the_caption_tips_a_photo_that_shows_some_food_and_moderators_can_drop_it(
    django_capture_on_commit_callbacks,
) -> None:
    some_food = {**NOTHING, "food": round(threshold("food") * 0.6, 4)}
    post = judged(django_capture_on_commit_callbacks, ["음식"], some_food, caption="김치찌개 최고")
    assert verdict(post, "음식").shown
    with django_capture_on_commit_callbacks(execute=True):
        keyword_mapping_delete(mapping=KeywordMapping.objects.get(word="김치찌개"), by=None)
    judged_again = verdict(post, "음식")
    assert judged_again.decision == Verdict.Decision.NOT_RELEVANT and not judged_again.shown


def test_the_lexicon_migration_leaves_existing_mappings_and_rule_hashtags_alone() -> None:
    from django.apps import apps

    rule = Rule.objects.get(hashtag="음료")
    KeywordMapping.objects.filter(word="쿠키").update(rule=rule)
    before = KeywordMapping.objects.count()
    LEXICON.forward(apps, None)  # run again: nothing added twice, nothing moved
    assert KeywordMapping.objects.count() == before
    assert KeywordMapping.objects.get(word="쿠키").rule == rule
    LEXICON.backward(apps, None)
    assert not KeywordMapping.objects.filter(word="김치찌개").exists()
    assert KeywordMapping.objects.get(word="쿠키").rule == rule  # not the food rule's: kept


def test_a_menu_with_no_text_read_says_why_its_menu_word_counts(
    ocr, client, django_capture_on_commit_callbacks
) -> None:
    FakeClassifier.next_signals = MENU_PHOTO
    image = printed_jpeg([])  # a blank card: Tesseract reads nothing
    # #음료: the menu word (food) cannot decide it, so the text is read at once
    post = judged(django_capture_on_commit_callbacks, ["음료"], NOTHING, image=image)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.OK and extraction.text == ""
    assert extraction.words == [MENU_WORD]
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "No text found in the image" in page
    assert f"0 prices): it counts as the word {MENU_WORD}." in page
