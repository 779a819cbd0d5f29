"""Set-based re-evaluation (services/reevaluate.py) must decide exactly what the Python path
(verdicts_judge) decides: decision, shown, margin, rule and scores used; the explanations
computed for display then agree with the stored decisions. Random scores and rule changes, on
whichever database the suite runs on (SQLite or PostgreSQL)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from moderation.judging.catalog import concept_save, reevaluation_scope, rule_save
from moderation.judging.overrides import verdict_override
from moderation.judging.reevaluate import verdicts_reevaluate
from moderation.judging.verdicts import verdicts_evaluate, verdicts_explain, verdicts_judge
from moderation.judging.words import post_words_store
from moderation.models import Concept, KeywordMapping, PostWord, Rule, TextExtraction, Verdict
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
    return (v.decision, v.shown, v.margin, v.rule_id, v.classification_id)


def _assert_same(expected: dict[int, tuple[Any, ...]]) -> None:
    """Stored verdicts equal the expected rows, and their explanations (computed for display
    from the current rules) agree with the stored decisions."""
    stored = _stored()
    assert stored.keys() == expected.keys()
    different = {pk: (stored[pk], expected[pk]) for pk in stored if stored[pk] != expected[pk]}
    if different:
        pk, (got, want) = next(iter(different.items()))
        fields = ["decision", "shown", "margin", "rule", "classification"]
        wrong = {f: (g, w) for f, g, w in zip(fields, got, want, strict=True) if g != w}
        pytest.fail(f"{len(different)} verdicts differ; verdict {pk} (stored, expected): {wrong}")
    verdicts = list(Verdict.objects.all())
    verdicts_explain(verdicts)
    assert not [v.pk for v in verdicts if v.explanation and v.explanation.get("stale")]


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
        for rule in Rule.objects.filter(hashtag__in=["카페", "동물", "바다", "패션"]):
            rule.expression = rng.choice(expressions)
            Rule.objects.filter(pk=rule.pk).update(expression=rule.expression)
        for concept in Concept.objects.all():
            threshold = round(rng.uniform(0.05, 0.95), rng.choice([2, 17]))
            Concept.objects.filter(pk=concept.pk).update(threshold=threshold)
        if round_ == 2:  # a hashtag gains a rule through a mapping, another loses one
            KeywordMapping.objects.create(word="일상", rule=Rule.objects.get(hashtag="꽃"))
            KeywordMapping.objects.filter(word="coffee").delete()
        expected = _expected()
        changing = sum(row != _row(v) for v in Verdict.objects.all() for row in [expected[v.pk]])
        report = verdicts_reevaluate()
        _assert_same(expected)
        # Only the verdicts whose outcome moved were written (none of them post by post).
        assert report.python == 0
        assert report.set_based == changing > 0
    decided = Verdict.objects.filter(decision__in=["relevant", "not_relevant"])
    assert decided.exclude(margin=None).count() == decided.count() > 10


def test_a_rule_change_is_a_few_statements_and_touches_only_that_rules_tags(
    posts: list[Post], django_capture_on_commit_callbacks: Any
) -> None:
    rule = Rule.objects.get(hashtag="카페")
    others = {v.pk: v.decided_at for v in Verdict.objects.exclude(rule=rule)}
    stored = Rule.objects.get(pk=rule.pk)
    rule.expression = "beverage"
    Rule.objects.filter(pk=rule.pk).update(expression=rule.expression)
    expected = _expected()
    with CaptureQueriesContext(connection) as queries:
        report = verdicts_reevaluate(**reevaluation_scope(rule, stored))
    _assert_same(expected)
    assert report.set_based > 0 and report.python == 0
    # Other rules' verdicts are left alone, but for posts whose words name this rule (its
    # words are evidence for others' concepts while it names one concept).
    worded = PostWord.objects.filter(key__in=["카페", "cafe", "카페스타그램"]).values("post_id")
    untouched = {v.pk: v.decided_at for v in Verdict.objects.exclude(rule=rule)}
    kept = {pk for pk, at in untouched.items() if at == others[pk]}
    assert set(untouched) - kept <= set(
        Verdict.objects.exclude(rule=rule).filter(post__in=worded).values_list("pk", flat=True)
    )
    assert len(kept) > len(untouched) / 2
    # Applying the same rule again writes nothing.
    assert verdicts_reevaluate(**reevaluation_scope(rule, stored)).set_based == 0
    # Twice the posts, the same change, the same number of queries: nothing runs per post.
    Rule.objects.filter(pk=rule.pk).update(expression="food or beverage")
    verdicts_reevaluate()
    _posts(django_capture_on_commit_callbacks, 40, seed=6)
    rule.refresh_from_db()
    stored = Rule.objects.get(pk=rule.pk)
    rule.expression = "beverage"
    Rule.objects.filter(pk=rule.pk).update(expression=rule.expression)
    expected = _expected()
    with CaptureQueriesContext(connection) as again:
        bigger = verdicts_reevaluate(**reevaluation_scope(rule, stored))
    _assert_same(expected)
    assert bigger.set_based > 0
    assert len(again.captured_queries) == len(queries.captured_queries)


def test_explanations_follow_the_rules_and_say_when_a_change_is_not_applied_yet(
    posts: list[Post],
) -> None:
    rule = Rule.objects.get(hashtag="카페")
    verdicts = list(Verdict.objects.filter(rule=rule, decision="relevant"))
    assert verdicts
    verdicts_explain(verdicts)
    for verdict in verdicts:
        assert verdict.explanation is not None
        assert verdict.explanation["expression"] == "food or beverage"
        assert verdict.explanation["result"] is True and "stale" not in verdict.explanation
    Rule.objects.filter(pk=rule.pk).update(expression="food and beverage and flower")
    verdicts = list(Verdict.objects.filter(rule=rule, decision="relevant"))
    verdicts_explain(verdicts)
    assert all(v.explanation["expression"] == "food and beverage and flower" for v in verdicts)
    stale = {v.pk for v in verdicts if v.explanation.get("stale")}
    assert stale and all(v.explanation["result"] is not True for v in verdicts if v.pk in stale)
    verdicts_reevaluate(rules=[rule.pk])
    verdicts = list(Verdict.objects.filter(pk__in=stale))
    verdicts_explain(verdicts)
    assert all(v.decision != "relevant" and "stale" not in v.explanation for v in verdicts)


def test_catalog_writes_queue_a_scoped_reevaluation_that_runs(
    posts: list[Post], django_capture_on_commit_callbacks: Any
) -> None:
    moderator = ModeratorFactory()
    food = Concept.objects.get(key="food")
    food.threshold = 0.9
    with django_capture_on_commit_callbacks(execute=True):
        concept_save(concept=food, by=moderator)
    _assert_same(_expected())
    rule = Rule.objects.get(hashtag="동물")
    rule.expression = "dog"
    with django_capture_on_commit_callbacks(execute=True):
        rule_save(rule=rule, by=moderator)
    _assert_same(_expected())


def test_words_are_kept_per_post_for_the_set_based_path(posts: list[Post]) -> None:
    post = posts[1]
    Post.objects.filter(pk=post.pk).update(caption="마라탕을 먹었어요 #카페")
    verdicts_evaluate(posts=[post])
    keys = set(PostWord.objects.filter(post=post).values_list("key", flat=True))
    assert "마라탕" in keys
    assert not {"마라탕을", "먹었어요"} & keys  # the analyzer cut the particle; verbs are no words
    assert "카페" not in keys  # hashtags are the claim, not evidence


def test_a_mapping_change_rejudges_other_rules_for_posts_with_that_word(
    posts: list[Post],
) -> None:
    # "점심" (lunch) becomes a food word: captions with it now count as weak evidence for food
    # under every rule about food, not only under #점심.
    food_rule = Rule.objects.get(hashtag="음식")
    assert food_rule.expression == "food"
    Concept.objects.filter(key="food").update(threshold=0.5)
    verdicts_reevaluate()
    lunch = Post.objects.filter(caption="오늘 점심")
    assert lunch.exists()
    mapping = KeywordMapping.objects.create(word="점심", rule=food_rule)
    expected = _expected()
    scope = reevaluation_scope(mapping, None)
    assert scope["word_concepts"] == {"food"}
    report = verdicts_reevaluate(**scope)
    _assert_same(expected)
    assert report.set_based > 0  # some lunch posts scored between 0.25 and 0.5 for food
    mapping.delete()
    expected = _expected()
    verdicts_reevaluate(**reevaluation_scope(mapping, None))
    _assert_same(expected)
