"""Every moderator's change is an audit event with who, before, after and why; overrides can be
undone; nobody edits or deletes the trail."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.test import APIClient

from moderation.ingest.activation import model_version_activate
from moderation.ingest.model_versions import model_version_register
from moderation.judging.audit import UndoRefused
from moderation.judging.overrides import (
    verdict_override,
    verdict_override_undo,
    verdicts_override_bulk,
)
from moderation.models import AuditEvent, Concept, KeywordMapping, Rule, Verdict
from tests.factories import HashtagFactory, ModeratorFactory, UserFactory, VerdictFactory

pytestmark = pytest.mark.django_db
Action = AuditEvent.Action


def cafe_verdict(**kwargs: object) -> Verdict:
    """A verdict under #카페, decided by the seeded rule `food or beverage`."""
    return VerdictFactory(
        hashtag=HashtagFactory(name="카페"), rule=Rule.objects.get(hashtag="카페"), **kwargs
    )


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def moderator():  # type: ignore[no-untyped-def]
    return ModeratorFactory(is_staff=True)


@pytest.fixture
def api(moderator) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(moderator)
    return client


# --- Overrides ---------------------------------------------------------------------------


def test_an_override_records_who_before_after_the_rules_concepts_and_the_reason(moderator) -> None:
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=False, by=moderator, note="an ad")
    [event] = events(Action.OVERRIDE)
    assert event.actor == moderator
    assert event.object_type == "verdict" and event.object_id == str(verdict.pk)
    assert event.before is not None and event.after is not None
    assert event.before["override"] is None and event.before["shown"] is True
    assert event.after["override"] is False and event.after["shown"] is False
    assert event.after["override_by"] == moderator.username
    assert event.reason == "an ad"  # the note, when no separate reason is given
    assert event.concept_keys == ["beverage", "food"]
    assert event.rule_hashtag == "카페"


def test_clearing_an_override_that_is_not_there_records_nothing(moderator) -> None:
    verdict_override(verdict=cafe_verdict(), relevant=None, by=moderator)
    assert not AuditEvent.objects.exists()


def test_bulk_override_records_one_event_per_verdict(moderator) -> None:
    first, second = cafe_verdict(), cafe_verdict()
    count = verdicts_override_bulk(
        verdicts=Verdict.objects.all(), relevant=False, by=moderator, reason="spam wave"
    )
    assert count == 2
    recorded = events(Action.OVERRIDE)
    assert {e.object_id for e in recorded} == {str(first.pk), str(second.pk)}
    assert {e.reason for e in recorded} == {"spam wave"}


def test_bulk_override_in_the_admin_takes_a_reason_from_the_action_bar(client, moderator) -> None:
    verdict = cafe_verdict()
    client.force_login(moderator)
    changelist = reverse("admin:moderation_verdict_changelist")
    assert 'name="reason"' in client.get(changelist).content.decode()
    response = client.post(
        changelist,
        {"action": "mark_not_relevant", "_selected_action": [verdict.pk], "reason": "ad account"},
        follow=True,
    )
    assert "1 verdict(s) marked not relevant" in response.content.decode()
    [event] = events(Action.OVERRIDE)
    assert (event.actor, event.reason, event.after["override"]) == (moderator, "ad account", False)


def test_an_inline_override_on_the_post_page_records_the_stored_value_as_before(
    client, moderator
) -> None:
    verdict = cafe_verdict()
    post = verdict.post
    client.force_login(moderator)
    response = client.post(
        reverse("admin:posts_post_change", args=[post.pk]),
        {
            "caption": post.caption,
            "verdicts-TOTAL_FORMS": 1,
            "verdicts-INITIAL_FORMS": 1,
            "verdicts-MIN_NUM_FORMS": 0,
            "verdicts-MAX_NUM_FORMS": 1000,
            "verdicts-0-id": verdict.pk,
            "verdicts-0-post": post.pk,
            "verdicts-0-override": "false",
            "verdicts-0-override_note": "checked by hand",
        },
    )
    assert response.status_code == 302
    [event] = events(Action.OVERRIDE)
    # The form had already written "hidden" onto the instance; before comes from the row.
    assert event.before["override"] is None and event.after["override"] is False


# --- Undo --------------------------------------------------------------------------------


