"""An activation whose rescoring task was lost (a worker holding another secret key drops it,
an emptied broker loses it) is queued once more by the sweep, once, and only when it is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from moderation import tasks
from moderation.ingest import activation
from moderation.ingest.activation import model_version_activate, rescore_sweep
from moderation.models import ModelVersion
from posts.models import Post
from tests.factories import ModeratorFactory
from tests.web.test_model_versions import food_verdict, heads_version, red_post  # noqa: F401

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Lost:
    version: ModelVersion
    tasks: list[tuple[object, ...]]  # the rescoring tasks queued, none of which ran


@pytest.fixture
def lost(red_post, monkeypatch, django_capture_on_commit_callbacks) -> Lost:  # type: ignore[no-untyped-def]  # noqa: F811
    queued: list[tuple[object, ...]] = []
    monkeypatch.setattr(activation, "async_task", lambda *args, **kw: queued.append(args))
    version = heads_version()
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version, by=ModeratorFactory())
    assert queued == [(activation.RESCORE_TASK, version.pk)]
    return Lost(version, queued)


def _late(version: ModelVersion, minutes: float) -> None:
    when = timezone.now() - timedelta(minutes=minutes)
    ModelVersion.objects.filter(pk=version.pk).update(activated_at=when)


def test_a_lost_rescoring_is_queued_again_once_it_is_late(
    red_post: Post,  # noqa: F811
    lost: Lost,
    monkeypatch,
) -> None:
    version = lost.version
    monkeypatch.undo()  # tasks reach the (synchronous) worker again
    _late(version, 5)
    assert rescore_sweep() is False  # its task may still be waiting behind others
    assert food_verdict(red_post).shown is False
    _late(version, 11)
    assert tasks.classify_sweep().endswith("; a model version's rescoring queued again")
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.DONE
    assert food_verdict(red_post).shown is True
    assert rescore_sweep() is False


def test_queued_again_once_per_activation(lost: Lost, django_capture_on_commit_callbacks) -> None:
    version = lost.version
    _late(version, 11)
    assert rescore_sweep() is True and len(lost.tasks) == 2  # lost again
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.QUEUED
    assert version.rescore_message == activation.RESCORE_REQUEUED
    assert rescore_sweep() is False and len(lost.tasks) == 2
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version, by=ModeratorFactory())  # activated once more
    _late(version, 11)
    assert rescore_sweep() is True and len(lost.tasks) == 4
