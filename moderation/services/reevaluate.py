"""Set-based re-evaluation: a changed rule, keyword mapping or threshold is applied to every
stored verdict by a few SQL statements per rule, not by a Python loop over posts.

For each rule the database computes, from the active model version's stored scores, the same
decision, margin and explanation as the Python path (``verdicts_judge``; the SQL is built by
:mod:`moderation.rules_sql`). Two kinds of post still go through the Python path, found by
SQL and few: posts whose words (image text, caption, comments) are evidence for the rule's
concepts, and classified posts with no scores from the active version yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_q.tasks import async_task

from moderation.decisions import ConceptInfo, concept_about
from moderation.models import Classification, ModelVersion, PostWord, Rule, Verdict
from moderation.rules import Expr, RuleSyntaxError, parse
from moderation.rules_sql import Dialect, compile_rule
from moderation.selectors import RuleIndex, concept_catalog, concept_names, rule_index
from moderation.services.counts import hashtag_counts_refresh
from moderation.services.verdicts import verdicts_evaluate
from moderation.words import keyword_key, word_index
from posts.models import Hashtag, Post

logger = logging.getLogger(__name__)

PYTHON_BATCH = 2000


@dataclass
class Reevaluation:
    """What one re-evaluation did."""

    set_based: int = 0  # verdicts written by the per-rule statements
    python: int = 0  # verdicts judged post by post (words as evidence, scores missing)
    statements: int = 0
    seconds: float = 0.0
    hashtag_ids: set[int] = field(default_factory=set)
    explain_later: int = 0  # posts queued for their explanations' word lists

    @property
    def total(self) -> int:
        return self.set_based + self.python


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


V, P, C = (_q(m._meta.db_table) for m in (Verdict, Post, Classification))


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(int(v)) for v in sorted(set(values))) or "NULL"


class _Run:
    def __init__(self, *, words_later: bool = False) -> None:
        self.report = Reevaluation()
        self.words_later = words_later
        self.explain_later: set[int] = set()
        self.now = timezone.now()
        self.catalog: dict[str, ConceptInfo] = concept_catalog()
        self.names = concept_names(self.catalog)
        self.index: RuleIndex = rule_index()
        self.active = ModelVersion.objects.filter(is_active=True).first()
        self.dialect = Dialect(connection.vendor)
        self.parsed: dict[str, Expr | None] = {}
        self.errors: dict[str, RuleSyntaxError] = {}
        for keyword, rule in self.index.rules.items():
            try:
                self.parsed[keyword] = parse(rule.expression, self.names)
            except RuleSyntaxError as exc:
                self.parsed[keyword], self.errors[keyword] = None, exc
        mappings = {word: rule.keyword for word, rule in self.index.mappings.items()}
        self.words = word_index(self.parsed, mappings)

    # -- the statements -------------------------------------------------------------------

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

    def worded_posts(self, where: Q, word_keys: Collection[str]) -> set[int]:
        """Posts under `where` whose words may be evidence for this rule: the statement
        decided them, but their explanations list the words, which only Python writes."""
        if not word_keys:
            return set()
        needs = Exists(
            PostWord.objects.filter(post_id=OuterRef("post_id"), key__in=list(word_keys))
        )
        rows = Verdict.objects.filter(where, post__status=Post.Status.CLASSIFIED).filter(needs)
        return set(rows.values_list("post_id", flat=True).distinct())

    def judged_rows(
        self, where: str, word_keys: Collection[str], columns: str, joins: str = ""
    ) -> str:
        """The SELECT of verdicts the statement judges, joined to their current scores."""
        assert self.active is not None
        words = ""
        if word_keys:
            keys = ", ".join(self.dialect.text(key) for key in sorted(word_keys))
            words = (
                f" AND NOT EXISTS (SELECT 1 FROM {_q(PostWord._meta.db_table)} w "
                f"WHERE w.post_id = v.post_id AND w.{_q('key')} IN ({keys}))"
            )
        return (
            f"SELECT v.id AS vid, v.hashtag_id AS tag, c.id AS cid{columns} "
            f"FROM {V} v JOIN {P} p ON p.id = v.post_id "
            f"JOIN {C} c ON c.post_id = v.post_id AND c.model_version_id = {int(self.active.pk)}"
            f"{joins} WHERE {where} AND p.status = 'classified'{words}"
        )

    def constant(
        self, where: str, decision: str, explanation: dict[str, str], shown_default: bool
    ) -> int:
        """Verdicts whose outcome does not depend on scores: no rule, or an invalid rule."""
        if self.active is None:
            return 0
        d = self.dialect
        sql = (
            f"WITH judged AS ({self.judged_rows(where, (), '')}) "
            f"UPDATE {V} SET decision = {d.text(decision)}, "
            f"explanation = {d.json_const(explanation)}, margin = NULL, "
            f"shown = COALESCE(override, {'TRUE' if shown_default else 'FALSE'}), "
            "classification_id = judged.cid, decided_at = %s "
            f"FROM judged WHERE {V}.id = judged.vid"
        )
        return self.execute(sql, [self.now])

    def rule_statement(
        self, rule: Rule, expr: Expr, hashtag_ids: Collection[int], word_keys: Collection[str]
    ) -> int:
        assert self.active is not None
        d = self.dialect
        mapped = {
            tag_id: name
            for tag_id, name in Hashtag.objects.filter(pk__in=hashtag_ids).values_list("pk", "name")
            if name != rule.keyword
        }
        via = d.text(None)
        if mapped:
            whens = " ".join(f"WHEN {int(k)} THEN {d.text(v)}" for k, v in sorted(mapped.items()))
            via = f"(CASE tag {whens} ELSE {d.text(None)} END)"
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
            rule_keyword=rule.keyword,
            via=via,
            model_version=self.active.name,
            evidence=evidence,
        )
        scores = "".join(f", {sql} AS {alias}" for alias, sql in compiled.score_columns.items())
        scores += columns
        presence = ", ".join(
            f"{sql} AS {alias}" for alias, sql in compiled.presence_columns.items()
        )
        base = self.judged_rows(f"v.hashtag_id IN ({_ids(hashtag_ids)})", (), scores, joins=joins)
        # MATERIALIZED: each row's scores, words and presences are computed once, not again
        # in every place the decision, margin and explanation use them.
        sql = (
            f"WITH scored AS ({base}), "
            f"present AS (SELECT scored.*{', ' + presence if presence else ''} FROM scored), "
            f"judged AS MATERIALIZED (SELECT present.*, {compiled.result} AS res FROM present) "
            f"UPDATE {V} SET decision = {compiled.decision}, "
            "shown = COALESCE(override, res IS TRUE), "
            f"margin = {compiled.margin}, explanation = {compiled.explanation}, "
            "classification_id = judged.cid, decided_at = %s "
            f"FROM judged WHERE {V}.id = judged.vid"
        )
        return self.execute(sql, [self.now])

    def evidence_keys(self, expr: Expr) -> set[str]:
        """Word forms that are evidence for this rule's concepts (or concepts under them)."""
        named = expr.concepts()
        return {
            key
            for key, meaning in self.words.items()
            if concept_about(meaning.concept, named, self.catalog)
        }

    # -- a group of hashtags judged by one rule (or none) ----------------------------------

    def judge_group(self, rule: Rule | None, hashtag_ids: Collection[int]) -> None:
        if not hashtag_ids:
            return
        with transaction.atomic():
            self.assign_rule(rule, hashtag_ids)
            where = Q(hashtag_id__in=hashtag_ids)
            in_sql = f"v.hashtag_id IN ({_ids(hashtag_ids)})"
            expr = self.parsed.get(rule.keyword) if rule is not None else None
            if rule is None:
                self.report.set_based += self.constant(
                    in_sql,
                    Verdict.Decision.NO_RULE,
                    {"reason": "No rule judges this hashtag; it is not filtered."},
                    shown_default=True,
                )
                keys: set[str] = set()
            elif expr is None:
                reason = f"Rule #{rule.keyword} is invalid: {self.errors[rule.keyword]}"
                self.report.set_based += self.constant(
                    in_sql, Verdict.Decision.UNKNOWN, {"reason": reason}, shown_default=False
                )
                keys = set()
            else:
                keys = self.evidence_keys(expr)
                if self.active is not None:
                    self.report.set_based += self.rule_statement(rule, expr, hashtag_ids, keys)
            self.python_judge(self.unscored_posts(where))
            worded = self.worded_posts(where, keys)
            if self.words_later:
                self.explain_later |= worded
            else:
                self.python_judge(worded)
        self.report.hashtag_ids.update(hashtag_ids)


