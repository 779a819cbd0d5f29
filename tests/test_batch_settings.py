"""TAGLENS_CLASSIFY_BATCH follows the pipeline unless set: 64 photos a batch for the backbone
and heads alone, 16 with people signals or OCR. Settings are built in a fresh process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.settings_process import settings_process

SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.TAGLENS_CLASSIFY_BATCH)"
)


def batch_with(tmp_path: Path, **env: str) -> int:
    done = settings_process(SHOW, tmp_path, **env)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("env", "batch"),
    [
        ({}, 16),  # the default pipeline: people signals and OCR
        ({"TAGLENS_OCR": "false"}, 16),  # people signals still
        ({"TAGLENS_SIGNAL_SOURCES": ""}, 16),  # OCR still
        ({"TAGLENS_OCR": "false", "TAGLENS_SIGNAL_SOURCES": ""}, 64),
        ({"TAGLENS_OCR": "false", "TAGLENS_SIGNAL_SOURCES": "", "TAGLENS_CLASSIFY_BATCH": "8"}, 8),
        ({"TAGLENS_CLASSIFY_BATCH": "32"}, 32),
    ],
)
def test_the_batch_follows_the_pipeline_unless_set(
    tmp_path: Path, env: dict[str, str], batch: int
) -> None:
    assert batch_with(tmp_path, **env) == batch
