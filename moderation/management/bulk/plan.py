"""Shared by both seeding paths: tags and Zipf weights, rules, authors, pools, row helpers."""

from __future__ import annotations

import io
import itertools
import random
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import CommandError
from django.db import connection, models
from django.db.models import Max
from django.utils import timezone
from PIL import Image

from mlmodels.base import ALL_CONCEPTS
from moderation.ingest.classifier import get_backbone, vector_bytes
from moderation.ingest.model_versions import model_version_active
from moderation.models import (
    Classification,
    Concept,
    Embedding,
    HashtagStats,
    ModelVersion,
    PostWord,
    Verdict,
)
from moderation.rules.words import candidate_keys
from moderation.selectors.catalog import rule_index
from posts.models import Hashtag, Post, PostHashtag

# The most used hashtags first (rank 1, 2, …); the rest are tag0, tag1, …
POPULAR = [
    "카페", "일상", "음식", "맛집", "고양이", "강아지", "여행", "바다", "꽃", "패션",
    "데일리", "헬스", "산", "네일", "cafe", "food", "coffee", "마라탕", "커피", "오운완",
    "ootd", "주말", "먹스타그램", "럽스타그램", "육아", "서울", "디저트", "빵", "등산", "해변",
]  # fmt: skip


CAPTIONS = [
    "마라탕 먹으러 왔어요 🌶️", "오늘의 메뉴는 마라탕", "coffee time ☕", "new menu at our cafe",
    "주말 카페 투어", "산책하는 우리 강아지", "sunset at the beach", "헬스장 오운완 💪",
    "신상 네일 💅", "꽃 선물 받았어요", "오늘의 코디", "morning coffee and a croissant",
    "점심 메뉴 추천 받아요", "등산 다녀왔어요 ⛰️", "고양이 낮잠 시간", "바다 보고 싶다",
    "이번 주 메뉴판 업데이트", "new nail art for summer", "homemade ramen tonight", "서울 야경",
    "선팔하면 맞팔 100%", "follow for follow", "광고 문의는 DM", "", "❤️", "brunch with friends",
    "비 오는 날 라떼 한 잔", "떡볶이 최고", "pho for lunch", "맛집 발견! 쌀국수",
]  # fmt: skip


TAGS_PER_POST = {1: 0.30, 2: 0.35, 3: 0.20, 4: 0.15}


SHOWN_SHARE = 0.7


SCORE_POOL = 48


VECTOR_POOL = 32


AUTHORS = 200


SLOTS = 100_000  # resolution of the Zipf table used on PostgreSQL


LAGS = (0, 4, 5, 6)  # a post's upload, embedding, classification, verdicts


class Plan:
    """Everything both paths draw from: tags and their weights, rules, authors, pools."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.posts: int = options["posts"]
        self.rng = random.Random(options["seed"])
        self.seed: int = options["seed"]
        names = POPULAR + [f"tag{i}" for i in range(options["tags"] - len(POPULAR))]
        Hashtag.objects.bulk_create([Hashtag(name=n) for n in names], ignore_conflicts=True)
        by_name = dict(Hashtag.objects.filter(name__in=names).values_list("name", "pk"))
        self.tag_ids = [by_name[n] for n in names]
        self.tag_weights = [1.0 / rank for rank in range(1, len(names) + 1)]
        self.tag_cumulative = list(itertools.accumulate(self.tag_weights))
        index = rule_index(tags=names)
        self.rule_of: dict[int, int] = {}
        for name in names:
            rule, _ = index.resolve(name)
            if rule is not None:
                self.rule_of[by_name[name]] = rule.pk
        User.objects.bulk_create(
            [User(username=f"bench-author-{i}", password="!") for i in range(AUTHORS)],
            ignore_conflicts=True,
        )
        self.author_ids = list(
            User.objects.filter(username__startswith="bench-author-").values_list("pk", flat=True)
        )
        self.image = shared_image()
        self.version = model_version_active(backbone=get_backbone())
        self.scores = score_pool(self.rng, self.version)
        self.unsupported = [c for c in ALL_CONCEPTS if c not in self.version.concepts]
        stored = Embedding.objects.filter(backbone=self.version.backbone).first()
        dim = stored.dim if stored is not None and stored.dim else options["dim"]
        self.dim = dim if options["embeddings"] else 0
        vectors = np.random.default_rng(options["seed"]).standard_normal((VECTOR_POOL, dim))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = [vector_bytes(v) for v in vectors] if self.dim else [b""]
        self.end = timezone.now()
        self.start = self.end - timedelta(days=options["days"])
        self.batch: int = options["batch"]
        # The word forms of each caption (PostWord), as classification would store them.
        self.caption_keys = {
            caption: sorted(
                row
                for row in candidate_keys(image_words=[], caption=caption, comments=[])
                if len(row[0]) <= PostWord.MAX_KEY and len(row[2]) <= PostWord.MAX_KEY
            )
            for caption in CAPTIONS
        }

    def created_at(self, i: int) -> datetime:
        """The i-th new post's time: evenly spread, with jitter that keeps the order."""
        step = (self.end - self.start) / self.posts
        return self.start + step * (i + self.rng.random())

    def zipf_slots(self) -> list[int]:
        """Hashtag ids repeated in proportion to their weight (at least once each)."""
        total = sum(self.tag_weights)
        slots: list[int] = []
        for pk, weight in zip(self.tag_ids, self.tag_weights, strict=True):
            slots.extend([pk] * max(1, round(SLOTS * weight / total)))
        return slots


