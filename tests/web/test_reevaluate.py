"""Set-based re-evaluation (services/reevaluate.py) must decide exactly what the Python path
(verdicts_judge) decides: decision, shown, margin, explanation, rule and scores used. Random
scores and rule changes, on whichever database the suite runs on (SQLite or PostgreSQL)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from moderation.models import Concept, KeywordMapping, PostWord, Rule, TextExtraction, Verdict
from moderation.services import (
    concept_save,
    rule_save,
    verdict_override,
    verdicts_reevaluate,
)
from moderation.services.text import post_words_store
from moderation.services.verdicts import verdicts_evaluate, verdicts_judge
from posts.models import Post
from tests.factories import ModeratorFactory
from tests.web.judged import NOTHING, judged_post

pytestmark = pytest.mark.django_db(transaction=False)

TAGS = ["카페", "패션", "연애", "음식", "마라탕", "동물", "강아지", "꽃", "바다", "일상", "coffee"]
CAPTIONS = ["", "", "", "오늘 점심", "마라탕 먹었어요", "new menu board", "카페 가는 길"]


def _posts(capture: Any, count: int, seed: int) -> list[Post]:
    rng = random.Random(seed)
    posts = []
    for _ in range(count):
        scores = {key: round(rng.random(), rng.choice([2, 6, 17])) for key in NOTHING}
        if rng.random() < 0.3:  # some concepts the model gives no score
            scores = {k: v for k, v in scores.items() if rng.random() < 0.7}
        tags = rng.sample(TAGS, rng.randint(1, 4))
        post = judged_post(capture, tags, **{**dict.fromkeys(NOTHING, 0.0), **scores})
        caption = rng.choice(CAPTIONS)
        if caption:
            Post.objects.filter(pk=post.pk).update(caption=caption)
        posts.append(post)
    verdicts_evaluate(posts=posts)  # the captions were set afterwards
    return posts


def _expected() -> dict[int, tuple[Any, ...]]:
    posts = list(Post.objects.all())
    return {v.pk: _row(v) for v in verdicts_judge(posts=posts)}


def _stored() -> dict[int, tuple[Any, ...]]:
    return {v.pk: _row(v) for v in Verdict.objects.all()}


def _row(v: Verdict) -> tuple[Any, ...]:
    return (v.decision, v.shown, v.margin, v.explanation, v.rule_id, v.classification_id)


def _assert_same(expected: dict[int, tuple[Any, ...]], skip: int | None = None) -> None:
    """Stored verdicts equal the expected rows (but for the field at index `skip`)."""
    stored = _stored()
    if skip is not None:
        stored = {pk: (*row[:skip], {}, *row[skip + 1 :]) for pk, row in stored.items()}
    assert stored.keys() == expected.keys()
    different = {pk: (stored[pk], expected[pk]) for pk in stored if stored[pk] != expected[pk]}
    if different:
        pk, (got, want) = next(iter(different.items()))
        fields = ["decision", "shown", "margin", "explanation", "rule", "classification"]
        wrong = {f: (g, w) for f, g, w in zip(fields, got, want, strict=True) if g != w}
        pytest.fail(f"{len(different)} verdicts differ; verdict {pk} (stored, expected): {wrong}")


@pytest.fixture
def posts(django_capture_on_commit_callbacks: Any) -> list[Post]:
    return _posts(django_capture_on_commit_callbacks, 40, seed=5)


def test_full_reevaluation_matches_the_python_path_after_random_changes(
    posts: list[Post], django_capture_on_commit_callbacks: Any
) -> None:
    rng = random.Random(11)
    moderator = ModeratorFactory()
    verdict_override(verdict=Verdict.objects.order_by("pk")[3], relevant=False, by=moderator)
    # Image text with a food word on one post: its verdicts go the Python way.
    TextExtraction.objects.update_or_create(
        post=posts[0],
        defaults={"engine": "t", "status": "ok", "text": "MENU 마라탕", "words": ["마라탕"]},
    )
    post_words_store(post_ids=[posts[0].pk])
    expressions = [
        "food or beverage",
        "(food and not beverage) or animal",
        "not (dog or cat)",
        "adult and not child",
        "animal and (sea or flower)",
        "food and",  # invalid: decided unknown with the reason
    ]
    for round_ in range(4):
        for rule in Rule.objects.filter(keyword__in=["카페", "동물", "바다", "패션"]):
            rule.expression = rng.choice(expressions)
            Rule.objects.filter(pk=rule.pk).update(expression=rule.expression)
        for concept in Concept.objects.all():
            threshold = round(rng.uniform(0.05, 0.95), rng.choice([2, 17]))
            Concept.objects.filter(pk=concept.pk).update(threshold=threshold)
        if round_ == 2:  # a hashtag gains a rule through a mapping, another loses one
            KeywordMapping.objects.create(word="일상", rule=Rule.objects.get(keyword="꽃"))
            KeywordMapping.objects.filter(word="coffee").delete()
        expected = _expected()
        if round_ % 2:
            report = verdicts_reevaluate()
        else:
            # The statements alone already decide word-evidence posts right; only their
            # explanations (the word lists) wait for the queued Python pass.
            with django_capture_on_commit_callbacks() as queued:
                report = verdicts_reevaluate(words_later=True)
            assert report.explain_later > 0 and len(queued) >= 1
            _assert_same({pk: (*row[:3], {}, *row[4:]) for pk, row in expected.items()}, 3)
            for callback in queued:
                callback()
        _assert_same(expected)
        assert report.set_based > report.python >= 0
    decided = Verdict.objects.filter(decision__in=["relevant", "not_relevant"])
    assert decided.exclude(margin=None).count() == decided.count() > 10


def test_a_rule_change_is_a_few_statements_and_touches_only_that_rules_tags(
    posts: list[Post], django_capture_on_commit_callbacks: Any
) -> None:
    rule = Rule.objects.get(keyword="카페")
    others = {v.pk: v.decided_at for v in Verdict.objects.exclude(rule=rule)}
    rule.expression = "beverage"
    Rule.objects.filter(pk=rule.pk).update(expression=rule.expression)
    expected = _expected()
    with CaptureQueriesContext(connection) as queries:
        report = verdicts_reevaluate(rules=[rule.pk])
    _assert_same(expected)
    assert report.set_based > 0 and report.python > 0
    # Other rules' verdicts are left alone, but for posts whose words name this rule (its
    # words are evidence for others' concepts while it names one concept).
    worded = PostWord.objects.filter(key__in=["카페", "cafe", "카페스타그램"]).values("post_id")
    untouched = {v.pk: v.decided_at for v in Verdict.objects.exclude(rule=rule)}
    kept = {pk for pk, at in untouched.items() if at == others[pk]}
    assert set(untouched) - kept == set(
        Verdict.objects.exclude(rule=rule).filter(post__in=worded).values_list("pk", flat=True)
    )
    assert len(kept) > len(untouched) / 2
    # Twice the posts, the same number of queries: nothing runs per post.
    _posts(django_capture_on_commit_callbacks, 40, seed=6)
    rule.expression = "food"
    Rule.objects.filter(pk=rule.pk).update(expression=rule.expression)
    expected = _expected()
    with CaptureQueriesContext(connection) as again:
        bigger = verdicts_reevaluate(rules=[rule.pk])
    _assert_same(expected)
    assert bigger.set_based > report.set_based
    assert len(again.captured_queries) == len(queries.captured_queries)


def test_catalog_writes_queue_a_scoped_reevaluation_that_runs(
    posts: list[Post], django_capture_on_commit_callbacks: Any
) -> None:
    moderator = ModeratorFactory()
    food = Concept.objects.get(key="food")
    food.threshold = 0.9
    with django_capture_on_commit_callbacks(execute=True):
        concept_save(concept=food, by=moderator)
    _assert_same(_expected())
    rule = Rule.objects.get(keyword="동물")
    rule.expression = "dog"
    with django_capture_on_commit_callbacks(execute=True):
        rule_save(rule=rule, by=moderator)
    _assert_same(_expected())


def test_words_are_kept_per_post_for_the_set_based_path(posts: list[Post]) -> None:
    post = posts[1]
    Post.objects.filter(pk=post.pk).update(caption="마라탕을 먹었어요 #카페")
    verdicts_evaluate(posts=[post])
    keys = set(PostWord.objects.filter(post=post).values_list("key", flat=True))
    assert {"마라탕을", "마라탕", "먹었어요"} <= keys
    assert "카페" not in keys  # hashtags are the claim, not evidence
