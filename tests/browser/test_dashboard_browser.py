"""The moderator dashboard in a real browser: a moderator overrides from the verdict list with
a reason, opens the dashboard from the admin index and sees the counts and the chart; the
audit trail shows the override with its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from moderation.models import AuditEvent, Rule, Verdict
from tests.factories import HashtagFactory, ModeratorFactory, VerdictFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-for-tests-only"


def test_moderator_sees_the_dashboard_chart_and_counts(
    page: Any, live_server: Any, screenshots: Path
) -> None:
    base = live_server.url
    moderator = ModeratorFactory(is_staff=True)
    cafe = Rule.objects.get(hashtag="카페")
    verdicts = [
        VerdictFactory(hashtag=HashtagFactory(name="카페"), rule=cafe, margin=0.4) for _ in range(3)
    ]
    VerdictFactory(hashtag=HashtagFactory(name="미정"), decision=Verdict.Decision.UNKNOWN)

    page.goto(base + "/admin/login/")
    page.fill("input[name=username]", moderator.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()

    # Hide two #카페 posts at once, with a reason typed in the action bar.
    page.goto(base + "/admin/moderation/verdict/")
    for verdict in verdicts[:2]:
        page.check(f"input[name=_selected_action][value='{verdict.pk}']")
    page.select_option("select[name=action]", "mark_not_relevant")
    page.fill("input[name=reason]", "ad campaign")
    page.locator("button[name=index]").click()
    page.wait_for_load_state()
    assert "2 verdict(s) marked not relevant" in page.locator("ul.messagelist").inner_text()

    # The admin index links the dashboard.
    page.goto(base + "/admin/")
    page.locator("#moderation-tools a", has_text="Dashboard").click()
    page.wait_for_url("**/admin/moderation/dashboard/")
    assert page.locator("#queue-size b").inner_text() == "1"  # the unknown verdict
    assert page.locator("#overrides-30d b").inner_text() == "2"
    bars = page.locator("svg.dash-chart rect.bar")
    assert bars.count() == 30
    today = timezone.localdate().isoformat()
    today_bar = page.locator(f"svg.dash-chart rect.bar[data-day='{today}']")
    assert today_bar.get_attribute("data-count") == "2"
    box = today_bar.bounding_box()
    assert box is not None and box["height"] > 50  # drawn, and the tallest bar
    cafe_row = page.locator("#rates-rule tr[data-label='카페']")
    assert "67%" in cafe_row.inner_text()  # 2 of 3 decided #카페 verdicts
    rate_bar = cafe_row.locator(".rate-bar").bounding_box()
    assert rate_bar is not None and rate_bar["width"] > 100
    page.screenshot(path=str(screenshots / "moderation-dashboard.png"), full_page=True)

    # The audit trail lists both overrides with the reason.
    page.goto(base + "/admin/moderation/auditevent/")
    assert page.locator("#result_list tbody tr").count() == 2
    assert "ad campaign" in page.locator("#result_list").inner_text()
    assert AuditEvent.objects.filter(actor=moderator, reason="ad campaign").count() == 2
    page.screenshot(path=str(screenshots / "audit-trail.png"), full_page=True)
