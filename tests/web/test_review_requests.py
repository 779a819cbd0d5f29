"""An author asks a moderator to look again at a verdict that hides their post: from the post
page or the API; it goes first in the review queue; a moderator's answer closes it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from moderation.judging.overrides import verdict_override
from moderation.judging.review import ReviewRefused, review_request, verdict_report
from moderation.models import AuditEvent, Verdict
from moderation.selectors.review import review_queue
from tests.factories import ModeratorFactory, UserFactory
from tests.web.judged import judged_post, verdict

pytestmark = pytest.mark.django_db


def _address(v: Verdict) -> str:
    return reverse("review-request", kwargs={"post_id": v.post_id, "verdict_id": v.pk})


def test_the_author_asks_from_the_post_page_and_the_request_leads_the_queue(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    latte = judged_post(capture, ["라떼"], beverage=0.9)  # no rule: queued already
    post = judged_post(capture, ["카페", "산"], food=0.95)  # #산: clearly hidden, not queued
    hidden = verdict(post, "산")
    assert hidden.pk not in set(review_queue().values_list("pk", flat=True))

    client.force_login(post.author)
    page = client.get(f"/p/{post.pk}/").content.decode()
    assert f'action="{_address(hidden)}"' in page
    assert f'action="{_address(verdict(post, "카페"))}"' not in page  # shown: nothing to ask

    response = client.post(_address(hidden), {"note": "  뒤에 산이 보여요  "}, follow=True)
    assert "Review asked for" in response.content.decode()
    hidden.refresh_from_db()
    assert hidden.review_requested_at is not None
    assert hidden.review_request_note == "뒤에 산이 보여요"
    assert [v.pk for v in review_queue()][:2] == [hidden.pk, verdict(latte, "라떼").pk]
    event = AuditEvent.objects.get(action=AuditEvent.Action.REVIEW_REQUEST)
    assert (event.actor, event.object_id, event.reason) == (
        post.author,
        str(hidden.pk),
        "뒤에 산이 보여요",
    )
    page = client.get(f"/p/{post.pk}/").content.decode()
    assert "The author asked for a review" in page and "뒤에 산이 보여요" in page
    assert f'action="{_address(hidden)}"' not in page

    mine = client.get(reverse("user-posts", kwargs={"username": post.author.username}))
    assert "shown under 1 of 2 hashtags · 1 review asked for" in mine.content.decode()

    client.logout()  # others see that a review was asked for, not the author's note
    page = client.get(f"/p/{post.pk}/").content.decode()
    assert "The author asked for a review" in page and "뒤에 산이 보여요" not in page


def test_only_the_author_may_ask_and_only_once_about_a_hidden_judged_verdict(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    post = judged_post(capture, ["카페", "산"], food=0.95)
    hidden, shown = verdict(post, "산"), verdict(post, "카페")

    def refused(v: Verdict, by, note: str = "") -> str:
        with pytest.raises(ReviewRefused) as caught:
            review_request(verdict=v, by=by, note=note)
        return str(caught.value)

    assert refused(hidden, UserFactory()) == "Only the post's author may ask for a review."
    assert refused(shown, post.author) == "The post is already shown under #카페."
    assert "longer than 200" in refused(hidden, post.author, "x" * 201)
    review_request(verdict=hidden, by=post.author, note="a hill\x00 behind\u202e")
    assert hidden.review_request_note == "a hill behind"  # what PostgreSQL can store and shows
    assert refused(hidden, post.author) == "A review under #산 has already been asked for."
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REVIEW_REQUEST).count() == 1

    stranger = UserFactory()
    client.force_login(stranger)
    response = client.post(_address(verdict(post, "카페")), follow=True)
    assert "Only the post&#x27;s author may ask for a review." in response.content.decode()
    client.logout()
    assert client.post(_address(hidden)).status_code == 302  # to the sign-in page
    assert client.get(_address(hidden)).status_code in {302, 405}


def test_a_moderators_answer_closes_the_request_and_a_decided_verdict_cannot_be_asked_about(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["산", "바다"])
    asked, decided = verdict(post, "산"), verdict(post, "바다")
    review_request(verdict=asked, by=post.author, note="a hill")
    assert asked.pk in set(review_queue().values_list("pk", flat=True))
    moderator = ModeratorFactory()
    verdict_override(verdict=asked, relevant=True, by=moderator, note="hill behind")
    verdict_override(verdict=decided, relevant=False, by=moderator)
    assert asked.pk not in set(review_queue().values_list("pk", flat=True))
    with pytest.raises(ReviewRefused, match="A moderator has already decided"):
        review_request(verdict=verdict(post, "바다"), by=post.author)

    client.force_login(post.author)
    page = client.get(f"/p/{post.pk}/").content.decode()
    assert "Decided by a moderator" in page
    assert "review-request-form" not in page


def test_an_author_may_have_only_so_many_reviews_waiting(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.TAGLENS_REVIEW_REQUESTS_OPEN = 2
    post = judged_post(django_capture_on_commit_callbacks, ["산", "바다", "꽃"])
    review_request(verdict=verdict(post, "산"), by=post.author)
    review_request(verdict=verdict(post, "바다"), by=post.author)
    with pytest.raises(ReviewRefused, match="You have 2 reviews waiting"):
        review_request(verdict=verdict(post, "꽃"), by=post.author)
    verdict_override(verdict=verdict(post, "산"), relevant=False, by=ModeratorFactory())
    review_request(verdict=verdict(post, "꽃"), by=post.author)  # one was answered


def test_the_api_asks_for_a_review_and_shows_the_note_to_the_author_alone(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "산"], food=0.95)
    hidden, shown = verdict(post, "산"), verdict(post, "카페")
    address = f"/api/verdicts/{hidden.pk}/review-request/"
    assert client.post(address, {"note": "a hill"}).status_code == 401

    author = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=post.author).key}"}
    stranger = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=UserFactory()).key}"}
    assert client.post(address, {"note": "a hill"}, **stranger).status_code == 403
    response = client.post(address, {"note": "a hill"}, content_type="application/json", **author)
    assert response.status_code == 200
    body = response.json()
    assert body["review_requested_at"] is not None and body["review_request_note"] == "a hill"

    again = client.post(address, {}, **author)
    assert again.status_code == 409
    assert again.json() == {"detail": "A review under #산 has already been asked for."}
    conflict = client.post(f"/api/verdicts/{shown.pk}/review-request/", {}, **author)
    assert conflict.status_code == 409
    too_long = client.post(address, {"note": "x" * 201}, **author)
    assert too_long.status_code == 400 and "note" in too_long.json()

    listed = {v["hashtag"]: v for v in client.get(f"/api/posts/{post.pk}/").json()["verdicts"]}
    assert listed["산"]["review_requested_at"] is not None
    assert listed["산"]["review_request_note"] is None  # anonymous
    mine = client.get(f"/api/posts/{post.pk}/", **author).json()["verdicts"]
    assert {v["hashtag"]: v["review_request_note"] for v in mine} == {"산": "a hill", "카페": None}


def test_the_review_page_names_the_authors_request(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["산"])
    review_request(verdict=verdict(post, "산"), by=post.author, note="a hill behind")
    client.force_login(ModeratorFactory(is_staff=True))
    page = client.get(reverse("moderation-review")).content.decode()
    assert "The author asked for a review" in page and "a hill behind" in page
    dashboard = client.get(reverse("moderation-dashboard")).content.decode()
    assert '<b data-count="1">1</b>\n    of them asked for by the posts' in dashboard


# Reports: someone who searched the hashtag says a post shown there does not fit.


def test_a_searcher_reports_a_shown_post_once_and_it_joins_the_queue_after_requests(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    selfie = judged_post(capture, ["카페"], food=0.95)  # shown, far from the threshold
    asked = judged_post(capture, ["산"])  # hidden
    review_request(verdict=verdict(asked, "산"), by=asked.author)
    shown = verdict(selfie, "카페")
    assert shown.pk not in set(review_queue().values_list("pk", flat=True))

    searcher = UserFactory()
    client.force_login(searcher)
    page = client.get(f"/p/{selfie.pk}/").content.decode()
    report = reverse("verdict-report", kwargs={"post_id": selfie.pk, "verdict_id": shown.pk})
    assert f'action="{report}"' in page
    response = client.post(report, follow=True)
    assert "a moderator will check whether it fits #카페" in response.content.decode()
    assert "You reported that it does not fit #카페" in response.content.decode()
    assert f'action="{report}"' not in response.content.decode()
    again = client.post(report, follow=True).content.decode()
    assert "You have already reported the post under #카페." in again
    client.force_login(UserFactory())
    client.post(report)

    queue = list(review_queue())
    assert [v.pk for v in queue][:2] == [verdict(asked, "산").pk, shown.pk]
    assert queue[1].report_count == 2

    client.force_login(ModeratorFactory(is_staff=True))
    review = client.get(reverse("moderation-review"), follow=True)
    assert review.context["verdict"].pk == verdict(asked, "산").pk
    dashboard = client.get(reverse("moderation-dashboard")).content.decode()
    assert '<b data-count="1">1</b>\n    shown posts reported' in dashboard


def test_reports_are_for_shown_posts_of_others_undecided_and_capped_per_day(
    client, settings, django_capture_on_commit_callbacks
) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "음식", "산"], food=0.95)
    cafe, hidden = verdict(post, "카페"), verdict(post, "산")
    searcher = UserFactory()
    with pytest.raises(ReviewRefused, match="your own post"):
        verdict_report(verdict=cafe, by=post.author)
    with pytest.raises(ReviewRefused, match="not shown under #산"):
        verdict_report(verdict=hidden, by=searcher)
    settings.TAGLENS_REPORTS_PER_DAY = 1
    assert verdict_report(verdict=cafe, by=searcher) == 1
    with pytest.raises(ReviewRefused, match="You have sent 1 reports today"):
        verdict_report(verdict=verdict(post, "음식"), by=searcher)

    verdict_override(verdict=cafe, relevant=True, by=ModeratorFactory(), note="it is a cafe")
    assert cafe.pk not in set(review_queue().values_list("pk", flat=True))  # answered
    with pytest.raises(ReviewRefused, match="A moderator has already decided"):
        verdict_report(verdict=verdict(post, "카페"), by=UserFactory())

    client.force_login(post.author)  # the author is offered no report on their own post
    assert "report-form" not in client.get(f"/p/{post.pk}/").content.decode()


def test_the_api_reports_a_post(client, django_capture_on_commit_callbacks) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "산"], food=0.95)
    address = f"/api/verdicts/{verdict(post, '카페').pk}/report/"
    assert client.post(address).status_code == 401
    searcher = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=UserFactory()).key}"}
    author = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=post.author).key}"}
    created = client.post(address, **searcher)
    assert (created.status_code, created.json()) == (201, {"reports": 1})
    assert client.post(address, **searcher).status_code == 409
    assert client.post(address, **author).status_code == 403
    hidden = client.post(f"/api/verdicts/{verdict(post, '산').pk}/report/", **searcher)
    assert hidden.status_code == 409 and "not shown" in hidden.json()["detail"]


def test_moderators_read_the_review_queue_through_the_api(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    judged_post(capture, ["라떼"], beverage=0.9)  # no rule: queued after the others
    selfie = judged_post(capture, ["카페"], food=0.95)
    asked = judged_post(capture, ["산"])
    review_request(verdict=verdict(asked, "산"), by=asked.author, note="a hill")
    verdict_report(verdict=verdict(selfie, "카페"), by=UserFactory())

    moderator = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=ModeratorFactory()).key}"}
    rows = client.get("/api/verdicts/review-queue/", **moderator).json()["results"]
    assert [(r["hashtag"], r["reports"]) for r in rows] == [("산", 0), ("카페", 1), ("라떼", 0)]
    assert rows[0]["review_request_note"] == "a hill"
    someone = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=UserFactory()).key}"}
    assert client.get("/api/verdicts/review-queue/", **someone).status_code == 403
    assert client.get("/api/verdicts/review-queue/").status_code == 401
