from __future__ import annotations

import pytest

from moderation.models import Concept, KeywordMapping, Rule
from moderation.rules import starter as seed
from moderation.rules.syntax import parse
from moderation.selectors.catalog import concept_catalog, concept_names, rule_index
from posts.hashtags import normalize_hashtag

pytestmark = pytest.mark.django_db


def test_every_seed_rule_parses_against_the_seed_concepts() -> None:
    names = concept_names(concept_catalog())
    for rule in Rule.objects.all():
        parse(rule.expression, names)
    assert Rule.objects.count() == len(seed.RULES)


def test_the_study_rules_are_seeded() -> None:
    rules = {r.hashtag: r.expression for r in Rule.objects.all()}
    assert rules["패션"] == "adult or child or clothing"  # 0003: the clothing gap closed
    assert rules["연애"] == "adult and not child"
    assert rules["카페"] == "food or beverage"
    assert rules["육아"] == "child"


@pytest.mark.parametrize(
    "word",
    ["마라탕", "쌀국수", "국밥", "카레", "라면", "우동", "라멘", "치킨", "불고기", "김치", "food"],
)
def test_food_words_are_judged_by_the_food_rule(word: str) -> None:
    rule, via = rule_index().resolve(word)
    assert rule is not None and rule.hashtag == "음식"
    assert via == word


def test_seed_words_and_hashtags_are_already_normalised() -> None:
    for value in [
        *Rule.objects.values_list("hashtag", flat=True),
        *KeywordMapping.objects.values_list("word", flat=True),
    ]:
        assert normalize_hashtag(value) == value


def test_dog_and_cat_sit_under_animal() -> None:
    assert Concept.objects.get(key="dog").parent.key == "animal"
    assert Concept.objects.get(key="cat").parent.key == "animal"
