"""Hashtag page and search API latency (p50/p95) at a given number of posts.

Usage:
  python bench/search.py --posts 100000                      # SQLite in a throw-away folder
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python bench/search.py --posts 100000

Seeds rows with `manage.py seed_bulk` (skipped when the database already holds enough posts),
then times requests in-process through Django's test client (view, queries and template; no
network): the first, a middle and a deep page of popular and rare tags, and the API. Prints
p50/p95 per kind and writes bench/results/search-<vendor>-<posts>-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
if "DATABASE_URL" not in os.environ:
    os.environ.setdefault("TAGLENS_VAR_DIR", tempfile.mkdtemp(prefix="taglens-search-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Searches in a loop from one client would only measure the throttle.
os.environ.setdefault("TAGLENS_THROTTLE_SEARCH_ANON", "1000000/minute")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from posts.models import Post  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    have = Post.objects.count()
    if have < args.posts:
        call_command("seed_bulk", args.posts - have, force=True)
    client = Client(HTTP_HOST="127.0.0.1")
    kinds = {
        "page #카페 first": (reverse("explore-tag", kwargs={"tag": "카페"}), {}),
        "page #카페 page 20": (reverse("explore-tag", kwargs={"tag": "카페"}), {"page": 20}),
        "page #tag500 first": (reverse("explore-tag", kwargs={"tag": "tag500"}), {}),
        "api #카페 first": ("/api/search/", {"tag": "카페"}),
        "api #카페 page 20": ("/api/search/", {"tag": "카페", "page": 20}),
    }
    results: dict[str, object] = {
        "date": dt.date.today().isoformat(),
        "database": connection.vendor,
        "posts": Post.objects.count(),
    }
    for label, (url, params) in kinds.items():
        client.get(url, params)  # warm caches and connections
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        results[label] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2)}
        print(f"{label:<22} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    out = (
        REPO
        / "bench"
        / "results"
        / (f"search-{connection.vendor}-{results['posts']}-{results['date']}.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
