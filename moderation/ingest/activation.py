"""Activating a model version: its thresholds, rescoring every stored embedding, rollback."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
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
# Queued and not started this long after: lost (a worker holding another secret key drops it,
# an emptied broker loses it). Running, it is lost once silent for its whole timeout.
RESCORE_LOST_SECONDS = 600
RESCORE_REQUEUED = "Queued again: its task had not started 10 minutes after the activation."
RESCORE_RESTARTED = "Queued again: its worker stopped at {done}/{total}; it goes on from there."
RESCORE_LOST = (
    "Stopped again with no progress ({done}/{total} done): see the workers' log; a rescoring "
    "may run TAGLENS_RESCORE_TIMEOUT seconds. Activate the version again to retry."
)


def _rescore_queue(version_id: int) -> None:
    async_task(RESCORE_TASK, version_id, group="rescore", timeout=settings.TAGLENS_RESCORE_TIMEOUT)


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
        version.rescore_last_pk = 0
        version.rescore_requeued_at_pk = None
        version.rescore_message = ""
        version.rescore_heartbeat_at = version.activated_at
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
        transaction.on_commit(lambda: _rescore_queue(version_id))
    return version


def _silent(status: str, since: datetime) -> Q:
    heard = Q(rescore_heartbeat_at__lte=since)
    return Q(rescore_status=status) & (
        heard | Q(rescore_heartbeat_at__isnull=True, activated_at__lte=since)
    )


def rescore_sweep() -> bool:
    """Queue the active version's rescoring again where it was lost, as long as it got further
    since it was last queued again; failed when it did not. True when queued."""
    now = timezone.now()
    lost = ModelVersion.objects.filter(
        _silent(ModelVersion.Rescore.QUEUED, now - timedelta(seconds=RESCORE_LOST_SECONDS))
        | _silent(
            ModelVersion.Rescore.RUNNING,
            now - timedelta(seconds=settings.TAGLENS_RESCORE_TIMEOUT),
        ),
        is_active=True,
    )
    version = lost.first()
    if version is None:
        return False
    done, total = version.rescore_done, version.rescore_total
    mine = lost.filter(pk=version.pk, rescore_last_pk=version.rescore_last_pk)
    if version.rescore_requeued_at_pk == version.rescore_last_pk:  # no further since
        mine.update(
            rescore_status=ModelVersion.Rescore.FAILED,
            rescore_message=RESCORE_LOST.format(done=done, total=total),
        )
        logger.error("Model version %s: rescoring lost again, no progress; failed.", version.name)
        return False
    started = version.rescore_status == ModelVersion.Rescore.RUNNING
    message = RESCORE_RESTARTED.format(done=done, total=total) if started else RESCORE_REQUEUED
    if not mine.update(
        rescore_status=ModelVersion.Rescore.QUEUED,
        rescore_message=message,
        rescore_heartbeat_at=now,
        rescore_requeued_at_pk=version.rescore_last_pk,
    ):
        return False
    _rescore_queue(version.pk)
    logger.warning("Model version %s: %s", version.name, message)
    return True


def rescore_claimed(*, version_id: int) -> int:
    """The task: rescoring a queued version. A second delivery (the ORM broker hands a task out
    again after TAGLENS_Q_RETRY while it still runs) finds it running and does nothing."""
    claimed = ModelVersion.objects.filter(
        pk=version_id, rescore_status=ModelVersion.Rescore.QUEUED
    ).update(rescore_status=ModelVersion.Rescore.RUNNING, rescore_heartbeat_at=timezone.now())
    if not claimed:
        logger.info("Model version %s: rescoring not queued; nothing to do.", version_id)
        return 0
    return model_version_rescore(version_id=version_id, resume=True)


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


def model_version_rescore(*, version_id: int, batch_size: int = 2000, resume: bool = False) -> int:
    """Score stored embeddings (no network), then re-apply the rules in one set-based pass;
    posts lacking this backbone's embedding are queued. Verdicts keep old scores till then.
    `resume` goes on after the last embedding an earlier run of this activation rescored."""
    version = ModelVersion.objects.get(pk=version_id)
    embeddings = Embedding.objects.filter(backbone=version.backbone).order_by("pk")
    embeddings = embeddings.only(
        "pk", "post_id", "base_scores", "signals", "signal_versions", "vector"
    )
    if version.kind == ModelVersion.Kind.ROLLUP:  # scores come from base_scores alone
        embeddings = embeddings.defer("vector")
    last_pk = version.rescore_last_pk if resume else 0
    done = version.rescore_done if last_pk else 0
    total = done + embeddings.filter(pk__gt=last_pk).count()
    ModelVersion.objects.filter(pk=version_id).update(
        rescore_status=ModelVersion.Rescore.RUNNING,
        rescore_total=total,
        rescore_done=done,
        rescore_last_pk=last_pk,
        rescore_heartbeat_at=timezone.now(),
    )
    rescored = 0
    try:
        while True:
            batch = list(embeddings.filter(pk__gt=last_pk)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1].pk
            with transaction.atomic():
                classifications_compute(version=version, embeddings=batch, copy=True)
                rescored += len(batch)
                ModelVersion.objects.filter(pk=version_id).update(
                    rescore_done=done + rescored,
                    rescore_last_pk=last_pk,
                    rescore_heartbeat_at=timezone.now(),
                )
        judged = verdicts_reevaluate().total
        ModelVersion.objects.filter(pk=version_id).update(rescore_heartbeat_at=timezone.now())
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
    message = f"{done + rescored} posts rescored from stored embeddings"
    if done:
        message += f" ({done} before its worker stopped)"
    message += f", {judged} verdicts re-applied"
    if queued:
        message += f"; {len(queued)} posts without an embedding from {version.backbone} queued"
    if completing:
        message += f"; {completing} posts queued for the signals their rules need"
    ModelVersion.objects.filter(pk=version_id).update(
        rescore_status=ModelVersion.Rescore.DONE, rescore_message=message[:300]
    )
    logger.info("Model version %s: %s.", version.name, message)
    return rescored