def test_undo_restores_the_previous_override_and_is_itself_audited(moderator) -> None:
    other = ModeratorFactory()
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=True, by=other, note="first look")
    verdict_override(verdict=verdict, relevant=False, by=moderator, note="second look")
    second = events(Action.OVERRIDE)[-1]

    verdict_override_undo(event=second, by=moderator, reason="too hasty")

    verdict.refresh_from_db()
    assert verdict.override is True and verdict.shown is True
    assert verdict.override_by == other and verdict.override_note == "first look"
    [undo] = events(Action.OVERRIDE_UNDO)
    assert undo.actor == moderator and undo.reason == "too hasty"
    assert undo.before["override"] is False and undo.after["override"] is True
    assert undo.rule_hashtag == "카페"


def test_undoing_the_first_override_returns_the_verdict_to_the_model(moderator) -> None:
    verdict = cafe_verdict(decision=Verdict.Decision.NOT_RELEVANT, shown=False)
    verdict_override(verdict=verdict, relevant=True, by=moderator)
    verdict_override_undo(event=events(Action.OVERRIDE)[0], by=moderator)
    verdict.refresh_from_db()
    assert verdict.override is None and verdict.override_by is None and verdict.shown is False


def test_undo_is_refused_when_the_verdict_changed_since_the_event(moderator) -> None:
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=False, by=moderator)
    first = events(Action.OVERRIDE)[0]
    verdict_override(verdict=verdict, relevant=True, by=moderator)
    with pytest.raises(UndoRefused):
        verdict_override_undo(event=first, by=moderator)
    verdict.refresh_from_db()
    assert verdict.override is True  # the later override is kept


def test_only_overrides_can_be_undone(moderator) -> None:
    rule = Rule.objects.get(hashtag="카페")
    from moderation.judging.catalog import rule_save

    rule.description = "changed"
    rule_save(rule=rule, by=moderator)
    with pytest.raises(UndoRefused):
        verdict_override_undo(event=events(Action.RULE_UPDATE)[0], by=moderator)


def test_moderators_undo_through_the_api(api, moderator) -> None:
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=False, by=moderator)
    event = events(Action.OVERRIDE)[0]
    response = api.post(f"/api/audit/{event.pk}/undo/", {"reason": "mistake"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verdict"]["override"] is None and body["verdict"]["shown"] is True
    assert body["event"]["action"] == "override_undo" and body["event"]["reason"] == "mistake"
    again = api.post(f"/api/audit/{event.pk}/undo/", {}, format="json")
    assert again.status_code == 409  # already undone: the verdict no longer matches


def test_non_moderators_cannot_undo_or_read_the_trail(moderator) -> None:
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=False, by=moderator)
    event = events(Action.OVERRIDE)[0]
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    assert client.post(f"/api/audit/{event.pk}/undo/", {}, format="json").status_code == 403
    assert client.get("/api/audit/").status_code == 403
    assert APIClient().post(f"/api/audit/{event.pk}/undo/").status_code in (401, 403)
    verdict.refresh_from_db()
    assert verdict.override is False
    assert not AuditEvent.objects.filter(action=Action.OVERRIDE_UNDO).exists()


def test_moderators_undo_from_the_admin_history(client, moderator) -> None:
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=False, by=moderator)
    event = events(Action.OVERRIDE)[0]
    client.force_login(moderator)
    listing = client.get(reverse("admin:moderation_auditevent_changelist")).content.decode()
    undo_url = reverse("admin:moderation_auditevent_undo", args=[event.pk])
    assert undo_url in listing
    assert "Undo the override" in client.get(undo_url).content.decode()
    response = client.post(undo_url, {"reason": "wrong post"})
    assert response.status_code == 302
    verdict.refresh_from_db()
    assert verdict.override is None
    assert events(Action.OVERRIDE_UNDO)[0].reason == "wrong post"


def test_staff_without_the_moderator_permission_cannot_undo_in_the_admin(client, moderator) -> None:
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=False, by=moderator)
    event = events(Action.OVERRIDE)[0]
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(staff)
    response = client.post(reverse("admin:moderation_auditevent_undo", args=[event.pk]))
    assert response.status_code == 403
    verdict.refresh_from_db()
    assert verdict.override is False


# --- Rules, keyword mappings, concepts ---------------------------------------------------


