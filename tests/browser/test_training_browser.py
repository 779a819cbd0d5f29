"""The training panel's poll in a real browser under the Content-Security-Policy: the stage
and percentage move without a reload while the run advances, and the page reloads to the
result when it ends. The run's progress is written here as a worker would write it."""

from __future__ import annotations

from typing import Any

import pytest
from django_q.conf import Conf

from moderation.ingest.training_runs import training_request
from moderation.models import TrainingRun
from tests.browser.test_csp_browser import WATCH_VIOLATIONS
from tests.browser.test_upload_search_override import log_in
from tests.factories import ModeratorFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_progress_updates_in_place_then_the_page_shows_the_failure(
    page: Any, live_server: Any, screenshots: Any
) -> None:
    moderator = ModeratorFactory(is_staff=True)
    Conf.SYNC = False  # queued for a worker that never comes: this test plays the worker
    run = training_request(by=moderator)
    page.add_init_script(WATCH_VIOLATIONS)
    log_in(page, live_server.url, "/admin/login/", moderator.username)
    page.goto(live_server.url + "/admin/moderation/modelversion/")
    assert page.locator("[data-field=stage]").inner_text() == "waiting for a worker"
    page.evaluate("window.__notReloaded = true")

    TrainingRun.objects.filter(pk=run.pk).update(
        status="running", stage="cross-validation: 2/5 outer fold 2/5", percent=59
    )
    page.locator("[data-field=stage]", has_text="2/5").wait_for()
    assert page.locator("progress").evaluate("bar => bar.value") == 59
    assert page.locator("[data-field=percent]").inner_text() == "59 %"
    assert page.locator("[data-field=status_label]").inner_text() == "Running"
    assert page.evaluate("window.__notReloaded") is True  # updated in place
    page.screenshot(path=str(screenshots / "training-progress.png"))

    TrainingRun.objects.filter(pk=run.pk).update(
        status="failed", in_progress=False, error="ValueError: Nothing to train on."
    )
    page.wait_for_selector("p.errornote")
    assert "Training failed: ValueError: Nothing to train on." in page.content()
    assert page.evaluate("window.__notReloaded === undefined")  # reloaded to the result
    assert page.evaluate("window.__cspViolations") == []
