"""Load over loopback: the popular hashtag's first page and the search API against gunicorn on
PostgreSQL with 1M posts, while uploads are being classified (docs/scaling.md, "Load").

Usage (one command; seeding 1M posts the first time takes ~3 minutes more):
  createdb -h 127.0.0.1 -U postgres tl_load
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/tl_load \\
  TAGLENS_REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python bench/load.py

Migrates, seeds with `manage.py seed_bulk` when the database holds fewer than --posts posts,
collects static files, then starts what `make serve` starts (gunicorn with
config/gunicorn.conf.py, its workers as configured, and `manage.py qcluster`), DEBUG off. An
uploader posts photos from the development set through the API every --upload-every seconds,
tagged #카페, for the whole run; the load starts once the worker has classified the first one.
After --warmup seconds of load (not counted), two wrk processes (one per endpoint,
--connections each; bench/load.lua) run for --seconds or --max-requests each, whichever comes
first, paced together at --rate requests/s: each request waits for its slot on a fixed
schedule, and one sent over 1 ms late (every connection busy) counts as a late send. --rate 0
runs them as fast as their connections go (closed loop: capacity, not latency). Then the
uploads get --drain seconds to be classified, both first pages are compared with the
database's newest shown posts, the figures are printed and written to
bench/results/load-<date>-<time>.json, what was started is stopped and the uploads are deleted
(--keep-uploads keeps them).

Set for the run, and printed: the search throttles (one wrk client would be refused at
60/minute: TAGLENS_THROTTLE_SEARCH_ANON/_USER, --search-rate; they still run on every request),
TAGLENS_UPLOADS_PER_HOUR (the uploader is one user), DJANGO_DEBUG=false, a random
DJANGO_SECRET_KEY unless one is set, a temporary TAGLENS_MEDIA_ROOT. Requests carry
`X-Forwarded-Proto: https`, as the TLS proxy in front of gunicorn would add, and
`Connection: close`, as that proxy's default upstream connections (nginx's) are one per request
(--keep-alive reuses them: gunicorn's workers then keep whichever connections they accepted
first). --upload-tag sends the uploads under another hashtag (the popular page stays fresh).
Everything else (TAGLENS_WEB_WORKERS, TAGLENS_SEARCH_CACHE_SECONDS, DATABASE_CONN_MAX_AGE, ...)
is taken from the environment as `make serve` would.

Why wrk: a C load generator using a few percent of a core at these rates, where a Python client
would take a good part of one of the two cores the server is measured on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PY = sys.executable
TICK = os.sysconf("SC_CLK_TCK")
HTTPS = {"X-Forwarded-Proto": "https"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--tag", default="카페", help="the popular hashtag (seed_bulk's #카페)")
    parser.add_argument("--seconds", type=int, default=60, help="measured load, per endpoint")
    parser.add_argument("--max-requests", type=int, default=100_000, help="per endpoint")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rate", type=float, default=320, help="req/s, both; 0: closed loop")
    parser.add_argument("--connections", type=int, default=16, help="per endpoint")
    parser.add_argument("--upload-every", type=float, default=2.0, help="seconds; 0: none")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="reuse connections (default: one per request, as a proxy such as nginx opens them)",
    )
    parser.add_argument(
        "--upload-tag", help="the uploads' hashtag (default --tag: each upload makes it stale)"
    )
    parser.add_argument("--drain", type=int, default=120, help="seconds to finish classifying")
    parser.add_argument("--search-rate", default="100000/second", help="throttle for the run")
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared" / "photos")
    parser.add_argument("--keep-uploads", action="store_true")
    return parser.parse_args()


def run_environment(args: argparse.Namespace, port: int, media: Path) -> dict[str, str]:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own (see --help).")
    if not os.environ.get("TAGLENS_REDIS_URL"):
        sys.exit("Set TAGLENS_REDIS_URL (a Redis database index of its own; see --help).")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TAGLENS_BIND": f"127.0.0.1:{port}",
        "TAGLENS_THROTTLE_SEARCH_ANON": args.search_rate,
        "TAGLENS_THROTTLE_SEARCH_USER": args.search_rate,
        "TAGLENS_UPLOADS_PER_HOUR": "100000",
        "TAGLENS_MEDIA_ROOT": str(media),
    }


def manage(env: dict[str, str], *command: str) -> None:
    subprocess.run([PY, "manage.py", *command], cwd=REPO, env=env, check=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers={**HTTPS, **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Started:
    """A process group this bench started (gunicorn, qcluster, wrk), stopped by its own id."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self, grace: float = 25.0) -> None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                return
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=wait)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


