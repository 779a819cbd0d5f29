"""The moderator dashboard: review-queue size, the workers' backlog, overrides per day,
override rates per rule and per concept, for moderators only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from moderation.judging.overrides import verdict_override
from moderation.models import AuditEvent, Concept, Embedding, ModelVersion, Rule, Verdict
from moderation.selectors.review import override_rates, overrides_per_day, review_queue_size
from moderation.web.admin.dashboard import day_bars
from posts.models import Post
from tests.factories import (
    HashtagFactory,
    ModeratorFactory,
    PostFactory,
    UserFactory,
    VerdictFactory,
)

pytestmark = pytest.mark.django_db
Decision = Verdict.Decision
DASHBOARD = "/admin/moderation/dashboard/"


def make_verdict(tag: str, decision: str, margin: float | None = None) -> Verdict:
    rule = Rule.objects.filter(hashtag=tag).first()
    return VerdictFactory(
        hashtag=HashtagFactory(name=tag),
        rule=rule,
        decision=decision,
        margin=margin,
        shown=decision in (Decision.RELEVANT, Decision.NO_RULE),
    )


def days_ago(event: AuditEvent, days: int) -> None:
    AuditEvent.objects.filter(pk=event.pk).update(at=timezone.now() - dt.timedelta(days=days))


@pytest.fixture
def known_setup() -> dict[str, object]:
    """#카페 (food or beverage): 4 decided, 2 overridden (one of them twice, one cleared
    afterwards). #꽃 (flower): 2 decided, one close to its threshold, 1 overridden 3 days ago.
    Waiting for review: the close #꽃 one, an unknown and a no-rule verdict (3)."""
    moderator = ModeratorFactory()
    cafe = [make_verdict("카페", Decision.RELEVANT, 0.5) for _ in range(4)]
    close_flower = make_verdict("꽃", Decision.NOT_RELEVANT, 0.05)
    far_flower = make_verdict("꽃", Decision.NOT_RELEVANT, 0.3)
    make_verdict("카페", Decision.PENDING)  # not decided: neither rate nor queue
    make_verdict("미정", Decision.UNKNOWN)
    make_verdict("일상", Decision.NO_RULE)
    overridden_no_rule = make_verdict("셀카", Decision.NO_RULE)

    verdict_override(verdict=cafe[0], relevant=False, by=moderator)
    verdict_override(verdict=cafe[0], relevant=True, by=moderator)
    verdict_override(verdict=cafe[1], relevant=False, by=moderator)
    verdict_override(verdict=cafe[1], relevant=None, by=moderator)  # cleared: not counted
    verdict_override(verdict=far_flower, relevant=True, by=moderator)
    days_ago(AuditEvent.objects.filter(object_id=str(far_flower.pk)).get(), 3)
    verdict_override(verdict=overridden_no_rule, relevant=False, by=moderator)
    days_ago(AuditEvent.objects.filter(object_id=str(overridden_no_rule.pk)).get(), 40)
    assert close_flower.pk
    return {"moderator": moderator}


def test_review_queue_size_counts_unknown_no_rule_and_close_calls(known_setup) -> None:
    assert review_queue_size() == 3


def test_overrides_per_day_cover_the_last_30_days_with_zeros(known_setup) -> None:
    today = timezone.localdate()
    days = overrides_per_day(days=30, today=today)
    assert len(days) == 30 and days[0][0] == today - dt.timedelta(days=29)
    counts = dict(days)
    assert counts[today] == 3  # the cleared override is not a correction
    assert counts[today - dt.timedelta(days=3)] == 1
    assert sum(counts.values()) == 4  # the one 40 days ago is outside the window


def test_override_rates_per_rule_and_per_concept(known_setup) -> None:
    per_rule, per_concept = override_rates()
    rules = {r.label: (r.overridden, r.decided) for r in per_rule}
    assert rules == {"카페": (2, 4), "꽃": (1, 2)}
    concepts = {r.label: (r.overridden, r.decided) for r in per_concept}
    assert concepts == {"food": (2, 4), "beverage": (2, 4), "flower": (1, 2)}
    assert per_rule[0].percent == 50


