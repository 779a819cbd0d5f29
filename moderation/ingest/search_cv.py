"""Search quality of a cross-validation under the starter rules: each hashtag's rule applied by
``rules/compiled.py`` to the held-out decisions (``comparison.rule_figures``); a photo is
relevant when the same rule holds over its labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mlmodels.training.checks import Check, HashtagResult
from mlmodels.training.crossval import CVResult
from mlmodels.training.predictions import Predictions, predictions_of
from moderation.ingest.comparison import DECIDED, relevant_to, rule_figures, shown_on
from moderation.judging.words import rules_word_index
from moderation.rules.compiled import CompiledRule, ConceptInfo, compile_rule, presence_plan
from moderation.rules.decide import apply_text_evidence
from moderation.rules.starter import CONCEPTS, RULES
from moderation.rules.syntax import parse
from moderation.rules.words import IMAGE, match_words
from moderation.selectors.catalog import concept_catalog, concept_names, rule_index

FOOD_HASHTAG = "음식"
MENUS_SHOWN = 0.90  # at least: development menu photos shown under #음식, their text read


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


def hashtag_results(cv: CVResult, decisions: np.ndarray | None = None) -> list[HashtagResult]:
    """Per starter hashtag; ``decisions`` in place of the CV's (``decisions_with_text``)."""
    predictions = predictions_of(cv)
    if decisions is not None:
        predictions = replace(predictions, decisions=decisions)
    return hashtag_search(predictions, starter_rules())


@dataclass(frozen=True)
class SearchError:
    """A held-out photo a hashtag showed though its rule does not hold on the labels, or missed."""

    hashtag: str
    kind: str  # SHOWN_WRONGLY or MISSED
    file: str
    folder: str
    source: str
    labelled: str  # the concepts its labels say present (and absent, where labels are partial)
    decided: str  # the concepts the held-out decisions found present


SHOWN_WRONGLY, MISSED = "shown, not relevant", "relevant, not shown"


def _labelled(labels: np.ndarray, concepts: Sequence[str]) -> str:
    """The concepts labelled present; where some are unknown (an override), the absent too."""
    present = [c for c, v in zip(concepts, labels, strict=True) if v == 1]
    if (labels >= 0).all():
        return ";".join(present)
    return ";".join(present + [f"not {c}" for c, v in zip(concepts, labels, strict=True) if v == 0])


def hashtag_errors(
    cv: CVResult, files: Sequence[str], decisions: np.ndarray | None = None
) -> list[SearchError]:
    """Every photo behind each starter hashtag's false positives and misses, in the rules' order:
    the rows ``hashtag_results`` counts as fp and fn."""
    decisions = cv.decisions if decisions is None else decisions
    errors = []
    for hashtag, rule in starter_rules().items():
        for i, file in enumerate(files):
            relevant = relevant_to(rule, cv.labels[i], cv.concepts)
            if relevant is None:
                continue
            shown = shown_on(rule, decisions[i], cv.concepts, cv.concepts)
            if shown == relevant:
                continue
            errors.append(
                SearchError(
                    hashtag,
                    SHOWN_WRONGLY if shown else MISSED,
                    file,
                    str(cv.folders[i]),
                    str(cv.groups[i]),
                    _labelled(cv.labels[i], cv.concepts),
                    ";".join(c for c, v in zip(cv.concepts, decisions[i], strict=True) if v),
                )
            )
    return errors


def decisions_with_text(cv: CVResult, image_words: Sequence[Sequence[str]]) -> np.ndarray:
    """The CV's decisions with the words read in each photo weighed as an upload's are."""
    index = rules_word_index(rule_index(), concept_names(concept_catalog()))
    columns = {concept: j for j, concept in enumerate(cv.concepts)}
    at = dict.fromkeys(columns, 0.5)  # decisions are 0 or 1: a counted word lifts to the threshold
    decisions = cv.decisions.copy()
    for i, words in enumerate(image_words):
        matches = [m for m in match_words(list(words), index, IMAGE) if m.concept in columns]
        if not matches:
            continue
        scores = {c: float(decisions[i, j]) for c, j in columns.items()}
        lifted, _ = apply_text_evidence(scores, at, matches)
        for concept, score in lifted.items():
            decisions[i, columns[concept]] = score >= at[concept]
    return decisions


def menu_check(cv: CVResult, read: np.ndarray | None = None) -> list[Check]:
    """Menu photos shown under #음식 from the image alone, and with ``read`` (the text's)."""
    rule = starter_rules()[FOOD_HASHTAG]
    menus = np.flatnonzero(np.asarray(cv.folders) == "menu")
    hits = sum(shown_on(rule, cv.decisions[i], cv.concepts, cv.concepts) for i in menus)
    checks = [Check(f"menu photos shown under #{FOOD_HASHTAG} (image only)", hits, len(menus))]
    if read is None:
        name = f"menu photos shown under #{FOOD_HASHTAG} with their text (not read: no OCR)"
        return [*checks, Check(name, 0, 0, MENUS_SHOWN)]
    hits = sum(shown_on(rule, read[i], cv.concepts, cv.concepts) for i in menus)
    name = f"menu photos shown under #{FOOD_HASHTAG} with their text read"
    return [*checks, Check(name, hits, len(menus), MENUS_SHOWN)]
