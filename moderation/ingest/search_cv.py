"""Search quality of a cross-validation: each starter hashtag's rule applied as the product
applies it (``rules/compiled.py``) to the held-out scores with the thresholds their fold chose.
A photo is relevant when the same rule holds over its labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mlmodels.training.checks import Check, HashtagResult
from mlmodels.training.crossval import CVResult
from mlmodels.training.metrics import Metrics
from moderation.rules.compiled import ConceptInfo, compile_rule, evaluate, presence_plan
from moderation.rules.expr import Expr
from moderation.rules.expr import evaluate as kleene
from moderation.rules.starter import CONCEPTS, RULES
from moderation.rules.syntax import parse
from moderation.selectors.catalog import concept_names

FOOD_HASHTAG = "음식"


def starter_catalogue(thresholds: Mapping[str, float]) -> dict[str, ConceptInfo]:
    return {
        key: ConceptInfo(key, ko, en, float(thresholds.get(key, 0.5)), parent)
        for key, ko, en, _kind, parent in CONCEPTS
    }


def starter_rules() -> dict[str, Expr]:
    names = concept_names(starter_catalogue({}))
    return {hashtag: parse(expression, names) for hashtag, expression, _ in RULES}


def label_truth(labels: np.ndarray, concepts: tuple[str, ...]) -> list[dict[str, bool | None]]:
    """Per row, each concept's truth: labelled 1 or 0, or unknown where the label is ignored."""
    values = {1: True, 0: False}
    return [
        {c: values.get(int(row[j])) for j, c in enumerate(concepts)} for row in np.asarray(labels)
    ]


def shown_matrix(
    scores: np.ndarray,
    thresholds: np.ndarray,
    concepts: Sequence[str],
    rules: Mapping[str, Expr],
) -> dict[str, list[bool | None]]:
    """hashtag -> per row the rule's result on its scores under its own thresholds (a CV's rows
    carry their fold's), None where the rule is undecided."""
    out: dict[str, list[bool | None]] = {h: [None] * len(scores) for h in rules}
    by_thresholds: dict[tuple[float, ...], list[int]] = {}
    for i, row in enumerate(np.asarray(thresholds, dtype=np.float64).tolist()):
        by_thresholds.setdefault(tuple(row), []).append(i)
    for row_thresholds, rows in by_thresholds.items():
        catalogue = starter_catalogue(dict(zip(concepts, row_thresholds, strict=True)))
        plan = presence_plan(catalogue)
        compiled = {h: compile_rule(expr, catalogue, plan) for h, expr in rules.items()}
        for i in rows:
            row_scores = dict(
                zip(concepts, np.asarray(scores[i], dtype=np.float64).tolist(), strict=True)
            )
            for hashtag, rule in compiled.items():
                out[hashtag][i] = evaluate(rule, row_scores).result
    return out


def hashtag_search(
    scores: np.ndarray,
    thresholds: np.ndarray,
    labels: np.ndarray,
    concepts: Sequence[str],
    rules: Mapping[str, Expr],
) -> list[HashtagResult]:
    """Search precision and recall per hashtag, in the rules' order: shown = the rule holds on
    the scores, relevant = it holds on the labels."""
    shown = shown_matrix(scores, thresholds, concepts, rules)
    truths = label_truth(labels, tuple(concepts))
    results = []
    for hashtag, expr in rules.items():
        relevant = [kleene(expr, truth) for truth in truths]
        y = np.array([-1 if r is None else int(r) for r in relevant], dtype=np.int8)
        decided = np.array([s is True for s in shown[hashtag]], dtype=bool)
        results.append(
            HashtagResult(
                hashtag=hashtag,
                expression=str(expr),
                metrics=Metrics.of(decided, y),
                unknown_truth=int((y < 0).sum()),
                undecided=sum(s is None for s in shown[hashtag]),
            )
        )
    return results


def hashtag_results(cv: CVResult, rules: Mapping[str, Expr] | None = None) -> list[HashtagResult]:
    """:func:`hashtag_search` on a cross-validation's held-out scores (the starter rules by
    default)."""
    rules = starter_rules() if rules is None else rules
    return hashtag_search(cv.scores, cv.row_thresholds, cv.labels, cv.concepts, rules)


def menu_check(cv: CVResult, rules: Mapping[str, Expr] | None = None) -> list[Check]:
    """Menu photos shown under #음식 from the image's scores alone: this CV reads no text."""
    rules = starter_rules() if rules is None else rules
    if FOOD_HASHTAG not in rules:
        return []
    menus = np.asarray(cv.folders) == "menu"
    rule = {FOOD_HASHTAG: rules[FOOD_HASHTAG]}
    shown = shown_matrix(cv.scores, cv.row_thresholds, cv.concepts, rule)[FOOD_HASHTAG]
    hits = sum(bool(s) for s, m in zip(shown, menus, strict=True) if m)
    return [
        Check(
            f"menu photos shown under #{FOOD_HASHTAG} (scores only, no text read)",
            hits,
            int(menus.sum()),
        )
    ]