def test_the_dashboard_shows_the_numbers_and_a_chart_to_moderators(client, known_setup) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<b data-count="3">3</b>' in body  # queue
    assert '<b data-count="4">4</b>' in body  # overrides in 30 days
    assert body.count('<rect class="bar"') == 30
    today = timezone.localdate().isoformat()
    assert f'data-day="{today}" data-count="3"' in body
    assert 'data-label="카페" data-overridden="2" data-decided="4"' in body
    assert 'data-label="flower" data-overridden="1" data-decided="2"' in body
    assert "<script" not in body.split('id="content"')[1]  # no chart library
    assert 'id="no-overrides"' not in body


def test_the_dashboard_renders_with_nothing_recorded(client) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    body = client.get(DASHBOARD).content.decode()
    assert '<b data-count="0">0</b>' in body and "Nothing decided yet." in body
    assert "No overrides in the last 30 days" in body  # not a blank chart to puzzle over


def test_the_dashboard_is_refused_to_staff_who_are_not_moderators(client) -> None:
    client.force_login(UserFactory(is_staff=True))
    assert client.get(DASHBOARD).status_code == 403


def test_the_dashboard_sends_anonymous_visitors_to_the_admin_login(client) -> None:
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_index_links_the_dashboard_for_moderators_only(client) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    assert reverse("moderation-dashboard") in client.get("/admin/").content.decode()
    client.force_login(UserFactory(is_staff=True))
    assert reverse("moderation-dashboard") not in client.get("/admin/").content.decode()


def test_bars_are_scaled_to_the_busiest_day() -> None:
    today = dt.date(2025, 1, 31)
    bars = day_bars([(today - dt.timedelta(days=1), 2), (today, 4)])
    assert bars[1]["height"] == 2 * bars[0]["height"] and bars[1]["y"] < bars[0]["y"]
    assert day_bars([(today, 0)])[0]["height"] == 0


def test_the_dashboard_shows_the_workers_backlog(client) -> None:
    waiting = PostFactory(status=Post.Status.PENDING)
    Post.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - dt.timedelta(minutes=7))
    PostFactory(status=Post.Status.FAILED)
    owed = PostFactory(status=Post.Status.CLASSIFIED)
    ModelVersion.objects.create(name="v", kind="heads", backbone="b", is_active=True)
    Embedding.objects.create(
        post=owed,
        backbone="b",
        vector=b"",
        dim=0,
        base_scores={},
        completion_queued_at=timezone.now() - dt.timedelta(minutes=3),
    )
    client.force_login(ModeratorFactory(is_staff=True))

    body = client.get(DASHBOARD).content.decode()

    for figure in ("backlog-pending", "backlog-failed", "backlog-owed"):
        assert f'id="{figure}">\n    <b data-count="1">1</b>' in body
    assert "the oldest for 7 min" in body and "the oldest for 3 min" in body
    assert "?status__exact=pending" in body


def test_the_dashboard_names_the_concepts_the_active_version_cannot_see(client) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    ModelVersion.objects.update(is_active=False)
    body = client.get(DASHBOARD).content.decode()
    assert "No model version is active" in body and "성인 adult" in body
    version = ModelVersion.objects.create(
        name="roll-up-test",
        kind=ModelVersion.Kind.ROLLUP,
        backbone="fake",
        is_active=True,
        concepts=["food", "beverage"],
    )
    body = client.get(DASHBOARD).content.decode()
    assert version.name in body and "성인 adult" in body and "음식 food" not in body
    ModelVersion.objects.filter(pk=version.pk).update(
        concepts=list(Concept.objects.values_list("key", flat=True))
    )
    assert 'id="model-unseen"' not in client.get(DASHBOARD).content.decode()


def test_the_dashboard_says_when_the_active_versions_rescoring_failed(client) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    ModelVersion.objects.update(is_active=False)
    version = ModelVersion.objects.create(
        name="heads-test", kind=ModelVersion.Kind.HEADS, backbone="fake", is_active=True
    )
    assert 'id="rescore-failed"' not in client.get(DASHBOARD).content.decode()
    ModelVersion.objects.filter(pk=version.pk).update(
        rescore_status=ModelVersion.Rescore.FAILED,
        rescore_done=2000,
        rescore_total=9000,
        rescore_message="Stopped again with no progress (2000/9000 done): see the workers' log.",
    )
    body = client.get(DASHBOARD).content.decode()
    assert 'id="rescore-failed"' in body and "(2000/9000 posts)" in body
    assert "Stopped again with no progress (2000/9000 done)" in body
    assert f"/admin/moderation/modelversion/{version.pk}/change/" in body
