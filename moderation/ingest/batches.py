"""Classification in batches: claim, run the network once, store in one transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from mlmodels.base import Classifier, ImageDecodeError, Prediction, SignalSource, load_image
from moderation.ingest.claims import (
    Claim,
    claimed_posts,
    classification_claim,
    classification_release,
    completion_claim,
)
from moderation.ingest.classifier import (
    BATCH_FAILURE,
    backbone_predict,
    embedding_vector,
    get_backbone,
    score_embeddings,
    signals_usable,
)
from moderation.ingest.model_versions import model_version_active
from moderation.ingest.needs import post_rules
from moderation.ingest.signals import (
    SignalPlan,
    signal_plan,
    signals_apply,
    signals_replaced,
    signals_run,
)
from moderation.ingest.store import classifications_compute, embedding_row, embeddings_store
from moderation.ingest.text import (
    TextPlan,
    known_words,
    text_plan,
    texts_deferred,
    texts_extract,
)
from moderation.judging.verdicts import verdicts_evaluate
from moderation.models import Embedding, ModelVersion
from moderation.selectors.catalog import concept_catalog
from moderation.selectors.search_cache import search_cache_stale_posts
from posts.models import Post

logger = logging.getLogger(__name__)


class BackboneMismatch(RuntimeError):
    """The active model version was trained on another backbone than the configured one."""


@dataclass
class BatchResult:
    """What one batch did; ``seconds`` splits its time for profiling (bench/ingest.py)."""

    claimed: list[int] = field(default_factory=list)
    classified: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    predicted: int = 0  # images the backbone ran on
    signalled: int = 0  # images a signal source ran on
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"claimed {len(self.claimed)}: {len(self.classified)} classified, "
            f"{len(self.failed)} failed, network ran on {self.predicted}, "
            f"signals on {self.signalled}"
        )

    def timing(self) -> str:
        return ", ".join(f"{phase} {seconds:.4f} s" for phase, seconds in self.seconds.items())


def post_image(post: Post) -> Image.Image:
    # Through the storage (local or S3), never a path; load_image decodes big JPEGs reduced.
    with post.image.open("rb") as handle:
        return load_image(handle)


@dataclass
class Batch:
    """One claimed batch on its way through a worker: opened, decoded, predicted, stored."""

    post_id: int | None  # the task's own post, if any
    backbone: Classifier
    claim: Claim
    result: BatchResult
    version: ModelVersion | None = None
    posts: list[Post] = field(default_factory=list)
    stored: dict[int, Embedding] = field(default_factory=dict)
    plan: SignalPlan = field(default_factory=SignalPlan)
    texts: TextPlan = field(default_factory=TextPlan)
    text_owed: set[int] = field(default_factory=set)
    wanted: dict[int, tuple[SignalSource, ...]] = field(default_factory=dict)
    images: dict[int, Image.Image] = field(default_factory=dict)
    predictions: dict[int, Prediction] = field(default_factory=dict)
    extra: dict[int, dict[str, float]] = field(default_factory=dict)
    versions: dict[int, dict[str, str]] = field(default_factory=dict)


def batch_open(
    *,
    post_id: int | None,
    limit: int | None = None,
    completing: list[int] | None = None,
    others: Sequence[int] = (),
) -> Batch:
    """Claim a batch (``post_id`` and ``others`` first; or classified posts ``completing``
    their signals) and read its posts. Database: the caller's thread."""
    clock = time.perf_counter()
    try:
        backbone = get_backbone()  # built once per process; the network loads on first use
        lease = settings.TAGLENS_CLASSIFY_LEASE
        if completing is not None:
            claim = completion_claim(
                post_ids=completing, lease_seconds=lease, backbone=backbone.version
            )
        else:
            claim = classification_claim(
                post_id=post_id,
                limit=limit or settings.TAGLENS_CLASSIFY_BATCH,
                lease_seconds=lease,
                backbone=backbone.version,
                others=others,
            )
    except Exception:  # nothing claimed: a post another worker holds is left alone
        logger.exception("Claiming a batch (post %s first) failed.", post_id)
        _own_post_failed(post_id=post_id, claim=None)
        raise
    batch = Batch(post_id=post_id, backbone=backbone, claim=claim, result=BatchResult())
    batch.result.claimed = claim.post_ids
    if claim.post_ids:
        guarded(batch, _batch_read)
    batch.result.seconds["claim"] = time.perf_counter() - clock
    return batch


