"""A rule compiled into the one form both interpreters read (:func:`evaluate` here,
:func:`moderation.rules.sql.rule_sql`), so Python and SQL cannot drift; docs/moderation.md."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import TypeAlias

from moderation.rules.expr import And, ConceptRef, Expr, Not
from moderation.rules.expr import evaluate as kleene
from moderation.rules.words import CAPTION, COMMENT, IMAGE


@dataclass(frozen=True)
class ConceptInfo:
    key: str
    name_ko: str
    name_en: str
    threshold: float
    parent: str | None = None


@dataclass(frozen=True)
class WordEvidence:
    """Words from ``sources`` raise a scored concept to present when its own score reaches
    ``share`` × threshold (``None``: whatever the score)."""

    name: str
    sources: tuple[str, ...]
    share: float | None

    def counts(self, score: float | None, threshold: float) -> bool:
        # A concept the model cannot see is never decided by words: no score is invented.
        if score is None:
            return False
        return self.share is None or float(score) >= threshold * self.share


# Text read in the image is strong; a caption or comment only tips a half-shown concept.
WORD_EVIDENCE: tuple[WordEvidence, ...] = (
    WordEvidence("image", (IMAGE,), None),
    WordEvidence("written", (CAPTION, COMMENT), 0.5),
)


def word_evidence_of(source: str) -> WordEvidence:
    return next(kind for kind in WORD_EVIDENCE if source in kind.sources)


@dataclass(frozen=True)
class Presence:
    """Whether one concept is present: its own score (raised by words), or any of ``below``."""

    key: str
    threshold: float
    below: tuple[str, ...]


@dataclass(frozen=True)
class Flip:
    """The cost of making concept ``key``'s presence ``target`` (nothing when it is already,
    or unknown)."""

    key: str
    target: bool


@dataclass(frozen=True)
class Every:
    """Every item must be paid: the dearest."""

    items: tuple[Cost, ...]


@dataclass(frozen=True)
class Cheapest:
    """One item suffices: the cheapest."""

    items: tuple[Cost, ...]


Cost: TypeAlias = Flip | Every | Cheapest

# A margin no score change reaches is reported as the widest gap a score allows.
MAX_MARGIN = 1.0
ROUNDING = 10_000.0  # margins (and the scores they come from) to four places


def margin_room(threshold: float, *, above: bool) -> float:
    """How far a score can be on its side of ``threshold``: margins are that share of it, so
    0.0 against a threshold of 0.057 is as sure as 1.0 against 0.5 (docs/moderation.md)."""
    return 1.0 - threshold if above else threshold


def round4(value: float) -> float:
    """Half up, in double arithmetic that SQL repeats to the bit (Python's round and SQL's
    go through decimals differently: 0.00015 is 0.0001 to one and 0.0002 to the other)."""
    return math.floor(value * ROUNDING + 0.5) / ROUNDING


@dataclass(frozen=True)
class CompiledRule:
    expr: Expr  # the result: Kleene logic over ``presences`` (a concept not there is unknown)
    presences: tuple[Presence, ...]  # each after the concepts under it
    flip_true: Cost  # what turns a relevant result into not relevant or unknown
    flip_false: Cost  # and the other way round
    words: tuple[WordEvidence, ...] = WORD_EVIDENCE

    @property
    def named(self) -> list[str]:
        """The concepts the rule names that the catalogue knows, sorted."""
        known = {presence.key for presence in self.presences}
        return sorted(key for key in self.expr.concepts() if key in known)


def presence_plan(concepts: Mapping[str, ConceptInfo]) -> dict[str, Presence]:
    """Every concept's presence, each after those under it. A cycle in parents is cut where
    the walk (in catalogue order) meets it again: that concept is judged without it."""
    children: dict[str, list[str]] = {}
    for info in concepts.values():
        if info.parent:
            children.setdefault(info.parent, []).append(info.key)
    plan: dict[str, Presence] = {}

    def visit(key: str, seen: frozenset[str]) -> bool:
        if key in plan:
            return True
        if key in seen:
            return False
        below = tuple(c for c in children.get(key, []) if visit(c, seen | {key}))
        plan[key] = Presence(key, concepts[key].threshold, below)
        return True

    for key in concepts:
        visit(key, frozenset())
    return plan


def costs(expr: Expr, target: bool) -> Cost:
    """The cost tree of making ``expr`` evaluate to ``target`` (or unknown)."""
    if isinstance(expr, ConceptRef):
        return Flip(expr.key, target)
    if isinstance(expr, Not):
        return costs(expr.item, not target)
    items = tuple(costs(item, target) for item in expr.items)
    # and → true and or → false need every item; the others need any one.
    return Every(items) if isinstance(expr, And) == target else Cheapest(items)


def compile_rule(
    expr: Expr,
    concepts: Mapping[str, ConceptInfo],
    plan: Mapping[str, Presence] | None = None,
    words: tuple[WordEvidence, ...] = WORD_EVIDENCE,
) -> CompiledRule:
    """``plan``: :func:`presence_plan` of ``concepts``, when the caller compiles many rules;
    ``words``: which words raise a concept."""
    plan = plan if plan is not None else presence_plan(concepts)
    needed: set[str] = set()
    pending = [key for key in expr.concepts() if key in plan]
    while pending:
        key = pending.pop()
        if key not in needed:
            needed.add(key)
            pending += plan[key].below
    return CompiledRule(
        expr=expr,
        presences=tuple(presence for key, presence in plan.items() if key in needed),
        flip_true=costs(expr, False),
        flip_false=costs(expr, True),
        words=words,
    )


@dataclass(frozen=True)
class Evaluation:
    present: dict[str, bool | None]  # the concepts the rule needs
    result: bool | None
    margin: float | None  # None when the result is unknown


def presences_evaluate(
    presences: Collection[Presence],
    scores: Mapping[str, float],
    words: Mapping[str, Collection[str]] | None = None,
    policy: Collection[WordEvidence] = WORD_EVIDENCE,
) -> dict[str, bool | None]:
    """Present, absent or unknown for each of ``presences`` (in their order). ``words``:
    concept → the names of the :class:`WordEvidence` kinds a post has words for."""
    words = words or {}
    present: dict[str, bool | None] = {}
    for node in presences:
        score = scores.get(node.key)
        own: bool | None = None
        if score is not None:
            own = float(score) >= node.threshold or any(
                kind.counts(score, node.threshold)
                for kind in policy
                if kind.name in words.get(node.key, ())
            )
        if own or any(present[key] for key in node.below):
            present[node.key] = True
        else:
            present[node.key] = own
    return present


def evaluate(
    rule: CompiledRule,
    scores: Mapping[str, float],
    words: Mapping[str, Collection[str]] | None = None,
) -> Evaluation:
    """The Python interpreter of a compiled rule; ``words`` as in :func:`presences_evaluate`."""
    present = presences_evaluate(rule.presences, scores, words, rule.words)
    result = kleene(rule.expr, present)
    if result is None:
        return Evaluation(present, None, None)
    thresholds = {node.key: node.threshold for node in rule.presences}

    def cost(node: Cost) -> float:
        if isinstance(node, Flip):
            now = present.get(node.key)
            if now is None or now == node.target:
                return 0.0
            # Presence rolled up or from words cannot be moved by the concept's own score.
            score, threshold = scores.get(node.key), thresholds[node.key]
            rounded = None if score is None else round4(float(score))
            if rounded is None or (rounded >= threshold) != now:
                return float("inf")
            room = margin_room(threshold, above=rounded >= threshold)
            gap = abs(rounded - threshold)
            return gap / room if room > 0 else gap
        values = [cost(item) for item in node.items]
        return max(values) if isinstance(node, Every) else min(values)

    value = cost(rule.flip_true if result else rule.flip_false)
    margin = MAX_MARGIN if value == float("inf") else round4(min(value, MAX_MARGIN))
    return Evaluation(present, result, margin)


MAX_RAISABLE = 10


def image_words_could_change(
    rule: CompiledRule, scores: Mapping[str, float], raised: Collection[str] = ()
) -> bool:
    """Whether any set of the needed, scored, absent concepts raised by image words (beside
    ``raised``) changes the result: docs/moderation.md, "Lazy text"."""
    kind = next((k for k in rule.words if IMAGE in k.sources), None)
    if kind is None:
        return False
    raisable = [
        p.key
        for p in rule.presences
        if p.key not in raised
        and (score := scores.get(p.key)) is not None
        and float(score) < p.threshold
        and kind.counts(score, p.threshold)
    ]
    if len(raisable) > MAX_RAISABLE:
        return True
    known = {key: (kind.name,) for key in raised}
    base = kleene(rule.expr, presences_evaluate(rule.presences, scores, known, rule.words))
    for size in range(1, len(raisable) + 1):
        for more in combinations(raisable, size):
            words = {**known, **{key: (kind.name,) for key in more}}
            present = presences_evaluate(rule.presences, scores, words, rule.words)
            if kleene(rule.expr, present) != base:
                return True
    return False


def concepts_present(
    concepts: Mapping[str, ConceptInfo], scores: Mapping[str, float]
) -> dict[str, bool | None]:
    """Present, absent or unknown for every concept of the catalogue, without words."""
    return presences_evaluate(presence_plan(concepts).values(), scores)


# What a verdict holds. The values are Verdict.Decision's.
PENDING, RELEVANT, NOT_RELEVANT = "pending", "relevant", "not_relevant"
UNKNOWN, NO_RULE = "unknown", "no_rule"
DECISIONS: dict[bool | None, str] = {True: RELEVANT, False: NOT_RELEVANT, None: UNKNOWN}
# Shown without an override: relevant, and a hashtag no rule judges (it is not filtered).
SHOWN_DECISIONS = frozenset({RELEVANT, NO_RULE})


@dataclass(frozen=True)
class Outcome:
    decision: str
    margin: float | None = None  # only a relevant or not relevant verdict has one

    @classmethod
    def decided(cls, result: bool | None, margin: float | None) -> Outcome:
        return cls(DECISIONS[result], margin if result is not None else None)


# Verdicts decided without applying a rule.
WAITING = Outcome(PENDING)
UNDECIDED = Outcome(UNKNOWN)
UNRULED = Outcome(NO_RULE)


def shown(decision: str, override: bool | None) -> bool:
    """The moderator's word, else the decision."""
    return override if override is not None else decision in SHOWN_DECISIONS
