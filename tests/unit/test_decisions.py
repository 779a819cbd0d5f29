from __future__ import annotations

from moderation.rules.compiled import ConceptInfo, compile_rule, concepts_present
from moderation.rules.decide import decide
from moderation.rules.syntax import parse
from moderation.rules.words import CAPTION, WordMatch

CONCEPTS = {
    "animal": ConceptInfo("animal", "동물", "animal", 0.5),
    "dog": ConceptInfo("dog", "개", "dog", 0.4, parent="animal"),
    "cat": ConceptInfo("cat", "고양이", "cat", 0.4, parent="animal"),
    "food": ConceptInfo("food", "음식", "food", 0.3),
    "adult": ConceptInfo("adult", "성인", "adult", 0.5),
    "child": ConceptInfo("child", "아동", "child", 0.5),
}
NAMES = {name: info.key for info in CONCEPTS.values() for name in (info.key, info.name_ko)}


def test_a_present_dog_makes_animal_present_even_below_animals_threshold() -> None:
    present = concepts_present(CONCEPTS, {"animal": 0.2, "dog": 0.9, "cat": 0.0, "food": 0.0})
    assert present["dog"] is True
    assert present["animal"] is True
    assert present["cat"] is False


def test_a_concept_without_a_score_is_unknown() -> None:
    present = concepts_present(CONCEPTS, {"animal": 0.1, "dog": 0.1, "cat": 0.1, "food": 0.9})
    assert present["adult"] is None
    assert present["child"] is None
    assert present["food"] is True


def test_score_equal_to_threshold_counts_as_present() -> None:
    assert concepts_present(CONCEPTS, {"food": 0.3})["food"] is True


def test_decision_explains_each_concept_against_its_threshold() -> None:
    decision = decide(
        rule=compile_rule(parse("food or 동물", NAMES), CONCEPTS),
        concepts=CONCEPTS,
        scores={"food": 0.05, "animal": 0.8, "dog": 0.1, "cat": 0.7},
        rule_hashtag="카페",
        via_word=None,
        model_version="m1",
    )
    assert decision.result is True
    rows = {row["key"]: row for row in decision.explanation["concepts"]}
    assert rows["food"] == {
        "key": "food",
        "name_ko": "음식",
        "name_en": "food",
        "score": 0.05,
        "threshold": 0.3,
        "present": False,
        "wanted": True,
        "helps": False,
        "not_measured": False,
    }
    assert rows["animal"]["present"] is True
    assert decision.explanation["expression"] == "food or animal"


def test_romance_is_unknown_while_the_model_cannot_see_people() -> None:
    decision = decide(
        rule=compile_rule(parse("adult and not child", NAMES), CONCEPTS),
        concepts=CONCEPTS,
        scores={"food": 0.9},
        rule_hashtag="연애",
        via_word=None,
        model_version="m1",
    )
    assert decision.result is None
    assert decision.explanation["unknown"] == ["adult", "child"]


def test_unknown_does_not_hide_a_false_conjunct() -> None:
    # adult unknown, food absent: "adult and food" is false whatever adult is.
    decision = decide(
        rule=compile_rule(parse("adult and food", NAMES), CONCEPTS),
        concepts=CONCEPTS,
        scores={"food": 0.0},
        rule_hashtag="x",
        via_word=None,
        model_version="m1",
    )
    assert decision.result is False


def test_a_word_that_did_not_count_is_not_listed_where_its_concept_is_present_anyway() -> None:
    scores = {"animal": 0.1, "dog": 0.9, "cat": 0.0, "food": 0.0}
    word = {"source": CAPTION, "keyword": "동물", "rule": "동물", "concept": "animal"}

    def explained(expression: str, s: dict[str, float]) -> dict[str, object]:
        return decide(
            rule=compile_rule(parse(expression, NAMES), CONCEPTS),
            concepts=CONCEPTS,
            scores=s,
            rule_hashtag="동물",
            via_word=None,
            model_version="m1",
            matches=[WordMatch(word="동물", **word)],
        ).explanation

    # The caption's 동물 cannot count (the photo shows too little animal), but the dog makes
    # animal present: listing the word as "not counted" beside a fitting photo says nothing.
    assert explained("animal", scores)["words_not_counted"] == []
    no_dog = explained("animal", {**scores, "dog": 0.0})
    assert [w["word"] for w in no_dog["words_not_counted"]] == ["동물"]  # type: ignore[index]
