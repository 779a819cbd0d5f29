"""A rule as SQL: the decision and margin of :mod:`moderation.rules.decide`, computed by the
database over stored scores, so one statement re-applies a rule to every post (explanations are
not stored: ``services.verdicts_explain`` computes them for display).

Pure string building for a dialect (PostgreSQL or SQLite), no Django. Every value that comes
from the catalogue (keywords, concept names, thresholds) is written as an escaped literal;
the statement takes one parameter, the decision time. The result must match the Python path
exactly: ``tests/web/test_reevaluate.py`` compares the two on random scores and rules.

Three-valued logic: SQL's NULL is the rule language's *unknown*; SQL's AND, OR and NOT are
Kleene's, like :func:`moderation.rules.expr.evaluate`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from moderation.rules.decide import ConceptInfo
from moderation.rules.expr import And, ConceptRef, Expr, Not, Or

INFINITE = "1e9"  # a cost no score change can pay (decision_margin's float("inf"))


def text_literal(value: str) -> str:
    """A SQL string literal; '%' doubled because the statement is run with parameters."""
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


@dataclass(frozen=True)
class Dialect:
    vendor: str  # "postgresql" or "sqlite"

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    def text(self, value: str | None) -> str:
        if value is None:
            return "CAST(NULL AS text)" if self.pg else "NULL"
        literal = text_literal(value)
        return f"CAST({literal} AS text)" if self.pg else literal

    def number(self, value: float) -> str:
        literal = repr(float(value))
        return f"CAST({literal} AS double precision)" if self.pg else literal

    def score(self, column: str, key: str) -> str:
        if self.pg:
            return f"CAST(({column} ->> {text_literal(key)}) AS double precision)"
        return f"json_extract({column}, {text_literal('$.' + json.dumps(key))})"

    def round4(self, value: str) -> str:
        if self.pg:
            return f"CAST(round(CAST({value} AS numeric), 4) AS double precision)"
        return f"round({value}, 4)"

    def least(self, values: Sequence[str]) -> str:
        if len(values) == 1:
            return values[0]
        return f"{'LEAST' if self.pg else 'MIN'}({', '.join(values)})"

    def greatest(self, values: Sequence[str]) -> str:
        if len(values) == 1:
            return values[0]
        return f"{'GREATEST' if self.pg else 'MAX'}({', '.join(values)})"

    def differs(self, left: str, right: str) -> str:
        """NULL-safe inequality."""
        return f"({left}) IS DISTINCT FROM ({right})" if self.pg else f"({left}) IS NOT ({right})"


@dataclass(frozen=True)
class CompiledRule:
    """Column expressions over ``scores`` (the stored scores' column) for one rule."""

    score_columns: dict[str, str]  # alias → score expression (needed concepts)
    presence_columns: dict[str, str]  # alias → presence over score aliases
    result: str  # over presence aliases
    decision: str  # over the result alias
    margin: str  # over result, score and presence aliases


def compile_rule(
    *,
    dialect: Dialect,
    expr: Expr,
    concepts: Mapping[str, ConceptInfo],
    scores: str,
    result_alias: str,
    evidence: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> CompiledRule:
    """SQL for :func:`moderation.rules.decide.decide` and :func:`decision_margin` of one rule.

    ``scores`` is the SQL of the stored scores' JSON column. Column aliases are
    ``s<i>`` (score), ``p<i>`` (presence) with ``i`` the concept's position in the catalogue.
    ``evidence`` maps a concept to SQL booleans: a word for it read in the image (strong) and
    one in the caption or a comment (weak), as :func:`moderation.rules.decide.apply_text_evidence`
    counts them: strong evidence makes a scored concept present, weak evidence needs half the
    threshold.
    """
    evidence = evidence or {}
    d = dialect
    order = list(concepts)
    alias = {key: str(i) for i, key in enumerate(order)}
    children: dict[str, list[str]] = {}
    for info in concepts.values():
        if info.parent:
            children.setdefault(info.parent, []).append(info.key)

    # concepts_present, mirrored: the same memo, the same order, the same cycle rule, so the
    # SQL is the Python function unrolled over this catalogue.
    memo: dict[str, str] = {}

    def present(key: str, seen: frozenset[str] = frozenset()) -> str:
        if key in memo:
            return memo[key]
        if key in seen:
            return "NULL"
        score, threshold = f"s{alias[key]}", concepts[key].threshold
        strong, weak = evidence.get(key, (None, None))
        own = (
            f"(CASE WHEN {score} IS NULL THEN NULL WHEN {score} >= {d.number(threshold)} THEN TRUE"
        )
        if strong:
            own += f" WHEN {strong} THEN TRUE"
        if weak:
            own += f" WHEN {weak} AND {score} >= {d.number(threshold / 2)} THEN TRUE"
        own += " ELSE FALSE END)"
        below = [present(child, seen | {key}) for child in children.get(key, [])]
        true_if = " OR ".join(f"({x}) IS TRUE" for x in [own, *below])
        value = f"(CASE WHEN {true_if} THEN TRUE WHEN {own} IS FALSE THEN FALSE ELSE NULL END)"
        memo[key] = value
        return value

    for key in order:
        present(key)
    named = sorted(expr.concepts())
    needed: set[str] = set()

    def collect(key: str, seen: frozenset[str] = frozenset()) -> None:
        if key in seen or key not in concepts:
            return
        needed.add(key)
        for child in children.get(key, []):
            collect(child, seen | {key})

    for key in named:
        collect(key)
    score_columns = {f"s{alias[k]}": d.score(scores, k) for k in order if k in needed}
    presence_columns = {f"p{alias[k]}": memo[k] for k in named if k in concepts}

    def p(key: str) -> str:
        return f"p{alias[key]}" if key in concepts else "NULL"

    def value(node: Expr) -> str:
        if isinstance(node, ConceptRef):
            return p(node.key)
        if isinstance(node, Not):
            return f"(NOT {value(node.item)})"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(value(item) for item in node.items) + ")"

    assert isinstance(expr, ConceptRef | Not | And | Or)
    r = result_alias
    result = value(expr)
    decision = (
        f"CASE WHEN {r} IS TRUE THEN 'relevant' WHEN {r} IS FALSE THEN 'not_relevant' "
        "ELSE 'unknown' END"
    )

    def rounded(key: str) -> str:
        return d.round4(f"s{alias[key]}") if key in concepts else "NULL"

    def concept_cost(key: str) -> str:
        if key not in concepts:
            return "0"
        rs, thr = rounded(key), d.number(concepts[key].threshold)
        return (
            f"(CASE WHEN {p(key)} IS NULL THEN 0 "
            f"WHEN {rs} IS NULL OR (({rs} >= {thr}) <> {p(key)}) THEN {INFINITE} "
            f"ELSE abs({rs} - {thr}) END)"
        )

    def cost(node: Expr, target: bool) -> str:
        if isinstance(node, ConceptRef):
            if node.key not in concepts:
                return "0"
            wanted = "TRUE" if target else "FALSE"
            return (
                f"(CASE WHEN {p(node.key)} IS NULL OR {p(node.key)} = {wanted} THEN 0 "
                f"ELSE {concept_cost(node.key)} END)"
            )
        if isinstance(node, Not):
            return cost(node.item, not target)
        costs = [cost(item, target) for item in node.items]
        return d.greatest(costs) if isinstance(node, And) == target else d.least(costs)

    def margin_for(target: bool) -> str:
        return d.round4(d.least([cost(expr, target), "1.0"]))

    margin = (
        f"CASE WHEN {r} IS TRUE THEN {margin_for(False)} "
        f"WHEN {r} IS FALSE THEN {margin_for(True)} ELSE NULL END"
    )
    return CompiledRule(
        score_columns=score_columns,
        presence_columns=presence_columns,
        result=result,
        decision=decision,
        margin=margin,
    )
