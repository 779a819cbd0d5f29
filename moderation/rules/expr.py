"""A parsed rule: an immutable tree over concepts, evaluated in Kleene's three-valued logic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class ConceptRef:
    key: str

    def concepts(self) -> frozenset[str]:
        return frozenset({self.key})

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Not:
    item: Expr

    def concepts(self) -> frozenset[str]:
        return self.item.concepts()

    def __str__(self) -> str:
        if isinstance(self.item, ConceptRef | Not):
            return f"not {self.item}"
        return f"not ({self.item})"


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if len(self.items) < 2:
            raise ValueError("And needs at least two items.")

    def concepts(self) -> frozenset[str]:
        return frozenset().union(*(item.concepts() for item in self.items))

    def __str__(self) -> str:
        # Or binds looser, so needs parentheses; a nested And came from parentheses.
        return " and ".join(
            f"({item})" if isinstance(item, Or | And) else str(item) for item in self.items
        )


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if len(self.items) < 2:
            raise ValueError("Or needs at least two items.")

    def concepts(self) -> frozenset[str]:
        return frozenset().union(*(item.concepts() for item in self.items))

    def __str__(self) -> str:
        return " or ".join(
            f"({item})" if isinstance(item, Or) else str(item) for item in self.items
        )


Expr: TypeAlias = ConceptRef | Not | And | Or


def evaluate(expr: Expr, present: Mapping[str, bool | None]) -> bool | None:
    """Kleene three-valued logic; a concept missing from ``present`` is unknown (None)."""
    if isinstance(expr, ConceptRef):
        return present.get(expr.key)
    if isinstance(expr, Not):
        value = evaluate(expr.item, present)
        return None if value is None else not value
    values = [evaluate(item, present) for item in expr.items]
    if isinstance(expr, And):
        if False in values:
            return False
        return None if None in values else True
    if True in values:
        return True
    return None if None in values else False


def explain(expr: Expr, present: Mapping[str, bool | None]) -> list[tuple[str, bool | None]]:
    """Every sub-expression (canonical text) with its value, innermost first, rule last."""
    rows: list[tuple[str, bool | None]] = []
    seen: set[str] = set()

    def walk(node: Expr) -> None:
        if isinstance(node, Not):
            walk(node.item)
        elif isinstance(node, And | Or):
            for item in node.items:
                walk(item)
        text = str(node)
        if text not in seen:
            seen.add(text)
            rows.append((text, evaluate(node, present)))

    walk(expr)
    return rows


def wanted(expr: Expr) -> dict[str, bool | None]:
    """Per concept, whether the rule wants it present (True), absent (under an odd number of
    ``not``: False), or both in different places (None): how its row reads on the post page."""
    out: dict[str, bool | None] = {}

    def walk(node: Expr, positive: bool) -> None:
        if isinstance(node, ConceptRef):
            out[node.key] = positive if out.get(node.key, positive) == positive else None
        elif isinstance(node, Not):
            walk(node.item, not positive)
        else:
            for item in node.items:
                walk(item, positive)

    walk(expr, True)
    return out


def forced_values(expr: Expr, value: bool) -> dict[str, bool] | None:
    """The concept values that a rule's known outcome forces, or None if it forces nothing.

    Turns overrides into training labels without guessing (docs/moderation.md).
    """
    if isinstance(expr, ConceptRef):
        return {expr.key: value}
    if isinstance(expr, Not):
        return forced_values(expr.item, not value)
    forcing = isinstance(expr, And) == value  # and→True or or→False force every item
    if not forcing:
        return None
    merged: dict[str, bool] = {}
    for item in expr.items:
        values = forced_values(item, value)
        if values is None:
            return None
        for key, v in values.items():
            if merged.get(key, v) != v:
                return None  # contradictory (e.g. "a and not a"): nothing can be learnt
            merged[key] = v
    return merged


def concept_keys(expr: Expr) -> list[str]:
    """The concepts a rule mentions, sorted, each once."""
    if isinstance(expr, ConceptRef):
        return [expr.key]
    if isinstance(expr, Not):
        return concept_keys(expr.item)
    return sorted({key for item in expr.items for key in concept_keys(item)})