def verdicts_reevaluate(
    *,
    rules: Collection[int] | None = None,
    hashtags: Collection[str] = (),
    word_keys: Collection[str] = (),
    words_later: bool = False,
) -> Reevaluation:
    """Re-apply rules, keyword mappings and thresholds to stored scores; the model is not run.

    ``rules`` (ids) limits the work to the hashtags those rules judge now or judged before,
    plus ``hashtags`` (names whose rule may have changed) and the posts whose words include
    one of ``word_keys`` (a keyword mapping changed); ``rules=None`` re-applies everything.

    Every verdict's decision, visibility and margin are set by the statements. Posts whose
    words may be evidence are then judged again in Python for their explanations (which list
    the words): at once, or with ``words_later`` in background tasks of 2,000 posts each
    (``verdicts_explain``), so that a change shows in search in the statements' time.
    """
    started = time.perf_counter()
    run = _Run(words_later=words_later)
    resolution: dict[str, Rule] = {**run.index.mappings, **run.index.rules}
    if rules is None:
        names = set(resolution)
    else:
        wanted = set(rules)
        names = {name for name, rule in resolution.items() if rule.pk in wanted} | set(hashtags)
        before = Verdict.objects.filter(rule_id__in=wanted).values("hashtag_id").distinct()
        names |= set(Hashtag.objects.filter(pk__in=before).values_list("name", flat=True))
        # A rule's words are evidence only while it names one concept: its changes can alter
        # verdicts under other rules of posts whose words name it.
        own = {name for name, rule in resolution.items() if rule.pk in wanted}
        word_keys = {*word_keys, *(keyword_key(name) for name in own)}
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
    if word_keys:
        posts = PostWord.objects.filter(key__in=list(word_keys)).values_list("post_id", flat=True)
        if words_later:
            run.explain_later.update(posts.distinct())
        else:
            run.python_judge(posts.distinct())
    later = sorted(run.explain_later)
    run.report.explain_later = len(later)
    for start in range(0, len(later), PYTHON_BATCH):
        _explain_on_commit(later[start : start + PYTHON_BATCH])
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


