"""Ingest throughput end to end, against the model's raw rate measured in the same run.

Usage: ``python bench/ingest.py [--posts 480] [--full-posts 32] [--no-full] [--batch N]
[--batched-only] [--repeat N] [--database-url URL --redis-url URL] [--photos DIR]`` (about
8-10 minutes on 2 shared cores; 3 with --no-full --batched-only, 1.5 more per --repeat)

End to end = photos uploaded through ``posts.services.post_create`` (validation, re-encoding,
thumbnail, hashtags, pending verdicts), their ``classify_post`` tasks queued on commit, real
``manage.py qcluster`` worker processes (one, or two) claiming, decoding, running the model
and storing embeddings, scores and verdicts, until the last post is classified. A round's
uploads are made in one transaction while the warmed-up workers wait, so the clock runs from
the commit (tasks queued) to the last ``classified_at``; the web side's upload rate is printed
beside it. Rounds run with TAGLENS_CLASSIFY_BATCH=1 and with the pipeline's default batch (64
for backbone+heads, 16 for full; ``--batch`` sets another), on the workers and in this process
alike (it queues a task per batch of the transaction's posts, at least four), and the machine's
cores shared out: one worker gets every core as model threads, two get half each.

The raw rate is measured just before each round and again just after it (the ratio uses their
mean; the machine is shared, and load that comes or goes would otherwise move the ratio) by
bench/ingest_raw.py in as many fresh processes as the round has workers, with the same threads
each, started together: the classifier's batch ``predict`` over photos already decoded (and
again with decoding). Which "model" that is, per pipeline:

- **backbone+heads** (TAGLENS_SIGNAL_SOURCES empty, TAGLENS_OCR=false): the configured TFLite
  backbone (by default MobileNetV2 and EfficientNet-Lite0) and concept heads over embedding +
  roll-up scores (random weights: the rate does not depend on them, and an active heads version
  is what production runs).
- **full** (the default configuration): the same plus the people signal source (faces, ages)
  and Tesseract reading each photo. Fewer photos, batched rounds only.

Photos: the development set (``--photos``, default ../shared/photos), else scikit-image's.
Database: a throw-away SQLite file with the ORM broker, or ``--database-url`` (an EMPTY database,
``createdb -h 127.0.0.1 -U postgres bench_ingest``) with ``--redis-url``. Prints the figures
and writes ``bench/results/ingest-<date>-<vendor>.json``. The machine is shared: figures move
with the load; compare within a run. Beside the phases each worker logs, a round reports the
CPU time per photo of each kind of process (read from /proc: workers, pusher, monitor,
sentinel, this process, the database's processes, redis-server) and the share of the cores
they used; 480 photos a round (of the ~800 in the development set) keep the queue's start-up
(the first post is reported separately) a small part of a round. The commit queues the tasks
in this process (timed: it is in the round). Tasks still queued when the last post is
classified (a few: a transaction's posts share a task per batch, at least four, and a task
claims while posts are pending, so the others mostly run within the round; one per upload
before) find nothing
to do: the bench runs them out after the round and reports their time and CPU per task, what a
steady stream of uploads would pay that a burst does not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from workers import Cluster, bench_environment, cpu_seconds, wait
from workers import phases as batch_phases

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=480, help="photos per backbone+heads round")
    parser.add_argument("--full-posts", type=int, default=32, help="photos per full round")
    parser.add_argument("--no-full", action="store_true", help="skip the full pipeline")
    parser.add_argument("--database-url", default="", help="an empty database (default SQLite)")
    parser.add_argument("--redis-url", default="", help="django-q2's Redis broker")
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared" / "photos")
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="the batched rounds' batch size (default: the product's for each pipeline, 64 for "
        "backbone+heads and 16 for full)",
    )
    parser.add_argument(
        "--batched-only", action="store_true", help="skip the batch-1 rounds (quicker)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each batched backbone+heads round this many times (raw before and after "
        "each) and report the median ratio: one round's ratio moves by 10-20 points with the "
        "machine's load",
    )
    return parser.parse_args()


ARGS = parse_args()
VAR = bench_environment("taglens-bench-ingest-", ARGS.database_url, ARGS.redis_url)
# This process only uploads: django-q2's "Enqueued" line per upload is noise here. The workers
# log at INFO (their phase timings are read from their logs).
os.environ["TAGLENS_LOG_LEVEL"] = "WARNING"
os.environ["TAGLENS_UPLOADS_PER_HOUR"] = "0"  # no upload limit for the bench user
os.environ["TAGLENS_SIGNAL_SOURCES"] = "mlmodels.people.PeopleSignalsLite"  # this process: raw
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402
from django_q.models import OrmQ, Task  # noqa: E402
from heads_version import heads_activated  # noqa: E402
from ingest_raw import heads_keys, photo_bytes, random_heads  # noqa: E402

from mlmodels.base import load_image  # noqa: E402
from moderation.ingest.classifier import get_backbone  # noqa: E402
from posts.models import Post  # noqa: E402
from posts.services import post_create  # noqa: E402

HASHTAGS = ["카페", "고양이", "음식"]
PIPELINES = {
    "backbone+heads": {"TAGLENS_SIGNAL_SOURCES": "", "TAGLENS_OCR": "false"},
    "full": {"TAGLENS_SIGNAL_SOURCES": "mlmodels.people.PeopleSignalsLite", "TAGLENS_OCR": "true"},
}
WORKED = re.compile(r"network ran on [1-9]")


def raw_rates(pipeline: str, processes: int, batch: int, count: int) -> dict[str, float | None]:
    """The model alone (and with decoding), in ``processes`` fresh processes started together,
    the machine's cores shared out as the workers get them; photos per second summed."""
    start = VAR / f"raw-start-{pipeline}-{processes}-{batch}"
    command = [
        sys.executable,
        str(REPO / "bench" / "ingest_raw.py"),
        f"--pipeline={pipeline}",
        f"--threads={max(1, (os.cpu_count() or 1) // processes)}",
        f"--batch={batch}",
        f"--count={count}",
        f"--photos={ARGS.photos}",
        f"--model-dir={settings.TAGLENS_MODEL_DIR}",
        f"--start={start}",
        # Decoding is a rounding error beside people signals and OCR: no second pass there.
        *(["--no-decode-pass"] if pipeline == "full" else []),
    ]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(processes)
    ]
    for run in runs:
        assert run.stdout is not None
        if run.stdout.readline().strip() != "ready":
            raise SystemExit(f"bench/ingest_raw.py failed: {' '.join(command)}")
    start.touch()
    model = decoding = 0.0
    for run in runs:
        out, _ = run.communicate(timeout=900)
        found = json.loads(out.strip().splitlines()[-1])
        model += found["photos"] / found["model_seconds"]
        if found["decode_and_model_seconds"]:
            decoding += found["photos"] / found["decode_and_model_seconds"]
    return {"model": model, "decode+model": decoding or None}


