"""Activating a model version rescores stored embeddings without the network; rollback."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from mlmodels.concepts.heads import ConceptHeads
from mlmodels.fake import EMBEDDING_DIM, FakeClassifier
from moderation.ingest.activation import (
    model_version_activate,
    model_version_previous,
    model_version_rollback,
)
from moderation.ingest.classifier import embedding_vector
from moderation.ingest.model_versions import model_version_register
from moderation.judging.verdicts import verdicts_explain
from moderation.models import AuditEvent, Concept, Embedding, ModelVersion, Verdict
from posts.models import Post
from tests.factories import ModeratorFactory, UserFactory, jpeg_bytes, upload

pytestmark = pytest.mark.django_db


def red_means_food_heads() -> ConceptHeads:
    """Hand-made heads: the fake embedding starts with the mean red channel; red → food."""
    weights = np.zeros((EMBEDDING_DIM, 1), dtype=np.float32)
    weights[0, 0] = 12.0
    return ConceptHeads(
        concepts=("food",),
        source={"food": "head"},
        mean=np.zeros(EMBEDDING_DIM, dtype=np.float32),
        scale=np.ones(EMBEDDING_DIM, dtype=np.float32),
        weights=weights,
        bias=np.array([-6.0], dtype=np.float32),
        signal_keys=(),
        backbone=FakeClassifier.version,
        thresholds={"food": 0.7},
    )


@pytest.fixture
def red_post(client, django_capture_on_commit_callbacks) -> Post:  # type: ignore[no-untyped-def]
    FakeClassifier.next_scores = {"food": 0.0}  # the roll-up sees no food
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("post-upload"),
            {"image": upload("red.jpg", jpeg_bytes((250, 10, 10))), "hashtags": "#음식"},
        )
    return Post.objects.get()


def heads_version(name: str = "fake-1+heads-test") -> ModelVersion:
    heads = red_means_food_heads()
    return model_version_register(
        name=name,
        backbone=FakeClassifier.version,
        concepts=list(heads.concepts),
        heads=heads.to_bytes(),
        thresholds=heads.thresholds,
        metrics={"macro_f1": 1.0},
        training={"source": "hand-made for a test"},
    )


def food_verdict(post: Post) -> Verdict:
    verdict = post.verdicts.get(hashtag__name="음식")
    verdicts_explain([verdict])
    return verdict


def test_activation_rescores_from_stored_embeddings_without_running_the_backbone(
    red_post: Post, django_capture_on_commit_callbacks
) -> None:
    assert food_verdict(red_post).shown is False
    calls = FakeClassifier.calls
    version = heads_version()

    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version, by=ModeratorFactory())

    assert FakeClassifier.calls == calls  # the network was not run
    verdict = food_verdict(red_post)
    assert verdict.shown is True
    assert verdict.explanation["model_version"] == version.name
    version.refresh_from_db()
    assert version.rescore_status == ModelVersion.Rescore.DONE
    assert (version.rescore_done, version.rescore_total) == (1, 1)
    assert Concept.objects.get(key="food").threshold == pytest.approx(0.7)
    # Only food is scored by this version: the rest are now unsupported, never invented.
    classification = red_post.classifications.get(model_version=version)
    assert set(classification.scores) == {"food"}
    assert "beverage" in classification.unsupported


def test_rows_stored_in_float32_before_float16_are_rescored_alike(
    red_post: Post, django_capture_on_commit_callbacks
) -> None:
    embedding = red_post.embeddings.get()
    assert len(bytes(embedding.vector)) == 2 * embedding.dim  # stored as float16
    vector = embedding_vector(embedding)
    Embedding.objects.filter(pk=embedding.pk).update(vector=vector.astype("<f4").tobytes())
    version = heads_version()

    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version, by=ModeratorFactory())

    food = red_post.classifications.get(model_version=version).scores["food"]
    assert food == pytest.approx(1 / (1 + np.exp(6.0 - 12.0 * vector[0])), abs=1e-6)
    assert food_verdict(red_post).shown is True


def test_rollback_restores_the_previous_verdicts(
    red_post: Post, django_capture_on_commit_callbacks
) -> None:
    baseline = ModelVersion.objects.get(is_active=True)
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=heads_version())
    assert food_verdict(red_post).shown is True
    calls = FakeClassifier.calls

    with django_capture_on_commit_callbacks(execute=True):
        restored = model_version_rollback()

    assert restored == baseline
    assert ModelVersion.objects.get(is_active=True) == baseline
    assert food_verdict(red_post).shown is False
    assert FakeClassifier.calls == calls


def test_new_uploads_are_scored_by_the_active_heads(
    client, red_post: Post, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=heads_version())
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("post-upload"),
            {"image": upload("blue.jpg", jpeg_bytes((10, 10, 250))), "hashtags": "#음식"},
        )
    blue = Post.objects.latest("id")
    assert food_verdict(blue).shown is False
    assert food_verdict(red_post).shown is True


def test_moderators_activate_and_roll_back_in_the_admin(
    client, red_post: Post, django_capture_on_commit_callbacks
) -> None:
    version = heads_version()
    client.force_login(ModeratorFactory(is_staff=True))
    url = reverse("admin:moderation_modelversion_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"action": "activate", "_selected_action": [version.pk], "confirm": "yes"},
            follow=True,
        )
    assert "is active; rescoring" in response.content.decode()
    assert food_verdict(red_post).shown is True
    page = client.get(url).content.decode()
    assert "Done 1/1" in page
    baseline = model_version_previous(current=version)
    assert baseline is not None
    rollback = {"action": "rollback", "_selected_action": [version.pk], "confirm": "yes"}
    rollback["target"] = baseline.pk
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, rollback, follow=True)
    assert food_verdict(red_post).shown is False


def test_the_activate_action_asks_first_and_changes_nothing_until_confirmed(
    client, red_post: Post, django_capture_on_commit_callbacks
) -> None:
    version = heads_version()
    client.force_login(ModeratorFactory(is_staff=True))
    url = reverse("admin:moderation_modelversion_changelist")
    chosen = {"action": "activate", "_selected_action": [version.pk], "reason": "better #카페"}
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(url, chosen)
    page = asked.content.decode()
    assert asked.status_code == 200 and "Activate fake-1+heads-test?" in page
    assert 'name="confirm" value="yes"' in page and 'value="better #카페"' in page
    version.refresh_from_db()
    assert version.is_active is False and food_verdict(red_post).shown is False
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {**chosen, "confirm": "yes"}, follow=True)
    assert "is active; rescoring" in done.content.decode()
    version.refresh_from_db()
    assert version.is_active is True and food_verdict(red_post).shown is True
    event = AuditEvent.objects.get(action=AuditEvent.Action.MODEL_ACTIVATE)
    assert event.reason == "better #카페"


def test_the_activate_action_refuses_several_versions_or_the_active_one(
    client, red_post: Post
) -> None:
    active = ModelVersion.objects.get(is_active=True)
    other = heads_version()
    client.force_login(ModeratorFactory(is_staff=True))
    url = reverse("admin:moderation_modelversion_changelist")
    both = {"action": "activate", "_selected_action": [active.pk, other.pk], "confirm": "yes"}
    page = client.post(url, both, follow=True).content.decode()
    assert "Choose one version: only one is active at a time." in page
    again = {"action": "activate", "_selected_action": [active.pk], "confirm": "yes"}
    page = client.post(url, again, follow=True).content.decode()
    assert "is already active." in page  # the admin capitalises the name
    assert ModelVersion.objects.get(is_active=True) == active
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).exists()


@pytest.fixture
def heads_active(client, red_post: Post, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """(the version active before, the heads version now active), a moderator signed in."""
    baseline = ModelVersion.objects.get(is_active=True)
    version = heads_version()
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=version)
    client.force_login(ModeratorFactory(is_staff=True))
    return baseline, version


CHANGELIST = "admin:moderation_modelversion_changelist"


def test_the_roll_back_action_asks_first_and_changes_nothing_until_confirmed(
    client, red_post: Post, heads_active, django_capture_on_commit_callbacks
) -> None:
    baseline, version = heads_active
    url = reverse(CHANGELIST)
    chosen = {"action": "rollback", "_selected_action": [version.pk], "reason": "too eager #카페"}
    with django_capture_on_commit_callbacks() as queued:
        asked = client.post(url, chosen)
    page = asked.content.decode()
    assert asked.status_code == 200 and f"Roll back fake-1+heads-test to {baseline.name}?" in page
    assert 'name="action" value="rollback"' in page and 'name="confirm" value="yes"' in page
    assert 'value="too eager #카페"' in page
    assert queued == []  # no rescoring was queued
    assert ModelVersion.objects.get(is_active=True) == version
    assert food_verdict(red_post).shown is True
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).count() == 1
    assert f'name="target" value="{baseline.pk}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {**chosen, "confirm": "yes", "target": baseline.pk}, follow=True)
    assert f"Rolled back to {baseline.name}; rescoring" in done.content.decode()
    assert ModelVersion.objects.get(is_active=True) == baseline
    assert food_verdict(red_post).shown is False
    event = AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).latest("pk")
    assert event.reason == "too eager #카페"
    assert (event.before["version"], event.after["version"]) == (version.name, baseline.name)


def test_a_confirmed_roll_back_does_nothing_when_the_version_before_changed_meanwhile(
    client, heads_active, django_capture_on_commit_callbacks
) -> None:
    baseline, version = heads_active
    url = reverse(CHANGELIST)
    chosen = {"action": "rollback", "_selected_action": [version.pk]}
    asked = client.post(url, chosen).content.decode()
    assert f'name="target" value="{baseline.pk}"' in asked
    other = heads_version("fake-1+heads-other")
    with django_capture_on_commit_callbacks(execute=True):  # another moderator, meanwhile
        model_version_activate(version=other)
        model_version_activate(version=version)
    events = AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).count()

    with django_capture_on_commit_callbacks(execute=True) as queued:
        page = client.post(url, {**chosen, "confirm": "yes", "target": baseline.pk}).content
    text = page.decode()
    assert "The versions changed since you were asked" in text
    assert f"Roll back fake-1+heads-test to {other.name}?" in text
    assert queued == []
    assert ModelVersion.objects.get(is_active=True) == version
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).count() == events


def test_the_service_rolls_back_only_to_the_version_it_was_told(
    heads_active, django_capture_on_commit_callbacks
) -> None:
    baseline, version = heads_active
    assert model_version_rollback(to=version) is None
    assert ModelVersion.objects.get(is_active=True) == version
    with django_capture_on_commit_callbacks(execute=True):
        assert model_version_rollback(to=baseline) == baseline


def test_the_roll_back_action_says_when_there_is_no_earlier_version(client, red_post: Post) -> None:
    baseline = ModelVersion.objects.get(is_active=True)
    client.force_login(ModeratorFactory(is_staff=True))
    url = reverse("admin:moderation_modelversion_changelist")
    chosen = {"action": "rollback", "_selected_action": [baseline.pk]}
    page = client.post(url, chosen, follow=True).content.decode()
    assert "There is no earlier version to roll back to" in page
    assert f"{baseline.name} is the only version that has been active." in page
    assert 'name="confirm"' not in page
    assert ModelVersion.objects.get(is_active=True) == baseline
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).exists()


def test_the_roll_back_action_refuses_a_selection_other_than_the_active_version(
    client, heads_active
) -> None:
    baseline, version = heads_active
    url = reverse(CHANGELIST)
    for selected in ([baseline.pk], [baseline.pk, version.pk]):
        chosen = {"action": "rollback", "_selected_action": selected, "confirm": "yes"}
        page = client.post(url, chosen, follow=True).content.decode()
        assert "Select the active version, fake-1+heads-test, to roll it back." in page
    assert ModelVersion.objects.get(is_active=True) == version
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ACTIVATE).count() == 1


def test_staff_without_moderator_rights_cannot_activate(client, red_post: Post) -> None:
    version = heads_version()
    staff = UserFactory(is_staff=True, is_superuser=False)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    staff.user_permissions.add(Permission.objects.get(codename="change_modelversion"))
    client.force_login(staff)
    client.post(
        reverse("admin:moderation_modelversion_changelist"),
        {"action": "activate", "_selected_action": [version.pk]},
    )
    version.refresh_from_db()
    assert version.is_active is False
