"""The site's own pages pass axe-core's accessibility checks in a real browser (contrast,
links told apart from text, labels, headings, landmarks), signed out and signed in; the
moderators' admin pages too, but for Django's own minor ones (its inlines' unlabelled header
cells). The API docs are Swagger UI's markup (its method badges' contrast, buttons inside
buttons): not checked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_upload_search_override import log_in
from tests.factories import ModeratorFactory, UserFactory
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
axe = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="requirements-dev.txt installs it"
)


def axe_violations(page: Any, url: str, *, wait_for: str = "body") -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    page.wait_for_selector(wait_for)
    found = axe.Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in found
        if v["impact"] != "minor" or not url.split("?")[0].endswith("/change/")
    ]


def test_the_sites_pages_have_no_accessibility_violations(
    page: Any, live_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    shown = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    hidden = judged_post(django_capture_on_commit_callbacks, ["카페"], cat=0.9)
    base = live_server.url
    signed_out = [
        "/",
        "/explore/",
        "/explore/tags/카페/",
        "/explore/tags/카/",
        f"/p/{shown.pk}/",
        f"/p/{hidden.pk}/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password_reset/",
        f"/u/{shown.author.username}/",
        "/search/?q=%23",
    ]
    found = {path: axe_violations(page, base + path) for path in signed_out}

    user = UserFactory()
    log_in(page, base, "/accounts/login/", user.username)
    signed_in = [
        "/upload/",
        "/activity/",
        "/accounts/password/",
        "/accounts/email/",
        "/accounts/delete/",
    ]
    found |= {path: axe_violations(page, base + path) for path in signed_in}
    assert {path: v for path, v in found.items() if v} == {}


def test_the_moderators_pages_have_no_accessibility_violations(
    page: Any, live_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "일상"], food=0.6)
    base = live_server.url
    log_in(page, base, "/accounts/login/", ModeratorFactory(is_staff=True).username)
    pages = {
        "/admin/": "#content",
        "/admin/moderation/review/": "#review-item",
        "/admin/moderation/dashboard/": "svg.dash-chart",
        "/admin/moderation/unruled/": "#unruled",
        f"/admin/posts/post/{post.pk}/change/": "select[name$='-override']",
    }
    found = {path: axe_violations(page, base + path, wait_for=sel) for path, sel in pages.items()}
    assert {path: v for path, v in found.items() if v} == {}
