"""A rule, mapping or concept change is re-applied in a task that may outlast the ordinary task
timeout: every rule over 1M posts took 76 s with nothing to change (docs/scaling.md)."""

from __future__ import annotations

from typing import Any

import pytest

from moderation.judging import reevaluate
from moderation.judging.catalog import rule_save
from moderation.models import Rule

pytestmark = pytest.mark.django_db


def test_a_rule_change_is_reapplied_under_the_long_timeout(
    settings: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    queued: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(reevaluate, "async_task", lambda *a, **kw: queued.append((a, kw)))
    rule = Rule.objects.get(hashtag="카페")
    rule.expression = "beverage"
    with django_capture_on_commit_callbacks(execute=True):
        rule_save(rule=rule, by=None)
    (args, options), *_ = queued
    assert args[0] == reevaluate.REEVALUATE_TASK and args[1]["rules"] == [rule.pk]
    assert options["timeout"] == settings.TAGLENS_RESCORE_TIMEOUT > settings.Q_CLUSTER["timeout"]
