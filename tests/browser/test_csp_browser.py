"""Every page still works under the Content-Security-Policy in a real browser: no violation
reported in the console, and each page's own script runs (Swagger UI draws the API, the review
queue answers its keys)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_upload_search_override import log_in
from tests.factories import ModeratorFactory
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_pages_admin_review_queue_and_api_docs_load_without_csp_violations(
    page: Any, live_server: Any, screenshots: Any, django_capture_on_commit_callbacks: Any
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.6)
    moderator = ModeratorFactory(is_staff=True)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH_VIOLATIONS)

    log_in(page, live_server.url, "/accounts/login/", moderator.username)
    checks = {
        "/": "header.topbar",
        "/explore/tags/카페/": "main.page",
        f"/p/{post.pk}/": ".verdicts",
        "/upload/": "form",
        "/admin/": "#content",
        "/admin/moderation/review/": "#review-item",
        "/admin/moderation/dashboard/": "svg.dash-chart",
        "/api/docs/": ".swagger-ui .info .title",  # drawn by Swagger UI's scripts
        "/api/posts/": ".response-info",
    }
    violations: dict[str, list[str]] = {}
    for path, selector in checks.items():
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, path
        page.wait_for_selector(selector)
        found = page.evaluate("window.__cspViolations")
        if found:
            violations[path] = found
    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    page.screenshot(path=str(screenshots / "api-docs.png"), full_page=False)
    assert "TagLens API" in page.locator(".swagger-ui .info .title").inner_text()

    page.goto(live_server.url + "/admin/moderation/review/")
    with page.expect_navigation():
        page.keyboard.press("s")  # the review keys script (a static file) runs: a skip
    assert "Only skipped items are left" in page.content()

    assert violations == {}
    assert not [line for line in console if "Content Security Policy" in line], console
