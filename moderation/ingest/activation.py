"""Activating a model version: its thresholds, rescoring every stored embedding, rollback."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from moderation.ingest.completion import signals_complete_hashtags
from moderation.ingest.model_versions import concept_thresholds_set
from moderation.ingest.queue import classification_requeue
from moderation.ingest.store import classifications_compute
from moderation.judging.audit import audit_record
from moderation.judging.counts import hashtag_counts_refresh
from moderation.judging.reevaluate import verdicts_reevaluate
from moderation.models import AuditEvent, Embedding, ModelVersion
from posts.models import Post

logger = logging.getLogger(__name__)

RESCORE_TASK = "moderation.tasks.rescore_model_version"
# An activation's rescoring that has not started this long after is taken for lost (a worker
# holding another secret key drops it, a broker emptied loses it) and queued once more.
RESCORE_LOST_SECONDS = 600
RESCORE_REQUEUED = "Queued again: its task had not started 10 minutes after the activation."


def model_version_activate(
    *, version: ModelVersion, by: User | None = None, reason: str = ""
) -> ModelVersion:
    """Make `version` the active one and its thresholds the concepts'; rescoring runs in the
    background. Audited with the previous version and thresholds as "before"."""
    with transaction.atomic():
        previous = ModelVersion.objects.filter(is_active=True).first()
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        version.is_active = True
        version.activated_at = timezone.now()
        version.activated_by = by
        version.rescore_status = ModelVersion.Rescore.QUEUED
        version.rescore_done = 0
        version.rescore_message = ""
        version.save()
        old_thresholds = concept_thresholds_set(version.thresholds)
        audit_record(
            action=AuditEvent.Action.MODEL_ACTIVATE,
            obj=version,
            actor=by,
            before={
                "version": previous.name if previous else None,
                "version_id": previous.pk if previous else None,
                "thresholds": old_thresholds,
            },
            after={
                "version": version.name,
                "version_id": version.pk,
                "thresholds": {
                    k: float(v) for k, v in version.thresholds.items() if k in old_thresholds
                },
            },
            reason=reason,
        )
        version_id = version.pk
        transaction.on_commit(lambda: async_task(RESCORE_TASK, version_id, group="rescore"))
    return version


def rescore_sweep() -> bool:
    """Queue the active version's rescoring again where it was lost; once per activation."""
    stale = timezone.now() - timedelta(seconds=RESCORE_LOST_SECONDS)
    waiting = ModelVersion.objects.filter(
        is_active=True,
        rescore_status=ModelVersion.Rescore.QUEUED,
        activated_at__lte=stale,
        rescore_message="",
    )
    version = waiting.first()
    if version is None or not waiting.filter(pk=version.pk).update(
        rescore_message=RESCORE_REQUEUED
    ):
        return False
    async_task(RESCORE_TASK, version.pk, group="rescore")
    logger.warning("Model version %s: rescoring had not started; queued again.", version.name)
    return True


def model_version_previous(*, current: ModelVersion) -> ModelVersion | None:
    return (
        ModelVersion.objects.exclude(pk=current.pk)
        .filter(activated_at__isnull=False)
        .order_by("-activated_at")
        .first()
    )


def model_version_rollback(
    *, by: User | None = None, reason: str = "", to: ModelVersion | None = None
) -> ModelVersion | None:
    """Activate the version that was active before the current one. None when there is none,
    or when it is no longer `to` (the version a moderator confirmed: another activation since
    changed what "before" means)."""
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().filter(is_active=True).first()
        if current is None:
            return None
        previous = model_version_previous(current=current)
        if previous is None or (to is not None and previous.pk != to.pk):
            return None
        return model_version_activate(version=previous, by=by, reason=reason or "Rollback")


def model_version_rescore(*, version_id: int, batch_size: int = 2000) -> int:
    """Score stored embeddings (no network), then re-apply the rules in one set-based pass;
    posts lacking this backbone's embedding are queued. Verdicts keep old scores till then."""
    version = ModelVersion.objects.get(pk=version_id)
    embeddings = Embedding.objects.filter(backbone=version.backbone).order_by("pk")
    embeddings = embeddings.only(
        "pk", "post_id", "base_scores", "signals", "signal_versions", "vector"
    )
    if version.kind == ModelVersion.Kind.ROLLUP:  # scores come from base_scores alone
        embeddings = embeddings.defer("vector")
    total = embeddings.count()
    ModelVersion.objects.filter(pk=version_id).update(
        rescore_status=ModelVersion.Rescore.RUNNING, rescore_total=total, rescore_done=0
    )
    done = 0
    try:
        last_pk = 0
        while True:
            batch = list(embeddings.filter(pk__gt=last_pk)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1].pk
            with transaction.atomic():
                classifications_compute(version=version, embeddings=batch, copy=True)
            done += len(batch)
            ModelVersion.objects.filter(pk=version_id).update(rescore_done=done)
        judged = verdicts_reevaluate().total
        completing = signals_complete_hashtags()  # its heads may read a source not yet run
        missing = Post.objects.exclude(embeddings__backbone=version.backbone).order_by("pk")
        queued = list(missing.values_list("pk", flat=True))
        classification_requeue(queued)
    except Exception as exc:
        hashtag_counts_refresh()  # the batches done before the failure changed verdicts
        ModelVersion.objects.filter(pk=version_id).update(
            rescore_status=ModelVersion.Rescore.FAILED, rescore_message=str(exc)[:300]
        )
        raise
    message = f"{done} posts rescored from stored embeddings, {judged} verdicts re-applied"
    if queued:
        message += f"; {len(queued)} posts without an embedding from {version.backbone} queued"
    if completing:
        message += f"; {completing} posts queued for the signals their rules need"
    ModelVersion.objects.filter(pk=version_id).update(
        rescore_status=ModelVersion.Rescore.DONE, rescore_message=message[:300]
    )
    logger.info("Model version %s: %s.", version.name, message)
    return done
