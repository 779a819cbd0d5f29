"""Who overrode a verdict, and their note, are shown to moderators only: the API and the
post page tell everyone else only that a moderator decided."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from moderation.judging.overrides import verdict_override
from tests.factories import ModeratorFactory, UserFactory, VerdictFactory

pytestmark = pytest.mark.django_db

NOTE = "Reported twice by the same account"


@pytest.fixture
def overridden():  # type: ignore[no-untyped-def]
    moderator = ModeratorFactory(username="mod_kim")
    verdict = VerdictFactory()
    verdict_override(verdict=verdict, relevant=False, by=moderator, note=NOTE, reason="")
    return verdict


def api_for(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


@pytest.mark.parametrize("who", ["anonymous", "user"])
def test_the_api_hides_the_overriding_moderator_and_note_from_others(overridden, who) -> None:
    api = api_for(UserFactory() if who == "user" else None)
    for data in (
        api.get(f"/api/verdicts/{overridden.pk}/").json(),
        api.get("/api/verdicts/").json()["results"][0],
        api.get(f"/api/posts/{overridden.post_id}/").json()["verdicts"][0],
    ):
        assert data["override"] is False and data["override_at"]
        assert data["override_by"] is None and data["override_note"] is None


def test_the_api_shows_the_overriding_moderator_and_note_to_moderators(overridden) -> None:
    api = api_for(ModeratorFactory())
    data = api.get(f"/api/verdicts/{overridden.pk}/").json()
    assert data["override_by"] == "mod_kim" and data["override_note"] == NOTE
    post = api.get(f"/api/posts/{overridden.post_id}/").json()
    assert post["verdicts"][0]["override_note"] == NOTE


@pytest.mark.parametrize("who", ["anonymous", "user"])
def test_the_post_page_hides_the_overriding_moderator_and_note_from_others(
    client, overridden, who
) -> None:
    if who == "user":
        client.force_login(UserFactory())
    body = client.get(f"/p/{overridden.post_id}/").content.decode()
    assert "Decided by a moderator" in body
    assert "mod_kim" not in body and NOTE not in body


def test_the_post_page_shows_the_overriding_moderator_and_note_to_moderators(
    client, overridden
) -> None:
    client.force_login(ModeratorFactory())
    body = client.get(f"/p/{overridden.post_id}/").content.decode()
    assert "Overridden by mod_kim" in body and NOTE in body
