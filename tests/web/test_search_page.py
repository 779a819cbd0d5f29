from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from moderation.models import Concept, Rule, Verdict
from posts.models import Post
from tests.factories import HashtagFactory, PostFactory, VerdictFactory
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db


def shown_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [post.pk for post in response.context["page"].posts]


def test_tag_page_shows_relevant_posts_newest_first_and_hides_the_rest(client) -> None:
    cafe = HashtagFactory(name="카페")
    now = timezone.now()
    old = VerdictFactory(hashtag=cafe, post=PostFactory(), shown=True)
    new = VerdictFactory(hashtag=cafe, post=PostFactory(), shown=True)
    for verdict, when in ((old, now - timedelta(days=1)), (new, now)):
        Post.objects.filter(pk=verdict.post_id).update(created_at=when)
        Verdict.objects.filter(pk=verdict.pk).update(post_created_at=when)
    hidden = VerdictFactory(hashtag=cafe, decision=Verdict.Decision.NOT_RELEVANT, shown=False)
    pending = VerdictFactory(
        hashtag=cafe,
        post=PostFactory(status=Post.Status.PENDING),
        decision=Verdict.Decision.PENDING,
        shown=False,
    )

    response = client.get(reverse("explore-tag", kwargs={"tag": "카페"}))

    assert response.status_code == 200
    assert shown_ids(response) == [new.post_id, old.post_id]
    assert hidden.post_id not in shown_ids(response)
    assert pending.post_id not in shown_ids(response)
    summary = response.context["summary"]
    assert (summary.shown, summary.hidden, summary.pending) == (2, 1, 1)
    assert response.context["rule"].expression == "food or beverage"


def test_english_tag_is_judged_by_its_korean_rule(client) -> None:
    verdict = VerdictFactory(hashtag=HashtagFactory(name="cafe"))
    response = client.get(reverse("explore-tag", kwargs={"tag": "cafe"}))
    assert shown_ids(response) == [verdict.post_id]
    assert response.context["rule"].hashtag == "카페"
    assert response.context["via"] == "cafe"


@pytest.mark.parametrize("raw", ["Cafe", "CAFE", "#cafe"])
def test_tag_urls_are_normalised(client, raw: str) -> None:
    response = client.get(reverse("explore-tag", kwargs={"tag": raw}))
    assert response.status_code == 302
    assert response["Location"] == reverse("explore-tag", kwargs={"tag": "cafe"})


def test_search_box_accepts_a_hash_and_korean(client) -> None:
    response = client.get(reverse("search"), {"q": "#카페"})
    assert response.status_code == 302
    assert response["Location"] == reverse("explore-tag", kwargs={"tag": "카페"})


def test_decomposed_hangul_finds_the_same_tag(client) -> None:
    decomposed = "\u110f\u1161\u1111\u1166"  # 카페 as separate jamo (NFD)
    response = client.get(reverse("search"), {"q": decomposed})
    assert response["Location"] == reverse("explore-tag", kwargs={"tag": "카페"})


def test_invalid_search_gets_a_clear_error(client) -> None:
    response = client.get(reverse("search"), {"q": "카 페!"})
    assert response.status_code == 400


def test_unknown_tag_says_there_are_no_posts(client) -> None:
    response = client.get(reverse("explore-tag", kwargs={"tag": "아무도안씀"}))
    assert response.status_code == 200
    assert response.context["hashtag"] is None


def test_tag_page_pages_with_a_next_link(client, settings) -> None:
    settings.TAGLENS_PAGE_SIZE = 2
    tag = HashtagFactory(name="바다")
    for _ in range(5):
        VerdictFactory(hashtag=tag)
    url = reverse("explore-tag", kwargs={"tag": "바다"})
    first = client.get(url)
    second = client.get(url + first.context["next_url"])
    last = client.get(url + second.context["next_url"])
    assert [len(shown_ids(r)) for r in (first, second, last)] == [2, 2, 1]
    assert len(set(shown_ids(first) + shown_ids(second) + shown_ids(last))) == 5
    assert last.context["next_url"] is None
    assert 'rel="next"' in first.content.decode()
    assert 'rel="next"' not in last.content.decode()


def test_post_page_explains_each_verdict(client, django_capture_on_commit_callbacks) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.02, beverage=0.01)
    verdict = post.verdicts.get()
    assert verdict.decision == Verdict.Decision.NOT_RELEVANT
    food = Concept.objects.get(key="food")
    response = client.get(reverse("post-detail", kwargs={"post_id": post.pk}))
    body = response.content.decode()
    assert response.status_code == 200
    assert "food or beverage" in body
    assert "0.02 &lt; " + f"{food.threshold:.2f}" in body
    assert "being applied" not in body
    # A rule change not applied yet: the page explains by the current rule and says so.
    Rule.objects.filter(hashtag="카페").update(expression="not food")
    body = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "not food" in body and "being applied" in body


def test_post_page_escapes_captions(client) -> None:
    post = PostFactory(caption="<script>alert('x')</script>")
    body = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;" in body


def test_missing_post_is_404(client) -> None:
    assert client.get(reverse("post-detail", kwargs={"post_id": 999})).status_code == 404


def test_pages_name_their_icon_and_the_browsers_default_request_finds_it(client) -> None:
    home = client.get(reverse("home")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in home
    answer = client.get("/favicon.ico")  # asked by pages without the link: the admin's
    assert (answer.status_code, answer["Location"]) == (301, "/static/favicon.svg")


@pytest.mark.parametrize("url", ["/", "/search/?q=%23"])
def test_two_search_boxes_on_a_page_have_names_of_their_own(client, url: str) -> None:
    page = client.get(url).content.decode()
    forms = re.findall(r'<form[^>]*role="search"[^>]*>', page)
    names = [re.search(r'aria-label="([^"]+)"', form) for form in forms]
    assert len(forms) == 2 and all(names), forms
    assert len({name.group(1) for name in names if name}) == 2, forms
