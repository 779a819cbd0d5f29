"""Reads for moderation, search and post pages. Querysets carry their joins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.utils import timezone

from moderation.decisions import ConceptInfo
from moderation.models import (
    AuditEvent,
    Classification,
    Concept,
    Embedding,
    HashtagStats,
    KeywordMapping,
    Rule,
    TextExtraction,
    Verdict,
)
from moderation.pagination import SearchCursor
from posts.hashtags import InvalidHashtag, normalize_hashtag
from posts.models import Comment, Hashtag, Post


def concept_catalog() -> dict[str, ConceptInfo]:
    rows = Concept.objects.select_related("parent").order_by("key")
    return {
        c.key: ConceptInfo(
            key=c.key,
            name_ko=c.name_ko,
            name_en=c.name_en,
            threshold=c.threshold,
            parent=c.parent.key if c.parent else None,
        )
        for c in rows
    }


def concept_names(catalog: dict[str, ConceptInfo]) -> dict[str, str]:
    """Every way a rule may name a concept (key, Korean, English; case-folded) → key."""
    names: dict[str, str] = {}
    for info in catalog.values():
        for name in (info.key, info.name_ko, info.name_en):
            names[name.casefold()] = info.key
    return names


@dataclass(frozen=True)
class RuleIndex:
    """Which rule judges each hashtag: its own, or the one its keyword mapping points to."""

    rules: dict[str, Rule]
    mappings: dict[str, Rule]

    def resolve(self, tag: str) -> tuple[Rule | None, str | None]:
        if tag in self.rules:
            return self.rules[tag], None
        if tag in self.mappings:
            return self.mappings[tag], tag
        return None, None


def rule_index(*, tags: list[str] | None = None) -> RuleIndex:
    """Every rule and mapping, or only those that can judge `tags`."""
    rules = Rule.objects.all()
    mappings = KeywordMapping.objects.select_related("rule")
    if tags is not None:
        rules, mappings = rules.filter(keyword__in=tags), mappings.filter(word__in=tags)
    return RuleIndex(
        rules={rule.keyword: rule for rule in rules}, mappings={m.word: m.rule for m in mappings}
    )


def hashtag_lookup(raw: str) -> Hashtag | None:
    try:
        name = normalize_hashtag(raw)
    except InvalidHashtag:
        return None
    # With its maintained counts (hashtag_summary reads them without another query).
    return Hashtag.objects.select_related("stats").filter(name=name).first()


@dataclass(frozen=True)
class SearchPage:
    """One page of a hashtag's shown posts, newest first, and where its neighbours start."""

    posts: list[Post]
    next: SearchCursor | None  # older posts; None on the last page
    previous: SearchCursor | None  # newer posts; None on the first page
    is_first: bool  # the newest posts (reached without a cursor, or back at the top)


def posts_relevant_for_hashtag(
    *, hashtag: Hashtag, cursor: SearchCursor | None = None, size: int | None = None
) -> SearchPage:
    """The one read behind the search page and the search API: a page of the posts shown
    under the hashtag, newest first. Two queries whatever the tag's size or the page's depth:
    a walk of the `verdict_search` index (hashtag, shown, -post_created_at, -post) from the
    cursor, size + 1 rows (no OFFSET, no COUNT), then the page's posts with their authors."""
    size = size or settings.TAGLENS_PAGE_SIZE
    # `= true`, not Django's bare `WHERE shown`: SQLite uses an index column only when it is
    # compared, and without it sorts all the tag's verdicts for every page.
    shown = Verdict.objects.filter(hashtag=hashtag, shown=Value(True))
    if cursor is not None and not cursor.older:
        # The previous page: the `size` positions just newer than the cursor, read upwards.
        newer = shown.filter(post_created_at__gte=cursor.created_at).filter(
            Q(post_created_at__gt=cursor.created_at) | Q(post_id__gt=cursor.post_id)
        )
        keys = _page_keys(newer.order_by("post_created_at", "post_id"), size + 1)
        if len(keys) > size:
            keys = keys[:size][::-1]
            return SearchPage(
                posts=_posts_in_order(keys),
                next=SearchCursor(*keys[-1], older=True),
                previous=SearchCursor(*keys[0], older=False),
                is_first=False,
            )
        cursor = None  # back at the top: the first page itself, so pages line up again
    older = shown.order_by("-post_created_at", "-post_id")
    if cursor is not None:
        # `<=` bounds the index range; the OR only drops rows of the same instant.
        older = older.filter(post_created_at__lte=cursor.created_at).filter(
            Q(post_created_at__lt=cursor.created_at) | Q(post_id__lt=cursor.post_id)
        )
    keys = _page_keys(older, size + 1)
    page = keys[:size]
    return SearchPage(
        posts=_posts_in_order(page),
        next=SearchCursor(*page[-1], older=True) if len(keys) > size else None,
        previous=SearchCursor(*page[0], older=False) if cursor is not None and page else None,
        is_first=cursor is None,
    )


