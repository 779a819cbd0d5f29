"""A hashtag's page names the other hashtags in use that its rule judges, most shown first."""

from __future__ import annotations

import pytest

from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db


def test_the_page_links_the_hashtags_judged_by_the_same_rule(
    client, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    judged_post(capture, ["음식"], food=0.9)
    for _ in range(2):
        judged_post(capture, ["마라탕"], food=0.9)  # a starter mapping to the 음식 rule
    judged_post(capture, ["쌀국수"], cat=0.9)  # mapped too, but nothing shown under it
    judged_post(capture, ["카페"], food=0.9)  # another rule

    food = client.get("/explore/tags/음식/").content.decode()
    related = food.split('class="related-tags"', 1)[1].split("</p>", 1)[0]
    assert "#마라탕" in related
    assert "#쌀국수" not in related and "#카페" not in related and "#음식" not in related
    malatang = client.get("/explore/tags/마라탕/").content.decode()
    assert 'href="/explore/tags/%EC%9D%8C%EC%8B%9D/">#음식</a>' in malatang
    assert 'class="related-tags"' not in client.get("/explore/tags/카페/").content.decode()


def test_a_ruled_hashtag_no_post_carries_yet_still_says_its_rule_and_where_to_look(
    client, django_capture_on_commit_callbacks
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["마라탕"], food=0.9)
    food = client.get("/explore/tags/음식/").content.decode()
    assert "No posts with #음식 yet" in food
    assert 'code class="expr">food</code>' in food
    related = food.split('class="related-tags"', 1)[1].split("</p>", 1)[0]
    assert "#마라탕" in related
    assert "No older posts" not in food and 'class="pager"' not in food
    assert 'class="rule-box"' not in client.get("/explore/tags/없는태그/").content.decode()
