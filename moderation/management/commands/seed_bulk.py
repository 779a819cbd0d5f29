"""Many realistic rows quickly, for benchmarks: posts, hashtag links, embeddings,
classifications by the active model version, verdicts, and the maintained hashtag counts.

- Hashtag popularity follows a Zipf law (weight 1/rank) over --tags hashtags, 1–4 a post.
- Posts are spread evenly over --days up to now, ids rising with time as for real uploads;
  they share one image file (the benchmarks measure queries, not storage).
- Each post shows one "true" concept: its scores come from a small pool of score dicts (that
  concept high, its parent rolled up, the rest low), keyed by the database's concepts that
  the active version can see. The active version is the backbone's roll-up baseline on a
  fresh database, as the app makes it (services.model_version_active).
- Verdicts of hashtags no rule judges are "no rule" (shown, no classification, as the app
  decides them); of the others ~30 % are hidden (not relevant) at random — not what the rules
  would decide, so the first re-evaluation rewrites many — pointing at the classification. Each
  carries the post's created_at.
- Embeddings hold the same roll-up scores; their vectors are empty (dim 0) unless
  --embeddings, which stores float32 vectors of the stored dimension from a small pool, so
  that trained heads can rescore them (1M posts × 1280 floats is ~5 GB).

PostgreSQL: a few INSERT … SELECT FROM generate_series statements (1M posts in a few
minutes). Other databases: executemany in transactions of --batch posts (--portable forces
this path on PostgreSQL). Refuses when DEBUG is off unless --force.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from PIL import Image

from mlmodels.base import ALL_CONCEPTS
from moderation.ingest.classifier import get_backbone
from moderation.ingest.model_versions import model_version_active
from moderation.judging.counts import hashtag_counts_refresh
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


class Command(BaseCommand):
    help = "Insert N realistic posts with hashtags, scores and verdicts (benchmarks only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("posts", type=int)
        parser.add_argument("--tags", type=int, default=2000)
        parser.add_argument("--days", type=int, default=730, help="Spread posts over this.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--embeddings", action="store_true", help="Store real vectors.")
        parser.add_argument("--dim", type=int, default=1280, help="When none is stored yet.")
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
        self.vectors = [v.astype("<f4").tobytes() for v in vectors] if self.dim else [b""]
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


def seed_postgresql(plan: Plan, say: Any) -> None:
    """Set-based: each table is one INSERT … SELECT; random() draws per row."""
    n_tags = list(TAGS_PER_POST)
    cumulative = np.cumsum([TAGS_PER_POST[k] for k in n_tags]).tolist()
    step_us = (plan.end - plan.start) / timedelta(microseconds=1) / plan.posts
    slots = plan.zipf_slots()
    params: dict[str, Any] = {
        "seed": (plan.seed % 1000) / 1000,
        "n": plan.posts,
        "start": plan.start,
        "step": step_us,
        "authors": plan.author_ids,
        "n_authors": len(plan.author_ids),
        "image": plan.image,
        "captions": CAPTIONS,
        "n_captions": len(CAPTIONS),
        "pool": len(plan.scores),
        "scores": [json.dumps(s) for s in plan.scores],
        "vectors": plan.vectors,
        "n_vectors": len(plan.vectors),
        "dim": plan.dim,
        "backbone": plan.version.backbone,
        "version": plan.version.pk,
        "unsupported": json.dumps(plan.unsupported),
        "slots": slots,
        "n_slots": len(slots),
        "shown_share": SHOWN_SHARE,
        "rule_tags": list(plan.rule_of),
        "rule_ids": list(plan.rule_of.values()),
        "c1": cumulative[0],
        "c2": cumulative[1],
        "c3": cumulative[2],
        "word_captions": [c for c, keys in plan.caption_keys.items() for _ in keys],
        "word_keys": [k for rows in plan.caption_keys.values() for k, _, _ in rows],
        "word_sources": [s for rows in plan.caption_keys.values() for _, s, _ in rows],
        "word_forms": [f for rows in plan.caption_keys.values() for _, _, f in rows],
    }
    steps = [
        ("settings", "SET LOCAL synchronous_commit = off"),
        ("random seed", "SELECT setseed(%(seed)s)"),
        ("posts", POSTS_SQL),
        ("draws", DRAWS_SQL),
        ("hashtag links", LINKS_SQL),
        ("embeddings", EMBEDDINGS_SQL),
        ("classifications", CLASSIFICATIONS_SQL),
        ("rules", RULES_SQL),
        ("verdicts", VERDICTS_SQL),
        ("word forms", WORDS_SQL),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_triggers(cursor, say)
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM posts_post")
        params["before"] = cursor.fetchone()[0]
        with indexes_built_after(cursor, [m._meta.db_table for m in LOADED], say):
            for label, sql in steps:
                began = time.perf_counter()
                cursor.execute(sql, params)
                say(f"  {label}: {cursor.rowcount} rows in {time.perf_counter() - began:.1f} s")
        cursor.execute("DROP TABLE seed_posts, seed_rules")  # inside an outer transaction too


def skip_fk_triggers(cursor: Any, say: Any) -> None:
    """The rows reference only rows made or read in the same statements, so the per-row
    foreign-key checks PostgreSQL would run at commit (~18 million for 1M posts, minutes) are
    skipped for this transaction. That takes a superuser; others seed more slowly."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        say("  (not a superuser: foreign keys are checked row by row at commit; slower)")


