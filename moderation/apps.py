from __future__ import annotations

from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        # The admin lives with the other web modules, so Django's autodiscovery does not find it;
        # the receivers are the one hand-off from the posts floor.
        from moderation.ingest import receivers  # noqa: F401
        from moderation.web import admin  # noqa: F401
