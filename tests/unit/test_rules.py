"""moderation.rules.syntax: parsing, canonical text, Kleene evaluation. Pure Python, no database."""

from __future__ import annotations

import itertools

import pytest

from moderation.rules.expr import And, ConceptRef, Expr, Not, Or, evaluate, explain, wanted
from moderation.rules.syntax import MAX_DEPTH, RuleSyntaxError, parse, validate

# Shaped like moderation.selectors.concept_names: key, Korean and English names → key.
NAMES: dict[str, str] = {}
for _key, _ko, _en in [
    ("adult", "성인", "Adult"),
    ("child", "아이", "Child"),
    ("food", "음식", "Food"),
    ("beverage", "음료", "Beverage"),
    ("dog", "개", "Dog"),
    ("cat", "고양이", "Cat"),
    ("other_animal", "기타동물", "Other-Animal"),
]:
    for _name in (_key, _ko, _en):
        NAMES[_name.casefold()] = _key

A, C, F, B = ConceptRef("adult"), ConceptRef("child"), ConceptRef("food"), ConceptRef("beverage")
DOG, CAT = ConceptRef("dog"), ConceptRef("cat")


def p(text: str) -> Expr:
    return parse(text, NAMES)


def error(text: str) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        parse(text, NAMES)
    return info.value


# --- structure and precedence ---------------------------------------------------------


def test_a_single_concept_parses_to_its_key() -> None:
    assert p("food") == F


def test_and_binds_tighter_than_or() -> None:
    assert p("dog or cat and food") == Or((DOG, And((CAT, F))))
    assert p("dog and cat or food") == Or((And((DOG, CAT)), F))


def test_not_binds_tighter_than_and() -> None:
    assert p("adult and not child") == And((A, Not(C)))
    assert p("not adult and child") == And((Not(A), C))


def test_parentheses_override_precedence() -> None:
    assert p("(dog or cat) and not food") == And((Or((DOG, CAT)), Not(F)))
    assert p("not (dog or cat)") == Not(Or((DOG, CAT)))


def test_redundant_parentheses_around_an_atom_vanish() -> None:
    assert p("(((dog)))") == DOG


def test_a_chain_of_the_same_operator_is_one_node() -> None:
    assert p("dog or cat or food") == Or((DOG, CAT, F))
    assert p("dog and cat and food") == And((DOG, CAT, F))


def test_not_can_be_repeated() -> None:
    assert p("not not dog") == Not(Not(DOG))


def test_operator_words_are_case_insensitive() -> None:
    assert p("adult AND Not child OR food") == p("adult and not child or food")


def test_symbol_operators_mean_the_same_as_words() -> None:
    words = p("(dog or cat) and not food")
    assert p("(dog | cat) & !food") == words
    assert p("(dog || cat) && ~food") == words
    assert p("(dog|cat)&&!food") == words


def test_korean_operators_mean_the_same_as_english() -> None:
    assert p("성인 그리고 제외 아이") == p("adult and not child")
    assert p("음식 또는 음료") == p("food or beverage")
    assert p("음식 혹은 음료") == p("food or beverage")
    assert p("성인 및 아닌 아이") == p("adult and not child")


def test_korean_and_english_concept_names_resolve_to_the_same_key() -> None:
    assert p("음식 or Beverage") == Or((F, B))
    assert p("FOOD") == F


def test_concept_names_may_contain_underscores_and_hyphens() -> None:
    assert p("other_animal") == ConceptRef("other_animal")
    assert p("other-animal or dog") == Or((ConceptRef("other_animal"), DOG))


def test_decomposed_hangul_in_a_concept_name_resolves() -> None:
    decomposed = "\u110b\u1173\u11b7\u1109\u1175\u11a8"  # 음식 as conjoining jamo
    assert p(decomposed) == F


def test_a_callable_resolver_gets_folded_names() -> None:
    seen: list[str] = []

    def resolve(name: str) -> str | None:
        seen.append(name)
        return name.upper()

    assert parse("Dog and 음식", resolve) == And((ConceptRef("DOG"), ConceptRef("음식")))
    assert seen == ["dog", "음식"]


def test_concepts_lists_every_key_used() -> None:
    assert p("(dog or cat) and not 음식 and dog").concepts() == frozenset({"dog", "cat", "food"})


def test_ast_nodes_are_immutable() -> None:
    node = p("dog or cat")
    with pytest.raises(AttributeError):
        node.items = ()  # type: ignore[misc, union-attr]


def test_and_and_or_need_two_items() -> None:
    with pytest.raises(ValueError):
        And((DOG,))
    with pytest.raises(ValueError):
        Or(())


