from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from mlmodels.fake import FakeClassifier
from moderation.judging.overrides import verdict_override
from moderation.judging.reevaluate import verdicts_reevaluate_all
from moderation.models import Rule, Verdict
from posts.models import Post
from tests.factories import ModeratorFactory, UserFactory, upload

pytestmark = pytest.mark.django_db

FOOD = {
    "food": 0.9,
    "beverage": 0.0,
    "animal": 0.0,
    "dog": 0.0,
    "cat": 0.0,
    "flower": 0.0,
    "mountain": 0.0,
    "sea": 0.0,
    "gym": 0.0,
}


@pytest.fixture
def food_post(client, django_capture_on_commit_callbacks) -> Post:  # type: ignore[no-untyped-def]
    FakeClassifier.next_scores = FOOD
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#카페 #꽃"})
    client.logout()
    return Post.objects.get()


def verdict(post: Post, tag: str) -> Verdict:
    return post.verdicts.get(hashtag__name=tag)


def test_override_wins_over_the_model_and_records_who_and_when(food_post: Post) -> None:
    moderator = ModeratorFactory()
    cafe = verdict(food_post, "카페")
    assert cafe.shown is True
    verdict_override(verdict=cafe, relevant=False, by=moderator, note="an ad")
    cafe.refresh_from_db()
    assert cafe.shown is False
    assert cafe.decision == Verdict.Decision.RELEVANT  # the model's word is kept beside it
    assert cafe.override_by == moderator and cafe.override_at is not None


def test_override_survives_re_evaluation_and_can_be_cleared(food_post: Post) -> None:
    moderator = ModeratorFactory()
    flower = verdict(food_post, "꽃")
    assert flower.shown is False
    verdict_override(verdict=flower, relevant=True, by=moderator)
    verdicts_reevaluate_all()
    flower.refresh_from_db()
    assert flower.shown is True and flower.decision == Verdict.Decision.NOT_RELEVANT
    verdict_override(verdict=flower, relevant=None, by=moderator)
    flower.refresh_from_db()
    assert flower.shown is False and flower.override_by is None


def test_a_changed_rule_is_applied_from_stored_scores_without_the_model(food_post: Post) -> None:
    calls = FakeClassifier.calls
    Rule.objects.filter(hashtag="꽃").update(expression="flower or food")
    verdicts_reevaluate_all()
    assert verdict(food_post, "꽃").shown is True
    assert FakeClassifier.calls == calls


def test_moderator_overrides_in_bulk_from_the_admin(client, food_post: Post) -> None:
    moderator = ModeratorFactory(is_staff=True)
    client.force_login(moderator)
    ids = list(food_post.verdicts.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:moderation_verdict_changelist"),
        {"action": "mark_not_relevant", "_selected_action": ids},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 verdict(s) marked not relevant" in response.content.decode()
    assert not Verdict.objects.filter(shown=True).exists()


def test_the_post_page_leads_moderators_to_its_verdicts_in_the_admin(
    client, food_post: Post
) -> None:
    link = reverse("admin:posts_post_change", args=[food_post.pk])
    page = reverse("post-detail", args=[food_post.pk])
    assert link not in client.get(page).content.decode()
    client.force_login(ModeratorFactory(is_staff=True))
    assert link in client.get(page).content.decode()
    found = client.get(reverse("admin:moderation_verdict_changelist"), {"q": str(food_post.pk)})
    assert found.context["cl"].result_count == food_post.verdicts.count() == 2


def test_the_admin_post_page_offers_model_decides_show_and_hide(client, food_post: Post) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    page = client.get(reverse("admin:posts_post_change", args=[food_post.pk])).content.decode()
    for value, label in (("unknown", "Model decides"), ("true", "Show"), ("false", "Hide")):
        assert f'<option value="{value}"' in page and f">{label}</option>" in page
    assert ">Unknown</option>" not in page


def test_staff_without_the_moderator_permission_cannot_override(client, food_post: Post) -> None:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_verdict"),
        Permission.objects.get(codename="change_verdict"),
    )
    client.force_login(staff)
    page = client.get(reverse("admin:moderation_verdict_changelist"))
    assert page.status_code == 200
    assert "mark_not_relevant" not in page.content.decode()
    client.post(
        reverse("admin:moderation_verdict_changelist"),
        {"action": "mark_not_relevant", "_selected_action": [verdict(food_post, "카페").pk]},
    )
    assert verdict(food_post, "카페").shown is True


