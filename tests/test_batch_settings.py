"""TAGLENS_CLASSIFY_BATCH follows the pipeline unless set: 64 photos a batch for the backbone
and heads alone, 16 with people signals or OCR; workers and model threads share the cores.
Settings are built in a fresh process."""

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


WORKERS = (
    "import django, os; os.cpu_count = lambda: {cores}; django.setup(); "
    "from django.conf import settings; "
    "print(settings.Q_CLUSTER['workers'], settings.TAGLENS_MODEL_THREADS)"
)


@pytest.mark.parametrize(
    ("cores", "env", "expected"),
    [
        (2, {}, "2 1"),  # the measured best on two cores (docs/scaling.md)
        (1, {}, "1 1"),
        (8, {}, "2 4"),
        (8, {"TAGLENS_Q_WORKERS": "4"}, "4 2"),
        (2, {"TAGLENS_Q_WORKERS": "1", "TAGLENS_MODEL_THREADS": "2"}, "1 2"),
    ],
)
def test_workers_and_their_threads_share_the_cores(
    tmp_path: Path, cores: int, env: dict[str, str], expected: str
) -> None:
    done = settings_process(WORKERS.format(cores=cores), tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == expected


def test_no_workers_is_refused(tmp_path: Path) -> None:
    done = settings_process(WORKERS.format(cores=2), tmp_path, TAGLENS_Q_WORKERS="0")
    assert done.returncode != 0
    assert "TAGLENS_Q_WORKERS=0 must be >= 1" in done.stderr
