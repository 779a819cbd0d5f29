"""`train_concepts --if-missing` (what `make run` calls) after the people source changed."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from mlmodels.fake import FakeClassifier
from moderation.models import ModelVersion
from tests.ingest.recording import RecordingPeople

pytestmark = pytest.mark.django_db


def _version(people: str) -> ModelVersion:
    return ModelVersion.objects.create(
        name=f"heads-{people}",
        kind=ModelVersion.Kind.HEADS,
        backbone=FakeClassifier.version,
        training={"signal_sources": [f"people@{people}"]},
    )


def _run(tmp_path: Path) -> str:
    out = StringIO()
    call_command("train_concepts", if_missing=True, photos=tmp_path / "no-photos", stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _people(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TAGLENS_SIGNAL_SOURCES = ["tests.ingest.recording.RecordingPeople"]


def test_heads_on_the_configured_people_version_are_kept(tmp_path: Path) -> None:
    _version(RecordingPeople.version)
    assert "exist already; not training again" in _run(tmp_path)


def test_heads_on_another_people_version_are_trained_again(tmp_path: Path) -> None:
    _version("people-before-a-fix")
    out = _run(tmp_path)
    assert "read other signal versions" in out and "training again" in out
    assert "No labelled photos" in out
