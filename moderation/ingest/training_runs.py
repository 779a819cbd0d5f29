"""Training a new version from the admin: one run at a time, in a django-q2 worker, its stage
and percentage stored as it goes; the result is an inactive version, never activated here."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from mlmodels.training.metrics import PRECISION_TARGET
from moderation.ingest.training import (
    HeadsUnchanged,
    Progress,
    model_version_train,
    training_set_build,
)
from moderation.models import TrainingRun

logger = logging.getLogger(__name__)

TRAIN_TASK = "moderation.tasks.train_model_version"
FOLDS = 5
# Share of the bar per stage; embedding is quick once the photos are in the cache.
EMBED_SPAN = (2, 35)
CV_SPAN = (35, 95)
UNCHANGED = "unchanged: the heads of an existing version"


class TrainingBusy(Exception):
    def __init__(self, run: TrainingRun | None) -> None:
        self.run = run
        super().__init__("A training is already queued or running; wait for it to finish.")


def training_runs_expire() -> int:
    """Runs that have said nothing for longer than the training timeout are dead (django-q2
    killed them at that timeout, or no worker took them): failed, so another may start."""
    limit = timezone.now() - dt.timedelta(seconds=settings.TAGLENS_TRAIN_TIMEOUT)
    stale = TrainingRun.objects.filter(in_progress=True).alias(
        last=Coalesce("heartbeat_at", "created_at")
    )
    return stale.filter(last__lt=limit).update(
        status=TrainingRun.Status.FAILED,
        in_progress=False,
        finished_at=timezone.now(),
        error=f"No progress for {settings.TAGLENS_TRAIN_TIMEOUT} s: the worker stopped or "
        "timed out (TAGLENS_TRAIN_TIMEOUT), or no worker took the task (is qcluster running?).",
    )


def training_run_current() -> TrainingRun | None:
    """The run in progress, else the latest one."""
    training_runs_expire()
    runs = TrainingRun.objects.select_related("model_version", "requested_by")
    return runs.filter(in_progress=True).first() or runs.first()


def training_request(*, by: User | None) -> TrainingRun:
    """Queue a training on the photo folder and every override; refuses a second one."""
    training_runs_expire()
    options: dict[str, Any] = {
        "photos": str(settings.TAGLENS_PHOTOS_DIR),
        "overrides": True,
        "folds": FOLDS,
        "precision_target": PRECISION_TARGET,
    }
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                requested_by=by, options=options, stage="waiting for a worker"
            )
            run_id = run.pk
            transaction.on_commit(
                lambda: async_task(
                    TRAIN_TASK, run_id, group="training", timeout=settings.TAGLENS_TRAIN_TIMEOUT
                )
            )
    except IntegrityError as exc:  # the one-in-progress constraint
        raise TrainingBusy(TrainingRun.objects.filter(in_progress=True).first()) from exc
    return run


def _reporter(run_id: int, span: tuple[int, int], label: str, after: str = "") -> Progress:
    """Stores "label: done/total what" and the share of ``span``; ``after``, once all done,
    names the step that follows inside the same call."""
    low, high = span

    def report(done: int, total: int, what: str) -> None:
        share = done / total if total else 1.0
        stage = after if after and done == total else f"{label}: {done}/{total} {what}"
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
            stage=stage[:120],
            percent=low + round((high - low) * share),
            heartbeat_at=timezone.now(),
        )

    return report


def training_run_execute(*, run_id: int) -> str:
    """Run one queued training. A second delivery of the task (the ORM broker hands it out
    again after TAGLENS_Q_RETRY) finds it taken and does nothing."""
    now = timezone.now()
    claimed = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now, stage="starting"
    )
    if not claimed:
        return f"training {run_id} is not queued; nothing to do"
    run = TrainingRun.objects.get(pk=run_id)
    options = run.options
    running = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING)
    try:
        photos = Path(options["photos"]) if options.get("photos") else None
        if photos is not None and not photos.is_dir():
            logger.warning("Training %s: no photo folder at %s; overrides only.", run_id, photos)
            photos = None
        data = training_set_build(
            photos=photos,
            include_overrides=bool(options.get("overrides", True)),
            progress=_reporter(run_id, EMBED_SPAN, "embedding"),
        )
        running.update(
            stage=f"training set: {data.counts.get('photos', 0)} photos, "
            f"{data.counts.get('override_posts', 0)} overridden posts"[:120],
            percent=EMBED_SPAN[1],
            heartbeat_at=timezone.now(),
        )
        version, _ = model_version_train(
            data=data,
            folds=int(options.get("folds", FOLDS)),
            precision_target=float(options.get("precision_target", PRECISION_TARGET)),
            progress=_reporter(
                run_id,
                CV_SPAN,
                "cross-validation",
                after="training the final heads on every row; writing the report",
            ),
        )
    except HeadsUnchanged as exc:
        version, stage = exc.version, UNCHANGED
    except Exception as exc:  # recorded on the run for the page; the active version is untouched
        logger.exception("Training %s failed", run_id)
        running.update(
            status=TrainingRun.Status.FAILED,
            in_progress=False,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        return f"training {run_id} failed: {exc}"
    else:
        stage = "done"
    running.update(
        status=TrainingRun.Status.DONE,
        in_progress=False,
        finished_at=timezone.now(),
        percent=100,
        stage=stage,
        model_version=version,
    )
    if stage == UNCHANGED:
        return f"training {run_id}: same heads as {version.name}"
    return f"training {run_id} registered {version.name}"
