"""The PostgreSQL fast path: a few INSERT ... SELECT FROM generate_series statements."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import DatabaseError, connection, transaction

from moderation.management.bulk.plan import (
    CAPTIONS,
    LOADED,
    SHOWN_SHARE,
    TAGS_PER_POST,
    Plan,
)


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
    """Skip per-row FK checks at commit (rows reference only rows made here); needs superuser."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        say("  (not a superuser: foreign keys are checked row by row at commit; slower)")


@contextmanager
def indexes_built_after(cursor: Any, tables: list[str], say: Any) -> Iterator[None]:
    """Drop plain indexes and rebuild them once the rows are in: faster than row by row."""
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
