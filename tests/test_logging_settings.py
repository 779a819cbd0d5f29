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
