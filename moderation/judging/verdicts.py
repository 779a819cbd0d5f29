"""Verdicts: decided from stored scores by the rules, overridden by moderators."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from moderation.judging.counts import CountMoves, verdict_bucket
from moderation.judging.words import comments_cite, post_words_store, text_matches
from moderation.models import Classification, Verdict
from moderation.rules.compiled import (
    UNDECIDED,
    UNRULED,
    WAITING,
    CompiledRule,
    ConceptInfo,
    Outcome,
    compile_rule,
    presence_plan,
)
from moderation.rules.decide import decide
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.rules.words import WordMatch
from moderation.selectors.catalog import RuleIndex, concept_catalog, concept_names, rule_index
from moderation.selectors.scores import current_classifications
from moderation.selectors.text import PostText, post_texts
from posts.models import Hashtag, Post, PostHashtag


def verdicts_create_pending(*, post: Post) -> None:
    """One pending verdict per hashtag, so a post exists under its tags before it is judged."""
    with transaction.atomic():
        # The post's row lock keeps a concurrent call from adding the same verdicts uncounted.
        list(Post.objects.select_for_update().filter(pk=post.pk).values_list("pk"))
        have = set(Verdict.objects.filter(post=post).values_list("hashtag_id", flat=True))
        links = PostHashtag.objects.filter(post=post).exclude(hashtag_id__in=have)
        added = Verdict.objects.bulk_create(
            [
                Verdict(post=post, hashtag_id=link.hashtag_id, post_created_at=post.created_at)
                for link in links
            ]
        )
        moves = CountMoves()
        for verdict in added:
            moves.move(verdict.hashtag_id, old=None, new="pending")
        moves.apply()


def _judge(
    verdicts: Iterable[Verdict],
    *,
    classification_of: Callable[[Verdict], Classification | None],
    words: dict[int, list[WordMatch]],
    index: RuleIndex,
    catalog: dict[str, ConceptInfo],
    names: dict[str, str],
) -> None:
    """Decide these verdicts in memory: decision, margin, rule, classification and the
    explanation (an attribute, never stored: ``verdicts_explain`` computes it for display)."""
    compiled: dict[int, CompiledRule | RuleSyntaxError] = {}
    plan = presence_plan(catalog)
    for verdict in verdicts:
        post = verdict.post
        rule, via = index.resolve(verdict.hashtag.name)
        verdict.rule = rule
        verdict.classification = classification_of(verdict)
        if post.status == Post.Status.PENDING:
            result, verdict.explanation = WAITING, {}
        elif post.status == Post.Status.FAILED or verdict.classification is None:
            result = UNDECIDED
            verdict.explanation = {"reason": post.failure_reason or "Not classified."}
        elif rule is None:
            # Decided without scores: no classification, so a new model version leaves it be.
            result, verdict.classification = UNRULED, None
            verdict.explanation = {"reason": "No rule judges this hashtag; it is not filtered."}
        else:
            if rule.pk not in compiled:
                try:
                    compiled[rule.pk] = compile_rule(parse(rule.expression, names), catalog, plan)
                except RuleSyntaxError as exc:
                    compiled[rule.pk] = exc
            found = compiled[rule.pk]
            if isinstance(found, RuleSyntaxError):
                result, verdict.classification = UNDECIDED, None
                verdict.explanation = {"reason": f"Rule #{rule.hashtag} is invalid: {found}"}
            else:
                decision = decide(
                    rule=found,
                    matches=words.get(post.pk, []),
                    concepts=catalog,
                    scores=verdict.classification.scores,
                    rule_hashtag=rule.hashtag,
                    via_word=via,
                    model_version=verdict.classification.model_version.name,
                    unsupported=verdict.classification.unsupported,
                )
                result = Outcome.decided(decision.result, decision.margin)
                verdict.explanation = decision.explanation
        verdict.decision, verdict.margin = result.decision, result.margin
        verdict.shown = verdict.effective_shown()


def verdicts_judge(
    *,
    posts: Iterable[Post],
    index: RuleIndex | None = None,
    catalog: dict[str, ConceptInfo] | None = None,
    texts: dict[int, PostText] | None = None,
    classifications: dict[int, Classification] | None = None,
) -> list[Verdict]:
    """Decide every verdict of these posts from stored scores, in memory (nothing is saved):
    `verdicts_evaluate` saves the result, change previews compare it with what is stored.

    ``classifications``: each post's current scores (with their model version), when the
    caller has just computed them, and the posts carry their current status: neither is read
    again (a classification batch). Otherwise both are read from the database."""
    posts = list(posts)
    catalog = catalog if catalog is not None else concept_catalog()
    names = concept_names(catalog)
    index = index or rule_index()
    now = timezone.now()
    post_ids = [post.pk for post in posts]
    rows = Verdict.objects.filter(post_id__in=post_ids).select_related("hashtag")
    if classifications is None:
        latest = current_classifications(post_ids=post_ids)
        verdicts = list(rows.select_related("post"))
    else:
        latest = classifications
        by_pk = {post.pk: post for post in posts}
        verdicts = list(rows)
        for verdict in verdicts:
            verdict.post = by_pk[verdict.post_id]
    _judge(
        verdicts,
        classification_of=lambda v: latest.get(v.post_id),
        words=text_matches(post_ids=post_ids, index=index, names=names, texts=texts),
        index=index,
        catalog=catalog,
        names=names,
    )
    for verdict in verdicts:
        verdict.decided_at = now
    return verdicts


def verdicts_explain(verdicts: Iterable[Verdict]) -> None:
    """Set ``explanation`` on each verdict, for display, from the scores it was decided on, the
    post's words and the current rules (not stored: a rule change rewrites only the verdicts
    whose outcome moves); ``stale`` where those rules decide otherwise. A few queries for any
    number of verdicts; one for posts waiting for their model (every upload's answer)."""
    verdicts = list(verdicts)
    posts = Post.objects.in_bulk({v.post_id for v in verdicts})
    waiting = [v for v in verdicts if posts[v.post_id].status == Post.Status.PENDING]
    for verdict in waiting:
        verdict.explanation = {} if verdict.decision == WAITING.decision else {"stale": True}
    verdicts = [v for v in verdicts if posts[v.post_id].status != Post.Status.PENDING]
    if not verdicts:
        return
    catalog = concept_catalog()
    names = concept_names(catalog)
    index = rule_index()
    post_ids = sorted({v.post_id for v in verdicts})
    latest = current_classifications(post_ids=post_ids)
    used = Classification.objects.select_related("model_version").in_bulk(
        {v.classification_id for v in verdicts if v.classification_id is not None}
    )
    hashtags = Hashtag.objects.in_bulk({v.hashtag_id for v in verdicts})
    probes = []
    for verdict in verdicts:
        probe = copy.copy(verdict)
        probe._state = copy.copy(verdict._state)
        probe._state.fields_cache = {
            "post": posts[verdict.post_id],
            "hashtag": hashtags[verdict.hashtag_id],
        }
        probes.append(probe)

    def classification_of(v: Verdict) -> Classification | None:
        if v.classification_id is not None and v.classification_id in used:
            return used[v.classification_id]
        return latest.get(v.post_id)

    texts = post_texts(post_ids=post_ids)
    _judge(
        probes,
        classification_of=classification_of,
        words=text_matches(post_ids=post_ids, index=index, names=names, texts=texts),
        index=index,
        catalog=catalog,
        names=names,
    )
    for verdict, probe in zip(verdicts, probes, strict=True):
        explanation = dict(probe.explanation or {})
        comments_cite(explanation, texts.get(verdict.post_id))
        undecided = verdict.decision == WAITING.decision  # a failed post's, till it is checked
        if probe.decision != verdict.decision and not undecided:
            explanation["stale"] = True
        verdict.explanation = explanation


def verdicts_evaluate(
    *,
    posts: Iterable[Post],
    index: RuleIndex | None = None,
    refresh_counts: bool = True,
    classifications: dict[int, Classification] | None = None,
) -> int:
    """Decide every verdict of these posts from stored scores; the model is not run.
    Callers that evaluate in batches pass refresh_counts=False and refresh once at the end.
    ``classifications``: see `verdicts_judge` (the posts then carry their current status)."""
    posts = list(posts)
    with transaction.atomic():
        post_ids = [post.pk for post in posts]
        texts = post_texts(post_ids=post_ids)  # read once for the words and the judging
        post_words_store(post_ids=post_ids, texts=texts)
        changed = verdicts_judge(
            posts=posts, index=index, texts=texts, classifications=classifications
        )
        verdicts_write(changed, count=refresh_counts)
    return len(changed)


_WRITE_BATCH = 1000


def verdicts_write(verdicts: list[Verdict], *, count: bool = False) -> None:
    """Save judged verdicts with one ``UPDATE … FROM (VALUES …)`` per thousand rows (linear,
    where ``bulk_update``'s CASE per column grows with the square of the batch), each row first
    locked in id order and read again (``_locked_again``); ``count``: add their moves."""
    table = connection.ops.quote_name(Verdict._meta.db_table)
    pg = connection.vendor == "postgresql"
    row = "(%s, %s, %s, %s, %s, %s, %s)"
    moves = CountMoves()
    verdicts = sorted(verdicts, key=lambda v: v.pk)
    for start in range(0, len(verdicts), _WRITE_BATCH):
        chunk = _locked_again(verdicts[start : start + _WRITE_BATCH], moves)
        if not chunk:
            continue
        params: list[Any] = []
        for v in chunk:
            params += [
                v.pk,
                v.rule_id,
                v.classification_id,
                v.decision,
                v.decided_at,
                v.shown,
                v.margin,
            ]
        values = ", ".join([row] * len(chunk))
        if pg:
            source = (
                f"(VALUES {values}) AS x(id, rule_id, classification_id, decision, decided_at, "
                "shown, margin)"
            )
            sets = (
                "rule_id = x.rule_id::bigint, classification_id = x.classification_id::bigint, "
                "decision = x.decision::text, decided_at = x.decided_at::timestamptz, "
                "shown = x.shown::boolean, "
                "margin = x.margin::double precision"
            )
            where = f"{table}.id = x.id::bigint"
        else:
            source = (
                "(SELECT column1 AS id, column2 AS rule_id, column3 AS classification_id, "
                "column4 AS decision, column5 AS decided_at, column6 AS shown, "
                f"column7 AS margin FROM (VALUES {values})) AS x"
            )
            sets = (
                "rule_id = x.rule_id, classification_id = x.classification_id, "
                "decision = x.decision, decided_at = x.decided_at, "
                "shown = x.shown, margin = x.margin"
            )
            where = f"{table}.id = x.id"
            params = [
                connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime) else p
                for p in params
            ]
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {sets} FROM {source} WHERE {where}", params)
    if count:
        moves.apply()


def _locked_again(chunk: list[Verdict], moves: CountMoves) -> list[Verdict]:
    """The verdicts still stored, locked, ``shown`` from the stored override, moves noted."""
    rows = (
        Verdict.objects.select_for_update()
        .filter(pk__in=[v.pk for v in chunk])
        .order_by("pk")
        .values_list("pk", "hashtag_id", "shown", "decision", "override")
    )
    stored = {
        pk: (hashtag_id, shown, decision, override)
        for pk, hashtag_id, shown, decision, override in rows
    }
    kept = []
    for verdict in chunk:
        if verdict.pk not in stored:
            continue
        hashtag_id, shown, decision, verdict.override = stored[verdict.pk]
        verdict.shown = verdict.effective_shown()
        moves.move(
            hashtag_id,
            old=verdict_bucket(shown=shown, decision=decision),
            new=verdict_bucket(shown=verdict.shown, decision=verdict.decision),
        )
        kept.append(verdict)
    return kept
