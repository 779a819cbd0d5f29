"""A compiled rule as SQL, its second interpreter: one statement decides every post of a rule.

``tests/web/test_rule_paths.py`` holds it equal to :func:`compiled.evaluate`; NULL is *unknown*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from moderation.rules.compiled import (
    DECISIONS,
    MAX_MARGIN,
    ROUNDING,
    SHOWN_DECISIONS,
    CompiledRule,
    Cost,
    Every,
    Flip,
    margin_room,
)
from moderation.rules.expr import And, ConceptRef, Expr, Not

INFINITE = "1e9"  # a cost no score change can pay (evaluate's float("inf"))


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
        """:func:`moderation.rules.compiled.round4` in the same double arithmetic (SQL's own
        round goes through decimals and differs from it halfway)."""
        scaled = f"({value}) * {self.number(ROUNDING)} + 0.5"
        if self.pg:
            return f"(floor({scaled}) / {self.number(ROUNDING)})"
        # CAST truncates: floor for the values rounded here (scores and margins, never below 0).
        return f"(CAST({scaled} AS INTEGER) / {self.number(ROUNDING)})"

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


def boolean(value: bool | None) -> str:
    return "NULL" if value is None else ("TRUE" if value else "FALSE")


@dataclass(frozen=True)
class RuleSql:
    """Column expressions over ``scores`` (the stored scores' column) for one rule."""

    score_columns: dict[str, str]  # alias → score expression (needed concepts)
    presence_columns: dict[str, str]  # alias → presence over score aliases (named concepts)
    result: str  # over presence aliases
    decision: str  # over the result alias
    margin: str  # over result, score and presence aliases


def rule_sql(
    rule: CompiledRule,
    *,
    dialect: Dialect,
    scores: str,
    result_alias: str,
    evidence: Mapping[str, Mapping[str, str]] | None = None,
) -> RuleSql:
    """``scores`` is the SQL of the stored scores' JSON column. Column aliases are ``s<i>``
    (score) and ``p<i>`` (presence), ``i`` the concept's place among the rule's presences.
    ``evidence`` maps a concept to SQL booleans, one per :class:`WordEvidence` name: whether
    the post has such words for it."""
    evidence = evidence or {}
    d = dialect
    alias = {node.key: str(i) for i, node in enumerate(rule.presences)}
    # Written out in full where used: a SELECT cannot name its own columns.
    presence: dict[str, str] = {}
    for node in rule.presences:
        score = f"s{alias[node.key]}"
        own = (
            f"(CASE WHEN {score} IS NULL THEN NULL "
            f"WHEN {score} >= {d.number(node.threshold)} THEN TRUE"
        )
        for kind in rule.words:
            column = evidence.get(node.key, {}).get(kind.name)
            if column:
                reach = (
                    ""
                    if kind.share is None
                    else f" AND {score} >= {d.number(node.threshold * kind.share)}"
                )
                own += f" WHEN {column}{reach} THEN TRUE"
        own += " ELSE FALSE END)"
        true_if = " OR ".join(f"({x}) IS TRUE" for x in [own, *map(presence.get, node.below)])
        presence[node.key] = (
            f"(CASE WHEN {true_if} THEN TRUE WHEN {own} IS FALSE THEN FALSE ELSE NULL END)"
        )
    score_columns = {f"s{alias[key]}": d.score(scores, key) for key in alias}
    presence_columns = {f"p{alias[key]}": presence[key] for key in rule.named}

    def p(key: str) -> str:
        return f"p{alias[key]}" if key in alias else "NULL"

    def value(node: Expr) -> str:
        if isinstance(node, ConceptRef):
            return p(node.key)
        if isinstance(node, Not):
            return f"(NOT {value(node.item)})"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(value(item) for item in node.items) + ")"

    r = result_alias
    whens = " ".join(
        f"WHEN {r} IS {boolean(result)} THEN {d.text(decision)}"
        for result, decision in DECISIONS.items()
        if result is not None
    )
    decision = f"CASE {whens} ELSE {d.text(DECISIONS[None])} END"
    raw = {node.key: node.threshold for node in rule.presences}
    thresholds = {key: d.number(value) for key, value in raw.items()}

    def cost(node: Cost) -> str:
        if isinstance(node, Flip):
            if node.key not in alias:
                return "0"
            now, rounded = p(node.key), d.round4(f"s{alias[node.key]}")
            threshold = thresholds[node.key]
            gap = f"abs({rounded} - {threshold})"

            def share(above: bool) -> str:
                room = margin_room(raw[node.key], above=above)
                return f"{gap} / {d.number(room)}" if room > 0 else gap

            return (
                f"(CASE WHEN {now} IS NULL OR {now} = {boolean(node.target)} THEN 0 "
                f"WHEN {rounded} IS NULL OR (({rounded} >= {threshold}) <> {now}) THEN {INFINITE} "
                f"WHEN {rounded} >= {threshold} THEN {share(True)} ELSE {share(False)} END)"
            )
        costs = [cost(item) for item in node.items]
        return d.greatest(costs) if isinstance(node, Every) else d.least(costs)

    def margin_of(node: Cost) -> str:
        return d.round4(d.least([cost(node), repr(MAX_MARGIN)]))

    margin = (
        f"CASE WHEN {r} IS TRUE THEN {margin_of(rule.flip_true)} "
        f"WHEN {r} IS FALSE THEN {margin_of(rule.flip_false)} ELSE NULL END"
    )
    return RuleSql(
        score_columns=score_columns,
        presence_columns=presence_columns,
        result=value(rule.expr),
        decision=decision,
        margin=margin,
    )


def shown_sql(dialect: Dialect, *, override: str, decision: str) -> str:
    """:func:`moderation.rules.compiled.shown` in SQL."""
    listed = ", ".join(dialect.text(value) for value in sorted(SHOWN_DECISIONS))
    return f"COALESCE({override}, ({decision}) IN ({listed}))"
