"""Comments: written on the post page and in the API, deleted by their author or (audited) by a
moderator, throttled, length-limited, escaped; a comment's words re-judge the post."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from moderation.models import AuditEvent, Concept, PostWord
from posts.models import Comment, Post
from posts.services import comment_create
from tests.factories import ModeratorFactory, PostFactory, UserFactory
from tests.web.judged import judged_post, verdict

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script> 마라탕"


def api(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def just_under_food(capture) -> Post:  # type: ignore[no-untyped-def]
    """A post tagged #음식 whose photo scores food at 80% of the threshold: some food seen."""
    threshold = Concept.objects.get(key="food").threshold
    return judged_post(capture, ["음식"], food=round(threshold * 0.8, 4))


# The API


def test_anyone_reads_a_posts_comments_oldest_first() -> None:
    post = PostFactory()
    other = PostFactory()
    first = Comment.objects.create(post=post, author=UserFactory(), text="첫 댓글")
    second = Comment.objects.create(post=post, author=None, text="second")
    Comment.objects.create(post=other, text="elsewhere")
    response = api().get("/api/comments/", {"post": post.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [first.pk, second.pk]
    assert rows[0]["author"] == first.author.username and rows[1]["author"] is None


def test_a_signed_in_user_writes_a_comment_and_anonymous_cannot() -> None:
    post = PostFactory()
    user = UserFactory()
    response = api(user).post("/api/comments/", {"post": post.pk, "text": "  맛있겠다  "})
    assert response.status_code == 201, response.content
    assert response.json()["author"] == user.username
    assert Comment.objects.get(pk=response.json()["id"]).text == "맛있겠다"
    assert api().post("/api/comments/", {"post": post.pk, "text": "hi"}).status_code in (401, 403)
    assert Comment.objects.count() == 1


def test_a_comment_longer_than_the_limit_is_refused_with_the_limit_and_nothing_stored() -> None:
    post = PostFactory()
    response = api(UserFactory()).post("/api/comments/", {"post": post.pk, "text": "가" * 2201})
    assert response.status_code == 400
    assert "at most 2200 characters" in response.json()["text"][0]
    assert "2201" in response.json()["text"][0]
    assert not Comment.objects.exists()


def test_an_empty_comment_or_a_missing_post_is_a_clear_400() -> None:
    user = UserFactory()
    post = PostFactory()
    empty = api(user).post("/api/comments/", {"post": post.pk, "text": "   "})
    assert empty.status_code == 400 and "empty" in empty.json()["text"][0]
    missing = api(user).post("/api/comments/", {"post": 999999, "text": "hi"})
    assert missing.status_code == 400 and "post" in missing.json()
    assert api().get("/api/comments/", {"post": "x"}).status_code == 400
    assert api().get("/api/comments/", {"post": "9" * 30}).status_code == 400
    assert api().get("/api/comments/", {"post": "²"}).status_code == 400
    assert not Comment.objects.exists()


def test_comments_are_throttled_per_user_per_hour(settings) -> None:
    settings.TAGLENS_COMMENTS_PER_HOUR = 2
    post = PostFactory()
    user = UserFactory()
    answers = [
        api(user).post("/api/comments/", {"post": post.pk, "text": f"c{i}"}) for i in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert 3590 <= int(answers[2]["Retry-After"]) <= 3600
    assert Comment.objects.count() == 2
    # Someone else is not held back by this user's comments.
    assert (
        api(UserFactory()).post("/api/comments/", {"post": post.pk, "text": "x"}).status_code == 201
    )


def test_the_author_deletes_their_comment_and_others_may_not() -> None:
    author, stranger = UserFactory(), UserFactory()
    comment = Comment.objects.create(post=PostFactory(), author=author, text="mine")
    assert api(stranger).delete(f"/api/comments/{comment.pk}/").status_code == 403
    assert api().delete(f"/api/comments/{comment.pk}/").status_code in (401, 403)
    assert Comment.objects.filter(pk=comment.pk).exists()
    assert api(author).delete(f"/api/comments/{comment.pk}/").status_code == 204
    assert not Comment.objects.filter(pk=comment.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.COMMENT_DELETE).exists()


def test_a_moderator_deletes_anyones_comment_and_the_audit_trail_keeps_its_text() -> None:
    moderator = ModeratorFactory()
    author = UserFactory()
    comment = Comment.objects.create(post=PostFactory(), author=author, text="spam 광고")
    assert api(moderator).delete(f"/api/comments/{comment.pk}/").status_code == 204
    assert not Comment.objects.filter(pk=comment.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.COMMENT_DELETE)
    assert event.actor == moderator
    assert event.object_type == "comment" and event.object_id == str(comment.pk)
    assert event.before == {"post": comment.post_id, "author": author.username, "text": "spam 광고"}
    assert event.after is None


def test_the_api_returns_a_hostile_comment_as_json_data() -> None:
    post = PostFactory()
    api(UserFactory()).post("/api/comments/", {"post": post.pk, "text": HOSTILE})
    response = api().get("/api/comments/", {"post": post.pk})
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["results"][0]["text"] == HOSTILE


# The post page


def test_a_hostile_comment_is_escaped_on_the_post_page(client) -> None:  # type: ignore[no-untyped-def]
    post = PostFactory()
    Comment.objects.create(post=post, author=UserFactory(), text=HOSTILE)
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 마라탕" in page
    assert "<script>alert(1)" not in page


def test_the_comment_form_needs_the_csrf_token_and_a_login() -> None:
    post = PostFactory()
    url = reverse("comment-add", kwargs={"post_id": post.pk})
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(UserFactory())
    assert browser.post(url, {"text": "no token"}).status_code == 403
    page = browser.get(reverse("post-detail", kwargs={"post_id": post.pk}))
    token = page.cookies["csrftoken"].value
    response = browser.post(url, {"text": "with token", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert list(Comment.objects.values_list("text", flat=True)) == ["with token"]
    anonymous = Client().post(url, {"text": "anon"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert Comment.objects.count() == 1


def test_a_too_long_comment_on_the_page_shows_the_limit_and_stores_nothing(client) -> None:  # type: ignore[no-untyped-def]
    post = PostFactory()
    client.force_login(UserFactory())
    url = reverse("comment-add", kwargs={"post_id": post.pk})
    page = client.post(url, {"text": "x" * 3000}, follow=True).content.decode()
    assert "at most 2200 characters" in page
    assert not Comment.objects.exists()


def test_a_nul_in_a_comment_on_the_page_is_dropped_not_a_server_error(client) -> None:  # type: ignore[no-untyped-def]
    post = PostFactory()  # PostgreSQL cannot store a NUL in text; it shows nothing anyway
    client.force_login(UserFactory())
    url = reverse("comment-add", kwargs={"post_id": post.pk})
    assert client.post(url, {"text": "맛있\x00겠다"}).status_code == 302
    assert Comment.objects.get().text == "맛있겠다"


def test_only_the_author_and_moderators_see_a_delete_button_and_a_stranger_cannot_delete(
    client,  # type: ignore[no-untyped-def]
) -> None:
    author = UserFactory()
    comment = Comment.objects.create(post=PostFactory(), author=author, text="hello")
    detail = reverse("post-detail", kwargs={"post_id": comment.post_id})
    delete = reverse(
        "comment-delete", kwargs={"post_id": comment.post_id, "comment_id": comment.pk}
    )
    client.force_login(UserFactory())
    assert delete not in client.get(detail).content.decode()
    client.post(delete)
    assert Comment.objects.filter(pk=comment.pk).exists()
    client.force_login(ModeratorFactory())
    assert delete in client.get(detail).content.decode()
    client.post(delete)
    assert not Comment.objects.filter(pk=comment.pk).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.COMMENT_DELETE).count() == 1


# Comments as evidence


def test_a_food_comment_makes_a_photo_just_under_the_threshold_shown_under_food(
    client,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    post = just_under_food(django_capture_on_commit_callbacks)
    assert not verdict(post, "음식").shown
    writer = UserFactory(username="minji")
    comment_create(post=post, author=writer, text="여기 마라탕 맛집이에요!")
    food = verdict(post, "음식")
    assert food.shown
    assert ("마라탕", "comment") in set(
        PostWord.objects.filter(post=post).values_list("key", "source")
    )
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "마라탕 (comment by @minji: ‘여기 마라탕 맛집이에요!’) → food" in page


def test_deleting_the_comment_hides_the_photo_again(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    post = just_under_food(django_capture_on_commit_callbacks)
    comment = comment_create(post=post, author=UserFactory(), text="마라탕 맛집")
    assert verdict(post, "음식").shown
    api(ModeratorFactory()).delete(f"/api/comments/{comment.pk}/")
    assert not verdict(post, "음식").shown
    assert not PostWord.objects.filter(post=post, source="comment").exists()


def test_a_food_comment_under_a_cat_photo_does_not_make_it_food(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["음식"], cat=0.9, animal=0.93)
    comment_create(post=post, author=UserFactory(), text="마라탕 맛집 음식")
    assert not verdict(post, "음식").shown


# The admin


def test_moderators_search_and_delete_comments_in_the_admin_with_an_audit_event(client) -> None:  # type: ignore[no-untyped-def]
    comment = Comment.objects.create(post=PostFactory(), author=UserFactory(), text="광고 spam")
    Comment.objects.create(post=PostFactory(), author=UserFactory(), text="좋아요")
    moderator = ModeratorFactory(is_staff=True)
    client.force_login(moderator)
    listing = client.get("/admin/posts/comment/", {"q": "광고"}).content.decode()
    assert "광고 spam" in listing and "좋아요" not in listing
    assert client.get("/admin/posts/comment/", {"account": "no"}).status_code == 200
    client.post(f"/admin/posts/comment/{comment.pk}/delete/", {"post": "yes"})
    assert not Comment.objects.filter(pk=comment.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.COMMENT_DELETE)
    assert event.actor == moderator and event.reason == "deleted in the admin"


def test_staff_who_are_not_moderators_cannot_see_comments_in_the_admin(client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/posts/comment/").status_code == 403