def _explain_on_commit(post_ids: list[int]) -> None:
    transaction.on_commit(lambda: async_task(EXPLAIN_TASK, post_ids, group="reevaluate"))


def _judge_unruled(run: _Run, *, exclude: set[int]) -> None:
    """Every verdict of a hashtag no rule judges (full re-evaluation only)."""
    with transaction.atomic():
        stale = Verdict.objects.filter(rule__isnull=False)
        if exclude:
            stale = stale.exclude(hashtag_id__in=exclude)
        stale.update(rule=None)
        unchanged = "v.decision = 'no_rule' AND COALESCE(v.classification_id = c.id, FALSE)"
        where = f"v.rule_id IS NULL AND NOT ({unchanged})"
        run.report.set_based += run.constant(
            where,
            Verdict.Decision.NO_RULE,
            {"reason": "No rule judges this hashtag; it is not filtered."},
            shown_default=True,
        )
        run.python_judge(run.unscored_posts(Q(rule__isnull=True)))


REEVALUATE_TASK = "moderation.tasks.reevaluate_verdicts"
EXPLAIN_TASK = "moderation.tasks.explain_verdicts"


def verdicts_explain(*, post_ids: list[int]) -> int:
    """Judge these posts again in Python (after a set-based pass decided them), so their
    explanations list the words that counted. Idempotent."""
    return verdicts_evaluate(posts=Post.objects.filter(pk__in=post_ids))


def verdicts_reevaluate_all() -> int:
    """Apply the current rules, keywords and thresholds to every post's stored scores."""
    return verdicts_reevaluate().total


def verdicts_reevaluate_queue(
    *,
    rules: Collection[int] | None = None,
    hashtags: Collection[str] = (),
    word_keys: Collection[str] = (),
) -> None:
    """A rule, keyword or threshold changed: re-apply it after commit, in the background.
    The scope is as in :func:`verdicts_reevaluate`; ``rules=None`` is everything."""
    scope = {
        "rules": sorted(rules) if rules is not None else None,
        "hashtags": sorted(hashtags),
        "word_keys": sorted(word_keys),
    }
    transaction.on_commit(lambda: async_task(REEVALUATE_TASK, scope, group="reevaluate"))
