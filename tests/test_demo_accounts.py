"""The demo accounts: `demo` has an email, so a newcomer can try a password reset locally."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_demo_gets_an_email_for_trying_a_reset_and_keeps_one_it_was_given(settings) -> None:
    settings.DEBUG, settings.EMAIL_HOST = True, ""
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    assert User.objects.get(username="demo").email == "demo@example.com"
    assert "with demo@example.com prints its link here" in out.getvalue()
    User.objects.filter(username="demo").update(email="mine@example.org")
    call_command("demo_accounts", stdout=io.StringIO())
    assert User.objects.get(username="demo").email == "mine@example.org"
