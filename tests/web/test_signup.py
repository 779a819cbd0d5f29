"""Signing up makes the account and signs it in, with the lockout backend configured first;
signing in with a wrong password says so in both languages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def test_signing_up_creates_the_account_and_signs_it_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "walker", "password1": "Xk29!abcQ-long", "password2": "Xk29!abcQ-long"},
    )
    assert response.status_code == 302 and response.url == "/"
    user = get_user_model().objects.get(username="walker")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/upload/").status_code == 200


def test_a_signup_with_mismatched_passwords_makes_no_account(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "walker", "password1": "Xk29!abcQ-long", "password2": "other-Xk29!"},
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="walker").exists()


def test_a_wrong_password_is_refused_in_both_languages(client: Client) -> None:
    get_user_model().objects.create_user("mina", password="right-password-123")
    response = client.post("/accounts/login/", {"username": "mina", "password": "wrong"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "아이디 또는 비밀번호가 맞지 않습니다." in body and "password is wrong" in body
    assert "_auth_user_id" not in client.session


def test_a_person_changes_their_password_and_old_sessions_and_token_stop_working() -> None:
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user("walker", password="Xk29!abcQ-long")
    token = Token.objects.create(user=user).key
    here, elsewhere = Client(), Client()
    for c in (here, elsewhere):
        assert c.login(username="walker", password="Xk29!abcQ-long")
    assert here.get("/u/walker/").content.decode().count('href="/accounts/password/"') == 1
    assert here.get("/accounts/password/").status_code == 200

    wrong = here.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password1": "Zq81?newPass", "new_password2": "Zq81?newPass"},
    )
    assert wrong.status_code == 200 and "error-text" in wrong.content.decode()
    assert Token.objects.filter(key=token).exists()

    done = here.post(
        "/accounts/password/",
        {
            "old_password": "Xk29!abcQ-long",
            "new_password1": "Zq81?newPass",
            "new_password2": "Zq81?newPass",
        },
        follow=True,
    )
    assert done.redirect_chain[-1][0] == "/u/walker/"
    assert "Your password is changed" in done.content.decode()
    assert here.get("/upload/").status_code == 200  # still signed in here
    assert elsewhere.get("/upload/").status_code == 302  # signed out there
    assert not Token.objects.filter(key=token).exists()
    assert Client().get("/api/activity/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert Client().get("/accounts/password/").status_code == 302  # to the sign-in page


def test_an_api_client_revokes_its_token_and_a_new_one_is_made_on_asking() -> None:
    get_user_model().objects.create_user("tokened", password="Xk29!abcQ-long")
    credentials = {"username": "tokened", "password": "Xk29!abcQ-long"}
    token = Client().post("/api/auth/token/", credentials).json()["token"]
    signed = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert Client().post("/api/auth/token/", credentials).json()["token"] == token  # the same
    assert Client().get("/api/activity/", **signed).status_code == 200

    assert Client().delete("/api/auth/token/").status_code == 401  # whose?
    assert Client().delete("/api/auth/token/", **signed).status_code == 204
    assert Client().get("/api/activity/", **signed).status_code == 401
    assert Client().delete("/api/auth/token/", **signed).status_code == 401

    again = Client().post("/api/auth/token/", credentials).json()["token"]
    assert again != token
    assert Client().get("/api/activity/", HTTP_AUTHORIZATION=f"Token {again}").status_code == 200