def test_admin_rejects_a_malformed_rule_with_a_clear_message(client) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    response = client.post(
        reverse("admin:moderation_rule_add"),
        {"hashtag": "#디저트", "expression": "food and (beverage", "description": ""},
    )
    assert response.status_code == 200
    assert "position" in response.content.decode()
    assert not Rule.objects.filter(hashtag="디저트").exists()


def test_admin_saves_a_valid_rule_normalised_and_re_applies_it(
    client, food_post: Post, django_capture_on_commit_callbacks
) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:moderation_rule_change", args=[Rule.objects.get(hashtag="꽃").pk]),
            {"hashtag": "꽃", "expression": "꽃 OR 음식", "description": "test"},
        )
    assert response.status_code == 302
    assert Rule.objects.get(hashtag="꽃").expression == "flower or food"
    assert verdict(food_post, "꽃").shown is True


def test_admin_post_list_shows_thumbnails_and_verdicts(client, food_post: Post) -> None:
    client.force_login(ModeratorFactory(is_staff=True))
    body = client.get(reverse("admin:posts_post_changelist")).content.decode()
    assert food_post.thumbnail.url in body
    assert "#카페" in body


def _inline_payload(post: Post, overrides: dict[str, str]) -> dict[str, object]:
    verdicts = list(post.verdicts.select_related("hashtag").order_by("pk"))
    data: dict[str, object] = {
        "caption": post.caption,
        "verdicts-TOTAL_FORMS": len(verdicts),
        "verdicts-INITIAL_FORMS": len(verdicts),
        "verdicts-MIN_NUM_FORMS": 0,
        "verdicts-MAX_NUM_FORMS": 1000,
    }
    for i, v in enumerate(verdicts):
        data[f"verdicts-{i}-id"] = v.pk
        data[f"verdicts-{i}-post"] = post.pk
        data[f"verdicts-{i}-override"] = overrides.get(v.hashtag.name, "unknown")
        data[f"verdicts-{i}-override_note"] = "hand-checked" if v.hashtag.name in overrides else ""
    return data


def test_moderator_overrides_one_verdict_on_the_post_page_of_the_admin(
    client, food_post: Post
) -> None:
    moderator = ModeratorFactory(is_staff=True)
    client.force_login(moderator)
    url = reverse("admin:posts_post_change", args=[food_post.pk])
    response = client.post(url, _inline_payload(food_post, {"꽃": "true"}))
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    flower, cafe = verdict(food_post, "꽃"), verdict(food_post, "카페")
    assert flower.shown is True and flower.override is True and flower.override_by == moderator
    assert flower.override_note == "hand-checked"
    assert cafe.override is None and cafe.shown is True


def test_the_post_page_names_the_moderators_decision_beside_the_models(
    client, food_post: Post
) -> None:
    verdict_override(verdict=verdict(food_post, "꽃"), relevant=True, by=ModeratorFactory())
    page = client.get(reverse("post-detail", args=[food_post.pk])).content.decode()
    assert "by a moderator · the model's verdict: Not relevant" in page
    assert page.count("badge-shown") == 2  # 카페 by the model, 꽃 by the moderator


def test_a_verdict_not_yet_judged_is_marked_as_such_not_as_hidden(client) -> None:
    client.force_login(UserFactory())
    client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#카페"})  # no commit
    post = Post.objects.get()
    page = client.get(reverse("post-detail", args=[post.pk])).content.decode()
    assert "판정 중 Being judged" in page and "badge-hidden" not in page
    assert "TagLens will look for text in this photo." in page


def test_a_concept_the_rule_wants_absent_is_marked_against_it_when_present(
    client, django_capture_on_commit_callbacks
) -> None:
    Rule.objects.create(hashtag="밥스타그램", expression="food and not beverage")
    FakeClassifier.next_scores = {**FOOD, "beverage": 0.95}
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#밥스타그램"})
    post = Post.objects.get()
    page = client.get(reverse("post-detail", args=[post.pk])).content.decode()
    assert "present, and the rule asks for none" in page
    assert "absent, as the rule asks" not in page
    assert "The photo does not fit the rule" in page
    FakeClassifier.next_scores = FOOD
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#밥스타그램"})
    post = Post.objects.latest("pk")
    page = client.get(reverse("post-detail", args=[post.pk])).content.decode()
    assert "absent, as the rule asks" in page and "The photo fits the rule" in page
