"""The whole story in a real browser: upload a photo, see it judged, find it under a fitting
hashtag and not under another, then a moderator overrides it in the admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlmodels.fake import FakeClassifier
from moderation.models import Verdict
from posts.models import Post
from scripts.make_bad_inputs import coffee_jpeg
from tests.factories import ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-for-tests-only"
COFFEE = {"food": 0.1, "beverage": 0.95, "animal": 0.0, "cat": 0.0, "dog": 0.0}
HOSTILE_CAPTION = 'Latte <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def log_in(page: Any, base: str, path: str, username: str) -> None:
    page.goto(base + path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()


def grid_links(page: Any) -> list[str]:
    return page.locator("ul.grid a").evaluate_all("links => links.map(a => a.pathname)")


def test_upload_judge_search_and_override_in_a_real_browser(
    page: Any, live_server: Any, tmp_path: Path, screenshots: Path
) -> None:
    base = live_server.url
    author = UserFactory()
    moderator = ModeratorFactory(is_staff=True)
    photo = tmp_path / "coffee.jpg"
    photo.write_bytes(coffee_jpeg())
    FakeClassifier.next_scores = COFFEE

    # Upload through the form.
    log_in(page, base, "/accounts/login/", author.username)
    page.goto(base + "/upload/")
    page.set_input_files("input[name=image]", str(photo))
    page.fill("textarea[name=caption]", HOSTILE_CAPTION)
    page.fill("input[name=hashtags]", "#카페 #고양이")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url("**/p/*/")
    post = Post.objects.get()
    assert page.url.endswith(f"/p/{post.pk}/")

    # Classification runs after commit (inline in tests); the page refreshes until judged.
    cafe = page.locator("li.verdict", has_text="#카페")
    cat = page.locator("li.verdict", has_text="#고양이")
    cafe.locator(".badge-shown").wait_for()
    assert cat.locator(".badge-hidden").count() == 1
    assert page.evaluate("window.__xss") is None  # the caption is text, not markup
    assert "<script>" in page.locator("p.caption").inner_text()
    page.screenshot(path=str(screenshots / "post-page.png"), full_page=True)

    # Shown under the hashtag it fits, not under the one it does not.
    page.goto(base + "/explore/tags/카페/")
    assert f"/p/{post.pk}/" in grid_links(page)
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(screenshots / "search-page.png"), full_page=True)
    page.goto(base + "/explore/tags/고양이/")
    assert f"/p/{post.pk}/" not in grid_links(page)

    # A moderator hides it under #카페 from the admin's verdict list.
    page.context.clear_cookies()
    log_in(page, base, "/admin/login/", moderator.username)
    page.goto(base + "/admin/moderation/verdict/")
    verdict = Verdict.objects.get(post=post, hashtag__name="카페")
    page.screenshot(path=str(screenshots / "admin-verdicts.png"), full_page=True)
    page.check(f"input[name=_selected_action][value='{verdict.pk}']")
    page.select_option("select[name=action]", "mark_not_relevant")
    page.locator("button[name=index]").click()
    page.wait_for_load_state()
    assert "1 verdict(s) marked not relevant" in page.locator("ul.messagelist").inner_text()

    # The public pages follow.
    page.goto(base + "/explore/tags/카페/")
    assert f"/p/{post.pk}/" not in grid_links(page)
    page.goto(base + f"/p/{post.pk}/")
    assert cafe.locator(".badge-hidden").count() == 1
    assert moderator.username in cafe.locator(".override").inner_text()
    verdict.refresh_from_db()
    assert (verdict.shown, verdict.override, verdict.override_by) == (False, False, moderator)
