"""`manage.py seed_bulk` makes consistent rows on the database under test (both paths on
PostgreSQL): the benchmarks are only as good as the rows they read."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Max, Min

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
from moderation.selectors.search import hashtag_counts_aggregate
from posts.models import Hashtag, Post, PostHashtag

pytestmark = pytest.mark.django_db

PATHS = [
    pytest.param(True, id="portable"),
    pytest.param(
        False,
        id="postgresql",
        marks=pytest.mark.skipif(
            "connection.vendor != 'postgresql'", reason="the fast path is PostgreSQL's"
        ),
    ),
]


def seed(posts: int, **options: object) -> str:
    out = io.StringIO()
    call_command("seed_bulk", posts, tags=60, dim=8, force=True, stdout=out, **options)
    return out.getvalue()


@pytest.mark.parametrize("portable", PATHS)
def test_seeded_rows_are_consistent(portable: bool) -> None:
    seed(200, portable=portable, embeddings=True)
    seed(100, portable=portable)  # a second run adds to the first

    assert Post.objects.count() == 300
    per_post = Post.objects.annotate(n=Count("post_hashtags"), top=Max("post_hashtags__position"))
    assert per_post.aggregate(lo=Min("n"), hi=Max("n")) == {"lo": 1, "hi": 4}
    assert not per_post.exclude(top=F("n") - 1).exists()  # positions 0 … n-1
    # One verdict per hashtag link, carrying its post's time.
    links = set(PostHashtag.objects.values_list("post_id", "hashtag_id"))
    assert set(Verdict.objects.values_list("post_id", "hashtag_id")) == links
    assert not Verdict.objects.exclude(post_created_at=F("post__created_at")).exists()
    # Hashtags no rule judges: "no rule", shown, decided without scores; the others drawn.
    unruled = Verdict.objects.filter(rule__isnull=True)
    assert unruled.exists() and Verdict.objects.filter(rule__isnull=False).exists()
    assert set(unruled.values_list("decision", "shown", "classification", "margin")) == {
        (Verdict.Decision.NO_RULE, True, None, None)
    }
    ruled = Verdict.objects.filter(rule__isnull=False)
    hidden = ruled.filter(shown=False).count() / ruled.count()
    assert 0.2 < hidden < 0.4
    assert not ruled.exclude(
        decision__in=[Verdict.Decision.RELEVANT, Verdict.Decision.NOT_RELEVANT]
    ).exists()
    # Zipf: the most popular tag is far ahead of the tenth.
    by_rank = list(Hashtag.objects.annotate(n=Count("verdicts")).order_by("-n"))
    assert by_rank[0].n > 3 * by_rank[9].n
    assert Verdict.objects.filter(hashtag__name="카페", rule__hashtag="카페").exists()

    # Every post classified by the active version, from its own embedding; verdicts use it.
    active = ModelVersion.objects.get(is_active=True)
    classified = Classification.objects.filter(model_version=active)
    assert set(classified.values_list("post_id", flat=True)) == set(
        Post.objects.values_list("pk", flat=True)
    )
    assert not classified.exclude(embedding__post=F("post")).exists()
    assert not ruled.exclude(classification__post=F("post")).exists()
    keys = set(Concept.objects.values_list("key", flat=True)) & set(active.concepts)
    for classification in classified[:50]:
        assert set(classification.scores) == keys
        assert 0.55 <= max(classification.scores.values()) <= 0.98
    # Vectors only where asked for, of the stored dimension.
    assert {(e.dim, len(bytes(e.vector))) for e in Embedding.objects.all()} == {(8, 16), (0, 0)}

    # The captions' word forms, as classification stores them for set-based re-evaluation.
    words = set(PostWord.objects.values_list("post_id", "key", "source", "form"))
    assert words == {
        (post.pk, *row)
        for post in Post.objects.all()
        for row in candidate_keys(image_words=[], caption=post.caption, comments=[])
    }
    assert any(key == "마라탕" for _, key, _, _ in words)

    names = dict(Hashtag.objects.values_list("pk", "name"))
    stored = {
        names[s.hashtag_id]: (s.shown, s.hidden, s.pending) for s in HashtagStats.objects.all()
    }
    counted = {
        names[pk]: (c.shown, c.hidden, c.pending) for pk, c in hashtag_counts_aggregate().items()
    }
    assert {k: v for k, v in stored.items() if any(v)} == counted


def test_the_fast_path_is_used_on_postgresql() -> None:
    out = seed(20)
    expected = "PostgreSQL fast path" if connection.vendor == "postgresql" else "portable path"
    assert expected in out


def test_seeding_refuses_a_production_database(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_bulk", 10, stdout=io.StringIO())
    assert Post.objects.count() == 0
