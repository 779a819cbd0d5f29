"""The Python judge and the set-based SQL re-evaluation interpret one compiled form of a rule
(moderation/rules/compiled.py): on random rules, thresholds, a concept tree, scores (some
concepts unseen), words in the image, caption and comments, keyword mappings and overrides,
both decide the same decision, shown and margin. On whichever database the suite runs on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.judging.reevaluate import verdicts_reevaluate
from moderation.judging.verdicts import verdicts_judge
from moderation.judging.words import post_words_store
from moderation.models import Classification, Concept, KeywordMapping, Rule, TextExtraction, Verdict
from moderation.rules.expr import And, ConceptRef, Expr, Not, Or
from posts.models import Comment, Post
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db(transaction=False)

RULE, MAPPED = "규칙", "매핑"  # the random rule's hashtag, and a hashtag mapped to it
TAGS = [RULE, MAPPED, "미정", "음식", "동물"]  # 미정: no rule judges it
# A concept added under a random parent (a grandchild under dog, a child of food …).
EXTRA = "extra"
CONCEPTS = [
    *("food", "beverage", "adult", "child", "animal", "dog", "cat"),
    *("nail", "flower", "clothing", "mountain", "sea", "gym", EXTRA),
]
# Words that point to single-concept rules (keywords, mappings, plural, particle), the
# random rule's own hashtag and mapped word, a word mapped at random, and noise.
WORDS = [
    *("마라탕", "menu", "menus", "메뉴는", "강아지", "puppy", "고양이를", "꽃", "바다", "food"),
    *(RULE, MAPPED, "새말", "잡담", "오늘", "dog", "cat"),
]
POSTS = 3


def expressions(concepts: Sequence[str] = tuple(CONCEPTS)) -> st.SearchStrategy[Expr]:
    leaves = st.sampled_from(list(concepts)).map(ConceptRef)
    return st.recursive(
        leaves,
        lambda items: st.one_of(
            items.map(Not),
            st.lists(items, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(items, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        ),
        max_leaves=6,
    )


def score(threshold: float) -> st.SearchStrategy[float | None]:
    """Unseen, anywhere, or on the edges the rules care about (threshold, half of it, a
    fifth decimal that the margin's rounding to four places must treat alike)."""
    return st.one_of(
        st.none(),
        st.floats(0.0, 1.0),
        st.sampled_from([threshold, threshold / 2, round(threshold, 4)]),
        st.integers(0, 100_000).map(lambda n: n / 100_000),  # rounding to 4 places
    )


@pytest.fixture
def posts(django_capture_on_commit_callbacks: Any) -> list[Post]:
    Concept.objects.create(key=EXTRA, name_ko="추가", name_en="extra")
    rule = Rule.objects.create(hashtag=RULE, expression="food")
    KeywordMapping.objects.create(word=MAPPED, rule=rule)
    return [judged_post(django_capture_on_commit_callbacks, TAGS) for _ in range(POSTS)]


def _rows(verdicts: list[Verdict]) -> dict[int, tuple[Any, ...]]:
    return {v.pk: (v.decision, v.shown, v.margin, v.rule_id, v.classification_id) for v in verdicts}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_python_and_sql_decide_the_same_on_random_rules_scores_and_words(
    posts: list[Post], data: st.DataObject
) -> None:
    with transaction.atomic():
        _example(posts, data)
        transaction.set_rollback(True)  # the next example starts from the same rows


def _example(posts: list[Post], data: st.DataObject) -> None:
    draw = data.draw
    thresholds = {key: draw(st.floats(0.0, 1.0), label=f"threshold {key}") for key in CONCEPTS}
    for key, threshold in thresholds.items():
        Concept.objects.filter(key=key).update(threshold=threshold)
    parent = draw(st.sampled_from([None, "dog", "animal", "food", "cat"]), label="extra under")
    Concept.objects.filter(key=EXTRA).update(
        parent=Concept.objects.filter(key=parent).first() if parent else None
    )
    valid = draw(st.integers(0, 9), label="rule kind") > 0
    expression = str(draw(expressions(), label="rule")) if valid else "food and"
    Rule.objects.filter(hashtag=RULE).update(expression=expression)
    target = draw(st.sampled_from(["음식", "강아지", "꽃", RULE, "동물"]), label="새말 →")
    KeywordMapping.objects.create(word="새말", rule=Rule.objects.get(hashtag=target))
    words = st.lists(st.sampled_from(WORDS), max_size=3)
    for post in posts:
        scores = {
            key: value
            for key in CONCEPTS
            if (value := draw(score(thresholds[key]), label=f"score {key}")) is not None
        }
        Classification.objects.filter(post=post).update(scores=scores)
        Post.objects.filter(pk=post.pk).update(caption=" ".join(draw(words, label="caption")))
        TextExtraction.objects.update_or_create(
            post=post,
            defaults={"engine": "t", "status": "ok", "words": draw(words, label="image words")},
        )
        for comment in draw(st.lists(words, max_size=2), label="comments"):
            Comment.objects.create(post=post, author=post.author, text=" ".join(comment))
        for verdict in Verdict.objects.filter(post=post):
            # As verdict_override sets it: shown follows at once.
            verdict.override = draw(st.sampled_from([None, None, True, False]), label="override")
            verdict.shown = verdict.effective_shown()
            verdict.save(update_fields=["override", "shown"])
    post_words_store(post_ids=[post.pk for post in posts])

    expected = _rows(verdicts_judge(posts=Post.objects.filter(pk__in=[p.pk for p in posts])))
    report = verdicts_reevaluate()
    assert report.python == 0  # every verdict went the set-based way
    assert _rows(list(Verdict.objects.all())) == expected
