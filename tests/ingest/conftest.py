"""Fixtures of the ingest tests."""

from __future__ import annotations

import pytest

from tests.ingest.recording import RecordingClassifier


@pytest.fixture
def recording(settings):  # type: ignore[no-untyped-def]
    """RecordingClassifier in place of the network, batches of four."""
    settings.TAGLENS_CLASSIFIER = "tests.ingest.recording.RecordingClassifier"
    settings.TAGLENS_CLASSIFY_BATCH = 4
    RecordingClassifier.reset()
    yield RecordingClassifier
    RecordingClassifier.reset()
