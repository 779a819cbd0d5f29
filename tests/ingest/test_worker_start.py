"""A django-q2 worker loads its models when it starts (its first batch would wait for them),
and a model that cannot load never keeps the worker from starting."""

from __future__ import annotations

import logging

import pytest

from mlmodels.base import clear_classifier_cache
from moderation.ingest import receivers
from moderation.rules import analyzer
from tests.ingest.recording import RecordingClassifier, RecordingPeople

WHITE = 255


@pytest.fixture
def worker_start(settings, monkeypatch):  # type: ignore[no-untyped-def]
    settings.TAGLENS_CLASSIFIER = "tests.ingest.recording.RecordingClassifier"
    settings.TAGLENS_SIGNAL_SOURCES = ["tests.ingest.recording.RecordingPeople"]
    monkeypatch.setattr(receivers.Conf, "SYNC", False)
    swept: list[str] = []
    monkeypatch.setattr(receivers, "async_task", lambda func, **kw: swept.append(func))
    clear_classifier_cache()
    RecordingClassifier.reset()
    RecordingPeople.reset()
    yield swept
    clear_classifier_cache()
    RecordingClassifier.reset()
    RecordingPeople.reset()


def test_a_starting_worker_sweeps_and_loads_its_models(worker_start) -> None:
    receivers.on_worker_spawned(sender="django_q", proc_name="Process-1")

    assert worker_start == [receivers.SWEEP_TASK]
    assert RecordingClassifier.batches == [[WHITE]]  # one blank photo through the backbone
    assert RecordingPeople.seen == [WHITE]


def test_a_starting_worker_loads_the_word_analyzer(worker_start, monkeypatch) -> None:
    monkeypatch.setattr(analyzer, "_kiwi", None)

    receivers.on_worker_spawned(sender="django_q", proc_name="Process-1")

    assert analyzer._kiwi is not None  # the first captioned post does not wait for it


def test_a_model_that_cannot_load_is_logged_not_raised(worker_start, settings, caplog) -> None:
    settings.TAGLENS_CLASSIFIER = "mlmodels.nowhere.Missing"

    with caplog.at_level(logging.ERROR):
        receivers.on_worker_spawned(sender="django_q", proc_name="Process-1")

    assert worker_start == [receivers.SWEEP_TASK]
    assert "Could not load the models at worker start." in caplog.text