# --- canonical text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("adult or child", "adult or child"),
        ("성인 그리고 제외 아이", "adult and not child"),
        ("(dog | cat) && !음식", "(dog or cat) and not food"),
        ("dog or (cat and food)", "dog or cat and food"),
        ("not (dog and cat)", "not (dog and cat)"),
        ("not not dog", "not not dog"),
        ("dog and (cat and food)", "dog and (cat and food)"),
        ("(dog or cat) or food", "(dog or cat) or food"),
        ("  FOOD   OR\tbeverage ", "food or beverage"),
    ],
)
def test_canonical_text_uses_keys_and_minimal_parentheses(text: str, canonical: str) -> None:
    assert str(p(text)) == canonical
    assert validate(text, NAMES) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "dog",
        "dog or cat and food",
        "(dog or cat) and not food",
        "not (dog or not (cat and food))",
        "dog and (cat and food)",
        "(dog or cat) or (food or beverage)",
        "not not (adult or child)",
        "((dog and cat) or food) and not (adult or not child)",
    ],
)
def test_canonical_text_parses_back_to_the_same_tree(text: str) -> None:
    expr = p(text)
    assert p(str(expr)) == expr
    assert str(p(str(expr))) == str(expr)


def test_hand_built_trees_round_trip_through_their_text() -> None:
    trees: list[Expr] = [
        And((Or((DOG, CAT)), And((F, B)))),
        Or((And((DOG, Not(CAT))), Or((F, Not(Not(B)))))),
        Not(And((Not(Or((DOG, CAT))), F))),
    ]
    for tree in trees:
        assert p(str(tree)) == tree


# --- errors ---------------------------------------------------------------------------


def test_rule_syntax_error_is_a_value_error() -> None:
    assert issubclass(RuleSyntaxError, ValueError)


def test_an_unknown_concept_is_named_with_the_known_names() -> None:
    exc = error("food or zebra")
    assert exc.name == "zebra"
    assert exc.position == 9
    assert "Unknown concept 'zebra' at position 9" in str(exc)
    assert "Known concepts:" in str(exc)
    assert "beverage" in str(exc) and "음식" in str(exc)


def test_an_unknown_concept_with_a_callable_resolver_is_named() -> None:
    with pytest.raises(RuleSyntaxError, match="Unknown concept 'Zebra' at position 1") as info:
        parse("Zebra", lambda name: None)
    assert "Known concepts" not in str(info.value)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_rule_is_refused(text: str) -> None:
    exc = error(text)
    assert "empty" in str(exc)
    assert exc.position is None


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("adult and", 10, "Expected a concept name after 'and' at position 10"),
        ("adult and ", 11, "Expected a concept name after 'and' at position 11"),
        ("adult or or child", 10, "Expected a concept name after 'or' at position 10"),
        ("and adult", 1, "Expected a concept name at position 1, found 'and'"),
        ("not", 4, "Expected a concept name after 'not' at position 4"),
        ("dog and not", 12, "after 'not' at position 12"),
        ("dog or )", 8, "Expected a concept name after 'or' at position 8, found ')'"),
        ("(adult", 1, "Unclosed '(' at position 1"),
        ("(dog or (cat and food)", 1, "Unclosed '(' at position 1"),
        ("adult)", 6, "Unmatched ')' at position 6"),
        ("()", 1, "Empty parentheses at position 1"),
        ("adult child", 7, "found 'child' at position 7"),
        ("(dog cat)", 6, "found 'cat' at position 6"),
        ("dog (cat)", 5, "found '(' at position 5"),
        ("dog not cat", 5, "found 'not' at position 5"),
        ("adult $ child", 7, "Unexpected character '$' at position 7"),
        ("food, beverage", 5, "Unexpected character ',' at position 5"),
        ("-dog", 1, "Unexpected character '-' at position 1"),
        ("음식 또는", 6, "Expected a concept name after '또는' at position 6"),
    ],
)
def test_malformed_rules_report_what_and_where(text: str, position: int, message: str) -> None:
    exc = error(text)
    assert exc.position == position
    assert message in str(exc)


def test_two_names_in_a_row_suggest_joining_them() -> None:
    assert "join concepts with 'and' or 'or'" in str(error("adult child"))


def test_deep_nesting_is_refused_before_python_recursion_runs_out() -> None:
    assert p("(" * MAX_DEPTH + "dog" + ")" * MAX_DEPTH) == DOG
    assert "nests too deeply" in str(error("(" * (MAX_DEPTH + 1) + "dog" + ")" * (MAX_DEPTH + 1)))
    assert "nests too deeply" in str(error("not " * 5000 + "dog"))


def test_validate_raises_the_same_errors_as_parse() -> None:
    with pytest.raises(RuleSyntaxError, match="Unknown concept"):
        validate("zebra", NAMES)


# --- Kleene evaluation ----------------------------------------------------------------

VALUES: list[bool | None] = [True, False, None]


def _kleene_and(x: bool | None, y: bool | None) -> bool | None:
    if x is False or y is False:
        return False
    if x is None or y is None:
        return None
    return True


def _kleene_or(x: bool | None, y: bool | None) -> bool | None:
    if x is True or y is True:
        return True
    if x is None or y is None:
        return None
    return False


