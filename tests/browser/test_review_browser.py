"""The review queue in a real browser: a moderator presses "r" and the verdict is hidden and
the next item shows."""

from __future__ import annotations

from typing import Any

import pytest

from moderation.models import Verdict
from posts.models import Hashtag
from tests.browser.test_upload_search_override import log_in
from tests.factories import ModeratorFactory
from tests.web.judged import judged_post, verdict

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_moderator_rejects_with_the_r_key_and_sees_the_next_item(
    page: Any, live_server: Any, screenshots: Any, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    older = judged_post(capture, ["카페"], food=0.57)
    newer = judged_post(capture, ["카페"], food=0.6)
    Hashtag.objects.filter(name="카페").update(search_count=4)
    first, second = verdict(newer, "카페"), verdict(older, "카페")
    moderator = ModeratorFactory(is_staff=True)

    log_in(page, live_server.url, "/admin/login/", moderator.username)
    page.goto(live_server.url + "/admin/moderation/review/")
    item = page.locator("#review-item")
    assert item.get_attribute("data-verdict") == str(first.pk)
    assert page.locator("#queue-size").inner_text() == "2"
    assert page.locator("img.photo").evaluate("img => img.getBoundingClientRect().width") >= 400
    page.screenshot(path=str(screenshots / "review-queue.png"), full_page=True)

    page.keyboard.press("r")
    page.wait_for_selector(f"#review-item[data-verdict='{second.pk}']")
    assert "hidden under #카페" in page.locator("ul.messagelist").inner_text()
    assert page.locator("#queue-size").inner_text() == "1"
    page.screenshot(path=str(screenshots / "review-queue-next.png"), full_page=True)

    first.refresh_from_db()
    assert (first.shown, first.override, first.override_by) == (False, False, moderator)
    assert Verdict.objects.get(pk=second.pk).override is None
