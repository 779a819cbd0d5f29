"""Demo accounts for a local run: a moderator and an ordinary user."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from moderation.web.permissions import MODERATORS_GROUP

DEMO_EMAIL = "demo@example.com"


class Command(BaseCommand):
    help = (
        "Create or reset the demo accounts 'moderator' and 'demo'. The password comes from "
        "TAGLENS_DEMO_PASSWORD, or a random one is made and printed. Refused when DEBUG is off."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo accounts are for local runs only (DJANGO_DEBUG is false).")
        password = os.environ.get("TAGLENS_DEMO_PASSWORD") or secrets.token_urlsafe(9)
        User = get_user_model()
        moderator, _ = User.objects.get_or_create(username="moderator")
        moderator.is_staff = True
        moderator.set_password(password)
        moderator.save()
        moderator.groups.add(Group.objects.get(name=MODERATORS_GROUP))
        user, _ = User.objects.get_or_create(username="demo")
        user.set_password(password)
        user.email = user.email or DEMO_EMAIL
        user.save()
        self.stdout.write(
            "\nDemo accounts (password "
            + (
                "from TAGLENS_DEMO_PASSWORD"
                if os.environ.get("TAGLENS_DEMO_PASSWORD")
                else "made now"
            )
            + "):\n"
            f"  moderator / {password}   → admin at /admin/ (overrides, rules, concepts)\n"
            f"  demo      / {password}   → uploads at /upload/\n"
        )
        if not settings.EMAIL_HOST:  # mail goes to the console (config/settings.py)
            self.stdout.write(f"'Forgot your password?' with {user.email} prints its link here.")