def test_rule_create_update_and_delete_in_the_admin_are_audited(client, moderator) -> None:
    client.force_login(moderator)
    client.post(
        reverse("admin:moderation_rule_add"),
        {"hashtag": "#디저트", "expression": "food", "description": "", "reason": "new menu"},
    )
    rule = Rule.objects.get(hashtag="디저트")
    client.post(
        reverse("admin:moderation_rule_change", args=[rule.pk]),
        {"hashtag": "디저트", "expression": "food or beverage", "description": "", "reason": ""},
    )
    mapping = KeywordMapping.objects.create(word="케이크", rule=rule)
    response = client.post(reverse("admin:moderation_rule_delete", args=[rule.pk]), {"post": "yes"})
    assert response.status_code == 302
    [created] = events(Action.RULE_CREATE)
    assert created.before is None and created.after["expression"] == "food"
    assert (created.actor, created.reason) == (moderator, "new menu")
    [updated] = events(Action.RULE_UPDATE)
    assert updated.before["expression"] == "food"
    assert updated.after["expression"] == "food or beverage"
    [deleted] = events(Action.RULE_DELETE)
    assert deleted.before["expression"] == "food or beverage" and deleted.after is None
    # The mapping went with the rule (cascade) and is recorded, not lost silently.
    [mapping_gone] = events(Action.KEYWORD_DELETE)
    assert mapping_gone.object_id == str(mapping.pk)
    assert mapping_gone.before == {"word": "케이크", "rule": "디저트"}


