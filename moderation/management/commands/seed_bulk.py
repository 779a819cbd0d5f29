"""Many realistic rows quickly, for benchmarks (what it writes: docs/scaling.md, "seed_bulk")."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from moderation.judging.counts import hashtag_counts_refresh
from moderation.management.bulk.plan import (
    POPULAR,
    Plan,
    analyze,
)
from moderation.management.bulk.portable import seed_portable
from moderation.management.bulk.postgresql import seed_postgresql


class Command(BaseCommand):
    help = "Insert N realistic posts with hashtags, scores and verdicts (benchmarks only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("posts", type=int)
        parser.add_argument("--tags", type=int, default=2000)
        parser.add_argument("--days", type=int, default=730, help="Spread posts over this.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--embeddings", action="store_true", help="Store real vectors.")
        parser.add_argument("--dim", type=int, default=2656, help="When none is stored yet.")
        parser.add_argument("--batch", type=int, default=20_000, help="Portable path only.")
        parser.add_argument("--portable", action="store_true", help="No PostgreSQL fast path.")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to fill a production database (DEBUG is off).")
        if options["posts"] < 1 or options["tags"] < len(POPULAR):
            raise CommandError(f"Give at least 1 post and {len(POPULAR)} tags.")
        started = time.perf_counter()
        plan = Plan(options)
        fast = connection.vendor == "postgresql" and not options["portable"]
        (seed_postgresql if fast else seed_portable)(plan, self.stdout.write)
        began = time.perf_counter()
        hashtag_counts_refresh()
        self.stdout.write(f"  hashtag counts: {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        analyze()
        self.stdout.write(f"  statistics: {time.perf_counter() - began:.1f} s")
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{plan.posts} posts seeded in {elapsed:.0f} s "
            f"({'PostgreSQL fast path' if fast else 'portable path'})"
        )
