"""Headless Chromium driven by Playwright against pytest-django's live server.

Debian's chromium is used as installed (/usr/bin/chromium, or TAGLENS_CHROMIUM); Playwright
downloads no browser. Without it the browser tests are skipped with the reason; CI installs
it (.ci/run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TAGLENS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_or_skip() -> None:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (requirements-dev.txt)")


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A fresh browser page; the live server (and its database) is set up first.

    Playwright's sync API runs an event loop in this thread for as long as it is open, so
    it is started after the database and stopped before it is torn down, and the test's own
    ORM calls are allowed beside it (DJANGO_ALLOW_ASYNC_UNSAFE: they are plain sync code).
    """
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
