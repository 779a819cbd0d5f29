"""The search selector's queries walk the verdict_search index from the cursor, never scan
or sort the verdicts: what keeps the tag page independent of the number of posts."""

from __future__ import annotations

import functools
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from moderation.selectors.search import hashtag_lookup, posts_relevant_for_hashtag

pytestmark = pytest.mark.django_db


def plans_of_a_walk(tag: str, explain: str = "EXPLAIN ", *, hidden: bool = False) -> list[str]:
    """EXPLAIN of every query of a first page, the page after it, and back."""
    hashtag = hashtag_lookup(tag)
    assert hashtag is not None
    size = 8 if hidden else 24  # the seeded tags hide a few dozen posts: still three pages
    walk = functools.partial(posts_relevant_for_hashtag, hashtag=hashtag, size=size, hidden=hidden)
    with CaptureQueriesContext(connection) as captured:
        first = walk()
        second = walk(cursor=first.next)
        walk(cursor=second.previous)
    assert second.posts and second.previous is not None
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute(explain + query["sql"].replace("%", "%%"))
            plans.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
    return plans


@pytest.mark.parametrize("hidden", [False, True])
def test_search_walks_indexes_not_the_verdict_table(hidden: bool) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN output and the planner's choices are PostgreSQL's")
    call_command("seed_bulk", 4000, tags=60, force=True, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE moderation_verdict")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'moderation_verdict'")
        assert cursor.fetchone()[0] > 8000  # enough rows for the planner to prefer a scan

    for tag in ("카페", "바다"):  # the most popular tag and a smaller one
        plans = plans_of_a_walk(tag, hidden=hidden)
        verdict_plans = [p for p in plans if "moderation_verdict" in p]
        # First page, second page, and back: the walk up reaches the top and reads page one.
        assert len(verdict_plans) == 4, plans
        for plan in verdict_plans:
            # An index-only, index or bitmap scan bounded by the cursor, depending on costs.
            assert "Index Cond" in plan and "verdict_search" in plan, plan
        for plan in plans:
            assert "Seq Scan on moderation_verdict" not in plan, plan
            assert "Seq Scan on posts_post" not in plan, plan


@pytest.mark.parametrize("hidden", [False, True])
def test_sqlite_walks_the_index_in_order_without_sorting_the_tag(hidden: bool) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    call_command("seed_bulk", 1000, tags=60, force=True, stdout=io.StringIO())
    for tag in ("카페", "바다"):
        plans = plans_of_a_walk(tag, explain="EXPLAIN QUERY PLAN ", hidden=hidden)
        verdict_plans = [p for p in plans if "moderation_verdict" in p]
        assert len(verdict_plans) == 4, plans
        for plan in verdict_plans:
            # hashtag and shown compared (a bare `WHERE shown` would leave SQLite sorting).
            assert "INDEX verdict_search (hashtag_id=? AND shown=?" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