@contextmanager
def indexes_built_after(cursor: Any, tables: list[str], say: Any) -> Iterator[None]:
    """An index is built faster once over all the rows than updated row by row: the tables'
    plain indexes (not those of primary keys and unique constraints) are dropped, and made
    again from their own definitions once the rows are in."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes AS i "
        "WHERE schemaname = current_schema() AND tablename = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname)",
        [tables],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    began = time.perf_counter()
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        cursor.execute(definition)
    say(f"  {len(indexes)} indexes built in {time.perf_counter() - began:.1f} s")


POSTS_SQL = """
INSERT INTO posts_post (author_id, image, thumbnail, width, height, caption, status,
                        failure_reason, created_at, classified_at)
SELECT (%(authors)s::integer[])[1 + floor(random() * %(n_authors)s)::int],
       %(image)s, %(image)s, 640, 640,
       (%(captions)s::text[])[1 + floor(random() * %(n_captions)s)::int],
       'classified', '', at, at + interval '5 seconds'
FROM (SELECT %(start)s::timestamptz + (g + random()) * %(step)s * interval '1 microsecond' AS at
      FROM generate_series(0, %(n)s - 1) AS g) AS times
"""

# Per new post: which score dict it gets and how many hashtags.
DRAWS_SQL = """
CREATE TEMP TABLE seed_posts ON COMMIT DROP AS
SELECT id, created_at, floor(random() * %(pool)s)::int AS pool,
       CASE WHEN r < %(c1)s THEN 1 WHEN r < %(c2)s THEN 2 WHEN r < %(c3)s THEN 3 ELSE 4 END
         AS n_tags
FROM (SELECT id, created_at, random() AS r FROM posts_post WHERE id > %(before)s) AS p
"""

# Draw n_tags hashtags from the Zipf table; a tag drawn twice for a post is kept once.
LINKS_SQL = """
INSERT INTO posts_posthashtag (post_id, hashtag_id, position)
SELECT post_id, hashtag_id, row_number() OVER (PARTITION BY post_id ORDER BY draw) - 1
FROM (SELECT DISTINCT ON (post_id, hashtag_id) post_id, hashtag_id, draw
      FROM (SELECT sp.id AS post_id, draw,
                   (%(slots)s::bigint[])[1 + floor(random() * %(n_slots)s)::int] AS hashtag_id
            FROM seed_posts AS sp, generate_series(1, sp.n_tags) AS draw) AS draws
      ORDER BY post_id, hashtag_id, draw) AS kept
"""

EMBEDDINGS_SQL = """
INSERT INTO moderation_embedding (post_id, backbone, vector, dim, base_scores, signals,
                                  top_labels, created_at)
SELECT id, %(backbone)s,
       (%(vectors)s::bytea[])[1 + pool %% %(n_vectors)s], %(dim)s,
       (%(scores)s::jsonb[])[1 + pool], '{}', '[]', created_at + interval '4 seconds'
FROM seed_posts
"""

CLASSIFICATIONS_SQL = """
INSERT INTO moderation_classification (post_id, model_version_id, embedding_id, scores,
                                       unsupported, created_at)
SELECT e.post_id, %(version)s, e.id, e.base_scores, %(unsupported)s::jsonb,
       e.created_at + interval '1 second'
FROM moderation_embedding AS e JOIN seed_posts AS sp ON sp.id = e.post_id
WHERE e.backbone = %(backbone)s
"""

RULES_SQL = """
CREATE TEMP TABLE seed_rules ON COMMIT DROP AS
SELECT unnest(%(rule_tags)s::bigint[]) AS hashtag_id, unnest(%(rule_ids)s::bigint[]) AS rule_id
"""

VERDICTS_SQL = """
INSERT INTO moderation_verdict (post_id, hashtag_id, post_created_at, rule_id,
                                classification_id, decision, decided_at,
                                override, override_note, shown, margin)
SELECT post_id, hashtag_id, created_at, rule_id,
       CASE WHEN rule_id IS NULL THEN NULL ELSE classification_id END,
       CASE WHEN rule_id IS NULL THEN 'no_rule' WHEN shown THEN 'relevant' ELSE 'not_relevant' END,
       created_at + interval '6 seconds', NULL, '', rule_id IS NULL OR shown,
       CASE WHEN rule_id IS NULL THEN NULL ELSE round(margin::numeric, 3) END
