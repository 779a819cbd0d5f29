"""In a real browser: a signed-in user writes a comment under a photo that shows a little food,
and the post page's verdict for #음식 turns shown, naming the comment as the reason."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from mlmodels.fake import FakeClassifier
from moderation.models import Concept
from posts.models import Post
from posts.services import post_create
from tests.browser.test_upload_search_override import log_in
from tests.factories import UserFactory, jpeg_bytes
from tests.web.judged import NOTHING

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_comment_written_in_the_browser_changes_the_verdicts_reason(
    page: Any, live_server: Any, screenshots: Path
) -> None:
    base = live_server.url
    threshold = Concept.objects.get(key="food").threshold
    FakeClassifier.next_scores = {**NOTHING, "food": round(threshold * 0.8, 4)}
    post = post_create(
        author=UserFactory(), image=io.BytesIO(jpeg_bytes()), hashtags=["음식"], caption="점심"
    )
    post.refresh_from_db()
    assert post.status == Post.Status.CLASSIFIED
    writer = UserFactory(username="minji")

    log_in(page, base, "/accounts/login/", writer.username)
    page.goto(f"{base}/p/{post.pk}/")
    food = page.locator("li.verdict", has_text="#음식")
    assert food.locator(".badge-hidden").count() == 1
    assert "Counted words" not in food.inner_text()

    page.fill("#comment-text", "여기 마라탕 맛집 <b>강추</b>")
    page.locator("form.comment-form button[type=submit]").click()
    page.wait_for_load_state()

    food = page.locator("li.verdict", has_text="#음식")
    food.locator(".badge-shown").wait_for()
    words = food.locator(".verdict-words").inner_text()
    assert "마라탕 (comment by @minji: ‘여기 마라탕 맛집 <b>강추</b>’) → food" in words
    assert page.locator("#comments li.comment", has_text="<b>강추</b>").count() == 1
    page.screenshot(path=str(screenshots / "post-comment.png"), full_page=True)
