"""Hashtag page, search API and home page latency (p50/p95) and SQL queries at N posts.

Usage (each finishes in under 10 minutes on 2 shared cores, seeding included):
  python bench/search.py --posts 100000            # SQLite in var/bench-search-100000/
  createdb -h 127.0.0.1 -U postgres bench_search100k
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_search100k \
    python bench/search.py --posts 100000
  createdb -h 127.0.0.1 -U postgres bench_search1m
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_search1m \
    python bench/search.py --posts 1000000

Seeds with `manage.py seed_bulk` when the database holds fewer posts than asked (an
already-seeded database of the right size is reused as it is), then times requests
in-process through Django's test client (view, queries and template; no network): the first
page of the most popular tag, the page reached by following `next` --deep times, a rare tag,
the same for the search API, the home page, and hashtag suggestions (`/api/hashtags/`, and
the page of a hashtag no post carries, which names those it starts). Prints p50/p95 of the
whole request and of the time it spent in the database, and its number of SQL queries; writes
bench/results/search-<vendor>-<posts>-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A new connection per request, as the figures in docs/scaling.md were measured (the worst case).
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# Searches in a loop from one client would only measure the throttle.
os.environ.setdefault("TAGLENS_THROTTLE_SEARCH_ANON", "1000000/minute")
os.environ.setdefault("TAGLENS_THROTTLE_SUGGEST_ANON", "1000000/minute")

POPULAR, RARE = "카페", "tag1500"
NEXT_LINK = re.compile(r'href="([^"]+)" rel="next"')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=60, help="Timed requests per kind.")
    parser.add_argument("--deep", type=int, default=20, help="`next` links followed.")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        os.environ["TAGLENS_VAR_DIR"] = str(REPO / "var" / f"bench-search-{args.posts}")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    # As in production: no query log, no template debugging. Static files and security
    # settings were fixed at start-up, so the development defaults still serve the pages.
    settings.DEBUG = False

    from moderation.models import Verdict
    from posts.models import Post

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    have = Post.objects.count()
    if have > args.posts:
        sys.exit(f"The database holds {have} posts, more than {args.posts}: use another one.")
    if have < args.posts:
        call_command("seed_bulk", args.posts - have, force=True)
    seeded = time.perf_counter() - began

    client = Client(HTTP_HOST="127.0.0.1")

    def follow(url: str, params: dict[str, str], key: str) -> str:
        """The address reached from `url` by following `next` --deep times."""
        for _ in range(args.deep):
            response = client.get(url, params)
            if key == "api":
                url = response.json()["next"]
            else:
                found = NEXT_LINK.search(response.content.decode())
                assert found is not None, f"no next link on {url}"
                url = url.split("?")[0] + html.unescape(found.group(1))
            params = {}
        return url

    page = reverse("explore-tag", kwargs={"tag": POPULAR})
    kinds: dict[str, tuple[str, dict[str, str]]] = {
        f"page #{POPULAR} first": (page, {}),
        f"page #{POPULAR} next ×{args.deep}": (follow(page, {}, "page"), {}),
        f"page #{RARE} first": (reverse("explore-tag", kwargs={"tag": RARE}), {}),
        f"api #{POPULAR} first": ("/api/search/", {"tag": POPULAR}),
        f"api #{POPULAR} next ×{args.deep}": (follow("/api/search/", {"tag": POPULAR}, "api"), {}),
        "home": (reverse("home"), {}),
        "recent posts /explore/": (reverse("explore-recent"), {}),
        "api suggest 't'": ("/api/hashtags/", {"prefix": "t"}),
        "api suggest '카'": ("/api/hashtags/", {"prefix": "카"}),
        "page #tag (unknown)": (reverse("explore-tag", kwargs={"tag": "tag"}), {}),
    }
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "database": connection.vendor,
        "posts": Post.objects.count(),
        "verdicts": Verdict.objects.count(),
        "popular tag verdicts": Verdict.objects.filter(hashtag__name=POPULAR).count(),
        "rare tag verdicts": Verdict.objects.filter(hashtag__name=RARE).count(),
        "seconds to seed": round(seeded),
        "repeat": args.repeat,
        "kinds": {},
    }
    print(
        f"{connection.vendor}, {results['posts']} posts, {results['verdicts']} verdicts "
        f"(#{POPULAR}: {results['popular tag verdicts']}, #{RARE}: {results['rare tag verdicts']})"
    )
    queries: list[float] = []  # seconds spent in the database, one entry per query

    def timed(execute: Any, *query: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(*query)
        finally:
            queries.append(time.perf_counter() - start)

    for label, (url, params) in kinds.items():
        for _ in range(3):
            client.get(url, params)  # warm caches and connections
        times, in_database, counts = [], [], set()
        with connection.execute_wrapper(timed):
            for _ in range(args.repeat):
                queries.clear()
                start = time.perf_counter()
                response = client.get(url, params)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (label, response.status_code)
                in_database.append(sum(queries) * 1000)
                counts.add(len(queries))
        row = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(percentile(times, 0.95), 2),
            # The part of each request spent waiting for the database (queries and commits).
            "db_p50_ms": round(statistics.median(in_database), 2),
            "db_p95_ms": round(percentile(in_database, 0.95), 2),
            "queries": sorted(counts),
        }
        results["kinds"][label] = row
        print(
            f"{label:<24} p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms   "
            f"database p50 {row['db_p50_ms']:5.1f} ms  p95 {row['db_p95_ms']:5.1f} ms   "
            f"{'/'.join(map(str, row['queries']))} queries"
        )
    name = f"search-{connection.vendor}-{results['posts']}-{results['date']}.json"
    out = REPO / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"wrote {out} ({time.perf_counter() - began:.0f} s in all)")


if __name__ == "__main__":
    main()