def score_pool(rng: random.Random, version: ModelVersion) -> list[dict[str, float]]:
    """Score dicts for posts that show one concept each (with its parent rolled up)."""
    concepts = Concept.objects.select_related("parent").order_by("key")
    seen = [c for c in concepts if c.key in version.concepts]
    if not seen:
        raise CommandError(f"The active model version {version.name} sees none of the concepts.")
    pool = []
    for i in range(SCORE_POOL):
        shows = seen[i % len(seen)]
        scores = {c.key: round(rng.uniform(0.0, 0.12), 4) for c in seen}
        if rng.random() < 0.25:  # something else half-visible in the photo
            scores[rng.choice(seen).key] = round(rng.uniform(0.25, 0.5), 4)
        scores[shows.key] = round(rng.uniform(0.55, 0.98), 4)
        if shows.parent is not None and shows.parent.key in scores:
            scores[shows.parent.key] = max(scores[shows.parent.key], scores[shows.key])
        pool.append(scores)
    return pool


LOADED = [Post, PostHashtag, Embedding, Classification, Verdict, PostWord]  # rows inserted in bulk


SEEDED = [*LOADED, HashtagStats, Hashtag]  # and the tables that change with them


POST_FIELDS = [
    "id", "author", "image", "thumbnail", "width", "height", "caption", "status",
    "failure_reason", "created_at", "classified_at",
]  # fmt: skip


EMBEDDING_FIELDS = [
    "id", "post", "backbone", "vector", "dim", "base_scores", "signals", "top_labels", "created_at"
]  # fmt: skip


CLASSIFICATION_FIELDS = [
    "id", "post", "model_version", "embedding", "scores", "unsupported", "created_at"
]  # fmt: skip


VERDICT_FIELDS = [
    "id", "post", "hashtag", "post_created_at", "rule", "classification", "decision",
    "decided_at", "override", "override_note", "shown", "margin",
]  # fmt: skip


def prep(model: type[models.Model], field: str, value: Any) -> Any:
    """A value as the database driver takes it (done once per pooled value, not per row)."""
    return _field(model, field).get_db_prep_save(value, connection)


def next_id(model: type[models.Model]) -> int:
    return int(model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def insert(model: type[models.Model], fields: list[str], rows: list[tuple[Any, ...]]) -> None:
    """executemany of rows whose values are already prepared (see `prep`)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(_field(model, f).column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})", rows
        )


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def analyze() -> None:
    """Fresh planner statistics; on PostgreSQL outside a transaction also VACUUM, which sets
    the visibility map that index-only scans of the verdicts rely on."""
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    tables = [m._meta.db_table for m in SEEDED]
    with connection.cursor() as cursor:
        if vacuum:
            cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")
        else:
            cursor.execute("ANALYZE")


def shared_image() -> str:
    name = "bench/shared.jpg"
    if not default_storage.exists(name):
        buf = io.BytesIO()
        Image.new("RGB", (64, 64), (180, 120, 60)).save(buf, format="JPEG")
        name = default_storage.save(name, ContentFile(buf.getvalue()))
    return name
