"""The review queue and hashtags without a rule; accepting a verdict is `verdict_override`."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from moderation.judging.catalog import keyword_mapping_save, rule_save
from moderation.judging.verdicts import verdicts_evaluate
from moderation.models import KeywordMapping, Rule, Verdict
from moderation.rules.compiled import concepts_present
from moderation.rules.expr import evaluate
from moderation.rules.syntax import RuleSyntaxError, parse, validate
from moderation.selectors.catalog import concept_catalog, concept_names
from moderation.selectors.review import review_queue
from moderation.selectors.scores import current_classifications
from posts.models import Hashtag, Post, PostHashtag

# Skipped ids are kept in the session; more than this and the oldest are forgotten.
MAX_SKIPPED = 500


@dataclass(frozen=True)
class ReviewState:
    verdict: Verdict | None  # the item to show, None when nothing is left (or all skipped)
    position: int  # 1-based position of that item in the queue
    size: int  # verdicts in the queue, skipped ones included
    skipped: int  # of which skipped in this session


def review_next(*, skipped: list[int]) -> ReviewState:
    """The first queued verdict not skipped, with its place in the queue."""
    queue = review_queue()
    size = queue.count()
    skipped_here = queue.filter(pk__in=skipped).count() if skipped else 0
    verdict = queue.exclude(pk__in=skipped).first()
    return ReviewState(verdict=verdict, position=skipped_here + 1, size=size, skipped=skipped_here)


def review_skip(*, skipped: list[int], verdict_id: int) -> list[int]:
    """The session's skip list with this verdict added (bounded)."""
    kept = [pk for pk in skipped if pk != verdict_id] + [verdict_id]
    return kept[-MAX_SKIPPED:]


@dataclass(frozen=True)
class Suggestion:
    rule: Rule
    fits: int  # posts carrying the hashtag that the rule judges relevant
    of: int  # posts carrying the hashtag that have stored scores

    @property
    def percent(self) -> int:
        return round(100 * self.fits / self.of) if self.of else 0


def hashtag_rule_suggestions(
    *, hashtag: Hashtag, limit: int = 3, sample: int = 500
) -> list[Suggestion]:
    """Rules the newest ``sample`` posts of the hashtag fit most often ("#라떼: 9 of 10 fit
    #카페"), from stored scores; unknown counts as not fitting."""
    post_ids = list(
        PostHashtag.objects.filter(hashtag=hashtag)
        .order_by("-post_id")
        .values_list("post_id", flat=True)[:sample]
    )
    scores = [c.scores for c in current_classifications(post_ids=post_ids).values()]
    if not scores:
        return []
    catalog = concept_catalog()
    names = concept_names(catalog)
    present = [concepts_present(catalog, s) for s in scores]
    found: list[Suggestion] = []
    for rule in Rule.objects.all():
        try:
            expr = parse(rule.expression, names)
        except RuleSyntaxError:
            continue
        fits = sum(1 for p in present if evaluate(expr, p) is True)
        if fits:
            found.append(Suggestion(rule=rule, fits=fits, of=len(scores)))
    found.sort(key=lambda s: (-s.fits, s.rule.hashtag))
    return found[:limit]


def hashtag_reevaluate(*, hashtag: Hashtag) -> int:
    """Judge the posts carrying this hashtag again, now (the rest are untouched)."""
    return verdicts_evaluate(posts=Post.objects.filter(post_hashtags__hashtag=hashtag))


def hashtag_rule_create(
    *, hashtag: Hashtag, expression: str, by: User, description: str = "", reason: str = ""
) -> Rule:
    """Give an unmapped hashtag a rule of its own and judge its posts by it now (saving also
    queues the usual re-evaluation of every verdict, which finds these already done)."""
    canonical = validate(expression, concept_names(concept_catalog()))
    rule = Rule(hashtag=hashtag.name, expression=canonical, description=description)
    with transaction.atomic():
        rule_save(rule=rule, by=by, reason=reason)
        hashtag_reevaluate(hashtag=hashtag)
    return rule


def hashtag_map(*, hashtag: Hashtag, rule: Rule, by: User, reason: str = "") -> KeywordMapping:
    """Judge an unmapped hashtag by an existing rule (#라떼 → 카페) and judge its posts again."""
    mapping = KeywordMapping(word=hashtag.name, rule=rule)
    with transaction.atomic():
        keyword_mapping_save(mapping=mapping, by=by, reason=reason)
        hashtag_reevaluate(hashtag=hashtag)
    return mapping


def hashtag_has_rule(*, hashtag: Hashtag) -> bool:
    return (
        Rule.objects.filter(hashtag=hashtag.name).exists()
        or KeywordMapping.objects.filter(word=hashtag.name).exists()
    )


__all__ = [
    "ReviewState",
    "Suggestion",
    "hashtag_has_rule",
    "hashtag_map",
    "hashtag_reevaluate",
    "hashtag_rule_create",
    "hashtag_rule_suggestions",
    "review_next",
    "review_skip",
]
