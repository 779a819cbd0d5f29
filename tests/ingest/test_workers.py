"""Real worker processes (`manage.py qcluster`) on the test database: two workers never run the
network on the same post, and the posts of a worker killed mid-task are classified after a
restart, each exactly once more, none lost.

Runs on either configuration: SQLite (a database file, see the root conftest) with the ORM
broker, or PostgreSQL with the Redis broker. The classifier is the recording test double
(tests/ingest/recording.py), not the model.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from moderation.models import Classification, Embedding
from posts.models import Post
from posts.services import post_create
from tests.factories import UserFactory
from tests.ingest.recording import (
    BLOCK_KEY_ENV,
    BLOCK_MARK_ENV,
    DELAY_ENV,
    LOG_ENV,
    key_png,
    read_log,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REPO = Path(__file__).resolve().parents[2]
POSTS = 24
BLOCK_KEY = 17  # late enough that both workers have been busy before it
LEASE = 10  # seconds; above the task timeout, below django-q2's retry
WORKER_SETTINGS = {
    "TAGLENS_Q_WORKERS": "1",
    "TAGLENS_Q_TIMEOUT": "8",
    "TAGLENS_Q_RETRY": "12",
    "TAGLENS_CLASSIFY_LEASE": str(LEASE),
    "TAGLENS_CLASSIFY_BATCH": "4",
}


def database_url() -> str:
    """The test database (not the development one) as a DATABASE_URL for the workers."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        if "memory" in name or not name.startswith("/"):
            pytest.fail(f"SQLite test database {name!r} is not a file workers can open")
        return f"sqlite:///{name}"
    if connection.vendor == "postgresql":
        user = quote(str(db["USER"] or ""))
        password = f":{quote(str(db['PASSWORD']))}" if db["PASSWORD"] else ""
        host = db["HOST"] or "127.0.0.1"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{user}{password}@{host}{port}/{quote(str(db['NAME']))}"
    pytest.skip(f"no worker test for {connection.vendor}")


class Cluster:
    """One `manage.py qcluster` in its own process group (sentinel, pusher, monitor, worker)."""

    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.output = folder / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPO,
            env=env,
            stdout=self.output.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def group(self) -> int:
        return self.process.pid  # start_new_session: it leads its own process group

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def running(self) -> bool:
        return self.process.poll() is None and " running." in self.log()

    def members(self) -> list[int]:
        """Processes of the group other than the leader (Linux /proc)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.group and int(stat.parent.name) != self.group:
                pids.append(int(stat.parent.name))
        return pids

    def kill(self) -> None:
        try:
            os.killpg(self.group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM: the worker finishes its task, then the cluster's processes exit. (The
        leader itself sometimes hangs on exit; once its children are gone it is killed.)"""
        self.process.send_signal(signal.SIGTERM)
        wait_for(lambda: not self.members(), timeout, f"{self.name} to stop")
        self.kill()


