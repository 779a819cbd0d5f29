"""Search quality of a cross-validation under the starter rules: each hashtag's rule applied by
``rules/compiled.py`` to the held-out decisions (``comparison.rule_figures``); a photo is
relevant when the same rule holds over its labels."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mlmodels.training.checks import Check, HashtagResult
from mlmodels.training.crossval import CVResult
from mlmodels.training.predictions import Predictions, predictions_of
from moderation.ingest.comparison import DECIDED, relevant_to, rule_figures, shown_on
from moderation.rules.compiled import CompiledRule, ConceptInfo, compile_rule, presence_plan
from moderation.rules.starter import CONCEPTS, RULES
from moderation.rules.syntax import parse
from moderation.selectors.catalog import concept_names

FOOD_HASHTAG = "음식"


def starter_rules() -> dict[str, CompiledRule]:
    """The starter rules over the starter concepts (dog and cat under animal), compiled for
    decisions that are already thresholded."""
    catalogue = {
        key: ConceptInfo(key, ko, en, DECIDED, parent) for key, ko, en, _kind, parent in CONCEPTS
    }
    names, plan = concept_names(catalogue), presence_plan(catalogue)
    return {
        hashtag: compile_rule(parse(expression, names), catalogue, plan)
        for hashtag, expression, _ in RULES
    }


def hashtag_search(
    predictions: Predictions, rules: Mapping[str, CompiledRule]
) -> list[HashtagResult]:
    """Search precision and recall per hashtag, in the rules' order."""
    results = []
    for hashtag, rule in rules.items():
        unknown = sum(
            relevant_to(rule, row, predictions.concepts) is None for row in predictions.labels
        )
        metrics = rule_figures(rule, predictions, predictions.decisions, predictions.concepts)
        results.append(HashtagResult(hashtag, str(rule.expr), metrics, unknown))
    return results


def hashtag_results(cv: CVResult) -> list[HashtagResult]:
    return hashtag_search(predictions_of(cv), starter_rules())


def menu_check(cv: CVResult) -> list[Check]:
    """Menu photos shown under #음식 from the image's decisions alone: this CV reads no text."""
    rule = starter_rules()[FOOD_HASHTAG]
    menus = np.flatnonzero(np.asarray(cv.folders) == "menu")
    hits = sum(shown_on(rule, cv.decisions[i], cv.concepts, cv.concepts) for i in menus)
    name = f"menu photos shown under #{FOOD_HASHTAG} (image only, no text read)"
    return [Check(name, hits, len(menus))]
