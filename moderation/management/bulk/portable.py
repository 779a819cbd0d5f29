"""The portable path: executemany of prepared rows, a transaction per --batch posts."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction

from moderation.management.bulk.plan import (
    CAPTIONS,
    CLASSIFICATION_FIELDS,
    EMBEDDING_FIELDS,
    LAGS,
    LOADED,
    POST_FIELDS,
    SHOWN_SHARE,
    TAGS_PER_POST,
    VERDICT_FIELDS,
    Plan,
    insert,
    next_id,
    prep,
)
from moderation.models import (
    Classification,
    Embedding,
    PostWord,
    Verdict,
)
from posts.models import Post, PostHashtag


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