def database() -> str | None:
    """The bench database's name when its server processes can be told apart (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    return str(settings.DATABASES["default"]["NAME"])


def upload(author: Any, files: list[bytes]) -> list[int]:
    return [post_create(author=author, image=io.BytesIO(b), hashtags=HASHTAGS).pk for b in files]


def classified(ids: list[int]) -> int:
    return Post.objects.filter(pk__in=ids).exclude(status=Post.Status.PENDING).count()


def all_classified(ids: list[int]) -> bool:
    # Cheap, and not often: this process competes with the workers for the same cores, and the
    # round's end is read from the posts' classified_at, not from when this loop notices.
    return not Post.objects.filter(
        pk__gte=min(ids), pk__lte=max(ids), status=Post.Status.PENDING
    ).exists()


def queued_tasks() -> int:
    """Tasks not yet done: the ORM broker keeps a task's row until it is acknowledged; Redis
    holds only those no cluster has taken yet (at most a worker's one or two beside)."""
    if ARGS.redis_url:
        return int(get_broker().queue_size() or 0)
    return OrmQ.objects.count()


def reset() -> None:
    Post.objects.all().delete()  # embeddings, classifications, verdicts go with them
    OrmQ.objects.all().delete()
    Task.objects.all().delete()
    get_broker().purge_queue()


def round_(
    pipeline: str, workers: int, batch: int, files: list[bytes], author: Any, run: int
) -> dict[str, Any]:
    reset()
    env = {
        **os.environ,
        **PIPELINES[pipeline],
        "TAGLENS_Q_WORKERS": "1",
        # The cores shared out: raw is measured with every core for the one model.
        "TAGLENS_MODEL_THREADS": str(max(1, (os.cpu_count() or 1) // workers)),
        "TAGLENS_CLASSIFY_BATCH": str(batch),
        "TAGLENS_LOG_LEVEL": "INFO",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    }
    logs = [VAR / f"r{run}-w{i}.log" for i in range(workers)]
    clusters = [Cluster(env, log) for log in logs]
    try:
        wait(lambda: all(" running." in c.text() for c in clusters), 60, "workers")
        # Warm-up: every worker loads the model (lazily, on its first photo).
        warm: list[int] = []
        while not all(WORKED.search(c.text()) for c in clusters):
            warm += upload(author, files[:1])
            wait(lambda ids=warm: classified(ids) == len(ids), 120, "warm-up")
        marks = [len(c.text()) for c in clusters]

        # The uploading side queues a task per batch of the transaction's posts (at least four),
        # with the same batch size as the workers (one setting on every machine).
        settings.TAGLENS_CLASSIFY_BATCH = batch
        start_upload = time.perf_counter()
        with transaction.atomic():
            ids = upload(author, files)
            uploaded = time.perf_counter() - start_upload
            # From here: the commit queues the tasks (one per upload, in this process), which
            # is part of the round's time and CPU.
            cpu_start = cpu_seconds(clusters, database())
            queued_at = timezone.now()
        enqueued = time.perf_counter() - start_upload - uploaded
        wait(lambda: all_classified(ids), 600, "classification", every=0.2)
        cpu_end = cpu_seconds(clusters, database())
        # A task goes on with further batches while they come back full, so the tasks of the
        # posts it took along are still queued when the round ends; they find nothing to do.
        # Their cost is not in the round: run them out and report it beside.
        left = queued_tasks()
        tail = time.perf_counter()
        wait(lambda: queued_tasks() == 0, 300, "the queue to empty", every=0.2)
        tail_seconds = time.perf_counter() - tail
        cpu_tail = cpu_seconds(clusters, database())
        span = Post.objects.filter(pk__in=ids).aggregate(
            first=Min("classified_at"), last=Max("classified_at")
        )
        failed = Post.objects.filter(pk__in=ids, status=Post.Status.FAILED).count()
        seconds = (span["last"] - queued_at).total_seconds()
        first = (span["first"] - queued_at).total_seconds()
        phases: dict[str, float] = {}
        tasks_with_work = 0
        for cluster, mark in zip(clusters, marks, strict=True):
            found, count = batch_phases(cluster.text()[mark:])
            tasks_with_work += count
            for phase, value in found.items():
                phases[phase] = phases.get(phase, 0.0) + value
    finally:
        for cluster in clusters:
            cluster.stop()
    busy = sum(phases.values())
    cpu = {k: cpu_end[k] - cpu_start.get(k, 0.0) for k in sorted(cpu_end)}
    cpu_left = {k: cpu_tail[k] - cpu_end.get(k, 0.0) for k in sorted(cpu_tail)}
    return {
        "pipeline": pipeline,
        "workers": workers,
        "batch": batch,
        "photos": len(ids),
        "failed": failed,
        "seconds": round(seconds, 2),
        "images_per_second": round(len(ids) / seconds, 1),
        # Commit to the first post classified: the queue's pick-up and the first batch.
        "first_seconds": round(first, 2),
        "upload_per_second": round(len(ids) / uploaded, 1),
        "enqueue_seconds": round(enqueued, 2),
        "tasks_with_work": tasks_with_work,
        # Worker time per photo in each phase (summed over workers), and the share of the
        # workers' wall time those phases cover; the rest is queue, task and process overhead.
        "ms_per_photo": {k: round(1000 * v / len(ids), 2) for k, v in phases.items()},
        "busy_share": round(busy / (seconds * workers), 2),
        # CPU time per photo of each kind of process from the commit until every post was seen
        # classified (the bench polls every 50 ms, so a little after the last one), and the
        # share of the machine's cores all of it used over the round.
        "cpu_ms_per_photo": {k: round(1000 * v / len(ids), 2) for k, v in cpu.items()},
        "cpu_share": round(sum(cpu.values()) / (seconds * (os.cpu_count() or 1)), 2),
        # Tasks still queued when the last post was classified, the seconds they took to run
        # out afterwards and the CPU time per task they cost (a full queue: about what each
        # upload's task costs a steady stream when an earlier batch took its post along).
        "tasks_left": left,
        "tasks_left_seconds": round(tail_seconds, 2),
        "cpu_ms_per_task_left": {
            k: round(1000 * v / left, 2) for k, v in cpu_left.items() if left and v
        },
    }


def mean(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a + b) / 2


def describe(raw: dict[str, float | None]) -> str:
    decoding = raw["decode+model"]
    return f"model {raw['model']:7.1f} img/s" + (
        "" if decoding is None else f", with decoding {decoding:.1f} img/s"
    )


def main() -> None:
    call_command("migrate", verbosity=0)
    if Post.objects.exists():
        raise SystemExit("The bench database already holds posts: give it an empty one.")
    print(
        f"database {connection.vendor}, broker {'redis' if ARGS.redis_url else 'orm'}, "
        f"{os.cpu_count()} CPUs (shared: other work may be running)"
    )
    from django.contrib.auth.models import User

    author = User.objects.create_user("bench-ingest")
    backbone = get_backbone()
    files_all, source = photo_bytes(ARGS.photos, max(ARGS.posts, ARGS.full_posts))
    dim = int(backbone.predict([load_image(io.BytesIO(files_all[0]))])[0].embedding.size)
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "database": connection.vendor,
        "broker": "redis" if ARGS.redis_url else "orm",
        "photos": source,
        "raw": {},
        "rounds": [],
        "ratios": {},  # the median over repeated rounds (--repeat)
        "ratio_runs": {},
    }
    run = 0
    # The batch each pipeline gets by default (config/settings.py), unless --batch says.
    fast = ARGS.batch or settings.CLASSIFY_BATCH_BACKBONE_ONLY
    slow = ARGS.batch or settings.CLASSIFY_BATCH_WITH_SIGNALS_OR_OCR
    plans = {"backbone+heads": (ARGS.posts, (fast,) if ARGS.batched_only else (1, fast), 160)}
    if not ARGS.no_full:
        # People signals and OCR take ~1 s a photo: fewer photos, batched rounds only.
        plans["full"] = (ARGS.full_posts, (slow,), 16)
    for pipeline, (count, batches, raw_count) in plans.items():
        heads_activated(
            random_heads(backbone.version, heads_keys(backbone.concepts, pipeline), dim),
            f"bench-{pipeline}",
            {"source": "bench/ingest.py: random weights"},
        )
        files = files_all[:count]
        print(f"\n{pipeline}")
        for workers, batch, rep in [
            (w, b, i)
            for w in (1, 2)
            for b in batches
            for i in range(ARGS.repeat if b > 1 and pipeline == "backbone+heads" else 1)
        ]:
            # The raw rate just before the round and just after it, and their mean: the
            # machine is shared, and a load that comes or goes during one measurement
            # alone would move the ratio by itself.
            key = f"{pipeline} {workers}w b{batch}"
            before = raw_rates(pipeline, workers, batch, min(raw_count, count))
            print(f"  raw, {workers} process(es), batch {batch:>2}: {describe(before)}")
            run += 1
            r = round_(pipeline, workers, batch, files, author, run)
            after = raw_rates(pipeline, workers, batch, min(raw_count, count))
            raw = {k: mean(before[k], after[k]) for k in before}
            print(f"  raw again after the round:    {describe(after)}")
            results["raw"][f"{pipeline} {workers}p b{batch}" + (f" #{rep + 1}" if rep else "")] = {
                **{k: None if v is None else round(v, 1) for k, v in raw.items()},
                "before": {k: None if v is None else round(v, 1) for k, v in before.items()},
                "after": {k: None if v is None else round(v, 1) for k, v in after.items()},
            }
            results["rounds"].append(r)
            ratio = r["images_per_second"] / (raw["model"] or float("nan"))
            results["ratio_runs"].setdefault(key, []).append(round(ratio, 3))
            results["ratios"][key] = round(statistics.median(results["ratio_runs"][key]), 3)
            print(
                f"  end to end, {workers} worker(s), batch {batch:>2}: "
                f"{r['images_per_second']:7.1f} img/s = {ratio:4.0%} of the raw model "
                f"({raw['model']:.1f}, the mean of before and after) "
                f"({r['photos']} photos in {r['seconds']} s, first after "
                f"{r['first_seconds']} s, {r['tasks_with_work']} tasks with work, "
                f"busy {r['busy_share']:.0%}, ms/photo {r['ms_per_photo']}; "
                f"uploads {r['upload_per_second']} /s, their tasks queued on commit in "
                f"{r['enqueue_seconds']} s)\n"
                f"    CPU ms/photo {r['cpu_ms_per_photo']}, cores used {r['cpu_share']:.0%}; "
                f"then {r['tasks_left']} tasks left ran out in {r['tasks_left_seconds']} s, "
                f"CPU ms/task {r['cpu_ms_per_task_left']}",
                flush=True,
            )
    if ARGS.repeat > 1:
        print("\nratios (median of the repeated rounds):")
        for key, runs in results["ratio_runs"].items():
            print(f"  {key}: {results['ratios'][key]:.2f}  (rounds: {', '.join(map(str, runs))})")
    out = REPO / "bench" / "results" / f"ingest-{results['date']}-{connection.vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
