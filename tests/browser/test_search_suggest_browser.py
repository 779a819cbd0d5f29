"""In a real browser: typing in the top bar's search box lists the hashtags in use that start
with it; the arrow keys and Enter open one, Escape closes the list. In the upload form's
hashtags, the chosen one completes the last hashtag typed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_upload_search_override import log_in
from tests.factories import UserFactory
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_typing_suggests_hashtags_and_enter_opens_the_chosen_one(
    page: Any, live_server: Any, screenshots: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for _ in range(2):
        judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    judged_post(django_capture_on_commit_callbacks, ["카페라떼"], beverage=0.9)
    judged_post(django_capture_on_commit_callbacks, ["바다"], sea=0.9)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")

    box = page.locator("#site-search")
    box.click()
    page.keyboard.type("#카")
    options = page.locator("#site-search-suggestions [role=option]")
    options.first.wait_for()
    texts = options.all_inner_texts()
    assert texts[:2] == ["#카페\n게시물 2 posts", "#카페라떼\n게시물 1 post"]
    assert "#카레\n아직 없음 none yet" in texts[2:]  # judged by the 음식 rule, no post yet
    assert box.get_attribute("aria-expanded") == "true"
    page.screenshot(path=str(screenshots / "search-suggestions.png"))

    page.keyboard.press("Escape")
    assert page.locator("#site-search-suggestions").is_hidden()
    page.keyboard.press("ArrowDown")  # opens the list again
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "site-search-suggestions-1"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/explore/tags/%EC%B9%B4%ED%8E%98%EB%9D%BC%EB%96%BC/")

    page.locator("#site-search").fill("")
    page.locator("#site-search").click()
    page.keyboard.type("바")
    page.locator("#site-search-suggestions [role=option]", has_text="#바다").wait_for()
    assert not errors


def test_the_upload_forms_hashtags_complete_the_last_one_typed(
    page: Any, live_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["카페라떼"], beverage=0.9)
    judged_post(django_capture_on_commit_callbacks, ["cafe"], food=0.9)
    user = UserFactory()
    log_in(page, live_server.url, "/accounts/login/", user.username)
    page.goto(live_server.url + "/upload/")
    box = page.locator("input[name=hashtags]")
    box.click()
    page.keyboard.type("#바다, 카페")
    page.locator("#id_hashtags-suggestions [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # completes the tag, does not submit the form
    assert box.input_value() == "#바다, #카페라떼 "
    assert page.url.endswith("/upload/")
    page.keyboard.type("#C")
    option = page.locator("#id_hashtags-suggestions [role=option]", has_text="#cafe")
    option.click()
    assert box.input_value() == "#바다, #카페라떼 #cafe "
    page.keyboard.press("Home")  # typed before the first tag: completed there, the rest kept
    page.keyboard.type("카페")
    page.locator("#id_hashtags-suggestions [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert box.input_value() == "#카페라떼 #바다, #카페라떼 #cafe "