@pytest.mark.parametrize(("x", "y"), list(itertools.product(VALUES, VALUES)))
def test_and_follows_the_kleene_table(x: bool | None, y: bool | None) -> None:
    assert evaluate(p("dog and cat"), {"dog": x, "cat": y}) is _kleene_and(x, y)


@pytest.mark.parametrize(("x", "y"), list(itertools.product(VALUES, VALUES)))
def test_or_follows_the_kleene_table(x: bool | None, y: bool | None) -> None:
    assert evaluate(p("dog or cat"), {"dog": x, "cat": y}) is _kleene_or(x, y)


@pytest.mark.parametrize(("x", "expected"), [(True, False), (False, True), (None, None)])
def test_not_of_unknown_is_unknown(x: bool | None, expected: bool | None) -> None:
    assert evaluate(p("not dog"), {"dog": x}) is expected


def test_a_concept_missing_from_present_is_unknown() -> None:
    assert evaluate(p("dog"), {}) is None
    assert evaluate(p("dog or cat"), {"cat": True}) is True
    assert evaluate(p("dog and cat"), {"cat": False}) is False


def test_long_chains_use_kleene_logic_over_all_items() -> None:
    rule = p("dog and cat and food")
    assert evaluate(rule, {"dog": True, "cat": None, "food": False}) is False
    assert evaluate(rule, {"dog": True, "cat": None, "food": True}) is None
    rule = p("dog or cat or food")
    assert evaluate(rule, {"dog": False, "cat": None, "food": True}) is True
    assert evaluate(rule, {"dog": False, "cat": None, "food": False}) is None


def test_explain_gives_every_sub_expression_with_its_value() -> None:
    rows = explain(p("adult and not child"), {"adult": True, "child": None})
    assert rows == [
        ("adult", True),
        ("child", None),
        ("not child", None),
        ("adult and not child", None),
    ]


# --- the seed rules -------------------------------------------------------------------


def test_fashion_rule_shows_photos_with_any_person() -> None:  # 패션 = adult or child
    rule = p("성인 또는 아이")
    assert str(rule) == "adult or child"
    assert evaluate(rule, {"adult": True, "child": False}) is True
    assert evaluate(rule, {"adult": False, "child": True}) is True
    assert evaluate(rule, {"adult": False, "child": False}) is False
    assert evaluate(rule, {"adult": False, "child": None}) is None


def test_romance_rule_hides_photos_with_a_child() -> None:  # 연애 = adult and not child
    rule = p("adult and not child")
    assert evaluate(rule, {"adult": True, "child": False}) is True
    assert evaluate(rule, {"adult": True, "child": True}) is False
    assert evaluate(rule, {"adult": False, "child": None}) is False
    assert evaluate(rule, {"adult": True, "child": None}) is None


def test_cafe_rule_wants_food_or_drink() -> None:  # 카페 = food or beverage
    rule = p("음식 또는 음료")
    assert str(rule) == "food or beverage"
    assert evaluate(rule, {"food": False, "beverage": True}) is True
    assert evaluate(rule, {"food": False, "beverage": False}) is False
    assert evaluate(rule, {"food": None, "beverage": True}) is True
    assert evaluate(rule, {"food": None, "beverage": False}) is None


def test_parenting_rule_wants_a_child() -> None:  # 육아 = child
    rule = p("아이")
    assert rule == C
    assert evaluate(rule, {"child": True, "adult": True}) is True
    assert evaluate(rule, {"child": False}) is False
    assert evaluate(rule, {"adult": True}) is None


FORCE_NAMES = {"adult": "adult", "child": "child", "food": "food", "beverage": "beverage"}


def test_a_relevant_romance_override_says_adult_present_and_child_absent() -> None:
    from moderation.rules.expr import forced_values

    assert forced_values(parse("adult and not child", FORCE_NAMES), True) == {
        "adult": True,
        "child": False,
    }


def test_a_not_relevant_cafe_override_says_no_food_and_no_drink() -> None:
    from moderation.rules.expr import forced_values

    assert forced_values(parse("food or beverage", FORCE_NAMES), False) == {
        "food": False,
        "beverage": False,
    }


def test_an_ambiguous_outcome_forces_nothing() -> None:
    from moderation.rules.expr import forced_values

    assert forced_values(parse("food or beverage", FORCE_NAMES), True) is None
    assert forced_values(parse("adult and not child", FORCE_NAMES), False) is None
    assert forced_values(parse("food and not food", FORCE_NAMES), True) is None


def test_wanted_says_which_concepts_a_rule_asks_to_be_absent() -> None:
    assert wanted(p("adult and not child")) == {"adult": True, "child": False}
    assert wanted(p("not (food or not beverage)")) == {"food": False, "beverage": True}
    assert wanted(p("(adult and not child) or child")) == {"adult": True, "child": None}
