"""Set-based re-evaluation: a changed rule, keyword mapping or threshold is applied to every
stored verdict by a few SQL statements per rule, not by a Python loop over posts.

For each rule the database computes, from the active model version's stored scores and the
posts' stored word forms, the same decision, visibility and margin as the Python path
(``verdicts_judge``; the SQL is built by :mod:`moderation.rules.sql`), and writes only the
verdicts whose outcome moves: explanations are not stored but computed for display
(``verdicts_explain``). Classified posts with no scores from the active version yet (few,
found by SQL) go through the Python path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_q.tasks import async_task

from moderation.judging.counts import hashtag_counts_refresh
from moderation.judging.verdicts import verdicts_evaluate
from moderation.models import Classification, ModelVersion, PostWord, Rule, Verdict
from moderation.rules.decide import ConceptInfo, concept_about
from moderation.rules.expr import Expr
from moderation.rules.sql import Dialect, compile_rule
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.rules.words import word_index
from moderation.selectors.catalog import (
    RuleIndex,
    concept_catalog,
    concept_names,
    rule_index,
    rules_about_concept,
)
from posts.models import Hashtag, Post

logger = logging.getLogger(__name__)

PYTHON_BATCH = 2000


@dataclass
class Reevaluation:
    """What one re-evaluation did."""

    set_based: int = 0  # verdicts whose outcome the per-rule statements changed
    python: int = 0  # verdicts judged post by post (scores from the active version missing)
    statements: int = 0
    seconds: float = 0.0
    hashtag_ids: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.set_based + self.python


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


V, P, C = (_q(m._meta.db_table) for m in (Verdict, Post, Classification))


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(int(v)) for v in sorted(set(values))) or "NULL"


class _Run:
    def __init__(self) -> None:
        self.report = Reevaluation()
        self.now = timezone.now()
        self.catalog: dict[str, ConceptInfo] = concept_catalog()
        self.names = concept_names(self.catalog)
        self.index: RuleIndex = rule_index()
        self.active = ModelVersion.objects.filter(is_active=True).first()
        self.dialect = Dialect(connection.vendor)
        self.work_mem = settings.TAGLENS_REEVALUATE_WORK_MEM
        self.parsed: dict[str, Expr | None] = {}
        for keyword, rule in self.index.rules.items():
            try:
                self.parsed[keyword] = parse(rule.expression, self.names)
            except RuleSyntaxError:
                self.parsed[keyword] = None
        mappings = {word: rule.keyword for word, rule in self.index.mappings.items()}
        self.words = word_index(self.parsed, mappings)

    # -- the statements -------------------------------------------------------------------

    def tune(self) -> None:
        """PostgreSQL, for this transaction: memory for the statements' hash joins, and no
        JIT compilation (it costs more than it saves on these expressions)."""
        if self.dialect.pg:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [self.work_mem])
                cursor.execute("SET LOCAL jit = off")

    def execute(self, sql: str, params: list[Any]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            count = int(cursor.rowcount)
            if count < 0 and connection.vendor == "sqlite":
                # Python's sqlite3 counts rows only for statements that start with UPDATE.
                cursor.execute("SELECT changes()")
                count = int(cursor.fetchone()[0])
        self.report.statements += 1
        return count

    def assign_rule(self, rule: Rule | None, hashtag_ids: Collection[int]) -> None:
        """Point the verdicts of these hashtags at the rule that now judges them."""
        if not hashtag_ids:
            return
        rows = Verdict.objects.filter(hashtag_id__in=hashtag_ids)
        if rule is None:
            rows.filter(rule__isnull=False).update(rule=None)
        else:
            rows.filter(~Q(rule=rule) | Q(rule__isnull=True)).update(rule=rule)
        self.report.statements += 1

    def python_judge(self, post_ids: Iterable[int]) -> None:
        ids = sorted(set(post_ids))
        for start in range(0, len(ids), PYTHON_BATCH):
            chunk = ids[start : start + PYTHON_BATCH]
            self.report.python += verdicts_evaluate(
                posts=Post.objects.filter(pk__in=chunk), index=self.index, refresh_counts=False
            )
            tags = Verdict.objects.filter(post_id__in=chunk).values_list("hashtag_id", flat=True)
            self.report.hashtag_ids.update(tags.distinct())

    def unscored_posts(self, where: Q) -> set[int]:
        """Classified posts under `where` with no scores from the active version (the
        statements join those): the Python path takes their newest scores."""
        needs = ~Exists(
            Classification.objects.filter(post_id=OuterRef("post_id"), model_version=self.active)
        )
        rows = Verdict.objects.filter(where, post__status=Post.Status.CLASSIFIED).filter(needs)
        return set(rows.values_list("post_id", flat=True).distinct())

    def judged_rows(self, where: str, columns: str, joins: str = "") -> str:
        """The SELECT of verdicts the statement judges, joined to their current scores."""
        assert self.active is not None
        return (
            f"SELECT v.id AS vid, c.id AS cid{columns} "
            f"FROM {V} v JOIN {P} p ON p.id = v.post_id "
            f"JOIN {C} c ON c.post_id = v.post_id AND c.model_version_id = {int(self.active.pk)}"
            f"{joins} WHERE {where} AND p.status = 'classified'"
        )

    def changed(
        self, decision: str, shown: str, margin: str, classification: str = "judged.cid"
    ) -> str:
        """The condition that a verdict's outcome moves (only those rows are written)."""
        d = self.dialect
        return (
            f"({d.differs(f'{V}.decision', decision)} OR {d.differs(f'{V}.shown', shown)} "
            f"OR {d.differs(f'{V}.margin', margin)} "
            f"OR {d.differs(f'{V}.classification_id', classification)})"
        )

    def constant(self, where: str, decision: str, shown_default: bool) -> int:
        """Verdicts whose outcome does not depend on scores: no rule, or an invalid rule. They
        keep no classification, so new scores (a model version's activation) leave them be."""
        if self.active is None:
            return 0
        d = self.dialect
        shown = f"COALESCE({V}.override, {'TRUE' if shown_default else 'FALSE'})"
        sql = (
            f"WITH judged AS ({self.judged_rows(where, '')}) "
            f"UPDATE {V} SET decision = {d.text(decision)}, margin = NULL, shown = {shown}, "
            "classification_id = NULL, decided_at = %s "
            f"FROM judged WHERE {V}.id = judged.vid "
            f"AND {self.changed(d.text(decision), shown, 'NULL', 'NULL')}"
        )
        return self.execute(sql, [self.now])

    def rule_statement(
        self,
        rule: Rule,
        expr: Expr,
        hashtag_ids: Collection[int],
        word_keys: Collection[str],
        only_words: Collection[str] = (),
    ) -> int:
        assert self.active is not None
        d = self.dialect
        # Words as evidence, per concept: whether the post has a word for it in the image
        # text (strong) and in the caption or comments (weak), from one grouped scan of the
        # stored word forms. A particle stem counts only when its form is no keyword itself
        # (words._lookup).
        by_concept: dict[str, list[str]] = {}
        for key in word_keys:
            by_concept.setdefault(self.words[key].concept, []).append(key)
        evidence: dict[str, tuple[str | None, str | None]] = {}
        columns, flags = "", []
        for i, (concept, keys) in enumerate(sorted(by_concept.items())):
            listed = ", ".join(d.text(key) for key in sorted(keys))
            for kind, test in (("ei", "= 'image'"), ("ew", "<> 'image'")):
                flags.append(
                    f"MAX(CASE WHEN w.{_q('key')} IN ({listed}) AND w.source {test} "
                    f"THEN 1 ELSE 0 END) AS {kind}{i}"
                )
                columns += f", COALESCE(ev.{kind}{i}, 0) = 1 AS {kind}{i}"
            evidence[concept] = (f"ei{i}", f"ew{i}")
        joins = ""
        if flags:
            every = ", ".join(d.text(key) for key in sorted(self.words))
            listed = ", ".join(d.text(key) for key in sorted(word_keys))
            joins = (
                f" LEFT JOIN (SELECT w.post_id, {', '.join(flags)} "
                f"FROM {_q(PostWord._meta.db_table)} w WHERE w.{_q('key')} IN ({listed}) "
                f"AND (w.form = w.{_q('key')} OR w.form NOT IN ({every})) "
                "GROUP BY w.post_id) ev ON ev.post_id = v.post_id"
            )
        compiled = compile_rule(
            dialect=d,
            expr=expr,
            concepts=self.catalog,
            scores="c.scores",
            result_alias="res",
            evidence=evidence,
        )
        scores = "".join(f", {sql} AS {alias}" for alias, sql in compiled.score_columns.items())
        scores += columns
        presence = ", ".join(
            f"{sql} AS {alias}" for alias, sql in compiled.presence_columns.items()
        )
        where = f"v.hashtag_id IN ({_ids(hashtag_ids)}){self.having_words(only_words)}"
        base = self.judged_rows(where, scores, joins=joins)
        # MATERIALIZED: each row's scores, words, presences, decision and margin are computed
        # once, not again in every place the update and its condition use them (an inlined
        # CTE repeats a score's JSON lookup wherever an expression names it).
        shown = f"COALESCE({V}.override, res IS TRUE)"
        sql = (
            f"WITH scored AS MATERIALIZED ({base}), "
            "present AS MATERIALIZED "
            f"(SELECT scored.*{', ' + presence if presence else ''} FROM scored), "
            f"resolved AS (SELECT present.*, {compiled.result} AS res FROM present), "
            "judged AS MATERIALIZED (SELECT vid, cid, res, "
            f"{compiled.decision} AS decided, {compiled.margin} AS margin FROM resolved) "
            f"UPDATE {V} SET decision = judged.decided, shown = {shown}, "
            "margin = judged.margin, classification_id = judged.cid, decided_at = %s "
            f"FROM judged WHERE {V}.id = judged.vid AND {V}.hashtag_id IN ({_ids(hashtag_ids)}) "
            f"AND {self.changed('judged.decided', shown, 'judged.margin')}"
        )
        return self.execute(sql, [self.now])

    def having_words(self, keys: Collection[str]) -> str:
        """SQL limiting the judged verdicts to posts with one of these word forms."""
        if not keys:
            return ""
        listed = ", ".join(self.dialect.text(key) for key in sorted(keys))
        return (
            f" AND v.post_id IN (SELECT w.post_id FROM {_q(PostWord._meta.db_table)} w "
            f"WHERE w.{_q('key')} IN ({listed}))"
        )

    def evidence_keys(self, expr: Expr) -> set[str]:
        """Word forms that are evidence for this rule's concepts (or concepts under them)."""
        named = expr.concepts()
        return {
            key
            for key, meaning in self.words.items()
            if concept_about(meaning.concept, named, self.catalog)
        }

    # -- a group of hashtags judged by one rule (or none) ----------------------------------

    def judge_group(
        self, rule: Rule | None, hashtag_ids: Collection[int], only_words: Collection[str] = ()
    ) -> None:
        """Judge these hashtags' verdicts (those of posts with one of ``only_words``, when
        given) by the rule that now judges them, or by none."""
        if not hashtag_ids:
            return
        with transaction.atomic():
            self.tune()
            self.assign_rule(rule, hashtag_ids)
            where = Q(hashtag_id__in=hashtag_ids)
            if only_words:
                where &= Q(post__word_keys__key__in=sorted(only_words))
            in_sql = f"v.hashtag_id IN ({_ids(hashtag_ids)}){self.having_words(only_words)}"
            expr = self.parsed.get(rule.keyword) if rule is not None else None
            if rule is None:
                self.report.set_based += self.constant(
                    in_sql, Verdict.Decision.NO_RULE, shown_default=True
                )
            elif expr is None:
                self.report.set_based += self.constant(
                    in_sql, Verdict.Decision.UNKNOWN, shown_default=False
                )
            elif self.active is not None:
                keys = self.evidence_keys(expr)
                self.report.set_based += self.rule_statement(
                    rule, expr, hashtag_ids, keys, only_words
                )
            self.python_judge(self.unscored_posts(where))
        self.report.hashtag_ids.update(hashtag_ids)