def wait_until(condition: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    if not wait_until(condition, timeout):
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def broker() -> Iterator[None]:
    """The real queue for this test (the suite otherwise runs tasks inline), emptied before
    and after."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    old = Conf.SYNC
    Conf.SYNC = False
    get_broker().purge_queue()
    yield
    get_broker().purge_queue()
    Conf.SYNC = old


def test_two_workers_share_uploads_and_a_killed_workers_posts_are_redone_once(
    broker, tmp_path: Path
) -> None:
    predictions = tmp_path / "predictions.log"
    mark = tmp_path / "blocked.pid"
    env = {
        **os.environ,
        **WORKER_SETTINGS,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # task packages are signed with it
        "TAGLENS_VAR_DIR": str(tmp_path / "var"),
        "TAGLENS_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "TAGLENS_CLASSIFIER": "tests.ingest.recording.RecordingClassifier",
        "TAGLENS_SIGNAL_SOURCES": "",
        "TAGLENS_OCR": "false",
        "TAGLENS_LOG_LEVEL": "INFO",
        "TAGLENS_Q_LOG_LEVEL": "INFO",  # its " running." line tells the cluster is up
        "PYTHONUNBUFFERED": "1",
        LOG_ENV: str(predictions),
        BLOCK_KEY_ENV: str(BLOCK_KEY),
        BLOCK_MARK_ENV: str(mark),
        DELAY_ENV: "0.05",
    }
    clusters: list[Cluster] = []

    def logs() -> str:
        return "\n".join(f"--- {c.name}\n{c.log()[-3000:]}" for c in clusters)

    try:
        clusters += [Cluster("a", env, tmp_path), Cluster("b", env, tmp_path)]
        wait_for(lambda: all(c.running() for c in clusters), 30, "two workers to start")

        author = UserFactory()
        keys = list(range(1, POSTS + 1))
        # One transaction (a burst): its tasks go to the broker on commit, and both workers
        # find posts waiting. (Uploads one by one, a worker that claims the next batch as soon
        # as the network is free can keep up with them alone.)
        with transaction.atomic():
            posts = {
                key: post_create(author=author, image=io.BytesIO(key_png(key)), hashtags=["카페"])
                for key in keys
            }
        by_pk = {post.pk: key for key, post in posts.items()}

        wait_for(
            lambda: mark.exists() and mark.read_text().strip(),
            30,
            f"a worker to reach post {BLOCK_KEY}\n{logs()}",
        )
        blocked_pid = int(mark.read_text())
        [victim] = [c for c in clusters if os.getpgid(blocked_pid) == c.group]
        victim.kill()  # SIGKILL the whole cluster mid-task
        survivor = next(c for c in clusters if c is not victim)

        rows = read_log(predictions)
        [in_flight] = [
            k for pid, what, k in rows if (pid, what) == (blocked_pid, "start") and BLOCK_KEY in k
        ]
        # What the dead worker holds: the batch in the network and the next one, claimed and
        # decoded while it waited (claim tokens name the process).
        held = set(
            Post.objects.filter(claimed_by__contains=f":{blocked_pid}:").values_list(
                "pk", flat=True
            )
        )
        assert {posts[key].pk for key in in_flight} <= held

        def others_done() -> bool:
            left = Post.objects.exclude(pk__in=held).exclude(status=Post.Status.CLASSIFIED)
            return not left.exists()

        # (A post whose task the dead worker had already taken off a Redis queue may be left
        # for the restart's sweep; the ORM broker hands such a task out again after `retry`.)
        wait_until(others_done, 15)
        # The killed worker's posts stay claimed (live lease) while it could still be alive.
        assert (
            set(
                Post.objects.filter(pk__in=held, status=Post.Status.PENDING).values_list(
                    "pk", flat=True
                )
            )
            == held
        )
        survivor.stop()

        def leases_expired() -> bool:
            return not Post.objects.filter(pk__in=held, claimed_until__gt=timezone.now()).exists()

        wait_for(leases_expired, LEASE + 5, "the dead worker's lease to run out")
        before_restart = len(read_log(predictions))
        clusters.append(Cluster("restarted", env, tmp_path))

        def all_classified() -> bool:
            return Post.objects.filter(status=Post.Status.CLASSIFIED).count() == POSTS

        wait_for(all_classified, 40, f"the restarted worker to finish\n{logs()}")
        clusters[-1].stop()
    finally:
        for cluster in clusters:
            cluster.kill()

    rows = read_log(predictions)
    starts = [(pid, k) for pid, what, k in rows if what == "start"]
    dones = [(pid, k) for pid, what, k in rows if what == "done"]
    counts = Counter(key for _, k in starts for key in k)
    # Every photo scored exactly once, but the killed batch's photos twice, and those of the
    # batch the dead worker was storing meanwhile, if it was (scored, never committed).
    held_keys = {by_pk[pk] for pk in held}
    twice = {key for key in keys if counts[key] == 2}
    assert set(in_flight) <= twice <= held_keys, logs()
    assert {key: counts[key] for key in keys if key not in twice} == {
        key: 1 for key in keys if key not in twice
    }, logs()
    # Only the killed call never finished.
    unfinished = Counter(map(repr, starts)) - Counter(map(repr, dones))
    assert list(unfinished.elements()) == [repr((blocked_pid, in_flight))]
    # Both workers were at work before the kill.
    blocked_call = starts.index((blocked_pid, in_flight))
    assert len({pid for pid, _ in starts[: blocked_call + 1]}) == 2, logs()
    # The killed batch was redone by the restarted worker, a process that had not run before.
    redone = rows[before_restart:]
    assert set(in_flight) <= {key for _, _, k in redone for key in k}
    assert not {pid for pid, _, _ in redone} & {pid for pid, _, _ in rows[:before_restart]}

    # Nothing lost, nothing doubled in the database.
    stored = Post.objects.filter(pk__in=by_pk)
    assert sorted(stored.values_list("status", flat=True)) == ["classified"] * POSTS
    assert not stored.exclude(claimed_by="").exists()
    assert Embedding.objects.filter(post__in=stored).count() == POSTS
    assert Classification.objects.filter(post__in=stored).count() == POSTS