def _page_keys(verdicts: QuerySet[Verdict], limit: int) -> list[tuple[dt.datetime, int]]:
    return list(verdicts.values_list("post_created_at", "post_id")[:limit])


def _posts_in_order(keys: list[tuple[dt.datetime, int]]) -> list[Post]:
    found = Post.objects.select_related("author").order_by().in_bulk([pk for _, pk in keys])
    # A post deleted between the two queries is simply left out.
    return [found[post_id] for _, post_id in keys if post_id in found]


@dataclass(frozen=True)
class HashtagSummary:
    shown: int
    hidden: int
    pending: int


def hashtag_summary(*, hashtag: Hashtag) -> HashtagSummary:
    """The maintained counts (HashtagStats): one row, however many posts the tag has."""
    try:
        stats = hashtag.stats
    except HashtagStats.DoesNotExist:
        return HashtagSummary(shown=0, hidden=0, pending=0)
    return HashtagSummary(shown=stats.shown, hidden=stats.hidden, pending=stats.pending)


def hashtag_counts_aggregate(*, hashtag_ids: list[int] | None = None) -> dict[int, HashtagSummary]:
    """The same counts computed from the verdicts (what hashtag_counts_refresh stores)."""
    verdicts = Verdict.objects.all()
    if hashtag_ids is not None:
        verdicts = verdicts.filter(hashtag_id__in=hashtag_ids)
    rows = (
        verdicts.order_by()
        .values("hashtag_id")
        .annotate(
            n_total=Count("hashtag"),
            n_shown=Count("hashtag", filter=Q(shown=True)),
            n_pending=Count("hashtag", filter=Q(shown=False, decision=Verdict.Decision.PENDING)),
        )
    )
    return {
        row["hashtag_id"]: HashtagSummary(
            shown=row["n_shown"],
            pending=row["n_pending"],
            hidden=row["n_total"] - row["n_shown"] - row["n_pending"],
        )
        for row in rows
    }


def post_with_verdicts(*, post_id: int) -> Post | None:
    return (
        Post.objects.select_related("author")
        .prefetch_related(
            Prefetch(
                "verdicts",
                queryset=Verdict.objects.select_related(
                    "hashtag", "rule", "override_by", "classification"
                ).order_by("hashtag__name"),
            ),
            Prefetch(
                "classifications",
                # The active version's scores first, then the newest.
                queryset=Classification.objects.select_related(
                    "model_version", "embedding"
                ).order_by("-model_version__is_active", "-created_at", "-id"),
            ),
        )
        .filter(pk=post_id)
        .first()
    )


def posts_list() -> QuerySet[Post]:
    return Post.objects.select_related("author").prefetch_related(
        Prefetch("verdicts", queryset=Verdict.objects.select_related("hashtag", "rule"))
    )


def hashtags_popular(*, limit: int = 20) -> QuerySet[Hashtag]:
    """Most shown posts first, from the maintained counts (index hashtagstats_popular)."""
    return (
        Hashtag.objects.filter(stats__shown__gt=0)
        .annotate(shown_count=F("stats__shown"))
        .order_by("-stats__shown", "name")[:limit]
    )


def posts_recent_shown(*, limit: int = 12) -> QuerySet[Post]:
    """The newest posts shown under at least one of their hashtags: walks the newest posts
    and stops at `limit` (most posts are shown under some tag), never every verdict."""
    shown = Verdict.objects.filter(post=OuterRef("pk"), shown=True)
    return Post.objects.filter(Exists(shown)).order_by("-created_at", "-id")[:limit]


def concepts_for_display() -> QuerySet[Concept]:
    return Concept.objects.select_related("parent").order_by("kind", "key")