def _batch_read(batch: Batch) -> None:
    backbone = batch.backbone
    version = model_version_active(backbone=backbone)
    if version.backbone != backbone.version:
        raise BackboneMismatch(
            f"The active model version {version.name} needs backbone "
            f"{version.backbone}, but TAGLENS_CLASSIFIER gives {backbone.version}: train and "
            "activate heads for it (admin: Model versions), or set TAGLENS_CLASSIFIER back."
        )
    batch.version = version
    batch.posts = claimed_posts(claim=batch.claim)
    batch.stored = {
        e.post_id: e
        for e in Embedding.objects.filter(post__in=batch.posts, backbone=backbone.version)
    }
    catalog = concept_catalog()
    rules = post_rules(post_ids=[post.pk for post in batch.posts], catalog=catalog)
    batch.plan = signal_plan(version=version, rules=rules, catalog=catalog)
    if settings.TAGLENS_OCR:
        batch.texts = text_plan(rules, catalog)
        batch.text_owed = texts_deferred(post_ids=list(batch.stored))
    ids = list(batch.stored)
    batch.wanted = batch.plan.wanted(
        ids,
        [embedding_vector(batch.stored[pk]) for pk in ids],
        [signals_usable(version, batch.stored[pk]) for pk in ids],
    )


def batch_decode(batch: Batch) -> None:
    """Decode the images the network or a signal source needs (read through the storage)."""
    clock = time.perf_counter()
    for post in batch.posts:
        stored = post.pk in batch.stored
        if stored and post.pk not in batch.wanted and post.pk not in batch.text_owed:
            continue  # the network ran for this post already: score it again only
        try:
            batch.images[post.pk] = post_image(post)
        except (ImageDecodeError, OSError) as exc:
            batch.result.failed[post.pk] = f"The image could not be read: {exc}"
    batch.result.seconds["decode"] = time.perf_counter() - clock


def batch_predict(batch: Batch) -> None:
    """Network and signal sources over new images; no database (may run in a helper thread)."""
    result, images = batch.result, batch.images
    clock = time.perf_counter()
    new = {pk: image for pk, image in images.items() if pk not in batch.stored}
    batch.predictions, unpredictable = backbone_predict(batch.backbone, new)
    result.failed.update(unpredictable)
    result.predicted = len(new)
    ids = list(batch.predictions)
    batch.wanted.update(
        batch.plan.wanted(
            ids,
            [batch.predictions[pk].embedding for pk in ids],
            [batch.predictions[pk].signals for pk in ids],
        )
    )
    result.seconds["predict"] = time.perf_counter() - clock
    clock = time.perf_counter()
    batch.extra, batch.versions = signals_run(batch.plan, batch.wanted, images)
    result.signalled = len(batch.versions)
    result.seconds["signals"] = time.perf_counter() - clock


def batch_read_text(batch: Batch) -> None:
    """OCR is slow (Tesseract, full resolution): outside the store's transaction, once per new
    post. Turned off, it is one statement: in that transaction, not a commit of its own."""
    clock = time.perf_counter()
    if settings.TAGLENS_OCR:
        rows = _text_rows(batch)
        assert batch.version is not None
        scored = score_embeddings(batch.version, rows)
        texts_extract(
            items=_texts(batch, {row.post_id: row.signals for row in rows}),
            wanted={
                row.post_id: batch.texts.wanted(row.post_id, scores, known_words(row.signals))
                for row, (scores, _) in zip(rows, scored, strict=True)
            },
        )
    batch.result.seconds["text"] = time.perf_counter() - clock


def _texts(
    batch: Batch, signals: dict[int, dict[str, float]]
) -> list[tuple[Post, Image.Image, dict[str, float]]]:
    """These posts with their photos and the backbone's signals (for the text gate)."""
    by_pk = {p.pk: p for p in batch.posts}
    return [(by_pk[pk], batch.images[pk], found) for pk, found in signals.items()]


def _text_rows(batch: Batch) -> list[Embedding]:
    """New posts, and stored ones whose text was deferred, as the rows about to be stored."""
    rows = [
        embedding_row(pk, p, batch.backbone, batch.extra.get(pk, {}), batch.versions.get(pk, {}))
        for pk, p in batch.predictions.items()
    ]
    for pk in sorted(batch.text_owed & batch.images.keys()):
        e, made = batch.stored[pk], batch.versions.get(pk, {})
        signals = signals_replaced(e.signals, batch.extra.get(pk, {}), made)
        versions = {**e.signal_versions, **made}
        rows.append(
            Embedding(
                post_id=pk,
                vector=e.vector,
                base_scores=e.base_scores,
                signals=signals,
                signal_versions=versions,
            )
        )
    return rows


