"""Lazy text: Tesseract reads a text-like photo only where its words could change a verdict,
and a post whose text waited is read once a hashtag, rule or version makes it matter."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmodels.fake import FakeClassifier
from mlmodels.text.ocr import TesseractReader
from mlmodels.text.textlike import MENU_SIGNAL, TEXT_SIGNAL
from moderation.ingest.text import MENU_WORD
from moderation.judging.catalog import concept_save, keyword_mapping_delete, rule_save
from moderation.models import Concept, KeywordMapping, Rule, TextExtraction
from moderation.rules.compiled import (
    ConceptInfo,
    compile_rule,
    evaluate,
    image_words_could_change,
)
from moderation.rules.expr import And, ConceptRef, Expr, Not, Or
from posts.models import Post
from posts.services import post_update
from tests.web.test_rule_paths import expressions
from tests.web.test_text import NOTHING, judged, ocr, printed_jpeg, verdict

__all__ = ["ocr"]  # the fixture, imported for these tests

MENU_PHOTO = {TEXT_SIGNAL: 0.95, MENU_SIGNAL: 0.9}
SIGN = {TEXT_SIGNAL: 0.6, MENU_SIGNAL: 0.2}  # text-like, not a menu by its class alone
FOOD = {**NOTHING, "food": 0.95}
BOARD = ["마라탕 12,000원", "쌀국수 9,000원", "치킨 15,000원"]


def board(capture, tags: list[str], scores: dict[str, float], signals: dict[str, float]) -> Post:  # type: ignore[no-untyped-def]
    """A post of the printed menu board, classified with these scores and backbone signals."""
    FakeClassifier.next_signals = signals
    return judged(capture, tags, scores, image=printed_jpeg(BOARD))


@pytest.fixture
def reads(monkeypatch):  # type: ignore[no-untyped-def]
    """The images Tesseract was asked to read, by size (each test's photos differ)."""
    seen: list[tuple[int, int]] = []
    real = TesseractReader.read

    def read(self, image):  # type: ignore[no-untyped-def]
        seen.append(image.size)
        return real(self, image)

    monkeypatch.setattr(TesseractReader, "read", read)
    return seen


@pytest.mark.django_db
def test_a_photo_already_shown_as_food_is_not_read(
    ocr, reads, client, django_capture_on_commit_callbacks
) -> None:
    post = board(django_capture_on_commit_callbacks, ["음식"], FOOD, SIGN)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.DEFERRED and extraction.words == []
    assert reads == []
    assert verdict(post, "음식").shown  # the scores alone decide it, as the words would have
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "not read yet" in page


@pytest.mark.django_db
def test_a_photo_the_scores_miss_is_read_and_its_words_count(
    ocr, reads, django_capture_on_commit_callbacks
) -> None:
    post = board(django_capture_on_commit_callbacks, ["음식"], NOTHING, SIGN)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.OK and "마라탕" in extraction.words
    assert len(reads) == 1 and verdict(post, "음식").shown


@pytest.mark.django_db
def test_a_hashtag_added_later_reads_the_text_it_needs(
    ocr, reads, django_capture_on_commit_callbacks
) -> None:
    post = board(django_capture_on_commit_callbacks, ["일상"], NOTHING, SIGN)
    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.DEFERRED
    assert reads == []  # #일상 has no rule: nothing its words could decide

    with django_capture_on_commit_callbacks(execute=True):
        post_update(post=post, by=post.author, hashtags=["일상", "음식"])

    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.OK and "마라탕" in extraction.words
    assert len(reads) == 1
    assert verdict(post, "음식").shown  # by the words read, the scores show no food


@pytest.mark.django_db
def test_a_rule_edited_to_need_what_the_scores_miss_reads_the_text(
    ocr, reads, django_capture_on_commit_callbacks
) -> None:
    post = board(django_capture_on_commit_callbacks, ["카페"], FOOD, SIGN)
    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.DEFERRED
    assert verdict(post, "카페").shown  # food or beverage: food is shown

    rule = Rule.objects.get(hashtag="카페")
    rule.expression = "음료"
    with django_capture_on_commit_callbacks(execute=True):
        rule_save(rule=rule, by=None)

    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.OK
    assert len(reads) == 1
    assert not verdict(post, "카페").shown  # read, and no drink word on the board


@pytest.mark.django_db
def test_a_menu_by_its_class_counts_as_the_menu_word_unread_until_that_word_changes(
    ocr, reads, client, django_capture_on_commit_callbacks
) -> None:
    post = board(django_capture_on_commit_callbacks, ["맛집"], NOTHING, MENU_PHOTO)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.DEFERRED
    assert extraction.words == [MENU_WORD] and reads == []
    assert extraction.message.startswith("Recognised as a menu (menu class 0.90)")
    assert verdict(post, "맛집").shown  # 맛집 → 음식, and the menu word is food
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "Recognised as a menu" in page

    with django_capture_on_commit_callbacks(execute=True):
        keyword_mapping_delete(mapping=KeywordMapping.objects.get(word=MENU_WORD), by=None)

    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.OK and "마라탕" in extraction.words
    assert len(reads) == 1
    assert verdict(post, "맛집").shown  # now by the dishes read on the board


@pytest.mark.django_db
def test_a_threshold_raised_past_the_score_reads_the_text(
    ocr, reads, django_capture_on_commit_callbacks
) -> None:
    post = board(django_capture_on_commit_callbacks, ["카페"], FOOD, SIGN)
    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.DEFERRED

    food = Concept.objects.get(key="food")
    food.threshold = 0.99
    with django_capture_on_commit_callbacks(execute=True):
        concept_save(concept=food, by=None)

    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.OK
    assert len(reads) == 1 and verdict(post, "카페").shown  # by the words read


@pytest.mark.django_db
def test_a_photo_without_text_stays_skipped_whatever_its_hashtags(
    ocr, reads, django_capture_on_commit_callbacks
) -> None:
    FakeClassifier.next_signals = {TEXT_SIGNAL: 0.01, MENU_SIGNAL: 0.0}
    post = judged(django_capture_on_commit_callbacks, ["일상"], NOTHING)
    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.SKIPPED
    with django_capture_on_commit_callbacks(execute=True):
        post_update(post=post, by=post.author, hashtags=["음식"])
    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.SKIPPED
    assert reads == []


# The decision itself (pure): whether any words read could change a rule's result.

CONCEPTS = {
    key: ConceptInfo(key, key, key, 0.5, parent="animal" if key in ("dog", "cat") else None)
    for key in ("adult", "child", "food", "beverage", "animal", "dog", "cat")
}


def _rule(expr: Expr):  # type: ignore[no-untyped-def]
    return compile_rule(expr, CONCEPTS)


def test_words_matter_only_where_they_could_change_the_result() -> None:
    ref = ConceptRef
    romance = _rule(And((ref("adult"), Not(ref("child")))))
    cafe = _rule(Or((ref("food"), ref("beverage"))))
    parenting = _rule(ref("child"))
    pets = _rule(ref("animal"))
    assert image_words_could_change(romance, {"adult": 0.9, "child": 0.1})  # a child's word
    assert not image_words_could_change(romance, {"adult": 0.9, "child": 0.8})
    # Raising both leaves it false, raising the adult alone makes it true: every set counts.
    assert image_words_could_change(romance, {"adult": 0.1, "child": 0.1})
    assert not image_words_could_change(cafe, {"food": 0.9, "beverage": 0.0})
    assert image_words_could_change(cafe, {"food": 0.1, "beverage": 0.0})
    assert not image_words_could_change(cafe, {"food": 0.1, "beverage": 0.0}, raised={"food"})
    assert not image_words_could_change(parenting, {})  # unknown stays unknown: no score
    assert image_words_could_change(pets, {"animal": 0.1, "dog": 0.1, "cat": 0.1})
    assert not image_words_could_change(pets, {"animal": 0.1, "dog": 0.1, "cat": 0.7})


KINDS = st.sampled_from([(), ("image",), ("written",), ("image", "written")])


@settings(max_examples=1000, deadline=None)
@given(
    expr=expressions(tuple(CONCEPTS)),
    scores=st.dictionaries(st.sampled_from(list(CONCEPTS)), st.floats(0, 1), max_size=7),
    words=st.dictionaries(st.sampled_from(list(CONCEPTS)), KINDS, max_size=7),
)
def test_a_text_left_unread_never_changes_a_decision(expr, scores, words) -> None:  # type: ignore[no-untyped-def]
    # Against every set of words a post could hold (read in the image, caption, comments):
    # where reading could not matter, the result without image words is the result with them.
    rule = _rule(expr)
    if image_words_could_change(rule, scores):
        return
    written = {key: tuple(k for k in kinds if k != "image") for key, kinds in words.items()}
    assert evaluate(rule, scores, words).result == evaluate(rule, scores, written).result
