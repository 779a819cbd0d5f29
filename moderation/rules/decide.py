"""From stored scores to a verdict: which concepts are present, what the rule says.

Pure functions over plain data, no Django, so a changed rule or threshold can be
re-applied to stored scores anywhere (services, previews, tests).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.rules.expr import And, ConceptRef, Expr, Not, evaluate
from moderation.rules.words import IMAGE, WordMatch


@dataclass(frozen=True)
class ConceptInfo:
    key: str
    name_ko: str
    name_en: str
    threshold: float
    parent: str | None = None


@dataclass(frozen=True)
class Decision:
    result: bool | None  # True relevant, False not, None unknown
    explanation: dict[str, Any] = field(default_factory=dict)


def concepts_present(
    concepts: Mapping[str, ConceptInfo], scores: Mapping[str, float]
) -> dict[str, bool | None]:
    """Present, absent or unknown (the model cannot see it) for every concept.

    A concept is present when its own score reaches its threshold or any concept under
    it is present (a dog is an animal); unknown when the model gives it no score and
    nothing under it is present.
    """
    children: dict[str, list[str]] = {}
    for info in concepts.values():
        if info.parent:
            children.setdefault(info.parent, []).append(info.key)

    memo: dict[str, bool | None] = {}

    def present(key: str, seen: frozenset[str] = frozenset()) -> bool | None:
        if key in memo:
            return memo[key]
        if key in seen:  # a cycle in parents: judge the concept by its own score only
            return None
        own: bool | None = None
        if key in scores:
            own = float(scores[key]) >= concepts[key].threshold
        below = [present(child, seen | {key}) for child in children.get(key, [])]
        value: bool | None
        if own is True or True in below:
            value = True
        elif own is False:
            value = False
        else:
            value = None
        memo[key] = value
        return value

    return {key: present(key) for key in concepts}


def decide(
    *,
    expr: Expr,
    concepts: Mapping[str, ConceptInfo],
    scores: Mapping[str, float],
    rule_keyword: str,
    via_word: str | None,
    model_version: str,
) -> Decision:
    present = concepts_present(concepts, scores)
    result = evaluate(expr, present)
    rows = []
    for key in sorted(expr.concepts()):
        info = concepts.get(key)
        rows.append(
            {
                "key": key,
                "name_ko": info.name_ko if info else key,
                "name_en": info.name_en if info else key,
                "score": round(float(scores[key]), 4) if key in scores else None,
                "threshold": info.threshold if info else None,
                "present": present.get(key),
            }
        )
    explanation: dict[str, Any] = {
        "rule": rule_keyword,
        "via": via_word,
        "expression": str(expr),
        "model_version": model_version,
        "concepts": rows,
        "result": result,
        "unknown": [row["key"] for row in rows if row["present"] is None],
    }
    return Decision(result=result, explanation=explanation)


def decision_margin(expr: Expr, explanation: Mapping[str, Any]) -> float | None:
    """How far a decided rule is from flipping, in score units; None when undecided.

    The smallest change to the rule's concepts' own scores (each concept moved at most this
    far) that would turn the result into its opposite or unknown, computed from the
    explanation rows: a concept costs |score − threshold| to flip; an unknown concept costs
    nothing (it is already uncertain); a concept whose presence does not come from its own
    score (rolled up from a finer concept, or other evidence) counts as unreachable. ``and``
    needs one item flipped to become false and every item to become true, ``or`` the other
    way round. Unreachable altogether is reported as 1.0, the widest gap a score allows.
    """
    result = explanation.get("result")
    if result is None:
        return None
    rows = {row["key"]: row for row in explanation.get("concepts", [])}

    def concept_cost(key: str) -> float:
        row = rows.get(key)
        if row is None or row.get("present") is None:
            return 0.0
        score, threshold = row.get("score"), row.get("threshold")
        if score is None or threshold is None or (score >= threshold) != row["present"]:
            return float("inf")
        return abs(float(score) - float(threshold))

    def cost(node: Expr, target: bool) -> float:
        """The cost of making ``node`` evaluate to ``target`` (or unknown)."""
        if isinstance(node, ConceptRef):
            present = rows.get(node.key, {}).get("present")
            return 0.0 if present is None or present == target else concept_cost(node.key)
        if isinstance(node, Not):
            return cost(node.item, not target)
        costs = [cost(item, target) for item in node.items]
        # and → true and or → false need every item; the others need any one.
        return max(costs) if isinstance(node, And) == target else min(costs)

    value = cost(expr, not result)
    return 1.0 if value == float("inf") else round(min(value, 1.0), 4)


def apply_text_evidence(
    scores: Mapping[str, float], thresholds: Mapping[str, float], matches: Sequence[WordMatch]
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Scores with words taken into account, and one row per word saying whether it counted.

    The rule (docs/moderation.md, "Text in the image and words"):

    * a word read in the image (OCR) is strong evidence: its concept's score is raised to
      the threshold (a menu board is about food, whatever the photo's colours say);
    * a word in the caption or a comment is weak evidence: it raises the score to the
      threshold only when the photo itself already scores at least half the threshold, so a
      caption alone never makes a spam photo relevant;
    * a concept the model cannot see (no score) is never decided by words: no score is
      invented for it.
    """
    adjusted = {key: float(value) for key, value in scores.items()}
    rows: list[dict[str, Any]] = []
    for match in matches:
        key = match.concept
        threshold = float(thresholds.get(key, 0.5))
        score = scores.get(key)
        if score is None:
            counted, why = False, "the model cannot see this concept; words alone do not decide it"
        elif float(score) >= threshold:
            counted, why = True, "the photo shows it already"
        elif match.source == IMAGE:
            counted, why = True, "read in the image"
        elif float(score) >= threshold / 2:
            counted, why = True, "the photo shows some of it (at least half the threshold)"
        else:
            counted = False
            why = (
                f"the photo shows too little of it ({float(score):.2f} < half the threshold "
                f"{threshold / 2:.2f}); a {match.source} alone does not decide"
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


def decide_with_text(
    *,
    matches: Sequence[WordMatch],
    expr: Expr,
    concepts: Mapping[str, ConceptInfo],
    scores: Mapping[str, float],
    rule_keyword: str,
    via_word: str | None,
    model_version: str,
) -> Decision:
    """:func:`decide` on scores raised by word evidence. The explanation keeps the photo's
    own scores (``by_words`` marks a concept present because of words) and lists the words
    about the rule's concepts (or concepts under them) under ``words`` when they counted and
    ``words_not_counted`` (with ``why``) when they did not."""
    thresholds = {key: info.threshold for key, info in concepts.items()}
    adjusted, rows = apply_text_evidence(scores, thresholds, matches)
    decision = decide(
        expr=expr,
        concepts=concepts,
        scores=adjusted,
        rule_keyword=rule_keyword,
        via_word=via_word,
        model_version=model_version,
    )
    if not rows:
        return decision
    named = expr.concepts()

    shown = [
        {
            **row,
            "name_ko": concepts[row["concept"]].name_ko if row["concept"] in concepts else "",
            "name_en": concepts[row["concept"]].name_en if row["concept"] in concepts else "",
        }
        for row in rows
        if concept_about(row["concept"], named, concepts)
    ]
    if not shown:
        # Words about other concepts change nothing here: the same explanation as without
        # them, so set-based re-evaluation (services/reevaluate.py) may skip this post.
        return decision
    for row in decision.explanation["concepts"]:
        key = row["key"]
        if key in scores and adjusted[key] != float(scores[key]):
            row["score"] = round(float(scores[key]), 4)
            row["by_words"] = True
    decision.explanation["words"] = [row for row in shown if row["counted"]]
    decision.explanation["words_not_counted"] = [row for row in shown if not row["counted"]]
    return decision