def verdicts_reevaluate(
    *,
    rules: Collection[int] | None = None,
    hashtags: Collection[str] = (),
    word_keys: Collection[str] = (),
    word_concepts: Collection[str] | None = None,
) -> Reevaluation:
    """Re-apply rules, keyword mappings and thresholds to stored scores; the model is not run.

    ``rules`` (ids) limits the work to the hashtags those rules judge now or judged before,
    plus ``hashtags`` (names whose rule may have changed) and the posts whose words include
    one of ``word_keys`` (a keyword mapping changed); ``rules=None`` re-applies everything.

    Word forms whose meaning changed (``word_keys``) can move verdicts under any rule: every
    other rule is applied again to the posts that have one of them. A rule's own words change
    meaning with its expression (they are evidence while it names one concept): callers pass
    them, as ``catalog.reevaluation_scope`` does; a threshold changes no word's meaning. With
    ``word_concepts`` (the concepts those words are evidence for before and after the change)
    only the rules about those concepts are applied again, else every other rule.
    Each statement writes only the verdicts whose decision, visibility, margin or scores move.
    """
    started = time.perf_counter()
    run = _Run()
    resolution: dict[str, Rule] = {**run.index.mappings, **run.index.rules}
    if rules is None:
        names = set(resolution)
    else:
        wanted = set(rules)
        names = {name for name, rule in resolution.items() if rule.pk in wanted} | set(hashtags)
        before = Verdict.objects.filter(rule_id__in=wanted).values("hashtag_id").distinct()
        names |= set(Hashtag.objects.filter(pk__in=before).values_list("name", flat=True))
    tags = dict(Hashtag.objects.filter(name__in=names).values_list("name", "pk"))
    groups: dict[int | None, list[int]] = {}
    by_pk = {rule.pk: rule for rule in resolution.values()}
    for name, tag_id in tags.items():
        rule = resolution.get(name)
        groups.setdefault(rule.pk if rule else None, []).append(tag_id)
    for rule_pk, tag_ids in sorted(groups.items(), key=lambda item: item[0] or 0):
        run.judge_group(by_pk[rule_pk] if rule_pk is not None else None, tag_ids)
    if rules is None:
        _judge_unruled(run, exclude=set(tags.values()))
    elif word_keys:
        # The other ruled hashtags, for the posts with those words only.
        others: dict[int, list[int]] = {}
        affected: set[int] | None = None
        if word_concepts is not None:
            affected = {pk for key in word_concepts for pk in rules_about_concept(key=key)}
        rest = Hashtag.objects.filter(name__in=set(resolution) - names)
        for name, tag_id in rest.values_list("name", "pk"):
            if affected is None or resolution[name].pk in affected:
                others.setdefault(resolution[name].pk, []).append(tag_id)
        for rule_pk, tag_ids in sorted(others.items()):
            run.judge_group(by_pk[rule_pk], tag_ids, only_words=word_keys)
    # The maintained counts of every hashtag whose verdicts may have changed, once.
    hashtag_counts_refresh(hashtag_ids=None if rules is None else run.report.hashtag_ids)
    run.report.seconds = time.perf_counter() - started
    logger.info(
        "Re-evaluated %d verdicts (%d set-based in %d statements, %d post by post) in %.1f s.",
        run.report.total,
        run.report.set_based,
        run.report.statements,
        run.report.python,
        run.report.seconds,
    )
    return run.report


