"""A verdict's explanation, row by row; pure, so it re-applies to stored scores anywhere."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.rules.compiled import (
    CompiledRule,
    ConceptInfo,
    evaluate,
    word_evidence_of,
)
from moderation.rules.expr import wanted
from moderation.rules.words import WordMatch


@dataclass(frozen=True)
class Decision:
    result: bool | None  # True relevant, False not, None unknown
    margin: float | None = None  # how far from flipping; None when the result is unknown
    explanation: dict[str, Any] = field(default_factory=dict)


def apply_text_evidence(
    scores: Mapping[str, float], thresholds: Mapping[str, float], matches: Sequence[WordMatch]
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Scores with words taken into account, and one row per word saying whether it counted
    (:data:`moderation.rules.compiled.WORD_EVIDENCE` decides)."""
    adjusted = {key: float(value) for key, value in scores.items()}
    rows: list[dict[str, Any]] = []
    for match in matches:
        key = match.concept
        threshold = float(thresholds.get(key, 0.5))
        score = scores.get(key)
        kind = word_evidence_of(match.source)
        if score is None:
            counted, why = False, "the model cannot see this concept; words alone do not decide it"
        elif float(score) >= threshold:
            counted, why = True, "the photo shows it already"
        elif kind.counts(score, threshold):
            counted = True
            why = (
                "read in the image"
                if kind.share is None
                else "the photo shows some of it (at least half the threshold)"
            )
        else:
            counted = False
            why = (
                f"the photo shows too little of it ({float(score):.2f} < half the threshold "
                f"{threshold * (kind.share or 0):.2f}); a {match.source} alone does not decide"
            )
        if counted:
            adjusted[key] = max(adjusted[key], threshold)
        rows.append(
            {
                "word": match.word,
                "source": match.source,
                "keyword": match.keyword,
                "rule": match.rule,
                "concept": key,
                "counted": counted,
                "why": why,
            }
        )
    return adjusted, rows


def word_kinds(matches: Sequence[WordMatch]) -> dict[str, set[str]]:
    """Concept → the kinds of word evidence (``WordEvidence.name``) a post has for it."""
    kinds: dict[str, set[str]] = {}
    for match in matches:
        kinds.setdefault(match.concept, set()).add(word_evidence_of(match.source).name)
    return kinds


def concept_about(key: str, named: Collection[str], concepts: Mapping[str, ConceptInfo]) -> bool:
    """Whether evidence for concept ``key`` bears on a rule naming ``named``: the concept or
    one above it (a dog for a rule about animals) is named."""
    seen: set[str] = set()
    current: str | None = key
    while current is not None and current not in seen:
        if current in named:
            return True
        seen.add(current)
        info = concepts.get(current)
        current = info.parent if info else None
    return False


def decide(
    *,
    rule: CompiledRule,
    concepts: Mapping[str, ConceptInfo],
    scores: Mapping[str, float],
    rule_hashtag: str,
    via_word: str | None,
    model_version: str,
    matches: Sequence[WordMatch] = (),
    unsupported: Collection[str] | None = None,
) -> Decision:
    """The compiled rule evaluated on a post's scores and words, with one row per named concept
    and the words that counted (``words``) or not (``words_not_counted``). A concept without a
    score that the model supports (not in ``unsupported``) was not measured for this post:
    people evidence runs only when a rule needs it (``not_measured``)."""
    expr = rule.expr
    evaluation = evaluate(rule, scores, word_kinds(matches))
    polarity = wanted(expr)
    rows: list[dict[str, Any]] = []
    for key in sorted(expr.concepts()):
        info = concepts.get(key)
        present = evaluation.present.get(key)
        rows.append(
            {
                "key": key,
                "name_ko": info.name_ko if info else key,
                "name_en": info.name_en if info else key,
                "score": round(float(scores[key]), 4) if key in scores else None,
                "threshold": info.threshold if info else None,
                "present": present,
                "wanted": polarity.get(key, True),
                "helps": None if present is None else present != (polarity.get(key) is False),
                "not_measured": unsupported is not None
                and key not in scores
                and key not in unsupported,
            }
        )
    explanation: dict[str, Any] = {
        "rule": rule_hashtag,
        "via": via_word,
        "expression": str(expr),
        "model_version": model_version,
        "concepts": rows,
        "result": evaluation.result,
        "unknown": [row["key"] for row in rows if row["present"] is None],
    }
    decision = Decision(evaluation.result, evaluation.margin, explanation)
    if not matches:
        return decision
    thresholds = {key: info.threshold for key, info in concepts.items()}
    adjusted, words = apply_text_evidence(scores, thresholds, matches)
    named = expr.concepts()
    about = [
        {
            **row,
            "name_ko": concepts[row["concept"]].name_ko if row["concept"] in concepts else "",
            "name_en": concepts[row["concept"]].name_en if row["concept"] in concepts else "",
        }
        for row in words
        if concept_about(row["concept"], named, concepts)
    ]
    if not about:
        # Words about other concepts change nothing here: the same explanation as without them.
        return decision
    for concept in rows:
        key = concept["key"]
        if key in scores and adjusted[key] != float(scores[key]):
            concept["by_words"] = True
    explanation["words"] = [row for row in about if row["counted"]]
    explanation["words_not_counted"] = [  # only where the concept is not present anyway
        row
        for row in about
        if not row["counted"] and evaluation.present.get(row["concept"]) is not True
    ]
    return decision
