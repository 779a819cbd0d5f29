from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

from config.production import mail_check


class PostsConfig(AppConfig):
    name = "posts"
    verbose_name = "Posts"

    def ready(self) -> None:
        checks.register(mail_check, checks.Tags.security, deploy=True)