FROM (SELECT l.post_id, l.hashtag_id, sp.created_at, r.rule_id, c.id AS classification_id,
             random() < %(shown_share)s AS shown, random() * 0.5 AS margin
      FROM posts_posthashtag AS l
      JOIN seed_posts AS sp ON sp.id = l.post_id
      JOIN moderation_classification AS c
        ON c.post_id = l.post_id AND c.model_version_id = %(version)s
      LEFT JOIN seed_rules AS r ON r.hashtag_id = l.hashtag_id) AS drawn
ORDER BY post_id, hashtag_id
"""

WORDS_SQL = """
INSERT INTO moderation_postword (post_id, key, source, form)
SELECT p.id, w.key, w.source, w.form
FROM posts_post AS p
JOIN (SELECT unnest(%(word_captions)s::text[]) AS caption,
             unnest(%(word_keys)s::text[]) AS key,
             unnest(%(word_sources)s::text[]) AS source,
             unnest(%(word_forms)s::text[]) AS form) AS w ON w.caption = p.caption
WHERE p.id > %(before)s
"""


def seed_portable(plan: Plan, say: Any) -> None:
    """executemany of prepared rows, --batch posts per transaction; ids given explicitly."""
    rng, ops = plan.rng, connection.ops
    scores = [prep(Embedding, "base_scores", s) for s in plan.scores]
    vectors = [prep(Embedding, "vector", v) for v in plan.vectors]
    unsupported = prep(Classification, "unsupported", plan.unsupported)
    empty_dict, empty_list = prep(Embedding, "signals", {}), prep(Embedding, "top_labels", [])
    sizes = list(TAGS_PER_POST)
    size_cumulative = list(itertools.accumulate(TAGS_PER_POST.values()))
    made = 0
    began = time.perf_counter()
    while made < plan.posts:
        size = min(plan.batch, plan.posts - made)
        with transaction.atomic():
            post_id, link_id, embedding_id, verdict_id = (
                next_id(model) for model in (Post, PostHashtag, Embedding, Verdict)
            )
            classification_id = next_id(Classification)
            posts, links, embeddings, classifications, verdicts = [], [], [], [], []
            words: list[tuple[Any, ...]] = []
            for i in range(size):
                at = plan.created_at(made + i)
                stamp = {s: ops.adapt_datetimefield_value(at + timedelta(seconds=s)) for s in LAGS}
                pool = rng.randrange(len(scores))
                caption = rng.choice(CAPTIONS)
                posts.append(
                    (post_id, rng.choice(plan.author_ids), plan.image, plan.image, 640, 640,
                     caption, Post.Status.CLASSIFIED, "", stamp[0], stamp[5])
                )  # fmt: skip
                words += [(post_id, *row) for row in plan.caption_keys[caption]]
                embeddings.append(
                    (embedding_id, post_id, plan.version.backbone, vectors[pool % len(vectors)],
                     plan.dim, scores[pool], empty_dict, empty_list, stamp[4])
                )  # fmt: skip
                classifications.append(
                    (classification_id, post_id, plan.version.pk, embedding_id, scores[pool],
                     unsupported, stamp[5])
                )  # fmt: skip
                k = rng.choices(sizes, cum_weights=size_cumulative)[0]
                tags = dict.fromkeys(
                    rng.choices(plan.tag_ids, cum_weights=plan.tag_cumulative, k=k)
                )
                for position, tag in enumerate(tags):
                    links.append((link_id, post_id, tag, position))
                    shown = rng.random() < SHOWN_SHARE
                    rule = plan.rule_of.get(tag)
                    verdicts.append(
                        (verdict_id, post_id, tag, stamp[0], rule,
                         classification_id if rule else None,
                         ("relevant" if shown else "not_relevant") if rule else "no_rule",
                         stamp[6], None, "", shown or rule is None,
                         round(rng.random() * 0.5, 3) if rule else None)
                    )  # fmt: skip
                    link_id, verdict_id = link_id + 1, verdict_id + 1
                post_id, embedding_id = post_id + 1, embedding_id + 1
                classification_id += 1
            insert(Post, POST_FIELDS, posts)
            insert(PostHashtag, ["id", "post", "hashtag", "position"], links)
            insert(Embedding, EMBEDDING_FIELDS, embeddings)
            insert(Classification, CLASSIFICATION_FIELDS, classifications)
            insert(Verdict, VERDICT_FIELDS, verdicts)
            insert(PostWord, ["post", "key", "source", "form"], words)
        made += size
        say(f"  {made}/{plan.posts} posts ({made / (time.perf_counter() - began):.0f}/s)")
    # Explicit ids leave PostgreSQL's sequences behind; SQLite needs nothing.
    reset = ops.sequence_reset_sql(no_style(), LOADED)
    with connection.cursor() as cursor:
        for sql in reset:
            cursor.execute(sql)


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