def test_bulk_delete_in_the_admin_records_every_rule(client, moderator) -> None:
    client.force_login(moderator)
    ids = list(Rule.objects.filter(hashtag__in=["카페", "꽃"]).values_list("pk", flat=True))
    client.post(
        reverse("admin:moderation_rule_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not Rule.objects.filter(pk__in=ids).exists()
    assert {e.before["hashtag"] for e in events(Action.RULE_DELETE)} == {"카페", "꽃"}


def test_rule_changes_through_the_api_are_audited_the_same_way(api, moderator) -> None:
    created = api.post(
        "/api/rules/", {"hashtag": "디저트", "expression": "food", "reason": "menu"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert "reason" not in created.json()
    rule_id = created.json()["id"]
    api.patch(f"/api/rules/{rule_id}/", {"expression": "음식 or 음료"}, format="json")
    assert api.delete(f"/api/rules/{rule_id}/?reason=duplicate").status_code == 204
    create, update, delete = (
        events(Action.RULE_CREATE),
        events(Action.RULE_UPDATE),
        events(Action.RULE_DELETE),
    )
    assert create[0].after["hashtag"] == "디저트" and create[0].reason == "menu"
    assert update[0].before["expression"] == "food"
    assert update[0].after["expression"] == "food or beverage"
    assert delete[0].before["expression"] == "food or beverage" and delete[0].reason == "duplicate"
    assert {e.actor for e in [*create, *update, *delete]} == {moderator}
    assert Rule.objects.get(hashtag="카페").updated_by is None  # untouched rules keep theirs


def test_keyword_mapping_changes_are_audited_in_admin_and_api(client, api, moderator) -> None:
    client.force_login(moderator)
    food = Rule.objects.get(hashtag="음식")
    cafe = Rule.objects.get(hashtag="카페")
    client.post(
        reverse("admin:moderation_keywordmapping_add"),
        {"word": "붕어빵", "rule": food.pk, "reason": "street food"},
    )
    mapping = KeywordMapping.objects.get(word="붕어빵")
    api.patch(f"/api/keywords/{mapping.pk}/", {"rule": "카페"}, format="json")
    api.delete(f"/api/keywords/{mapping.pk}/")
    [created] = events(Action.KEYWORD_CREATE)
    assert created.after == {"word": "붕어빵", "rule": "음식"}
    assert created.reason == "street food"
    [updated] = events(Action.KEYWORD_UPDATE)
    assert updated.before["rule"] == food.hashtag and updated.after["rule"] == cafe.hashtag
    [deleted] = events(Action.KEYWORD_DELETE)
    assert deleted.before == {"word": "붕어빵", "rule": "카페"}


def test_a_threshold_changed_in_the_concept_list_is_audited(client, moderator) -> None:
    food = Concept.objects.get(key="food")
    concepts = list(Concept.objects.order_by("key"))  # the changelist's own order
    data: dict[str, object] = {
        "form-TOTAL_FORMS": len(concepts),
        "form-INITIAL_FORMS": len(concepts),
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for i, concept in enumerate(concepts):
        data[f"form-{i}-id"] = concept.pk
        data[f"form-{i}-threshold"] = 0.65 if concept.key == "food" else concept.threshold
    client.force_login(moderator)
    response = client.post(reverse("admin:moderation_concept_changelist"), data)
    assert response.status_code == 302
    [event] = events(Action.CONCEPT_UPDATE)  # only the concept that changed
    assert event.object_id == str(food.pk)
    assert event.before["threshold"] == food.threshold and event.after["threshold"] == 0.65
    assert event.actor == moderator


def test_a_concept_name_change_through_the_api_is_audited(api) -> None:
    cat = Concept.objects.get(key="cat")
    response = api.patch(
        f"/api/concepts/{cat.pk}/", {"name_en": "Kitten", "reason": "style"}, format="json"
    )
    assert response.status_code == 200, response.content
    [event] = events(Action.CONCEPT_UPDATE)
    assert event.before["name_en"] == cat.name_en and event.after["name_en"] == "Kitten"
    assert event.reason == "style"


def test_model_activation_records_the_previous_version_and_thresholds(moderator) -> None:
    food_threshold = Concept.objects.get(key="food").threshold
    old = model_version_register(
        name="old",
        backbone="fake",
        concepts=["food"],
        heads=b"",
        thresholds={},
        metrics={},
        training={},
    )
    new = model_version_register(
        name="new",
        backbone="fake",
        concepts=["food"],
        heads=b"",
        thresholds={"food": 0.8},
        metrics={},
        training={},
    )
    model_version_activate(version=old, by=moderator)
    model_version_activate(version=new, by=moderator, reason="better F1")
    event = events(Action.MODEL_ACTIVATE)[-1]
    assert event.actor == moderator and event.reason == "better F1"
    before = {"version": "old", "version_id": old.pk, "thresholds": {"food": food_threshold}}
    assert event.before == before
    assert event.after == {"version": "new", "version_id": new.pk, "thresholds": {"food": 0.8}}


# --- The trail in the admin -------------------------------------------------------------


def test_nobody_can_add_change_or_delete_audit_events_in_the_admin(client) -> None:
    verdict = cafe_verdict()
    superuser = UserFactory(is_staff=True, is_superuser=True)
    verdict_override(verdict=verdict, relevant=False, by=superuser, note="x")
    event = events(Action.OVERRIDE)[0]
    client.force_login(superuser)
    assert client.get(reverse("admin:moderation_auditevent_add")).status_code == 403
    delete = reverse("admin:moderation_auditevent_delete", args=[event.pk])
    assert client.post(delete).status_code == 403
    change = reverse("admin:moderation_auditevent_change", args=[event.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    client.post(change, {"reason": "rewritten", "action": "rule_delete"})
    listing = client.get(reverse("admin:moderation_auditevent_changelist")).content.decode()
    assert "delete_selected" not in listing
    client.post(
        reverse("admin:moderation_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    event.refresh_from_db()
    assert event.reason == "x" and event.action == Action.OVERRIDE


def test_the_audit_list_shows_before_and_after_and_filters_by_action(client, moderator) -> None:
    rule = Rule.objects.get(hashtag="꽃")
    client.force_login(moderator)
    client.post(
        reverse("admin:moderation_rule_change", args=[rule.pk]),
        {"hashtag": "꽃", "expression": "flower or food", "description": "", "reason": "bouquets"},
    )
    listing = client.get(
        reverse("admin:moderation_auditevent_changelist"), {"action__exact": "rule_update"}
    ).content.decode()
    assert "<del>flower</del> → <ins>flower or food</ins>" in listing
    assert "bouquets" in listing
    found = client.get(reverse("admin:moderation_auditevent_changelist"), {"q": "bouquets"})
    assert "1 audit event" in found.content.decode()


def test_a_rule_page_shows_its_history(client, moderator) -> None:
    rule = Rule.objects.get(hashtag="꽃")
    client.force_login(moderator)
    url = reverse("admin:moderation_rule_change", args=[rule.pk])
    client.post(url, {"hashtag": "꽃", "expression": "flower or food", "reason": "bouquets"})
    page = client.get(url).content.decode()
    assert "Rule changed" in page and "bouquets" in page
    assert f"object_type=rule&amp;object_id={rule.pk}" in page


def test_a_verdict_page_shows_its_overrides(client, moderator) -> None:
    verdict = cafe_verdict()
    verdict_override(verdict=verdict, relevant=False, by=moderator, note="an ad")
    client.force_login(moderator)
    page = client.get(reverse("admin:moderation_verdict_change", args=[verdict.pk]))
    assert "Verdict overridden" in page.content.decode()
