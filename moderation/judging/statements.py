"""Set-based re-evaluation statements: per group of hashtags judged by one rule (or none), one
``UPDATE … FROM`` that writes only the verdicts whose outcome moves (docs/moderation.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from moderation.judging.verdicts import verdicts_evaluate
from moderation.models import Classification, ModelVersion, PostWord, Rule, Verdict
from moderation.rules.compiled import (
    UNDECIDED,
    UNRULED,
    ConceptInfo,
    Outcome,
    compile_rule,
    presence_plan,
)
from moderation.rules.decide import concept_about
from moderation.rules.expr import Expr
from moderation.rules.sql import Dialect, rule_sql, shown_sql
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.rules.words import word_index
from moderation.selectors.catalog import RuleIndex, concept_catalog, concept_names, rule_index
from moderation.selectors.search_cache import search_cache_stale
from posts.models import Post

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


class ReevaluationRun:
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
        for hashtag, rule in self.index.rules.items():
            try:
                self.parsed[hashtag] = parse(rule.expression, self.names)
            except RuleSyntaxError:
                self.parsed[hashtag] = None
        mappings = {word: rule.hashtag for word, rule in self.index.mappings.items()}
        self.words = word_index(self.parsed, mappings)
        self.plan = presence_plan(self.catalog)

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

    def constant(self, where: str, outcome: Outcome) -> int:
        """Verdicts whose outcome does not depend on scores: no rule, or an invalid rule. They
        keep no classification, so new scores (a model version's activation) leave them be."""
        if self.active is None:
            return 0
        d = self.dialect
        decision = d.text(outcome.decision)
        margin = "NULL" if outcome.margin is None else d.number(outcome.margin)
        shown = shown_sql(d, override=f"{V}.override", decision=decision)
        sql = (
            f"WITH judged AS ({self.judged_rows(where, '')}) "
            f"UPDATE {V} SET decision = {decision}, margin = {margin}, shown = {shown}, "
            "classification_id = NULL, decided_at = %s "
            f"FROM judged WHERE {V}.id = judged.vid "
            f"AND {self.changed(decision, shown, margin, 'NULL')}"
        )
        return self.execute(sql, [self.now])

    def rule_statement(
        self,
        expr: Expr,
        hashtag_ids: Collection[int],
        word_keys: Collection[str],
        only_words: Collection[str] = (),
    ) -> int:
        assert self.active is not None
        d = self.dialect
        # One grouped scan of the post's word keys, a column per concept and kind of evidence.
        compiled = compile_rule(expr, self.catalog, self.plan)
        by_concept: dict[str, list[str]] = {}
        for key in word_keys:
            by_concept.setdefault(self.words[key].concept, []).append(key)
        evidence: dict[str, dict[str, str]] = {}
        columns, flags = "", []
        for i, (concept, keys) in enumerate(sorted(by_concept.items())):
            listed = ", ".join(d.text(key) for key in sorted(keys))
            for j, kind in enumerate(compiled.words):
                column = f"e{i}_{j}"
                sources = ", ".join(d.text(source) for source in kind.sources)
                flags.append(
                    f"MAX(CASE WHEN w.{_q('key')} IN ({listed}) AND w.source IN ({sources}) "
                    f"THEN 1 ELSE 0 END) AS {column}"
                )
                columns += f", COALESCE(ev.{column}, 0) = 1 AS {column}"
                evidence.setdefault(concept, {})[kind.name] = column
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
        as_sql = rule_sql(
            compiled,
            dialect=d,
            scores="c.scores",
            result_alias="res",
            evidence=evidence,
        )
        scores = "".join(f", {sql} AS {alias}" for alias, sql in as_sql.score_columns.items())
        scores += columns
        presence = ", ".join(f"{sql} AS {alias}" for alias, sql in as_sql.presence_columns.items())
        where = f"v.hashtag_id IN ({_ids(hashtag_ids)}){self.having_words(only_words)}"
        base = self.judged_rows(where, scores, joins=joins)
        # MATERIALIZED: an inlined CTE repeats a score's JSON lookup wherever it is named.
        shown = shown_sql(d, override=f"{V}.override", decision="judged.decided")
        sql = (
            f"WITH scored AS MATERIALIZED ({base}), "
            "present AS MATERIALIZED "
            f"(SELECT scored.*{', ' + presence if presence else ''} FROM scored), "
            f"resolved AS (SELECT present.*, {as_sql.result} AS res FROM present), "
            "judged AS MATERIALIZED (SELECT vid, cid, res, "
            f"{as_sql.decision} AS decided, {as_sql.margin} AS margin FROM resolved) "
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
            expr = self.parsed.get(rule.hashtag) if rule is not None else None
            if rule is None:
                self.report.set_based += self.constant(in_sql, UNRULED)
            elif expr is None:
                self.report.set_based += self.constant(in_sql, UNDECIDED)
            elif self.active is not None:
                keys = self.evidence_keys(expr)
                self.report.set_based += self.rule_statement(expr, hashtag_ids, keys, only_words)
            self.python_judge(self.unscored_posts(where))
            # Each group commits on its own; the counts follow at the end of the run.
            search_cache_stale(hashtag_ids=hashtag_ids)
        self.report.hashtag_ids.update(hashtag_ids)
