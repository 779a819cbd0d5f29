"""Verdicts: decided from stored scores by the rules, overridden by moderators."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from moderation.decisions import ConceptInfo, decide_with_text, decision_margin
from moderation.models import Classification, ModelVersion, Verdict
from moderation.rules import Expr, RuleSyntaxError, parse
from moderation.selectors import RuleIndex, concept_catalog, concept_names, rule_index
from moderation.services.counts import hashtag_counts_refresh
from moderation.services.text import text_matches
from posts.models import Post, PostHashtag

REEVALUATE_TASK = "moderation.tasks.reevaluate_all_verdicts"


def verdicts_create_pending(*, post: Post) -> None:
    """One pending verdict per hashtag, so a post exists under its tags before it is judged."""
    links = list(PostHashtag.objects.filter(post=post))
    with transaction.atomic():
        Verdict.objects.bulk_create(
            [
                Verdict(post=post, hashtag_id=link.hashtag_id, post_created_at=post.created_at)
                for link in links
            ],
            ignore_conflicts=True,
        )
        hashtag_counts_refresh(hashtag_ids=[link.hashtag_id for link in links])


def _current_classifications(post_ids: list[int]) -> dict[int, Classification]:
    """Each post's scores from the active model version, else its newest."""
    active_id = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    current: dict[int, Classification] = {}
    rows = Classification.objects.filter(post_id__in=post_ids).select_related("model_version")
    for c in rows.order_by("created_at", "id"):
        held = current.get(c.post_id)
        if held is None or held.model_version_id != active_id:
            current[c.post_id] = c
    return current


def _effective(verdict: Verdict) -> bool:
    if verdict.override is not None:
        return verdict.override
    return verdict.decision in (Verdict.Decision.RELEVANT, Verdict.Decision.NO_RULE)


def verdicts_judge(
    *,
    posts: Iterable[Post],
    index: RuleIndex | None = None,
    catalog: dict[str, ConceptInfo] | None = None,
) -> list[Verdict]:
    """Decide every verdict of these posts from stored scores, in memory (nothing is saved):
    `verdicts_evaluate` saves the result, change previews compare it with what is stored."""
    catalog = catalog if catalog is not None else concept_catalog()
    names = concept_names(catalog)
    index = index or rule_index()
    parsed: dict[int, Expr | RuleSyntaxError] = {}
    now = timezone.now()
    changed: list[Verdict] = []
    post_ids = [post.pk for post in posts]
    latest = _current_classifications(post_ids)
    words = text_matches(post_ids=post_ids, index=index, names=names)
    verdicts = Verdict.objects.filter(post_id__in=post_ids).select_related("hashtag", "post")
    for verdict in verdicts:
        post = verdict.post
        rule, via = index.resolve(verdict.hashtag.name)
        verdict.rule = rule
        verdict.classification = latest.get(post.pk)
        if post.status == Post.Status.PENDING:
            verdict.decision, verdict.explanation = Verdict.Decision.PENDING, {}
        elif post.status == Post.Status.FAILED or verdict.classification is None:
            verdict.decision = Verdict.Decision.UNKNOWN
            verdict.explanation = {"reason": post.failure_reason or "Not classified."}
        elif rule is None:
            verdict.decision = Verdict.Decision.NO_RULE
            verdict.explanation = {"reason": "No rule judges this hashtag; it is not filtered."}
        else:
            if rule.pk not in parsed:
                try:
                    parsed[rule.pk] = parse(rule.expression, names)
                except RuleSyntaxError as exc:
                    parsed[rule.pk] = exc
            expr = parsed[rule.pk]
            if isinstance(expr, RuleSyntaxError):
                verdict.decision = Verdict.Decision.UNKNOWN
                verdict.explanation = {"reason": f"Rule #{rule.keyword} is invalid: {expr}"}
            else:
                decision = decide_with_text(
                    matches=words.get(post.pk, []),
                    expr=expr,
                    concepts=catalog,
                    scores=verdict.classification.scores,
                    rule_keyword=rule.keyword,
                    via_word=via,
                    model_version=verdict.classification.model_version.name,
                )
                verdict.decision = {
                    True: Verdict.Decision.RELEVANT,
                    False: Verdict.Decision.NOT_RELEVANT,
                    None: Verdict.Decision.UNKNOWN,
                }[decision.result]
                verdict.explanation = decision.explanation
                verdict.margin = decision_margin(expr, decision.explanation)
        if verdict.decision not in (Verdict.Decision.RELEVANT, Verdict.Decision.NOT_RELEVANT):
            verdict.margin = None
        verdict.decided_at = now
        verdict.shown = _effective(verdict)
        changed.append(verdict)
    return changed


