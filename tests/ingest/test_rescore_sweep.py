"""An activation whose rescoring task was lost (a worker holding another secret key drops it,
an emptied broker loses it, a worker stopped mid-way) is queued once more by the sweep when it
is late, again while it gets further; a second delivery of a running rescoring does nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from moderation import tasks
from moderation.ingest import activation
from moderation.ingest.activation import model_version_activate, rescore_sweep
from moderation.models import Embedding, ModelVersion
from posts.models import Post
from tests.factories import ModeratorFactory, jpeg_bytes, upload
from tests.settings_process import settings_process
from tests.web.test_model_versions import food_verdict, heads_version, red_post  # noqa: F401

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Lost:
    version: ModelVersion
    tasks: list[tuple[object, ...]]  # the rescoring tasks queued, none of which ran
    options: list[dict[str, object]]


@pytest.fixture
def lost(red_post, monkeypatch, django_capture_on_commit_callbacks) -> Lost:  # type: ignore[no-untyped-def]  # noqa: F811
    queued: list[tuple[object, ...]] = []
    options: list[dict[str, object]] = []

    def queue(*args: object, **kw: object) -> None:
        queued.append(args)
        options.append(kw)

    monkeypatch.setattr(activation, "async_task", queue)
    version = heads_version()
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version, by=ModeratorFactory())
    assert queued == [(activation.RESCORE_TASK, version.pk)]
    return Lost(version, queued, options)


def _late(version: ModelVersion, minutes: float) -> None:
    when = timezone.now() - timedelta(minutes=minutes)
    ModelVersion.objects.filter(pk=version.pk).update(activated_at=when, rescore_heartbeat_at=when)


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


def test_the_rescoring_task_may_run_past_the_ordinary_task_timeout(lost: Lost, settings) -> None:
    assert lost.options[0]["timeout"] == settings.TAGLENS_RESCORE_TIMEOUT
    assert settings.TAGLENS_RESCORE_TIMEOUT > settings.Q_CLUSTER["timeout"]


def test_a_second_delivery_of_a_running_rescoring_does_nothing(
    red_post: Post,  # noqa: F811
    lost: Lost,
) -> None:
    version = lost.version
    ModelVersion.objects.filter(pk=version.pk).update(rescore_status=ModelVersion.Rescore.RUNNING)
    assert tasks.rescore_model_version(version.pk) == 0
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.RUNNING
    assert food_verdict(red_post).shown is False  # not rescored by the copy
    ModelVersion.objects.filter(pk=version.pk).update(rescore_status=ModelVersion.Rescore.QUEUED)
    assert tasks.rescore_model_version(version.pk) == 1
    assert food_verdict(red_post).shown is True


def test_a_stopped_rescoring_is_queued_again_while_it_gets_further_then_fails(
    red_post: Post,  # noqa: F811
    lost: Lost,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
) -> None:
    version = lost.version
    ModelVersion.objects.filter(pk=version.pk).update(
        rescore_status=ModelVersion.Rescore.RUNNING,
        rescore_done=2000,
        rescore_total=9000,
        rescore_last_pk=2000,
    )
    timeout = settings.TAGLENS_RESCORE_TIMEOUT / 60
    _late(version, timeout - 1)
    assert rescore_sweep() is False  # re-applying the rules at the end may take minutes
    _late(version, timeout + 1)
    assert rescore_sweep() is True and len(lost.tasks) == 2
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.QUEUED
    assert (
        version.rescore_message
        == "Queued again: its worker stopped at 2000/9000; it goes on from there."
    )
    ModelVersion.objects.filter(pk=version.pk).update(  # ran on from there, stopped again
        rescore_status=ModelVersion.Rescore.RUNNING, rescore_done=6000, rescore_last_pk=6000
    )
    _late(version, timeout + 1)
    assert rescore_sweep() is True and len(lost.tasks) == 3
    version.refresh_from_db()
    assert version.rescore_message.startswith("Queued again: its worker stopped at 6000/9000")
    _late(version, 11)  # lost again, no further than last time
    assert rescore_sweep() is False and len(lost.tasks) == 3
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.FAILED
    assert version.rescore_message.startswith("Stopped again with no progress (6000/9000 done)")
    assert "TAGLENS_RESCORE_TIMEOUT" in version.rescore_message
    assert rescore_sweep() is False and len(lost.tasks) == 3

    monkeypatch.undo()  # activated again by a moderator: runs (synchronously) to the end
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version, by=ModeratorFactory())
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.DONE
    assert food_verdict(red_post).shown is True


def test_a_rescoring_queued_again_goes_on_after_the_last_embedding_it_rescored(
    red_post: Post,  # noqa: F811
    lost: Lost,
    client,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("post-upload"),
            {"image": upload("red.jpg", jpeg_bytes((240, 20, 10))), "hashtags": "#음식"},
        )
    later = Post.objects.exclude(pk=red_post.pk).get()
    first = Embedding.objects.get(post=red_post)
    version = lost.version
    ModelVersion.objects.filter(pk=version.pk).update(  # stopped after the first embedding
        rescore_status=ModelVersion.Rescore.RUNNING,
        rescore_done=1,
        rescore_total=2,
        rescore_last_pk=first.pk,
    )
    _late(version, settings.TAGLENS_RESCORE_TIMEOUT / 60 + 1)
    assert rescore_sweep() is True
    assert tasks.rescore_model_version(version.pk) == 1  # the later one alone
    assert food_verdict(later).shown is True
    assert not red_post.classifications.filter(model_version=version).exists()
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.DONE
    assert (version.rescore_done, version.rescore_total) == (2, 2)
    assert version.rescore_message.startswith(
        "2 posts rescored from stored embeddings (1 before its worker stopped)"
    )
    with django_capture_on_commit_callbacks(execute=True):  # activated again: from the start
        model_version_activate(version=version, by=ModeratorFactory())
    assert tasks.rescore_model_version(version.pk) == 2
    assert food_verdict(red_post).shown is True


def test_a_rescoring_timeout_below_the_task_timeout_is_refused(tmp_path: Path) -> None:
    show = "import django; django.setup()"
    refused = settings_process(show, tmp_path, TAGLENS_RESCORE_TIMEOUT="60")
    assert refused.returncode != 0
    assert "TAGLENS_RESCORE_TIMEOUT (60) must be at least TAGLENS_Q_TIMEOUT" in refused.stderr
    assert settings_process(show, tmp_path, TAGLENS_RESCORE_TIMEOUT="120").returncode == 0
