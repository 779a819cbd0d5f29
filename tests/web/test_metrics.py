"""GET /metrics: off without a token; with one, the workers' backlog and the moderators'
queue as Prometheus gauges, for a scraper that sends the token."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from posts.models import Post
from tests.factories import PostFactory
from tests.web.judged import judged_post

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me-please-0123456789"


def gauges(text: str) -> dict[str, float]:
    samples = re.findall(r"^(taglens_\w+(?:\{[^}]*\})?) (\S+)$", text, re.M)
    return {name: float(value) for name, value in samples}


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(
    client, settings: Any
) -> None:
    settings.TAGLENS_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.TAGLENS_METRICS_TOKEN = TOKEN
    refused = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics").status_code == 401


def test_the_backlog_and_queue_as_gauges(
    client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TAGLENS_METRICS_TOKEN = TOKEN
    judged_post(django_capture_on_commit_callbacks, ["카페"], food=0.9)
    stuck = PostFactory(status=Post.Status.PENDING)
    Post.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - dt.timedelta(minutes=7))
    PostFactory(status=Post.Status.FAILED)

    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    found = gauges(answer.content.decode())
    assert found['taglens_posts{status="pending"}'] == 1
    assert found['taglens_posts{status="failed"}'] == 1
    assert 420 <= found["taglens_pending_oldest_seconds"] < 480
    assert found["taglens_review_queue_size"] >= 0
    assert "# TYPE taglens_broker_queue_size gauge" in answer.content.decode()
    active = [name for name in found if name.startswith("taglens_model_version_info")]
    assert len(active) == 1 and 'version="' in active[0]
