"""The review queue, authors asking for a review, searchers reporting a post that does not fit,
hashtags without a rule, and people reading what moderators answered them (their activity);
accepting a verdict is `verdict_override`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from moderation.judging.audit import audit_record
from moderation.judging.catalog import keyword_mapping_save, rule_save
from moderation.judging.verdicts import verdicts_evaluate
from moderation.models import ActivityRead, AuditEvent, KeywordMapping, Rule, Verdict, VerdictReport
from moderation.rules.compiled import concepts_present
from moderation.rules.expr import evaluate
from moderation.rules.syntax import RuleSyntaxError, parse, validate
from moderation.selectors.catalog import concept_catalog, concept_names
from moderation.selectors.review import reports_today, review_queue, review_requests_open
from moderation.selectors.scores import current_classifications
from posts.models import Hashtag, Post, PostHashtag
from posts.services import plain_text

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


class ReviewRefused(ValueError):
    """A review cannot be asked for, or a post reported; ``str(exc)`` tells the user why.
    ``denied``: not theirs to ask (API 403)."""

    def __init__(self, message: str, *, denied: bool = False) -> None:
        super().__init__(message)
        self.denied = denied


def activity_read(*, user: User, at: dt.datetime) -> None:
    """Seen up to ``at``, taken before the listing; never moves back."""
    updated = ActivityRead.objects.filter(user=user, read_at__lt=at).update(read_at=at)
    if not updated:
        ActivityRead.objects.get_or_create(user=user, defaults={"read_at": at})


REVIEW_NOTE_MAX = Verdict._meta.get_field("review_request_note").max_length or 0


def review_request(*, verdict: Verdict, by: User, note: str = "") -> Verdict:
    """The post's author asks a moderator to look again at a verdict that hides the post: it
    goes first in the review queue, with the note, and the audit trail records it."""
    note = plain_text(note).strip()
    if verdict.post.author_id is None or verdict.post.author_id != by.pk:
        raise ReviewRefused("Only the post's author may ask for a review.", denied=True)
    if len(note) > REVIEW_NOTE_MAX:
        raise ReviewRefused(f"The note is longer than {REVIEW_NOTE_MAX} characters.")
    tag = f"#{verdict.hashtag.name}"
    if verdict.override is not None:
        raise ReviewRefused(f"A moderator has already decided the post's place under {tag}.")
    if verdict.shown:
        raise ReviewRefused(f"The post is already shown under {tag}.")
    if verdict.decision == Verdict.Decision.PENDING:
        raise ReviewRefused(f"TagLens has not judged the post under {tag} yet.")
    if verdict.review_requested_at is not None:
        raise ReviewRefused(f"A review under {tag} has already been asked for.")
    limit = settings.TAGLENS_REVIEW_REQUESTS_OPEN
    if review_requests_open(author_id=by.pk).count() >= limit:
        raise ReviewRefused(
            f"You have {limit} reviews waiting; ask again once moderators have answered them."
        )
    with transaction.atomic():
        now = timezone.now()
        asked = Verdict.objects.filter(
            pk=verdict.pk, review_requested_at__isnull=True, override__isnull=True, shown=False
        ).update(review_requested_at=now, review_request_note=note)
        if not asked:  # answered or asked for since the page was read
            raise ReviewRefused(f"The post's place under {tag} has just changed.")
        verdict.review_requested_at, verdict.review_request_note = now, note
        audit_record(
            action=AuditEvent.Action.REVIEW_REQUEST,
            obj=verdict,
            actor=by,
            before=None,
            after={"decision": verdict.decision},
            reason=note,
            rule_hashtag=verdict.rule.hashtag if verdict.rule else "",
            object_repr=f"{tag} on post {verdict.post_id}",
        )
    return verdict


def verdict_report(*, verdict: Verdict, by: User) -> int:
    """Someone says the post shown under the hashtag does not fit it (once per person): to
    the review queue. Returns how many people have reported it."""
    tag = f"#{verdict.hashtag.name}"
    if verdict.post.author_id == by.pk:
        raise ReviewRefused(
            f"It is your own post: to take it out of {tag}, edit its hashtags.", denied=True
        )
    if not verdict.shown:
        raise ReviewRefused(f"The post is not shown under {tag}.")
    if verdict.override is not None:
        raise ReviewRefused(f"A moderator has already decided the post's place under {tag}.")
    limit = settings.TAGLENS_REPORTS_PER_DAY
    if reports_today(reporter_id=by.pk).count() >= limit:
        raise ReviewRefused(f"You have sent {limit} reports today; thank you, that is all.")
    _, created = VerdictReport.objects.get_or_create(verdict=verdict, reporter=by)
    if not created:
        raise ReviewRefused(f"You have already reported the post under {tag}.")
    return VerdictReport.objects.filter(verdict=verdict).count()


@dataclass(frozen=True)
class Suggestion:
    rule: Rule
    fits: int  # posts carrying the hashtag that the rule judges relevant
    of: int  # posts carrying the hashtag that have stored scores

    @property
    def percent(self) -> int:
        return round(100 * self.fits / self.of) if self.of else 0

    @property
    def hides(self) -> int:
        return self.of - self.fits

    @property
    def fits_most(self) -> bool:
        """Only then offered as a mapping: a hashtag for any photo (#일상) fits none."""
        return self.fits * 2 > self.of


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