def rule_index_for(tag: str) -> tuple[Rule | None, str | None]:
    """The rule judging one hashtag (two small queries, the same precedence as everywhere)."""
    return rule_index(tags=[tag]).resolve(tag)


@dataclass(frozen=True)
class OverrideExample:
    """Concept labels a moderator's overrides imply for one post, with its stored embedding."""

    post_id: int
    labels: dict[str, bool]
    embedding: Embedding


def override_training_examples(*, backbone: str) -> list[OverrideExample]:
    """Every override is a label where the rule's outcome forces concept values."""
    from moderation.rules import RuleSyntaxError, forced_values, parse

    names = concept_names(concept_catalog())
    parsed: dict[int, Any] = {}
    labels: dict[int, dict[str, bool]] = {}
    conflicted: set[int] = set()
    verdicts = Verdict.objects.filter(override__isnull=False, rule__isnull=False).select_related(
        "rule"
    )
    for verdict in verdicts:
        rule = verdict.rule
        assert rule is not None
        if rule.pk not in parsed:
            try:
                parsed[rule.pk] = parse(rule.expression, names)
            except RuleSyntaxError:
                parsed[rule.pk] = None
        if parsed[rule.pk] is None or verdict.override is None:
            continue
        forced = forced_values(parsed[rule.pk], verdict.override)
        if not forced:
            continue
        held = labels.setdefault(verdict.post_id, {})
        for key, value in forced.items():
            if held.get(key, value) != value:
                conflicted.add(verdict.post_id)
            held[key] = value
    embeddings = {
        e.post_id: e for e in Embedding.objects.filter(backbone=backbone, post_id__in=list(labels))
    }
    return [
        OverrideExample(post_id=post_id, labels=values, embedding=embeddings[post_id])
        for post_id, values in sorted(labels.items())
        if post_id in embeddings and post_id not in conflicted
    ]


def review_queue(*, margin: float | None = None) -> QuerySet[Verdict]:
    """Verdicts that need a human, most-searched hashtags first, then the newest posts:
    undecided (unknown), decided by less than the review margin, or under a hashtag no rule
    judges. Overridden verdicts have had their human."""
    margin = settings.TAGLENS_REVIEW_MARGIN if margin is None else margin
    return (
        Verdict.objects.filter(override__isnull=True)
        .filter(
            Q(decision__in=[Verdict.Decision.UNKNOWN, Verdict.Decision.NO_RULE])
            | Q(
                decision__in=[Verdict.Decision.RELEVANT, Verdict.Decision.NOT_RELEVANT],
                margin__lt=margin,
            )
        )
        .select_related("post", "hashtag", "rule", "classification")
        .order_by("-hashtag__search_count", "-post_created_at", "-post_id", "-id")
    )


def hashtags_without_rule() -> QuerySet[Hashtag]:
    """Hashtags in use that neither have a rule nor map to one, most searched first."""
    return (
        Hashtag.objects.exclude(name__in=Rule.objects.values("keyword"))
        .exclude(name__in=KeywordMapping.objects.values("word"))
        .annotate(post_count=Count("post_hashtags"))
        .filter(post_count__gt=0)
        .order_by("-search_count", "-post_count", "name")
    )


# --- Moderator dashboard ------------------------------------------------------------------


def rule_concept_keys(rule: Rule | None, names: dict[str, str] | None = None) -> list[str]:
    """The concepts a rule mentions; none for a missing or invalid rule."""
    from moderation.rules import RuleSyntaxError, concept_keys, parse

    if rule is None:
        return []
    try:
        return concept_keys(parse(rule.expression, names or concept_names(concept_catalog())))
    except RuleSyntaxError:
        return []


def review_queue_size() -> int:
    """How many verdicts wait for a human (the review queue's own definition)."""
    return review_queue().order_by().count()