def _judge_unruled(run: _Run, *, exclude: set[int]) -> None:
    """Every verdict of a hashtag no rule judges (full re-evaluation only)."""
    with transaction.atomic():
        run.tune()
        stale = Verdict.objects.filter(rule__isnull=False)
        if exclude:
            stale = stale.exclude(hashtag_id__in=exclude)
        stale.update(rule=None)
        unchanged = "v.decision = 'no_rule' AND v.classification_id IS NULL"
        where = f"v.rule_id IS NULL AND NOT ({unchanged})"
        run.report.set_based += run.constant(where, Verdict.Decision.NO_RULE, shown_default=True)
        run.python_judge(run.unscored_posts(Q(rule__isnull=True)))


REEVALUATE_TASK = "moderation.tasks.reevaluate_verdicts"


def verdicts_reevaluate_all() -> int:
    """Apply the current rules, keywords and thresholds to every post's stored scores."""
    return verdicts_reevaluate().total


def verdicts_reevaluate_queue(
    *,
    rules: Collection[int] | None = None,
    hashtags: Collection[str] = (),
    word_keys: Collection[str] = (),
    word_concepts: Collection[str] | None = None,
) -> None:
    """A rule, keyword or threshold changed: re-apply it after commit, in the background.
    The scope is as in :func:`verdicts_reevaluate`; ``rules=None`` is everything."""
    scope = {
        "rules": sorted(rules) if rules is not None else None,
        "hashtags": sorted(hashtags),
        "word_keys": sorted(word_keys),
        "word_concepts": sorted(word_concepts) if word_concepts is not None else None,
    }
    transaction.on_commit(lambda: async_task(REEVALUATE_TASK, scope, group="reevaluate"))
