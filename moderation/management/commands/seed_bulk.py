"""Many realistic rows quickly, for benchmarks: posts, hashtags, links and verdicts.

Posts share one image file (the benchmark measures queries, not storage). Hashtag popularity
follows a Zipf-like law over 2,000 tags, 1–4 tags a post, ~30 % of verdicts hidden as spam.
Not for production databases: it refuses when DEBUG is off unless --force.
"""

from __future__ import annotations

import io
import random
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from moderation.models import Verdict
from posts.models import Hashtag, Post, PostHashtag

POPULAR = [
    "카페",
    "음식",
    "고양이",
    "강아지",
    "바다",
    "꽃",
    "패션",
    "헬스",
    "산",
    "네일",
    "cafe",
    "food",
]


class Command(BaseCommand):
    help = "Insert N posts with hashtags and verdicts in bulk (benchmarks only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("posts", type=int)
        parser.add_argument("--batch", type=int, default=20000)
        parser.add_argument("--tags", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--force", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to fill a production database (DEBUG is off).")
        rng = random.Random(options["seed"])
        names = POPULAR + [f"tag{i}" for i in range(options["tags"] - len(POPULAR))]
        Hashtag.objects.bulk_create([Hashtag(name=n) for n in names], ignore_conflicts=True)
        tags = list(Hashtag.objects.filter(name__in=names).order_by("id"))
        by_name = {t.name: t for t in tags}
        ordered = [by_name[n] for n in names]
        weights = [1.0 / (rank + 1) for rank in range(len(ordered))]
        image = self._shared_image()
        now = timezone.now()
        total = options["posts"]
        batch = options["batch"]
        started = time.perf_counter()
        made = 0
        while made < total:
            size = min(batch, total - made)
            with transaction.atomic():
                posts = [
                    Post(
                        image=image,
                        thumbnail=image,
                        width=64,
                        height=64,
                        caption="bench",
                        status=Post.Status.CLASSIFIED,
                        classified_at=now,
                    )
                    for _ in range(size)
                ]
                posts = Post.objects.bulk_create(posts, batch_size=5000)
                # auto_now_add gives one timestamp per batch: spread them so order matters.
                stamps = [now - timedelta(seconds=made + i) for i in range(size)]
                for post, stamp in zip(posts, stamps, strict=True):
                    post.created_at = stamp
                Post.objects.bulk_update(posts, ["created_at"], batch_size=5000)
                links, verdicts = [], []
                for post in posts:
                    chosen = {id(t): t for t in rng.choices(ordered, weights, k=rng.randint(1, 4))}
                    for position, tag in enumerate(chosen.values()):
                        links.append(PostHashtag(post=post, hashtag=tag, position=position))
                        shown = rng.random() > 0.3
                        verdicts.append(
                            Verdict(
                                post=post,
                                hashtag=tag,
                                post_created_at=post.created_at,
                                decision=Verdict.Decision.RELEVANT
                                if shown
                                else Verdict.Decision.NOT_RELEVANT,
                                shown=shown,
                                margin=round(rng.random(), 3),
                            )
                        )
                PostHashtag.objects.bulk_create(links, batch_size=10000)
                Verdict.objects.bulk_create(verdicts, batch_size=10000)
            made += size
            rate = made / (time.perf_counter() - started)
            self.stdout.write(f"{made}/{total} posts ({rate:.0f}/s)")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def _shared_image(self) -> str:
        name = "bench/shared.jpg"
        if not default_storage.exists(name):
            buf = io.BytesIO()
            Image.new("RGB", (64, 64), (180, 120, 60)).save(buf, format="JPEG")
            default_storage.save(name, ContentFile(buf.getvalue()))
        return name
