"""Classification in batches: claims, leases, one network run per batch, per-post failures."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from mlmodels.fake import FakeClassifier
from moderation import tasks
from moderation.ingest.claims import classification_claim
from moderation.ingest.classifier import BATCH_FAILURE
from moderation.ingest.queue import classification_sweep
from moderation.judging.verdicts import verdicts_explain
from moderation.models import Classification, Embedding, TextExtraction, Verdict
from posts.models import Post
from posts.services import post_create
from tests.factories import UserFactory
from tests.ingest.recording import PickyClassifier, image_key, key_png

pytestmark = pytest.mark.django_db


def pending_posts(capture, keys: list[int]) -> list[Post]:  # type: ignore[no-untyped-def]
    """Uploads whose tasks are held back (as if queued behind others)."""
    author = UserFactory()
    with capture(execute=False):
        posts = [
            post_create(author=author, image=io.BytesIO(key_png(key)), hashtags=["카페"])
            for key in keys
        ]
    assert all(p.status == Post.Status.PENDING for p in posts)
    return posts


def statuses(posts: list[Post]) -> list[str]:
    by_pk = dict(Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("pk", "status"))
    return [by_pk[p.pk] for p in posts]


# One model thread per worker: batches in turn; more: overlapping (the network in a helper
# thread). The claims, and so the batches, are the same.
IN_TURN_AND_OVERLAPPED = pytest.mark.parametrize("threads", [1, 2], ids=["in-turn", "overlapped"])


@IN_TURN_AND_OVERLAPPED
def test_a_task_classifies_its_post_and_older_pending_ones_in_batches(
    recording, settings, django_capture_on_commit_callbacks, threads: int
) -> None:
    settings.TAGLENS_MODEL_THREADS = threads
    posts = pending_posts(django_capture_on_commit_callbacks, list(range(10, 18)))

    summary = tasks.classify_post(posts[-1].pk)

    # Eight waiting, batches of four: a full batch, its own post first, then the oldest. The
    # task goes on while posts are pending; the last four are shared out in halves (another
    # worker could take one), and the last two go together.
    assert recording.batches == [[17, 10, 11, 12], [13, 14], [15, 16]]
    assert summary.split("; ") == [
        "claimed 4: 4 classified, 0 failed, network ran on 4, signals on 0",
        "claimed 2: 2 classified, 0 failed, network ran on 2, signals on 0",
        "claimed 2: 2 classified, 0 failed, network ran on 2, signals on 0",
    ]
    assert statuses(posts) == ["classified"] * 8
    assert Embedding.objects.count() == Classification.objects.count() == 8
    assert TextExtraction.objects.count() == 8  # OCR is off in tests: the row says so
    claimed = Post.objects.filter(claimed_by="", claimed_until__isnull=True)
    assert claimed.count() == 8  # every claim released


@pytest.mark.parametrize(
    ("waiting", "share"),
    [(200, 64), (128, 64), (127, 64), (96, 48), (70, 35), (64, 32), (40, 40), (5, 5), (1, 1)],
)
def test_a_claim_takes_half_of_what_waits_when_less_than_two_batches_wait(
    waiting: int, share: int
) -> None:
    from moderation.ingest.claims import claim_share

    assert claim_share(waiting, 64) == share


def test_running_a_task_again_takes_nothing_and_runs_no_network(
    recording, django_capture_on_commit_callbacks
) -> None:
    [post] = pending_posts(django_capture_on_commit_callbacks, [20])
    tasks.classify_post(post.pk)
    before = list(Classification.objects.values_list("pk", "scores"))

    assert tasks.classify_post(post.pk) == (
        "claimed 0: 0 classified, 0 failed, network ran on 0, signals on 0"
    )

    assert recording.calls == 1
    assert list(Classification.objects.values_list("pk", "scores")) == before


def test_a_post_held_by_a_live_worker_is_left_until_its_lease_runs_out(
    recording, django_capture_on_commit_callbacks
) -> None:
    posts = pending_posts(django_capture_on_commit_callbacks, [30, 31, 32])
    other = classification_claim(
        post_id=posts[0].pk, limit=1, lease_seconds=60, backbone=FakeClassifier.version
    )
    assert other.post_ids == [posts[0].pk]

    tasks.classify_post(posts[0].pk)  # its own post is held by the other worker

    assert statuses(posts) == ["pending", "classified", "classified"]
    assert [image_key_of(p) for p in posts[1:]] == [31, 32]
    held = Post.objects.get(pk=posts[0].pk)
    assert held.claimed_by == other.token and held.claimed_until == other.until

    # The other worker died: once the lease has run out, any task takes the post.
    Post.objects.filter(pk=posts[0].pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    tasks.classify_post(posts[2].pk)
    assert statuses(posts) == ["classified"] * 3
    assert recording.images_seen == 3  # each photo once


def image_key_of(post: Post) -> int:
    from mlmodels.base import load_image

    with post.image.open("rb") as handle:
        return image_key(load_image(handle))


def test_two_claims_never_share_a_post(recording, django_capture_on_commit_callbacks) -> None:
    posts = pending_posts(django_capture_on_commit_callbacks, [40, 41, 42, 43, 44])
    claim = {"backbone": FakeClassifier.version, "lease_seconds": 60, "limit": 3}
    first = classification_claim(post_id=posts[4].pk, **claim)
    second = classification_claim(post_id=posts[4].pk, **claim)
    third = classification_claim(post_id=None, **claim)
    assert first.post_ids == [posts[4].pk, posts[0].pk, posts[1].pk]
    assert second.post_ids == [posts[2].pk, posts[3].pk]
    assert third.post_ids == []


def test_an_unreadable_image_fails_only_its_post(
    recording, django_capture_on_commit_callbacks
) -> None:
    posts = pending_posts(django_capture_on_commit_callbacks, [50, 51, 52])
    with posts[1].image.storage.open(posts[1].image.name, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n bitrot")

    assert "2 classified, 1 failed" in tasks.classify_post(posts[0].pk)

    assert statuses(posts) == ["classified", "failed", "classified"]
    failed = Post.objects.get(pk=posts[1].pk)
    assert failed.failure_reason.startswith("The image could not be read:")
    assert failed.claimed_by == "" and failed.claimed_until is None
    assert failed.verdicts.get().decision == "unknown"
    assert recording.calls == 1 and recording.images_seen == 2


def test_a_photo_the_network_rejects_fails_only_its_post(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.TAGLENS_CLASSIFIER = "tests.ingest.recording.PickyClassifier"
    settings.TAGLENS_CLASSIFY_BATCH = 4
    PickyClassifier.refused = 61
    try:
        posts = pending_posts(django_capture_on_commit_callbacks, [60, 61, 62])
        assert "2 classified, 1 failed" in tasks.classify_post(posts[0].pk)
    finally:
        PickyClassifier.refused = -1
    assert statuses(posts) == ["classified", "failed", "classified"]
    reason = Post.objects.get(pk=posts[1].pk).failure_reason
    assert reason == "Classification error (ValueError): tensor shape the network cannot take"


def test_a_failed_batch_marks_its_own_post_and_gives_the_others_back(
    recording, django_capture_on_commit_callbacks
) -> None:
    posts = pending_posts(django_capture_on_commit_callbacks, [70, 71, 72])
    recording.next_scores = {"adult": 0.9}  # unsupported: every predict raises

    with pytest.raises(ValueError, match="unsupported"):
        tasks.classify_post(posts[1].pk)

    rows = {p.pk: p for p in Post.objects.filter(pk__in=[p.pk for p in posts])}
    assert rows[posts[1].pk].status == Post.Status.FAILED
    assert rows[posts[1].pk].failure_reason == BATCH_FAILURE
    (verdict,) = rows[posts[1].pk].verdicts.all()
    verdicts_explain([verdict])  # as the post page does: the failure, not a rule change
    assert verdict.decision == Verdict.Decision.PENDING
    assert verdict.explanation == {"reason": BATCH_FAILURE}
    assert [rows[posts[0].pk].status, rows[posts[2].pk].status] == ["pending", "pending"]
    assert all(r.claimed_by == "" and r.claimed_until is None for r in rows.values())
    assert not Embedding.objects.exists()

    recording.next_scores = {"beverage": 0.8}
    tasks.classify_post(posts[1].pk)  # django-q2's retry of the same task
    assert statuses(posts) == ["classified"] * 3


def test_the_sweep_queues_posts_left_behind_and_leaves_live_claims(
    recording, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TAGLENS_CLASSIFY_LEASE = 150
    posts = pending_posts(django_capture_on_commit_callbacks, [80, 81, 82, 83])
    long_ago = timezone.now() - timedelta(seconds=600)
    # 80: its worker died (lease ran out); 81: never claimed, task lost long ago;
    # 82: a live worker holds it; 83: just uploaded, its task is still queued.
    Post.objects.filter(pk=posts[0].pk).update(
        claimed_by="dead:1:x", claimed_until=timezone.now() - timedelta(seconds=5)
    )
    Post.objects.filter(pk=posts[1].pk).update(created_at=long_ago)
    Post.objects.filter(pk=posts[2].pk).update(
        claimed_by="alive:2:y", claimed_until=timezone.now() + timedelta(seconds=100)
    )
    settings.TAGLENS_CLASSIFY_BATCH = 1

    assert classification_sweep() == 2  # one task each for 80 and 81, run inline here

    # The first task goes on while posts are pending (83 too); the live claim is left alone.
    assert statuses(posts) == ["classified", "classified", "pending", "classified"]


def test_the_classifier_sees_a_reduced_photo_and_the_text_reader_the_full_one(
    recording, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from mlmodels.text.ocr import TextRead
    from moderation.ingest import text

    read_sizes: list[tuple[int, int]] = []

    class Reader:
        version = "fake-ocr"

        def available(self) -> bool:
            return True

        def problem(self) -> str:
            return ""

        def read(self, image):  # type: ignore[no-untyped-def]
            read_sizes.append(image.size)
            return TextRead(text="", words=[], seconds=0.0)

    settings.TAGLENS_OCR = True
    monkeypatch.setattr(text, "text_reader", lambda timeout: Reader())
    big = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (1600, 1200), (90, 90, 160)).save(big, format="JPEG")
    with django_capture_on_commit_callbacks(execute=True):
        post_create(author=UserFactory(), image=io.BytesIO(big.getvalue()), hashtags=["카페"])

    [seen] = recording.sizes
    assert 256 <= min(seen) < 1200  # JPEG draft: decoded at a fraction of the size
    assert read_sizes == [(1600, 1200)]  # OCR reads every pixel


def test_a_model_version_of_another_backbone_fails_the_post_and_logs_the_reason(
    recording, django_capture_on_commit_callbacks, caplog
) -> None:
    from moderation.ingest.batches import BackboneMismatch
    from moderation.models import ModelVersion

    ModelVersion.objects.create(
        name="heads-on-another-backbone", backbone="another-backbone-1", is_active=True
    )
    posts = pending_posts(django_capture_on_commit_callbacks, [90, 91])

    with pytest.raises(BackboneMismatch):
        tasks.classify_post(posts[0].pk)

    rows = {p.pk: p for p in Post.objects.filter(pk__in=[p.pk for p in posts])}
    assert rows[posts[0].pk].status == Post.Status.FAILED
    assert rows[posts[0].pk].failure_reason == BATCH_FAILURE
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is BackboneMismatch]
    assert "needs backbone another-backbone-1" in str(logged[0].exc_info[1])
    assert "train and activate heads for it" in str(logged[0].exc_info[1])
    assert (rows[posts[1].pk].status, rows[posts[1].pk].claimed_by) == ("pending", "")
    assert recording.calls == 0


def test_the_uploads_of_one_transaction_share_four_tasks_or_one_per_batch(
    recording, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from django.db import transaction

    from moderation.ingest import queue

    queued: list[tuple[int, int]] = []
    real = queue.classification_enqueue

    def enqueue(post_id: int, count: int = 1) -> None:
        queued.append((post_id, count))
        real(post_id, count)  # runs the task inline (TAGLENS_Q_SYNC in tests)

    monkeypatch.setattr(queue, "classification_enqueue", enqueue)
    settings.TAGLENS_CLASSIFY_BATCH = 8
    author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            bulk = [
                post_create(author=author, image=io.BytesIO(key_png(k)), hashtags=["카페"])
                for k in range(90, 100)
            ]
    # Ten posts, batches of eight: two batches, but four tasks (a cluster holds three), of 3,
    # 3, 3 and 1, run inline. The first claims half of the ten (less than two batches wait),
    # then the other half; the rest find nothing.
    assert queued == [(bulk[0].pk, 3), (bulk[3].pk, 3), (bulk[6].pk, 3), (bulk[9].pk, 1)]
    assert statuses(bulk) == ["classified"] * 10
    assert recording.batches == [list(range(90, 95)), list(range(95, 100))]

    queued.clear()
    single = []
    for key in (100, 101):  # uploads of their own (each its own commit): a task each
        with django_capture_on_commit_callbacks(execute=True):
            single.append(
                post_create(author=author, image=io.BytesIO(key_png(key)), hashtags=["카페"])
            )
    assert queued == [(p.pk, 1) for p in single]


@IN_TURN_AND_OVERLAPPED
def test_a_task_goes_on_claiming_while_posts_are_pending(
    recording, settings, django_capture_on_commit_callbacks, threads: int
) -> None:
    settings.TAGLENS_MODEL_THREADS = threads
    # Queued for one post; ten wait and this worker takes 4 at a time.
    posts = pending_posts(django_capture_on_commit_callbacks, list(range(120, 130)))

    tasks.classify_post(posts[0].pk)

    assert statuses(posts) == ["classified"] * 10
    assert recording.batches == [[120, 121, 122, 123], [124, 125, 126], [127, 128, 129]]


def test_a_failure_to_claim_the_next_batch_still_stores_the_one_in_hand(
    recording, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from moderation.ingest import batches

    posts = pending_posts(django_capture_on_commit_callbacks, list(range(150, 160)))
    real = batches.classification_claim
    claims: list[int | None] = []

    def claim(**kwargs):  # type: ignore[no-untyped-def]
        claims.append(kwargs["post_id"])
        if len(claims) == 2:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(batches, "classification_claim", claim)

    with pytest.raises(RuntimeError, match="database went away"):
        tasks.classify_post(posts[0].pk)

    # The first batch was predicted while the second claim failed: it is stored, and the task
    # fails (django-q2 retries it) with nothing left claimed.
    assert statuses(posts) == ["classified"] * 4 + ["pending"] * 6
    assert not Post.objects.exclude(claimed_by="").exists()

    tasks.classify_post(posts[0].pk)  # the retry
    assert statuses(posts) == ["classified"] * 10


def test_a_failed_store_gives_back_the_next_batch_the_task_had_claimed(
    recording, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from moderation.ingest import runs

    settings.TAGLENS_MODEL_THREADS = 2  # overlapped: the next batch is claimed meanwhile
    posts = pending_posts(django_capture_on_commit_callbacks, list(range(160, 170)))

    def store(batch):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs, "batch_store", store)

    with pytest.raises(RuntimeError, match="disk full"):
        tasks.classify_post(posts[0].pk)

    # Its own post shows the failure; the others it held (this batch and the next, claimed
    # and sent to the network while the first was stored) are pending and free again.
    rows = {p.pk: p for p in Post.objects.filter(pk__in=[p.pk for p in posts])}
    assert rows[posts[0].pk].status == Post.Status.FAILED
    assert rows[posts[0].pk].failure_reason == BATCH_FAILURE
    assert statuses(posts)[1:] == ["pending"] * 9
    assert not Post.objects.exclude(claimed_by="").exists()
    assert len(recording.batches) == 2  # the next batch had been sent to the network


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_posts_of_a_transaction_that_rolled_back_are_not_queued_with_the_next(
    settings, monkeypatch
) -> None:
    from django.db import transaction

    from moderation.ingest import queue

    settings.TAGLENS_CLASSIFY_BATCH = 1  # a task per post gathered: a stale one would show
    queued: list[int] = []
    monkeypatch.setattr(
        queue, "classification_enqueue", lambda post_id, count=1: queued.append(post_id)
    )
    author = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        post_create(author=author, image=io.BytesIO(key_png(110)), hashtags=["카페"])
        raise RuntimeError("the request failed")
    assert queued == []

    post = post_create(author=author, image=io.BytesIO(key_png(111)), hashtags=["카페"])

    assert queued == [post.pk]


@IN_TURN_AND_OVERLAPPED
def test_a_long_task_hands_the_posts_it_still_stands_for_to_a_new_task(
    recording, settings, monkeypatch, django_capture_on_commit_callbacks, threads: int
) -> None:
    settings.TAGLENS_MODEL_THREADS = threads
    from moderation.ingest import runs

    posts = pending_posts(django_capture_on_commit_callbacks, list(range(140, 150)))
    queued: list[tuple[int | None, int]] = []
    real = runs.classification_enqueue

    def enqueue(post_id: int | None, count: int = 1) -> None:
        queued.append((post_id, count))
        real(post_id, count)  # inline

    monkeypatch.setattr(runs, "classification_enqueue", enqueue)
    settings.Q_TIMEOUT = 0  # every batch after the first is past a third of the timeout

    tasks.classify_post(posts[0].pk, 10)

    # The task ran one batch of 4, then queued the 6 it still stood for; that one ran one
    # batch (half of the six) and queued the last 3.
    assert queued == [(None, 6), (None, 3)]
    assert statuses(posts) == ["classified"] * 10
    assert recording.calls == 3
