"""Rescoring at scale: posts per second when a rule changes, when a threshold changes, for a
full re-evaluation, and when a model version is activated (scores recomputed from stored
embeddings, then the rules re-applied).

Usage:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m python bench/rescore.py --posts 1000000
  python bench/rescore.py --posts 100000          # SQLite in a throw-away folder
  ... --activation   # instead: seed vectors too (~5 GB at 1M) and time a model version's
                     # activation (new scores from stored embeddings, rules re-applied) and
                     # the way back to the previous version
  ... --full         # also time a re-evaluation of every rule

Seeds rows with `manage.py seed_bulk N --embeddings` when the database holds fewer posts
(reused otherwise), then times each change through the same services the admin and the API
use (the scope a change re-evaluates is the one `catalog.reevaluation_scope` gives). Prints
figures and writes bench/results/rescore-<vendor>-<posts>[-activation]-<date>.json.

The model version activated here has heads fitted on the seeded pool of vectors: its scores
mean nothing, only the time it takes to compute and apply them does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
if "DATABASE_URL" not in os.environ:
    os.environ.setdefault("TAGLENS_VAR_DIR", tempfile.mkdtemp(prefix="taglens-rescore-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Tasks are not run by a worker here: the bench runs and times each piece itself.
os.environ["TAGLENS_Q_SYNC"] = "false"

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from moderation.ingest.activation import model_version_activate, model_version_rescore  # noqa: E402
from moderation.ingest.model_versions import model_version_register  # noqa: E402
from moderation.judging.catalog import reevaluation_scope  # noqa: E402
from moderation.judging.reevaluate import verdicts_reevaluate  # noqa: E402
from moderation.models import Concept, Embedding, ModelVersion, Rule, Verdict  # noqa: E402
from moderation.selectors.catalog import rules_about_concept  # noqa: E402
from posts.models import Post  # noqa: E402


def timed(label: str, results: dict[str, Any], posts: int, run: Any) -> Any:
    started = time.perf_counter()
    report = run()
    seconds = time.perf_counter() - started
    row: dict[str, Any] = {"seconds": round(seconds, 2)}
    if hasattr(report, "total"):
        row.update(
            verdicts=report.total,
            changed=report.set_based,
            post_by_post=report.python,
            statements=report.statements,
            verdicts_per_s=round(report.total / seconds) if seconds else None,
        )
    row["posts_per_s"] = round(posts / seconds) if seconds else None
    results[label] = row
    print(f"{label:<34} {seconds:7.1f} s   " + ", ".join(f"{k} {v}" for k, v in row.items()))
    return report


def every_rule() -> Any:
    return verdicts_reevaluate()


def change_rule(hashtag: str, expression: str) -> Any:
    rule = Rule.objects.get(hashtag=hashtag)
    stored = Rule.objects.get(pk=rule.pk)
    Rule.objects.filter(pk=rule.pk).update(expression=expression)
    rule.refresh_from_db()
    return verdicts_reevaluate(**reevaluation_scope(rule, stored))


def change_threshold(key: str, delta: float) -> Any:
    concept = Concept.objects.get(key=key)
    stored = Concept.objects.get(pk=concept.pk)
    Concept.objects.filter(pk=concept.pk).update(threshold=min(1.0, concept.threshold + delta))
    concept.refresh_from_db()
    return verdicts_reevaluate(**reevaluation_scope(concept, stored))


def bench_heads_version() -> ModelVersion:
    """Heads over the stored vectors' dimension, fitted to nothing in particular."""
    from mlmodels.concepts.heads import SOURCE_HEAD, ConceptHeads

    active = ModelVersion.objects.get(is_active=True)
    sample = Embedding.objects.filter(backbone=active.backbone).first()
    assert sample is not None, "seed_bulk --embeddings stores no embeddings"
    dim = int(sample.dim)
    concepts = tuple(sorted(active.concepts))
    rng = np.random.default_rng(3)
    heads = ConceptHeads(
        concepts=concepts,
        source=dict.fromkeys(concepts, SOURCE_HEAD),
        mean=np.zeros(dim, dtype=np.float32),
        scale=np.ones(dim, dtype=np.float32),
        weights=rng.normal(0, 0.05, (dim, len(concepts))).astype(np.float32),
        bias=np.zeros(len(concepts), dtype=np.float32),
        signal_keys=(),
        backbone=active.backbone,
        thresholds=dict.fromkeys(concepts, 0.5),
    )
    name = f"bench-heads-{dt.datetime.now():%H%M%S}"
    return model_version_register(
        name=name,
        backbone=active.backbone,
        concepts=list(concepts),
        heads=heads.to_bytes(),
        thresholds={},
        metrics={},
        training={"source": "bench/rescore.py: fitted to nothing; for timing only"},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument(
        "--activation",
        action="store_true",
        help="store vectors when seeding; time a model version's activation and the way back "
        "(instead of the rule changes)",
    )
    parser.add_argument("--full", action="store_true", help="also time a full re-evaluation")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    have = Post.objects.count()
    results: dict[str, Any] = {"date": dt.date.today().isoformat(), "database": connection.vendor}
    if have < args.posts:
        started = time.perf_counter()
        call_command("seed_bulk", args.posts - have, embeddings=args.activation, force=True)
        results["seed_seconds"] = round(time.perf_counter() - started, 1)
    posts = Post.objects.count()
    results["posts"] = posts
    results["verdicts"] = Verdict.objects.count()
    print(f"{posts} posts, {results['verdicts']} verdicts ({connection.vendor})")
    if args.full:
        timed("full re-evaluation (every rule)", results, posts, every_rule)
    elif not args.activation:
        # seed_bulk's decisions are random: bring the verdicts the changes below can touch in
        # line with the rules first (a live database always is), so that each change writes
        # what a change writes in production.
        cafe = Rule.objects.get(hashtag="카페").pk
        timed(
            "settle seeded rows (not a change)",
            results,
            posts,
            lambda: verdicts_reevaluate(rules=[cafe, *rules_about_concept(key="food")]),
        )
    if not args.activation:
        timed("rule #카페 = beverage", results, posts, lambda: change_rule("카페", "beverage"))
        timed(
            "rule #카페 = food or beverage",
            results,
            posts,
            lambda: change_rule("카페", "food or beverage"),
        )
        timed("threshold of food +0.05", results, posts, lambda: change_threshold("food", 0.05))
        timed("threshold of food -0.05", results, posts, lambda: change_threshold("food", -0.05))
    else:
        previous = ModelVersion.objects.get(is_active=True)
        version = bench_heads_version()
        # Activation as the admin does it; its rescoring task is run here, timed.
        model_version_activate(version=version, reason="bench/rescore.py")
        timed(
            "activate a model version (rescore)",
            results,
            posts,
            lambda: model_version_rescore(version_id=version.pk),
        )
        results["rescore_message"] = ModelVersion.objects.get(pk=version.pk).rescore_message
        ModelVersion.objects.filter(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=previous.pk).update(is_active=True)
        timed("re-evaluation back on the old version", results, posts, every_rule)
    mode = "-activation" if args.activation else ""
    name = f"rescore-{connection.vendor}-{posts}{mode}-{results['date']}.json"
    out = REPO / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