def verdicts_evaluate(
    *, posts: Iterable[Post], index: RuleIndex | None = None, refresh_counts: bool = True
) -> int:
    """Decide every verdict of these posts from stored scores; the model is not run.
    Callers that evaluate in batches pass refresh_counts=False and refresh once at the end."""
    changed = verdicts_judge(posts=posts, index=index)
    with transaction.atomic():
        Verdict.objects.bulk_update(
            changed,
            ["rule", "classification", "decision", "explanation", "decided_at", "shown", "margin"],
            batch_size=500,
        )
        if refresh_counts:
            hashtag_counts_refresh(hashtag_ids={v.hashtag_id for v in changed})
    return len(changed)


def verdicts_reevaluate_all(*, batch_size: int = 500) -> int:
    """Apply the current rules, keywords and thresholds to every post's stored scores."""
    index = rule_index()
    total = 0
    post_ids = list(Post.objects.order_by("pk").values_list("pk", flat=True))
    try:
        for start in range(0, len(post_ids), batch_size):
            chunk = Post.objects.filter(pk__in=post_ids[start : start + batch_size])
            total += verdicts_evaluate(posts=chunk, index=index, refresh_counts=False)
    finally:
        hashtag_counts_refresh()  # once, not per batch: a batch touches most hashtags
    return total


def verdicts_reevaluate_queue() -> None:
    """A rule, keyword or threshold changed: re-apply everywhere after commit, in the background."""
    transaction.on_commit(lambda: async_task(REEVALUATE_TASK, group="reevaluate"))


def verdict_override(
    *,
    verdict: Verdict,
    relevant: bool | None,
    by: User,
    note: str = "",
    reason: str = "",
    names: dict[str, str] | None = None,
    refresh_counts: bool = True,
) -> Verdict:
    """A moderator's word: shown (True), hidden (False), or back to the model (None).
    Recorded as an audit event (reason defaults to the note); clearing no override is a no-op."""
    from moderation.services.audit import verdict_override_record, verdict_override_snapshot

    # The stored row, not `verdict`: an admin form has already written its input onto it.
    stored = Verdict.objects.select_related("override_by").filter(pk=verdict.pk).first()
    before = verdict_override_snapshot(stored or verdict)
    if relevant is None and before["override"] is None:
        return verdict
    with transaction.atomic():
        verdict.override = relevant
        verdict.override_by = by if relevant is not None else None
        verdict.override_at = timezone.now() if relevant is not None else None
        verdict.override_note = note[:200] if relevant is not None else ""
        verdict.shown = _effective(verdict)
        verdict.save(
            update_fields=["override", "override_by", "override_at", "override_note", "shown"]
        )
        verdict_override_record(
            verdict=verdict, before=before, by=by, reason=reason or note, names=names
        )
        if refresh_counts:
            hashtag_counts_refresh(hashtag_ids=[verdict.hashtag_id])
    return verdict


def verdicts_override_bulk(
    *,
    verdicts: QuerySet[Verdict],
    relevant: bool | None,
    by: User,
    note: str = "",
    reason: str = "",
) -> int:
    """Override many verdicts; each one changed is its own audit event. Returns how many."""
    count = 0
    names = concept_names(concept_catalog())
    hashtag_ids: set[int] = set()
    with transaction.atomic():
        # of=self: the admin passes a queryset joined to nullable relations (Postgres refuses
        # to lock those).
        for verdict in verdicts.select_for_update(of=("self",)).select_related("rule", "hashtag"):
            verdict_override(
                verdict=verdict,
                relevant=relevant,
                by=by,
                note=note,
                reason=reason,
                names=names,
                refresh_counts=False,
            )
            hashtag_ids.add(verdict.hashtag_id)
            count += 1
        # Once for all: one refresh per verdict would lock the counts in no particular order.
        hashtag_counts_refresh(hashtag_ids=hashtag_ids)
    return count
