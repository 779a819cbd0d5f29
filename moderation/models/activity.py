"""When a person last opened their activity: what happened after it is new to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ActivityRead(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    read_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"activity of user {self.user_id} read at {self.read_at:%Y-%m-%d %H:%M}"
