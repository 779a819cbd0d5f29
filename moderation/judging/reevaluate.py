"""Set-based re-evaluation: a changed rule, keyword mapping or threshold reaches every stored
verdict through a few SQL statements per rule, not a Python loop over posts."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django_q.tasks import async_task

from moderation.judging.counts import hashtag_counts_refresh
from moderation.judging.statements import Reevaluation, ReevaluationRun
from moderation.models import Rule, Verdict
from moderation.rules.compiled import UNRULED
from moderation.selectors.catalog import rules_about_concept
from posts.models import Hashtag

logger = logging.getLogger(__name__)


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
    ``word_concepts`` narrows the other rules re-applied for ``word_keys`` (docs/moderation.md).
    """
    started = time.perf_counter()
    run = ReevaluationRun()
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


def _judge_unruled(run: ReevaluationRun, *, exclude: set[int]) -> None:
    """Every verdict of a hashtag no rule judges (full re-evaluation only)."""
    with transaction.atomic():
        run.tune()
        stale = Verdict.objects.filter(rule__isnull=False)
        if exclude:
            stale = stale.exclude(hashtag_id__in=exclude)
        stale.update(rule=None)
        no_rule = run.dialect.text(UNRULED.decision)
        unchanged = f"v.decision = {no_rule} AND v.classification_id IS NULL"
        where = f"v.rule_id IS NULL AND NOT ({unchanged})"
        run.report.set_based += run.constant(where, UNRULED)
        run.python_judge(run.unscored_posts(Q(rule__isnull=True)))


REEVALUATE_TASK = "moderation.tasks.reevaluate_verdicts"


def verdicts_reevaluate_all() -> int:
    """Apply the current rules, keyword mappings and thresholds to every post's stored scores."""
    return verdicts_reevaluate().total


def verdicts_reevaluate_queue(
    *,
    rules: Collection[int] | None = None,
    hashtags: Collection[str] = (),
    word_keys: Collection[str] = (),
    word_concepts: Collection[str] | None = None,
) -> None:
    """A rule, keyword mapping or threshold changed: re-apply it after commit, in the background.
    The scope is as in :func:`verdicts_reevaluate`; ``rules=None`` is everything."""
    scope = {
        "rules": sorted(rules) if rules is not None else None,
        "hashtags": sorted(hashtags),
        "word_keys": sorted(word_keys),
        "word_concepts": sorted(word_concepts) if word_concepts is not None else None,
    }
    timeout = settings.TAGLENS_RESCORE_TIMEOUT
    transaction.on_commit(
        lambda: async_task(REEVALUATE_TASK, scope, group="reevaluate", timeout=timeout)
    )
