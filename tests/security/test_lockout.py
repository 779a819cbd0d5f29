"""Repeated failed logins lock the account for that client address: on the login page, the
admin's login and POST /api/auth/token/ (django-axes)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"


@pytest.fixture
def user(settings):  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 3
    return UserFactory(username="mina")


def fail(client: Client, url: str, times: int, username: str = "mina") -> list[int]:
    return [
        client.post(url, {"username": username, "password": "wrong"}).status_code
        for _ in range(times)
    ]


def test_the_login_page_locks_after_repeated_failures_even_for_the_right_password(
    client, user
) -> None:
    assert fail(client, "/accounts/login/", 2) == [200, 200]
    assert (
        client.post("/accounts/login/", {"username": "mina", "password": "wrong"}).status_code
        == 429
    )
    response = client.post("/accounts/login/", {"username": "mina", "password": PASSWORD})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed logins (3)" in body and "Try again in 15 minutes" in body
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_a_lockout_holds_for_one_account_and_address_not_for_others(client, user) -> None:
    UserFactory(username="joon")
    fail(client, "/accounts/login/", 3)
    other_account = client.post("/accounts/login/", {"username": "joon", "password": PASSWORD})
    assert other_account.status_code == 302
    other_address = Client(REMOTE_ADDR="192.0.2.9").post(
        "/accounts/login/", {"username": "mina", "password": PASSWORD}
    )
    assert other_address.status_code == 302


def test_a_successful_login_before_the_limit_starts_the_count_again(client, user) -> None:
    fail(client, "/accounts/login/", 2)
    assert (
        client.post("/accounts/login/", {"username": "mina", "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    assert fail(client, "/accounts/login/", 2) == [200, 200]


def test_the_token_endpoint_locks_after_repeated_failures_with_a_json_answer(client, user) -> None:
    assert fail(client, "/api/auth/token/", 2) == [400, 400]
    fail(client, "/api/auth/token/", 1)
    response = client.post("/api/auth/token/", {"username": "mina", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.json()["detail"]
    assert "token" not in response.json()


def test_failures_on_the_token_endpoint_lock_the_login_page_too(client, user) -> None:
    fail(client, "/api/auth/token/", 3)
    response = client.post("/accounts/login/", {"username": "mina", "password": PASSWORD})
    assert response.status_code == 429


def test_the_admin_login_is_locked_too(client, user) -> None:
    fail(client, "/admin/login/", 3)
    response = client.post("/admin/login/", {"username": "mina", "password": PASSWORD})
    assert response.status_code == 429


def test_wrong_passwords_on_the_accounts_own_pages_count_and_lock(client, user) -> None:
    """A stolen session cannot guess the password through the pages that ask for it."""
    user.email = "mina@example.com"
    user.save()
    client.force_login(user)
    wrong = [
        client.post("/accounts/email/", {"email": "thief@example.com", "password": "a"}),
        client.post("/accounts/delete/", {"password": "b"}),
    ]
    assert [r.status_code for r in wrong] == [400, 400]
    locked = client.post(
        "/accounts/password/",
        {"old_password": "c", "new_password1": "Zq81!xyzW-long", "new_password2": "Zq81!xyzW-long"},
    )
    assert locked.status_code == 429 and "Too many failed logins (3)" in locked.content.decode()
    right = client.post("/accounts/email/", {"email": "thief@example.com", "password": PASSWORD})
    assert right.status_code == 429  # the right password confirms nothing while locked
    user.refresh_from_db()
    assert user.email == "mina@example.com" and user.check_password(PASSWORD)
    client.logout()
    assert (
        client.post("/accounts/login/", {"username": "mina", "password": PASSWORD}).status_code
        == 429
    )


def test_wrong_passwords_when_deleting_through_the_api_lock_with_a_json_answer(
    client, user
) -> None:
    token = Token.objects.create(user=user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    codes = [api.post("/api/account/delete/", {"password": "x"}).status_code for _ in range(2)]
    assert codes == [403, 403]
    last = api.post("/api/account/delete/", {"password": "y"})
    assert last.status_code == 429 and "Too many failed logins" in last.json()["detail"]
    assert api.post("/api/account/delete/", {"password": PASSWORD}).status_code == 429
    assert type(user).objects.filter(pk=user.pk).exists()


def test_the_admins_password_change_is_the_sites_page(client) -> None:
    client.force_login(ModeratorFactory())
    response = client.get("/admin/password_change/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password/"
