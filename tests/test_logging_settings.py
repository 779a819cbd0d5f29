"""Log lines are printed once: Django's loggers reach the root's console handler only."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.settings_process import settings_process

LOG_A_MISSING_PAGE = """
import logging, django
django.setup()
logging.getLogger("django.request").warning("Not Found: /nope/")
logging.getLogger("moderation").warning("a worker line")
"""


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_django_line_is_printed_once_in_debug_and_not(tmp_path: Path, debug: str) -> None:
    secret = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "DJANGO_ALLOWED_HOSTS": "localhost"}
    run = settings_process(LOG_A_MISSING_PAGE, tmp_path, DJANGO_DEBUG=debug, **secret)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert lines.count("Not Found: /nope/") == 1, run.stderr
    assert lines.count("a worker line") == 1, run.stderr


LOG_TASK_LINES = """
import logging, django
django.setup()
from django_q.tasks import logger
logger.info("Enqueued [taglens] 7")
logger.error("Failed 'moderation.tasks.classify_post'")
logging.getLogger("moderation").info("A batch task claimed 16")
"""


def test_task_queue_lines_are_quiet_unless_asked_for(tmp_path: Path) -> None:
    quiet = settings_process(LOG_TASK_LINES, tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    lines = quiet.stderr.splitlines()
    assert "Enqueued [taglens] 7" not in lines, quiet.stderr
    assert lines.count("Failed 'moderation.tasks.classify_post'") == 1, quiet.stderr
    assert lines.count("A batch task claimed 16") == 1, quiet.stderr

    loud = settings_process(LOG_TASK_LINES, tmp_path, TAGLENS_Q_LOG_LEVEL="info")
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.splitlines().count("Enqueued [taglens] 7") == 1, loud.stderr


def test_an_unknown_log_level_stops_start_up_with_its_name(tmp_path: Path) -> None:
    run = settings_process(LOG_TASK_LINES, tmp_path, TAGLENS_Q_LOG_LEVEL="chatty")
    assert run.returncode != 0
    assert "TAGLENS_Q_LOG_LEVEL='CHATTY' is not a log level" in run.stderr
