"""A person's activity: comments others write on their posts, moderators' decisions on their
posts and on posts they reported; the top bar counts what is new until the page is opened."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from moderation.judging.overrides import verdict_override
from moderation.judging.review import activity_read, review_request, verdict_report
from moderation.selectors.activity import UNREAD_CAP, activity_for, activity_unread
from posts.models import Comment
from posts.services import comment_create
from tests.factories import ModeratorFactory, UserFactory
from tests.web.judged import judged_post, verdict

pytestmark = pytest.mark.django_db


def _count(page: str) -> str | None:
    """The top bar's count of new events, None when it shows none."""
    marker = '<span class="nav-count">'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split("<", 1)[0]


def test_the_author_hears_of_comments_and_decisions_until_they_open_the_page(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    post = judged_post(capture, ["카페", "산"], food=0.95)
    author, friend, moderator = post.author, UserFactory(username="friend"), ModeratorFactory()
    review_request(verdict=verdict(post, "산"), by=author, note="산이 보여요")
    with capture(execute=True):
        comment_create(post=post, author=friend, text="맛있겠다!")
        comment_create(post=post, author=author, text="고마워")  # their own: not news
    verdict_override(verdict=verdict(post, "산"), relevant=True, by=moderator, note="hill")

    client.force_login(author)
    home = client.get("/").content.decode()
    assert _count(home) == "2"
    page = client.get(reverse("activity")).content.decode()
    assert "@friend</a>" in page and "맛있겠다!" in page and "고마워" not in page
    tasty = Comment.objects.get(text="맛있겠다!")
    assert f'href="/p/{post.pk}/#comment-{tasty.pk}">your post</a>' in page
    assert "A moderator <strong>showed</strong>" in page
    assert "under #산, answering your review request" in page
    assert "hill" not in page  # the moderator's note is for moderators
    assert page.count("activity-new") == 2
    assert _count(page) is None  # read now that they are on the page

    home = client.get("/").content.decode()
    assert _count(home) is None
    assert client.get(reverse("activity")).content.decode().count("activity-new") == 0

    with capture(execute=True):
        comment_create(post=post, author=friend, text="또 올게요")
    assert _count(client.get("/").content.decode()) == "1"

    client.force_login(friend)  # the commenter's own activity holds none of this
    assert _count(client.get("/").content.decode()) is None
    assert "Nothing yet" in client.get(reverse("activity")).content.decode()


def test_a_reporter_hears_what_a_moderator_decided_and_nobody_hears_of_their_own_acts(
    django_capture_on_commit_callbacks,
) -> None:
    capture = django_capture_on_commit_callbacks
    post = judged_post(capture, ["카페"], food=0.95)
    reporter, moderator = UserFactory(), ModeratorFactory()
    verdict_report(verdict=verdict(post, "카페"), by=reporter)
    assert activity_unread(user_id=reporter.pk) == 0  # nothing decided yet
    verdict_override(verdict=verdict(post, "카페"), relevant=False, by=moderator)

    [answer] = activity_for(user_id=reporter.pk)
    assert (answer.kind, answer.hashtag, answer.shown, answer.new) == (
        "report_answer",
        "카페",
        False,
        True,
    )
    [decision] = activity_for(user_id=post.author_id)
    assert (decision.kind, decision.shown, decision.asked) == ("decision", False, False)

    # A moderator deciding on their own post, or on a post they reported, tells them nothing.
    own = judged_post(capture, ["카페"], food=0.95)
    own.author = moderator
    own.save(update_fields=["author"])
    verdict_override(verdict=verdict(own, "카페"), relevant=False, by=moderator)
    assert activity_for(user_id=moderator.pk) == []


def test_read_never_moves_back_and_the_count_is_capped(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    post = judged_post(capture, ["카페"], food=0.95)
    friend = UserFactory()
    Comment.objects.bulk_create(
        Comment(post=post, author=friend, text=f"{n}") for n in range(UNREAD_CAP + 5)
    )
    assert activity_unread(user_id=post.author_id) == UNREAD_CAP + 1
    client.force_login(post.author)
    assert _count(client.get("/").content.decode()) == f"{UNREAD_CAP}+"
    assert len(activity_for(user_id=post.author_id)) == 50

    now = timezone.now()
    activity_read(user=post.author, at=now)
    activity_read(user=post.author, at=now - dt.timedelta(days=1))  # an older page's mark
    assert activity_unread(user_id=post.author_id) == 0


def test_the_api_lists_and_marks_read(client, django_capture_on_commit_callbacks) -> None:
    capture = django_capture_on_commit_callbacks
    post = judged_post(capture, ["카페"], food=0.95)
    with capture(execute=True):
        comment_create(post=post, author=UserFactory(username="ana"), text="좋아요")
    assert client.get("/api/activity/").status_code == 401

    auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=post.author).key}"}
    body = client.get("/api/activity/", **auth).json()
    assert body["unread"] == 1
    [event] = body["results"]
    assert event["comment"] == Comment.objects.get(text="좋아요").pk
    assert (event["kind"], event["post"], event["by"], event["text"], event["new"]) == (
        "comment",
        post.pk,
        "ana",
        "좋아요",
        True,
    )
    assert client.get("/api/activity/", **auth).json()["unread"] == 1  # listing marks nothing
    assert client.get("/api/activity/?limit=0", **auth).json()["results"] == []
    assert client.get("/api/activity/?limit=51", **auth).status_code == 400

    with capture(execute=True):
        comment_create(post=post, author=UserFactory(), text="늦은 댓글")
    earlier = body["listed_at"]
    assert client.post("/api/activity/read/", {"until": earlier}, **auth).status_code == 204
    assert client.get("/api/activity/", **auth).json()["unread"] == 1  # the later comment
    bad = client.post("/api/activity/read/", {"until": "yesterday"}, **auth)
    assert bad.status_code == 400 and "until" in bad.json()
    assert client.post("/api/activity/read/", **auth).status_code == 204
    assert client.get("/api/activity/", **auth).json()["unread"] == 0


def test_a_comment_that_names_someone_is_in_their_activity_and_links_to_them(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    post = judged_post(capture, ["카페"], food=0.95)
    ana, carol = UserFactory(username="ana"), UserFactory(username="carol")
    text = "@carol 여기 봐! @nobody @ana a@carol.com @carol. @" + post.author.username
    with capture(execute=True):
        comment_create(post=post, author=ana, text=text)
        comment_create(post=post, author=ana, text="<b>@carol</b>")

    [first, second] = activity_for(user_id=carol.pk)
    assert (second.kind, second.by, second.text) == ("mention", "ana", text)
    assert first.kind == "mention" and activity_unread(user_id=carol.pk) == 2
    assert activity_for(user_id=ana.pk) == []  # naming oneself is not news
    # The post's author hears of the comment once, as a comment on their post.
    assert [e.kind for e in activity_for(user_id=post.author_id)] == ["comment", "comment"]

    page = client.get(f"/p/{post.pk}/").content.decode()
    assert '<a href="/u/carol/">@carol</a> 여기 봐!' in page
    assert '<a href="/u/carol/">@carol</a>.' in page  # the full stop is the sentence's
    assert "@nobody" in page and 'href="/u/nobody/"' not in page
    assert "a@carol.com" in page
    assert '&lt;b&gt;<a href="/u/carol/">@carol</a>&lt;/b&gt;' in page

    client.force_login(carol)
    assert "mentioned you in a comment" in client.get(reverse("activity")).content.decode()
