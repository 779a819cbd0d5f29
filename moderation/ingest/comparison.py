"""A trained version against the active one: per concept from the cross-validated reports,
per rule by evaluating today's rules (rules/compiled.py) on the same out-of-fold decisions."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlmodels.training.metrics import Metrics
from mlmodels.training.predictions import Predictions, predictions_from_bytes
from moderation.models import ModelVersion
from moderation.rules.compiled import CompiledRule, Outcome, compile_rule, evaluate, presence_plan
from moderation.rules.compiled import shown as shown_of
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.selectors.catalog import concept_catalog, concept_names, rule_index

# Decisions are already thresholded (nested thresholds per fold): present is 1, absent 0.
DECIDED = 0.5


@dataclass(frozen=True)
class Side:
    """One version's figures and where they come from."""

    label: str
    concepts: dict[str, dict[str, Any]]  # concept → Metrics.as_dict()
    rules: dict[str, Metrics] | None  # hashtag → figures; None: no predictions kept


@dataclass(frozen=True)
class RuleRow:
    hashtag: str
    words: list[str]  # hashtags a keyword mapping sends to this rule
    expression: str
    error: str  # the syntax error of an invalid rule


@dataclass(frozen=True)
class Comparison:
    candidate: Side
    active: Side | None
    note: str
    concepts: list[str]
    rules: list[RuleRow]


def rule_figures(
    rule: CompiledRule, predictions: Predictions, decisions: np.ndarray, scored: Collection[str]
) -> Metrics:
    """Search figures of one rule: a photo is relevant when the rule holds on its labels
    (unknown there: left out), shown when compiled.py shows it on the decisions."""
    concepts = predictions.concepts
    rows = np.concatenate([predictions.labels, decisions.astype(np.int8)], axis=1)
    patterns, counts = np.unique(rows, axis=0, return_counts=True)
    tp = fp = fn = 0
    width = len(concepts)
    for pattern, count in zip(patterns, counts, strict=True):
        truth, decision = pattern[:width], pattern[width:]
        truth_scores = {c: float(v) for c, v in zip(concepts, truth, strict=True) if v >= 0}
        relevant = evaluate(rule, truth_scores).result
        if relevant is None:
            continue
        decided = {c: float(v) for c, v in zip(concepts, decision, strict=True) if c in scored}
        result = evaluate(rule, decided)
        shown = shown_of(Outcome.decided(result.result, result.margin).decision, None)
        tp += int(count) * (shown and relevant)
        fp += int(count) * (shown and not relevant)
        fn += int(count) * (not shown and relevant)
    return Metrics(tp, fp, fn)


def _rules_on(
    compiled: Mapping[str, CompiledRule],
    predictions: Predictions,
    decisions: np.ndarray,
    scored: Collection[str],
) -> dict[str, Metrics]:
    return {
        hashtag: rule_figures(rule, predictions, decisions, scored)
        for hashtag, rule in compiled.items()
    }


def _predictions(version: ModelVersion) -> Predictions | None:
    data = version.predictions
    return predictions_from_bytes(bytes(data)) if data else None


def _rollup_side(
    candidate: ModelVersion, compiled: Mapping[str, CompiledRule], active: ModelVersion
) -> Side:
    """The active roll-up as this training's cross-validation measured it, on the same rows."""
    concepts = {
        key: row["imagenet"]
        for key, row in (candidate.metrics or {}).get("concepts", {}).items()
        if row.get("imagenet")
    }
    predictions = _predictions(candidate)
    rules = None
    if predictions is not None:
        rules = _rules_on(compiled, predictions, predictions.rollup, predictions.rollup_concepts)
    return Side(f"{active.name} (roll-up, measured in this training's folds)", concepts, rules)


def _trained_side(compiled: Mapping[str, CompiledRule], version: ModelVersion) -> Side:
    concepts = {
        key: row["selected"] for key, row in (version.metrics or {}).get("concepts", {}).items()
    }
    predictions = _predictions(version)
    rules = None
    if predictions is not None:
        rules = _rules_on(compiled, predictions, predictions.decisions, version.concepts)
    return Side(version.name, concepts, rules)


def version_comparison(*, candidate: ModelVersion) -> Comparison:
    catalog = concept_catalog()
    names = concept_names(catalog)
    decided = {key: dataclasses.replace(info, threshold=DECIDED) for key, info in catalog.items()}
    plan = presence_plan(decided)
    index = rule_index()
    words: dict[int, list[str]] = {}
    for word, rule in sorted(index.mappings.items()):
        words.setdefault(rule.pk, []).append(word)
    rows: list[RuleRow] = []
    compiled: dict[str, CompiledRule] = {}
    for hashtag, rule in sorted(index.rules.items()):
        error = ""
        try:
            compiled[hashtag] = compile_rule(parse(rule.expression, names), decided, plan)
        except RuleSyntaxError as exc:
            error = str(exc)
        rows.append(RuleRow(hashtag, words.get(rule.pk, []), rule.expression, error))
    active = ModelVersion.objects.filter(is_active=True).first()
    side = _trained_side(compiled, candidate)
    note = "Each version on its own cross-validation (nested, the held-out folds only measure)."
    baseline: Side | None = None
    if active is None:
        note = "No version is active yet: nothing to compare against."
    elif active.pk == candidate.pk:
        note = "This version is the active one: nothing to compare against."
    elif active.kind == ModelVersion.Kind.ROLLUP and active.backbone == candidate.backbone:
        baseline = _rollup_side(candidate, compiled, active)
        note = (
            "The active roll-up has no report of its own: its figures are this training's, "
            "on the same photos, with its thresholds chosen per fold."
        )
    elif active.kind == ModelVersion.Kind.ROLLUP:
        note = f"The active roll-up ({active.backbone}) is of another backbone: not measured."
    else:
        baseline = _trained_side(compiled, active)
    concepts = sorted(set(side.concepts) | set(baseline.concepts if baseline else ()))
    return Comparison(side, baseline, note, concepts, rows)
