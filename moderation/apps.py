from __future__ import annotations

from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        # The one hand-off from the posts floor: a new post gets verdicts and a classification task.
        from moderation import receivers  # noqa: F401
