"""Completing posts whose signal sources or text reading were skipped (lazy people, lazy text)
once their rules need them: a hashtag added, a rule or mapping changed, a version activated."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from mlmodels.concepts.heads import ConceptHeads, answered_by
from moderation.ingest.batches import BatchResult, classification_run_batch
from moderation.ingest.classifier import embedding_vector, signals_usable, version_heads
from moderation.ingest.needs import every_hashtag_needs, post_rules
from moderation.ingest.signals import signal_plan, sources_usable
from moderation.ingest.text import texts_owed
from moderation.judging.reevaluate import verdicts_reevaluate
from moderation.models import Classification, Embedding, ModelVersion, PostWord, TextExtraction
from moderation.rules.words import IMAGE
from moderation.selectors.catalog import concept_catalog
from posts.models import Post

logger = logging.getLogger(__name__)

COMPLETE_TASK = "moderation.tasks.complete_signals"


def _queue(post_ids: list[int], backbone: str) -> int:
    """A task per batch of these posts, after commit, each marked owed until one runs."""
    chunk, now = settings.TAGLENS_CLASSIFY_BATCH, timezone.now()
    for start in range(0, len(post_ids), chunk):
        ids = post_ids[start : start + chunk]
        Embedding.objects.filter(post_id__in=ids, backbone=backbone).update(
            completion_queued_at=now
        )
        transaction.on_commit(functools.partial(_enqueue, ids))
    return len(post_ids)


def _enqueue(post_ids: list[int]) -> None:
    async_task(COMPLETE_TASK, post_ids, group="complete")


def _classified(version: ModelVersion) -> QuerySet[Embedding]:
    return Embedding.objects.filter(backbone=version.backbone, post__status=Post.Status.CLASSIFIED)


def signals_complete_queue(*, post_ids: list[int]) -> int:
    """Queue completion for those of these posts whose rules now want a source their stored
    signals lack, or the text they deferred (hashtags edited); returns how many."""
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None:
        return 0
    return _queue(_completion_wanted(version, post_ids), version.backbone)


def _completion_wanted(version: ModelVersion, post_ids: list[int]) -> list[int]:
    embeddings = list(_classified(version).filter(post_id__in=post_ids))
    catalog = concept_catalog()
    rules = post_rules(post_ids=[e.post_id for e in embeddings], catalog=catalog)
    plan = signal_plan(version=version, rules=rules, catalog=catalog)
    wanted = plan.wanted(
        [e.post_id for e in embeddings],
        [embedding_vector(e) for e in embeddings],
        [signals_usable(version, e) for e in embeddings],
    )
    owed = texts_owed(version=version, post_ids=[e.post_id for e in embeddings], rules=rules)
    return sorted({*wanted, *owed})


def signals_complete_hashtags(*, names: Collection[str] | None = None) -> int:
    """Queue completion for the classified posts under these hashtags (None: all) lacking a
    source their rule now wants, or whose deferred text now could change a verdict; count."""
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None:
        return 0
    needs = {n: c for n, c in every_hashtag_needs().items() if names is None or n in names}
    queued = _texts_complete(version, needs)
    queued |= _signals_complete(version, needs, queued)
    if queued:
        logger.info("%d posts queued to complete their signals or text.", len(queued))
    return len(queued)


def _texts_complete(version: ModelVersion, needs: Mapping[str, frozenset[str]]) -> set[int]:
    """Posts under these hashtags whose text was deferred, checked a chunk at a time."""
    tags = [name for name, needed in needs.items() if needed]
    deferred = TextExtraction.objects.filter(status=TextExtraction.Status.DEFERRED)
    candidates = sorted(
        set(
            _classified(version)
            .filter(post__post_hashtags__hashtag__name__in=tags, post__in=deferred.values("post"))
            .values_list("post_id", flat=True)
        )
        if tags
        else ()
    )
    return _texts_owed_queue(version, candidates)


def _texts_owed_queue(version: ModelVersion, candidates: list[int]) -> set[int]:
    owed: set[int] = set()
    for start in range(0, len(candidates), UNSURE_CHUNK):
        owed |= set(texts_owed(version=version, post_ids=candidates[start : start + UNSURE_CHUNK]))
    _queue(sorted(owed), version.backbone)
    return owed


def texts_complete_words(*, keys: Collection[str]) -> int:
    """Queue completion for deferred texts counting a word of ``keys`` (its mapping changed)."""
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or not keys:
        return 0
    words = PostWord.objects.filter(
        key__in=keys, source=IMAGE, post__text_extraction__status=TextExtraction.Status.DEFERRED
    )
    candidates = sorted(set(words.values_list("post_id", flat=True)))
    return len(_texts_owed_queue(version, candidates))


def _signals_complete(
    version: ModelVersion, needs: Mapping[str, frozenset[str]], queued: set[int]
) -> set[int]:
    """Posts under these hashtags lacking a source their rule wants (``queued``: left out)."""
    heads = version_heads(version)
    sources = sources_usable(version, heads)
    if heads is None or not sources:
        return set()
    answered = frozenset().union(*(answered_by(s.name) for s in sources))
    tags = {name for name, needed in needs.items() if needed & answered}
    lacking = Q()
    for source in sources:  # a missing key compares as NULL: asked for apart
        lacking |= ~Q(signal_versions__has_key=source.name)
        lacking |= ~Q(**{f"signal_versions__{source.name}": source.version})
    lacking_posts = _classified(version).filter(lacking)
    named = set(
        lacking_posts.filter(post__post_hashtags__hashtag__name__in=tags).values_list(
            "post_id", flat=True
        )
        if tags
        else ()
    )
    candidates = sorted((named | _unsure_posts(version, heads, lacking_posts, needs)) - queued)
    found: set[int] = set()
    for start in range(0, len(candidates), UNSURE_CHUNK):  # read and checked a chunk at a time
        wanted = _completion_wanted(version, candidates[start : start + UNSURE_CHUNK])
        _queue(wanted, version.backbone)
        found |= set(wanted)
    return found


UNSURE_CHUNK = 2000


def _unsure_posts(
    version: ModelVersion,
    heads: ConceptHeads,
    lacking: QuerySet[Embedding],
    needs: Mapping[str, frozenset[str]],
) -> set[int]:
    """Posts under these hashtags (``needs``: each one's needed concepts) with a stored score
    where the heads could be unsure of one (`ConceptHeads.unsure_bounds`), to check exactly."""
    catalog = concept_catalog()
    bounds = heads.unsure_bounds({key: info.threshold for key, info in catalog.items()})
    found: set[int] = set()
    for concept, (low, high) in bounds.items():
        tags = {name for name, needed in needs.items() if concept in needed}
        if not tags:
            continue
        scored = Classification.objects.filter(
            model_version=version,
            **{f"scores__{concept}__gte": low, f"scores__{concept}__lte": high},
        )
        found |= set(
            lacking.filter(
                post__post_hashtags__hashtag__name__in=tags, post__in=scored.values("post_id")
            ).values_list("post_id", flat=True)
        )
    return found


def signals_complete(*, post_ids: list[int]) -> BatchResult:
    """The task: run the sources these posts want, judge again; held or re-queued stay owed."""
    started = timezone.now()
    result = classification_run_batch(post_id=None, completing=post_ids)
    Embedding.objects.filter(post_id__in=result.claimed, completion_queued_at__lte=started).update(
        completion_queued_at=None
    )
    return result


def signals_complete_sweep(*, max_posts: int = 2000) -> int:
    """Queue again the posts owed completion for over a lease (task lost, post held); count."""
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None:
        return 0
    stale = timezone.now() - timedelta(seconds=settings.TAGLENS_CLASSIFY_LEASE)
    owed = list(
        Embedding.objects.filter(completion_queued_at__lte=stale, backbone=version.backbone)
        .order_by("completion_queued_at")
        .values_list("post_id", flat=True)[:max_posts]
    )
    queued = _queue(owed, version.backbone)
    if queued:
        logger.info("Sweep: %d posts owed their signals, queued again.", queued)
    return queued


def verdicts_reevaluate_completing(scope: dict[str, Any]) -> int:
    """Re-apply changed rules to stored scores (`verdicts_reevaluate`), then queue completion
    for the posts of the hashtags whose rule now needs a skipped source; returns verdicts."""
    total = verdicts_reevaluate(
        rules=scope.get("rules"),
        hashtags=scope.get("hashtags", ()),
        word_keys=scope.get("word_keys", ()),
        word_concepts=scope.get("word_concepts"),  # None (tasks queued before): every rule
    ).total
    if scope.get("rules") is None:
        signals_complete_hashtags(names=None)
        return total
    signals_complete_hashtags(names=scope.get("hashtags", ()))
    texts_complete_words(keys=scope.get("word_keys", ()))
    return total