class Uploader(threading.Thread):
    """Posts a photo through the API every `every` seconds, on a fixed schedule."""

    def __init__(self, port: int, token: str, photos: list[Path], every: float, tag: str):
        super().__init__(daemon=True)
        self.port, self.token, self.photos, self.every, self.tag = port, token, photos, every, tag
        self.done = threading.Event()
        self.ids: list[int] = []
        self.refused: dict[int, int] = {}
        self.seconds: list[float] = []

    def run(self) -> None:
        due = time.monotonic()
        for n in itertools.count():
            if self.done.is_set():
                return
            photo = self.photos[n % len(self.photos)]
            boundary = uuid.uuid4().hex
            body = b"".join(
                [
                    f'--{boundary}\r\nContent-Disposition: form-data; name="hashtags"\r\n\r\n'
                    f"#{self.tag}\r\n--{boundary}\r\nContent-Disposition: form-data; "
                    f'name="image"; filename="{photo.name}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n".encode(),
                    photo.read_bytes(),
                    f"\r\n--{boundary}--\r\n".encode(),
                ]
            )
            started = time.monotonic()
            status, answer = request(
                self.port, "POST", "/api/posts/", body,
                Authorization=f"Token {self.token}",
                **{"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )  # fmt: skip
            self.seconds.append(time.monotonic() - started)
            if status == 201:
                self.ids.append(int(json.loads(answer)["id"]))
            else:
                self.refused[status] = self.refused.get(status, 0) + 1
            due += self.every
            self.done.wait(max(0.0, due - time.monotonic()))


def cpu_ticks(roots: dict[str, int], database: str) -> tuple[dict[int, tuple[str, int]], int]:
    """Per process, its kind and CPU ticks (user + system, reaped children included): our
    process trees, this database's PostgreSQL backends, redis-server (shared with any other
    user); and the machine's busy ticks."""
    parent, times, commands = {}, {}, {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            continue
        parent[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(value) for value in fields[11:15])
    named = {root: name for name, root in roots.items()}
    out: dict[int, tuple[str, int]] = {}
    for pid, command in commands.items():
        up = pid
        while up > 1 and up not in named:
            up = parent.get(up, 0)
        kind = named.get(up)
        if kind is None and command.startswith(b"postgres:"):
            kind = "postgres (this database)" if f" {database} ".encode() in command else None
        elif kind is None and command.startswith(b"redis-server"):
            kind = "redis-server (shared)"
        if kind is not None:
            out[pid] = (kind, times[pid])
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return out, sum(map(int, first)) - int(first[3]) - int(first[4])


def wrk(port: int, path: str, args: argparse.Namespace, seconds: int, log: Path) -> Started:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-s", str(REPO / "bench" / "load.lua"), "-H", "X-Forwarded-Proto: https"]
    if not args.keep_alive:
        command += ["-H", "Connection: close"]
    command += [f"http://127.0.0.1:{port}{path}", "--", str(args.max_requests), str(args.rate / 2)]
    return Started(command, dict(os.environ), log)


def wrk_figures(log: Path) -> dict[str, Any]:
    line = [row for row in log.read_text().splitlines() if row.startswith("{")][-1]
    found: dict[str, Any] = json.loads(line)
    seconds = found["duration_us"] / 1e6
    return {
        "requests": found["requests"],
        "seconds": round(seconds, 1),
        "requests_per_s": round(found["requests"] / seconds, 1),
        **{f"{q}_ms": round(found[f"{q}_us"] / 1000, 1) for q in ("p50", "p95", "p99", "max")},
        "late_sends": found["late_sends"],
        "latest_ms": found["latest_ms"],
        "errors": {k: v for k, v in found["errors"].items() if v},
        "codes": found["codes"],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def uploads_report(ids: list[int], window: tuple[float, float]) -> dict[str, Any]:
    from posts.models import Post

    rows = list(Post.objects.filter(pk__in=ids).values("status", "created_at", "classified_at"))
    start, end = (dt.datetime.fromtimestamp(t, dt.UTC) for t in window)
    delays = [
        (r["classified_at"] - r["created_at"]).total_seconds() for r in rows if r["classified_at"]
    ]
    return {
        "posted": len(ids),
        "posted_during_load": sum(start <= r["created_at"] <= end for r in rows),
        "classified_during_load": sum(
            r["classified_at"] is not None and start <= r["classified_at"] <= end for r in rows
        ),
        "status_at_end": {
            s: sum(r["status"] == s for r in rows) for s in {r["status"] for r in rows}
        },
        "seconds_to_classify_p50": round(statistics.median(delays), 1) if delays else None,
        "seconds_to_classify_p95": round(percentile(delays, 0.95), 1) if delays else None,
    }


def freshness(port: int, page: str, api: str, tag: str, ids: list[int]) -> dict[str, Any]:
    """Whether both first pages, asked now, hold the database's newest shown posts of the tag
    (the cache made stale by every classification), and the newest shown upload among them."""
    from django.conf import settings

    from moderation.models import Verdict

    shown = Verdict.objects.filter(hashtag__name=tag, shown=True)
    newest = list(
        shown.order_by("-post_created_at", "-post_id").values_list("post_id", flat=True)[
            : settings.TAGLENS_PAGE_SIZE
        ]
    )
    upload = shown.filter(post_id__in=ids).order_by("-post_id").values_list("post_id", flat=True)
    on_page = [
        int(i) for i in re.findall(r'href="/p/(\d+)/"', request(port, "GET", page)[1].decode())
    ]
    on_api = [row["id"] for row in json.loads(request(port, "GET", api)[1])["results"]]
    last = upload.first()
    return {
        "page_is_the_database_newest": on_page == newest,
        "api_is_the_database_newest": on_api == newest,
        "newest_shown_upload": last,
        "newest_shown_upload_on_page": last in on_page if last else None,
        "newest_shown_upload_on_api": last in on_api if last else None,
    }


def serve(env: dict[str, str], work: Path, port: int) -> list[Started]:
    """gunicorn and a qcluster, as `make serve` starts them, once /health/ answers."""
    gunicorn = Started([str(Path(PY).parent / "gunicorn"), "-c", "config/gunicorn.conf.py"],
                       env, work / "gunicorn.log")  # fmt: skip
    started = [gunicorn, Started([PY, "manage.py", "qcluster"], env, work / "qcluster.log")]
    deadline = time.monotonic() + 120
    while True:
        try:
            if request(port, "GET", "/health/")[0] == 200:
                return started
        except OSError:
            pass
        if gunicorn.process.poll() is not None or time.monotonic() > deadline:
            for process in started:
                process.stop()
            sys.exit("gunicorn did not come up:\n" + gunicorn.log.read_text()[-3000:])
        time.sleep(0.5)


def measure(args: argparse.Namespace, port: int, work: Path, started: list[Started]) -> Any:
    """Warm up, then the two wrk runs side by side; their figures and the CPU used meanwhile."""
    from django.conf import settings

    paths = {
        "page": f"/explore/tags/{quote(args.tag)}/",
        "api": f"/api/search/?tag={quote(args.tag)}",
    }
    for path in paths.values():
        assert request(port, "GET", path)[0] == 200, path
    for process in [
        wrk(port, p, args, args.warmup, work / f"warm-{k}.log") for k, p in paths.items()
    ]:
        process.process.wait()
    roots = {"gunicorn": started[0].process.pid, "qcluster": started[1].process.pid}
    database = str(settings.DATABASES["default"]["NAME"])
    before = os.getloadavg(), cpu_ticks(roots, database), os.times(), time.time()
    runs = {k: wrk(port, p, args, args.seconds, work / f"wrk-{k}.log") for k, p in paths.items()}
    started += runs.values()
    for run in runs.values():
        run.process.wait()
    (ours0, busy0), (ours1, busy1) = before[1], cpu_ticks(roots, database)
    window = (before[3], time.time())
    seconds = window[1] - window[0]
    cores: dict[str, float] = {}
    for pid, (kind, ticks) in ours1.items():  # a process gone meanwhile is missed
        cores[kind] = cores.get(kind, 0.0) + (ticks - ours0.get(pid, (kind, 0))[1]) / TICK / seconds
    spent = [b - a for a, b in zip(before[2], os.times(), strict=True)]
    cores["wrk (both)"] = (spent[2] + spent[3]) / seconds  # waited-for children: only wrk
    cores["this bench (uploader)"] = (spent[0] + spent[1]) / seconds
    cores["everything else on the machine"] = (busy1 - busy0) / TICK / seconds - sum(cores.values())
    figures = {k: wrk_figures(run.log) for k, run in runs.items()}
    served = sum(f["requests"] for f in figures.values())
    for kind in ("gunicorn", "postgres (this database)", "redis-server (shared)"):
        figures.setdefault("cpu_ms_per_request", {})[kind] = round(
            cores.get(kind, 0) * seconds / served * 1000, 2
        )
    return paths, figures, {k: round(v, 2) for k, v in cores.items()}, before[0], window


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    photos = [p for p in sorted(args.photos.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    if args.upload_every > 0 and not photos:
        sys.exit(f"No photos under {args.photos}: give --photos, or --upload-every 0.")
    random.Random(7).shuffle(photos)
    port, work = free_port(), Path(tempfile.mkdtemp(prefix="taglens-load-"))
    env = run_environment(args, port, work / "media")
    os.environ.update(env)
    began = time.perf_counter()
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from posts.models import Post

    have = Post.objects.count()
    if have < args.posts:
        manage(env, "seed_bulk", str(args.posts - have), "--force")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    prepared = time.perf_counter() - began
    author, _ = User.objects.get_or_create(username="loadbench-uploader")
    token = Token.objects.get_or_create(user=author)[0].key
    uploader = Uploader(port, token, photos, args.upload_every, args.upload_tag or args.tag)
    started = serve(env, work, port)
    try:
        if args.upload_every > 0:
            uploader.start()
            # The worker loads the model with its first task: measure once it classifies.
            classified = Post.objects.filter(author=author, status=Post.Status.CLASSIFIED)
            deadline = time.monotonic() + 180
            while not classified.filter(pk__in=uploader.ids).exists():
                if time.monotonic() > deadline:
                    sys.exit(
                        "No upload was classified within 3 minutes:\n"
                        + started[1].log.read_text()[-3000:]
                    )
                time.sleep(1)
        paths, figures, cores, load, window = measure(args, port, work, started)
        uploader.done.set()
        if uploader.is_alive():
            uploader.join()
        deadline = time.monotonic() + args.drain
        pending = Post.objects.filter(pk__in=uploader.ids, status=Post.Status.PENDING)
        while time.monotonic() < deadline and pending.exists():
            time.sleep(1)
        log = started[0].log.read_text()
        results = {
            "date": dt.date.today().isoformat(),
            "posts": have,
            "tag": args.tag,
            "gunicorn": {
                "worker_class": log.split("Using worker: ", 1)[-1].split()[0],
                "workers": log.count("Booting worker with pid"),
            },
            "settings": {
                "search_cache_seconds": settings.TAGLENS_SEARCH_CACHE_SECONDS,
                "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
                "search_throttle": args.search_rate,
                "q_workers": settings.Q_CLUSTER["workers"],
                "ocr": settings.TAGLENS_OCR,
                "signal_sources": settings.TAGLENS_SIGNAL_SOURCES,
                "connections_per_endpoint": args.connections,
                "paced_rate": args.rate,
                "upload_every_s": args.upload_every,
            },
            "seconds_to_prepare": round(prepared),
            "load_average_before": [round(x, 2) for x in load],
            **figures,
            "cores_used": cores,
            "uploads": {
                **uploads_report(uploader.ids, window),
                "refused": uploader.refused,
                "request_p50_s": round(statistics.median(uploader.seconds or [0]), 2),
            },
            "fresh": freshness(port, paths["page"], paths["api"], args.tag, uploader.ids),
        }
    finally:
        uploader.done.set()
        for process in reversed(started):
            process.stop()
        if uploader.ids and not args.keep_uploads:
            Post.objects.filter(pk__in=uploader.ids).delete()
        shutil.rmtree(work, ignore_errors=True)
    report(results)


def report(results: dict[str, Any]) -> None:
    page, api, tag, s = results["page"], results["api"], results["tag"], results["settings"]
    total = page["requests_per_s"] + api["requests_per_s"]
    late = page["late_sends"] + api["late_sends"]
    results["requests_per_s_both"] = round(total, 1)
    # Late sends: every connection was busy at a slot, so the latencies understate the wait.
    results["target_met"] = total >= 300 and max(page["p95_ms"], api["p95_ms"]) < 50 and not late
    g, pace = (
        results["gunicorn"],
        f"paced at {s['paced_rate']:g} req/s" if s["paced_rate"] else "closed loop",
    )
    print(
        f"\nPostgreSQL, {results['posts']:,} posts. gunicorn {g['workers']} {g['worker_class']} "
        f"workers, search cache {s['search_cache_seconds']} s, CONN_MAX_AGE "
        f"{s['conn_max_age']}, throttles {s['search_throttle']} (set for the run). wrk {pace}, "
        f"{s['connections_per_endpoint']} connections per endpoint. Load average before "
        f"{results['load_average_before']}"
    )
    heads = "".join(f"{h:>7}" for h in ("req/s", "p50", "p95", "p99", "max"))
    print(f"{'ms':<30}{'requests':>9}{heads}  late sends, errors")
    for label, row in ((f"page /explore/tags/{tag}/", page), (f"api /api/search/?tag={tag}", api)):
        errors = {**row["errors"], **{k: v for k, v in row["codes"].items() if k != "200"}}
        print(
            f"{label:<30}{row['requests']:>9}{row['requests_per_s']:>7}{row['p50_ms']:>7}"
            f"{row['p95_ms']:>7}{row['p99_ms']:>7}{row['max_ms']:>7}  {row['late_sends']} "
            f"(up to {row['latest_ms']} ms), {errors or 'none'}"
        )
    print(
        f"both: {total:.0f} req/s. Target (>= 300 req/s together, p95 < 50 ms each, no late "
        f"sends): {'met' if results['target_met'] else 'NOT met'}"
    )
    u, f = results["uploads"], results["fresh"]
    print(
        f"uploads (one every {s['upload_every_s']} s, #{tag}): {u['posted']} posted "
        f"({u['posted_during_load']} during the load, refused {u['refused'] or 'none'}, request "
        f"p50 {u['request_p50_s']} s); {u['classified_during_load']} classified during "
        f"the load; at the end {u['status_at_end']}; upload to classified p50 "
        f"{u['seconds_to_classify_p50']} s, p95 {u['seconds_to_classify_p95']} s"
    )
    print(
        f"first pages after the run = the database's newest shown posts: page "
        f"{f['page_is_the_database_newest']}, api {f['api_is_the_database_newest']}; newest "
        f"shown upload {f['newest_shown_upload']} on them: {f['newest_shown_upload_on_page']}, "
        f"{f['newest_shown_upload_on_api']}"
    )
    print("cores used during the load (of 2):", results["cores_used"])
    print("CPU per request served (ms):", results["cpu_ms_per_request"])
    out = REPO / "bench" / "results" / f"load-{dt.datetime.now():%Y-%m-%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
