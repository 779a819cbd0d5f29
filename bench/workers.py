"""django-q2 worker processes for the benches (bench/ingest.py, bench/pipeline.py): start one
``manage.py qcluster`` with its own environment, read its log, count its processes' CPU."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROLE = re.compile(r"(ready for work|monitoring|pushing tasks) at (\d+)")
ROLES = {"ready for work": "workers", "monitoring": "monitor", "pushing tasks": "pusher"}
TICK = os.sysconf("SC_CLK_TCK")
# The phases a batch logs (moderation/ingest/batches.py, BatchResult.timing).
PHASE = re.compile(r"(claim|decode|predict|signals|text|store) ([0-9.]+) s")


def bench_environment(prefix: str, database_url: str | None, redis_url: str | None) -> Path:
    """A temporary var folder and the environment a bench's Django and workers share."""
    var = Path(tempfile.mkdtemp(prefix=prefix))
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TAGLENS_VAR_DIR"] = str(var)
    os.environ["TAGLENS_MEDIA_ROOT"] = str(var / "media")
    os.environ.setdefault("TAGLENS_MODEL_DIR", str(REPO / "var" / "models"))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{var / 'bench.sqlite3'}"
    if redis_url:
        os.environ["TAGLENS_REDIS_URL"] = redis_url
    else:
        os.environ.pop("TAGLENS_REDIS_URL", None)
    os.environ["TAGLENS_Q_SYNC"] = "false"
    return var


class Cluster:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPO,
            env={**env, "TAGLENS_Q_LOG_LEVEL": "INFO"},  # the benches wait for " running."
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the queue is empty: nothing to lose
        except ProcessLookupError:
            pass
        self.process.wait()


def _stat(pid: int) -> list[str] | None:
    try:
        # After the command name: state, ppid, pgrp, ... utime (11), stime (12), and the
        # reaped children's (13, 14): Tesseract runs in short-lived processes of the worker.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(clusters: list[Cluster], postgres_database: str | None) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each kind of process: the clusters' workers
    (with the processes they ran and waited for: Tesseract), pushers, monitors and sentinels
    (with their main processes), this bench process (uploads, polling), PostgreSQL's server
    processes serving ``postgres_database`` (None: not PostgreSQL), and redis-server (the
    whole server: other work on the machine may use it)."""
    roles: dict[int, str] = {}
    for cluster in clusters:
        roles[cluster.process.pid] = "sentinel"
        for name, pid in ROLE.findall(cluster.text()):
            roles[int(pid)] = ROLES[name]
    groups = {c.process.pid for c in clusters}
    out: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat(pid)
        if fields is None:
            continue
        role = None
        if int(fields[2]) in groups:
            role = roles.get(pid, "sentinel")
        elif pid == os.getpid():
            role = "bench"
        else:
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if postgres_database and command.startswith("postgres:"):
                role = "postgres" if f" {postgres_database} " in command else None
            elif command.startswith("redis-server"):
                role = "redis-server"
        if role is not None:
            ticks = int(fields[11]) + int(fields[12])
            if role != "bench":  # the bench's own children are the Keras reference runs
                ticks += int(fields[13]) + int(fields[14])
            out[role] = out.get(role, 0.0) + ticks / TICK
    return out


def wait(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)


def phases(log: str) -> tuple[dict[str, float], int]:
    """Seconds per phase summed over the batches that ran the network in ``log``, and those
    batches' number."""
    out: dict[str, float] = {}
    batches = 0
    for line in log.splitlines():
        if "network ran on" in line:
            batches += 1
            for phase, value in PHASE.findall(line):
                out[phase] = out.get(phase, 0.0) + float(value)
    return out, batches
