"""From stored scores to a verdict: which concepts are present, what the rule says.

Pure functions over plain data, no Django, so a changed rule or threshold can be
re-applied to stored scores anywhere (services, previews, tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.rules import Expr, evaluate


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
