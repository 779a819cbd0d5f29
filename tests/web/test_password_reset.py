"""A forgotten password: an optional email at sign-up or on its own page (behind the password),
a link by mail that sets a new one and signs everything out, limited per address and mailbox;
a site that sends no mail says whom to ask instead of pretending."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OLD, NEW = "pw-for-tests-only", "a-new-Pass-4821"


@pytest.fixture
def mina(settings):  # type: ignore[no-untyped-def]
    settings.TAGLENS_MAIL = True
    settings.AXES_FAILURE_LIMIT = 3
    return UserFactory(username="mina", email="mina@example.com")


def ask(client: Client, email: str = "mina@example.com"):  # type: ignore[no-untyped-def]
    return client.post("/accounts/password_reset/", {"email": email})


def the_link() -> str:
    (message,) = mail.outbox
    assert message.to == ["mina@example.com"] and "@mina" in message.body
    found = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert found, message.body
    return found.group(1)


def test_signing_up_keeps_an_optional_email(client) -> None:
    form = {"password1": NEW, "password2": NEW}
    assert (
        client.post("/accounts/signup/", {**form, "username": "a", "email": ""}).status_code == 302
    )
    client.logout()
    with_mail = {**form, "username": "b", "email": "b@example.com"}
    assert client.post("/accounts/signup/", with_mail).status_code == 302
    from django.contrib.auth.models import User

    assert dict(User.objects.values_list("username", "email")) == {"a": "", "b": "b@example.com"}


def test_the_login_page_leads_to_the_site_s_own_reset_page(client, mina) -> None:
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()
    page = client.get("/accounts/password_reset/").content.decode()
    assert "Reset password · TagLens" in page and "Django site admin" not in page


def test_the_mailed_link_sets_a_new_password_and_signs_everything_out(client, mina) -> None:
    other = Client()
    other.force_login(mina)
    token = Token.objects.create(user=mina)
    assert ask(client).status_code == 302
    link = the_link()

    form = client.get(link, follow=True)
    assert "@mina" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"

    mina.refresh_from_db()
    assert mina.check_password(NEW)
    assert not Token.objects.filter(key=token.key).exists()
    assert other.get("/accounts/email/").status_code == 302  # signed out: sent to log in
    assert 'id="invalid-link"' in client.get(link, follow=True).content.decode()  # once


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, mina) -> None:
    response = ask(client, "nobody@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_requests_are_limited_per_address_and_per_mailbox(client, mina, settings) -> None:
    settings.TAGLENS_PASSWORD_RESETS_PER_HOUR = 2
    assert [ask(client).status_code for _ in range(2)] == [302, 302]
    refused = ask(client)
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert "Too many reset requests" in refused.content.decode()
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert ask(elsewhere).status_code == 429  # the mailbox's own limit
    assert ask(client, "other@example.com").status_code == 429  # the first address's
    assert ask(elsewhere, "other@example.com").status_code == 302
    assert len(mail.outbox) == 2


def test_a_site_without_mail_says_whom_to_ask(client, mina, settings) -> None:
    settings.TAGLENS_MAIL = False
    page = client.get("/accounts/password_reset/").content.decode()
    assert (
        'id="no-mail"' in page and "ask its administrators" in page and 'name="email"' not in page
    )
    assert ask(client).status_code == 503
    assert mail.outbox == []


def test_a_reset_lifts_a_lockout(client, mina) -> None:
    for _ in range(3):
        client.post("/accounts/login/", {"username": "mina", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "mina", "password": OLD})
    assert locked.status_code == 429
    assert 'href="/accounts/password_reset/"' in locked.content.decode()  # the way out
    ask(client)
    form = client.get(the_link(), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert client.post("/accounts/login/", {"username": "mina", "password": NEW}).status_code == 302


def test_the_email_changes_only_with_the_password(client, mina) -> None:
    client.force_login(mina)
    wrong = client.post("/accounts/email/", {"email": "thief@example.com", "password": "no"})
    assert wrong.status_code == 400 and "The password is wrong" in wrong.content.decode()
    mina.refresh_from_db()
    assert mina.email == "mina@example.com"
    saved = client.post("/accounts/email/", {"email": " new@example.com ", "password": OLD})
    assert saved.status_code == 302 and saved["Location"] == "/u/mina/"
    mina.refresh_from_db()
    assert mina.email == "new@example.com"
    client.post("/accounts/email/", {"email": "", "password": OLD})
    mina.refresh_from_db()
    assert mina.email == ""


def test_django_s_own_password_change_path_leads_to_the_site_s_page(client, mina) -> None:
    client.force_login(mina)
    assert client.get("/accounts/password_change/")["Location"] == "/accounts/password/"


def test_a_changed_email_or_password_is_told_to_the_address_it_had(
    client, mina, django_capture_on_commit_callbacks
) -> None:
    client.force_login(mina)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/email/", {"email": "thief@example.com", "password": OLD})
    (told,) = mail.outbox
    assert told.to == ["mina@example.com"] and "@mina" in told.body
    assert "email of the TagLens account @mina was changed" in told.body
    assert "administrators" in told.body and "thief" not in told.body
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/email/", {"email": "THIEF@example.com", "password": OLD})
    assert len(mail.outbox) == 1  # the same mailbox: nothing to tell
    with django_capture_on_commit_callbacks(execute=True):
        changed = client.post(
            "/accounts/password/",
            {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
        )
    assert changed.status_code == 302
    assert [m.to for m in mail.outbox] == [["mina@example.com"], ["THIEF@example.com"]]
    assert "password of the TagLens account @mina was changed" in mail.outbox[1].body
    assert "Forgot your password?" in mail.outbox[1].body


def test_a_notice_that_cannot_be_sent_loses_nothing(
    client, mina, monkeypatch, caplog, django_capture_on_commit_callbacks
) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("no SMTP server")

    monkeypatch.setattr("posts.services.send_mail", refused)
    client.force_login(mina)
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post("/accounts/email/", {"email": "new@example.com", "password": OLD})
    assert saved.status_code == 302
    mina.refresh_from_db()
    assert mina.email == "new@example.com"
    assert "could not be sent" in caplog.text and "mina@example.com" in caplog.text


def test_a_site_without_mail_tells_nobody(
    client, mina, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TAGLENS_MAIL = False
    client.force_login(mina)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/email/", {"email": "new@example.com", "password": OLD})
    assert mail.outbox == []
