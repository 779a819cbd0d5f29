"""A backbone's roll-up comes with the thresholds calibrated for its own scores: they become the
concepts' when that roll-up is activated, first use included (audited where one moved); a
backbone without them (the stand-in) leaves the concepts' thresholds as they are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest

from mlmodels.fake import FakeClassifier
from moderation.ingest.activation import model_version_activate
from moderation.ingest.model_versions import model_version_active
from moderation.models import AuditEvent, Concept, ModelVersion

pytestmark = pytest.mark.django_db

CALIBRATED = {"food": 0.31, "dog": 0.82}


class CalibratedClassifier(FakeClassifier):
    version = "fake-calibrated-1"
    thresholds: ClassVar[Mapping[str, float]] = CALIBRATED


def thresholds() -> dict[str, float]:
    return dict(Concept.objects.values_list("key", "threshold"))


def test_first_use_activates_the_roll_up_with_its_thresholds() -> None:
    before = thresholds()
    assert before["food"] != CALIBRATED["food"] and before["dog"] != CALIBRATED["dog"]
    version = model_version_active(backbone=CalibratedClassifier())
    assert version.name == "fake-calibrated-1" and version.thresholds == CALIBRATED
    after = thresholds()
    assert after == {**before, **CALIBRATED}
    (event,) = AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE)
    assert event.actor is None and event.reason.startswith("first use")
    assert event.before == {"version": None, "thresholds": {k: before[k] for k in CALIBRATED}}
    assert event.after["thresholds"] == CALIBRATED


def test_a_backbone_without_thresholds_leaves_the_concepts_alone() -> None:
    Concept.objects.filter(key="food").update(threshold=0.42)  # a moderator's choice
    before = thresholds()
    assert model_version_active(backbone=FakeClassifier()).thresholds == {}
    assert thresholds() == before
    assert not AuditEvent.objects.exists()  # nothing moved


def test_an_active_version_stays_with_its_thresholds() -> None:
    model_version_active(backbone=FakeClassifier())
    Concept.objects.filter(key="food").update(threshold=0.42)
    active = model_version_active(backbone=CalibratedClassifier())
    assert active.name == FakeClassifier.version
    assert thresholds()["food"] == 0.42


def test_activating_the_roll_up_again_brings_back_its_thresholds() -> None:
    rollup = model_version_active(backbone=CalibratedClassifier())
    heads = ModelVersion.objects.create(
        name="heads-1",
        kind=ModelVersion.Kind.HEADS,
        backbone=rollup.backbone,
        thresholds={"food": 0.6},
    )
    model_version_activate(version=heads)
    assert thresholds()["food"] == 0.6
    model_version_activate(version=rollup)
    assert thresholds()["food"] == CALIBRATED["food"]