def batch_store(batch: Batch) -> None:
    """Store the batch in one transaction; the claims are released with the statuses."""
    claim, result, posts = batch.claim, batch.result, batch.posts
    assert batch.version is not None
    clock = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        if not settings.TAGLENS_OCR:
            texts_extract(
                items=_texts(batch, {pk: p.signals for pk, p in batch.predictions.items()})
            )
        fresh = embeddings_store(
            predictions=batch.predictions,
            backbone=batch.backbone,
            extra=batch.extra,
            versions=batch.versions,
        )
        embeddings = {e.post_id: e for e in fresh}
        changed = []
        for pk, embedding in batch.stored.items():
            if pk in result.failed:
                continue
            embeddings[pk] = embedding
            if pk in batch.versions:
                signals_apply(embedding, batch.extra[pk], batch.versions[pk])
                changed.append(embedding)
        Embedding.objects.bulk_update(changed, ["signals", "signal_versions"])
        ready = [embeddings[p.pk] for p in posts if p.pk in embeddings]
        scored = classifications_compute(version=batch.version, embeddings=ready)
        result.classified = [e.post_id for e in ready]
        released: dict[str, object] = {"claimed_by": "", "claimed_until": None}
        done: dict[str, object] = {
            "status": Post.Status.CLASSIFIED,
            "failure_reason": "",
            "classified_at": now,
            **released,
        }
        written: dict[int, dict[str, object]] = {pk: done for pk in result.classified}
        for pk, reason in result.failed.items():
            written[pk] = {"status": Post.Status.FAILED, "failure_reason": reason, **released}
        held = Post.objects.filter(pk__in=result.classified, claimed_by=claim.token).update(**done)
        for pk in result.failed:
            held += Post.objects.filter(pk=pk, claimed_by=claim.token).update(**written[pk])
        if held != len(written):
            # Another worker took some posts: the rows stored here are upserts, nothing doubles.
            logger.warning(
                "Claim %s lost %d posts to another worker.", claim.token, len(written) - held
            )
        by_pk = {p.pk: p for p in posts}
        judged = [by_pk[pk] for pk in written]
        if held == len(written) and all(c.pk is not None for c in scored):
            # Every post is still ours: judge from these objects without reading them again.
            for post in judged:
                for name, value in written[post.pk].items():
                    setattr(post, name, value)
            verdicts_evaluate(posts=judged, classifications={c.post_id: c for c in scored})
        else:
            verdicts_evaluate(posts=judged)  # statuses and scores read again
    result.seconds["store"] = time.perf_counter() - clock
    batch.images.clear()  # a batch's decoded photos are not held longer than needed
    if result.claimed:
        task = f"Post {batch.post_id}'s task" if batch.post_id else "A batch task"
        logger.info("%s %s (%s).", task, result.summary(), result.timing())


def _batch_failed(batch: Batch, exc: BaseException) -> None:
    """Fail the task's own post (until a retry) and release the others to the next worker."""
    logger.error("Classifying a batch (post %s first) failed.", batch.post_id, exc_info=exc)
    _own_post_failed(post_id=batch.post_id, claim=batch.claim)
    classification_release(claim=batch.claim)


def _own_post_failed(*, post_id: int | None, claim: Claim | None) -> None:
    if post_id is None:
        return
    own = Post.objects.filter(pk=post_id).exclude(status=Post.Status.CLASSIFIED)
    if claim is not None:
        own = own.filter(claimed_by=claim.token)
    else:  # failed before claiming: leave a post another worker holds alone
        own = own.filter(claimed_by="")
    failed = {"status": Post.Status.FAILED, "failure_reason": BATCH_FAILURE}
    if own.update(**failed, claimed_by="", claimed_until=None):
        search_cache_stale_posts(post_ids=[post_id])  # the API shows its status


def guarded(batch: Batch, step: Callable[[Batch], None]) -> None:
    try:
        step(batch)
    except Exception as exc:
        _batch_failed(batch, exc)
        raise


def classification_run_batch(
    *,
    post_id: int | None,
    limit: int | None = None,
    completing: list[int] | None = None,
    others: Sequence[int] = (),
) -> BatchResult:
    """Classify ``post_id`` and ``others`` (if needed) and pending posts up to ``limit`` with
    one network run; or run the signal sources classified posts ``completing`` now need.
    Idempotent per post and backbone. An unreadable image fails only its post; a batch-wide
    error is raised after failing the own post and releasing the rest."""
    batch = batch_open(post_id=post_id, limit=limit, completing=completing, others=others)
    if batch.result.claimed:
        for step in (batch_decode, batch_predict, batch_read_text, batch_store):
            guarded(batch, step)
    return batch.result


def classification_run(*, post_id: int) -> Post | None:
    """Classify one post alone (no other posts taken along) and return it."""
    classification_run_batch(post_id=post_id, limit=1)
    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        logger.info("Post %s is gone; nothing to classify.", post_id)
    return post