def _override_events(since: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(action=AuditEvent.Action.OVERRIDE)
    return events.filter(at__gte=since) if since is not None else events


def _sets_override(after: Any) -> bool:
    """An override event that shows or hides (clearing one is not a correction)."""
    return isinstance(after, dict) and after.get("override") is not None


def overrides_per_day(*, days: int = 30, today: dt.date | None = None) -> list[tuple[dt.date, int]]:
    """Overrides set per local day, oldest first, every day present (zero included)."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    counts: dict[dt.date, int] = {}
    for at, after in _override_events(since).values_list("at", "after"):
        if _sets_override(after):
            day = timezone.localdate(at)
            counts[day] = counts.get(day, 0) + 1
    return [
        (first + dt.timedelta(days=i), counts.get(first + dt.timedelta(days=i), 0))
        for i in range(days)
    ]


@dataclass(frozen=True)
class OverrideRate:
    label: str
    overridden: int  # verdicts a moderator has shown or hidden at least once
    decided: int  # verdicts decided with the rule (or with rules naming the concept)

    @property
    def rate(self) -> float:
        return self.overridden / self.decided if self.decided else 0.0

    @property
    def percent(self) -> int:
        # A verdict may have been overridden under an earlier rule: never past 100 %.
        return min(100, round(self.rate * 100))


def override_rates() -> tuple[list[OverrideRate], list[OverrideRate]]:
    """Override rate per rule and per concept (via the concepts of the verdict's rule), highest
    first. The audit trail gives the overridden verdicts, the verdicts table the decided ones."""
    names = concept_names(concept_catalog())
    decided_by_rule: dict[str, int] = {}
    decided_by_concept: dict[str, int] = {}
    decided = (
        Verdict.objects.exclude(decision=Verdict.Decision.PENDING)
        .filter(rule__isnull=False)
        .values("rule")
        .annotate(n=Count("id"))
    )
    counts = {row["rule"]: row["n"] for row in decided}
    for rule in Rule.objects.filter(pk__in=list(counts)):
        decided_by_rule[rule.keyword] = counts[rule.pk]
        for key in rule_concept_keys(rule, names):
            decided_by_concept[key] = decided_by_concept.get(key, 0) + counts[rule.pk]
    by_rule: dict[str, set[str]] = {}
    by_concept: dict[str, set[str]] = {}
    rows = _override_events().values_list("object_id", "rule_keyword", "concept_keys", "after")
    for object_id, rule_keyword, keys, after in rows:
        if not _sets_override(after):
            continue
        if rule_keyword:
            by_rule.setdefault(rule_keyword, set()).add(object_id)
        for key in keys or []:
            by_concept.setdefault(key, set()).add(object_id)

    def rates(overridden: dict[str, set[str]], totals: dict[str, int]) -> list[OverrideRate]:
        labels = set(overridden) | set(totals)
        found = [OverrideRate(k, len(overridden.get(k, ())), totals.get(k, 0)) for k in labels]
        return sorted(found, key=lambda r: (-r.rate, -r.overridden, r.label))

    return rates(by_rule, decided_by_rule), rates(by_concept, decided_by_concept)


@dataclass(frozen=True)
class PostText:
    """What people and the image say about a post: caption, comments, words read in it."""

    caption: str
    comments: list[str]
    image_words: list[str]


def post_texts(*, post_ids: list[int]) -> dict[int, PostText]:
    """Two queries for any number of posts."""
    rows = (
        Post.objects.filter(pk__in=post_ids)
        .select_related("text_extraction")
        .prefetch_related(Prefetch("comments", queryset=Comment.objects.only("post_id", "text")))
        .only("pk", "caption", "text_extraction__status", "text_extraction__words")
    )
    texts: dict[int, PostText] = {}
    for post in rows:
        extraction = getattr(post, "text_extraction", None)
        read = extraction is not None and extraction.status == TextExtraction.Status.OK
        texts[post.pk] = PostText(
            caption=post.caption,
            comments=[c.text for c in post.comments.all()],
            image_words=list(extraction.words) if read and extraction else [],
        )
    return texts


def text_extraction_for(*, post: Post) -> TextExtraction | None:
    return TextExtraction.objects.filter(post=post).first()


def rules_about_concept(*, key: str) -> list[int]:
    """Rules whose outcome depends on this concept's score or names: rules naming it or a
    concept above it (a dog's threshold decides #동물 too). Invalid rules do not."""
    from moderation.decisions import concept_about
    from moderation.rules import RuleSyntaxError, parse

    catalog = concept_catalog()
    names = concept_names(catalog)
    found = []
    for rule in Rule.objects.order_by("pk"):
        try:
            expr = parse(rule.expression, names)
        except RuleSyntaxError:
            continue
        if concept_about(key, expr.concepts(), catalog):
            found.append(rule.pk)
    return found
