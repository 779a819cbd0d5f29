"""Report stored hashtags the current rules refuse (invisible, look-alike, no letter)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from posts.selectors import hashtags_refused_now


class Command(BaseCommand):
    help = (
        "List stored hashtags that would be refused today (invisible or filler characters, "
        "mixed-script look-alikes, no letter such as #2024), with their posts. Nothing is "
        "changed or deleted: a moderator decides what to do with each (the admin's Hashtags list)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fail", action="store_true", help="Exit with an error when any are found."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        found = hashtags_refused_now()
        for item in found:
            self.stdout.write(
                f"#{item.hashtag.name!r} (id {item.hashtag.pk}, {item.posts} posts): {item.problem}"
            )
        self.stdout.write(f"{len(found)} stored hashtags would be refused today; none changed.")
        if found and options["fail"]:
            raise CommandError(f"{len(found)} stored hashtags would be refused today.")
