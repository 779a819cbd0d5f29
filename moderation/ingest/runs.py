"""A task's run of batches, the next one's network overlapping this one's text and store."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings

from moderation.ingest.batches import (
    Batch,
    BatchResult,
    batch_decode,
    batch_open,
    batch_predict,
    batch_read_text,
    batch_store,
    classification_run_batch,
    guarded,
)
from moderation.ingest.claims import classification_release
from moderation.ingest.queue import classification_enqueue


def classification_run_task(
    *, post_id: int | None, count: int = 1, others: Sequence[int] = ()
) -> list[BatchResult]:
    """A queued task: classify ``post_id``, ``others``, then batches while posts are pending (at
    least the ``count`` it stands for); past a third of the timeout, hand the rest to a new task.
    Batches overlap only where a core would idle otherwise (docs/scaling.md)."""
    if _overlap():
        return _run_overlapped(post_id=post_id, count=count, others=others)
    started = time.monotonic()
    results = [classification_run_batch(post_id=post_id, others=others)]
    taken = len(results[0].claimed)
    while results[-1].claimed and not _out_of_time(started, taken, count):
        result = classification_run_batch(post_id=None)
        if not result.claimed:
            break
        results.append(result)
        taken += len(result.claimed)
    return results


def _overlap() -> bool:
    return (
        settings.TAGLENS_MODEL_THREADS > 1
        or settings.TAGLENS_OCR
        or bool(settings.TAGLENS_SIGNAL_SOURCES)
    )


def _out_of_time(started: float, taken: int, count: int) -> bool:
    """Past a third of the task timeout: queue a task for the posts still owed; return True."""
    if time.monotonic() - started <= settings.Q_TIMEOUT / 3:
        return False
    if taken < count:
        classification_enqueue(None, count - taken)
    return True


def _run_overlapped(*, post_id: int | None, count: int, others: Sequence[int]) -> list[BatchResult]:
    """The network runs in a helper thread; everything touching the database stays in this one."""
    started = time.monotonic()
    results: list[BatchResult] = []
    taken = 0
    first = batch_open(post_id=post_id, others=others)
    batch: Batch | None = first
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taglens-network") as pool:
        predicting: Future[None] | None = None
        if first.result.claimed:
            guarded(first, batch_decode)
            predicting = pool.submit(batch_predict, first)
        while batch is not None:
            results.append(batch.result)
            if predicting is None:
                break  # the task's first claim found nothing to do
            taken += len(batch.result.claimed)
            following: Batch | None = None
            unclaimed: Exception | None = None
            try:
                if not _out_of_time(started, taken, count):
                    try:
                        following = batch_open(post_id=None)
                        if following.result.claimed:
                            guarded(following, batch_decode)
                    except Exception as exc:  # logged; this batch is stored all the same
                        unclaimed, following = exc, None
                guarded(batch, _waiting_for(predicting))
                predicting = None
                if following is not None and following.result.claimed:
                    predicting = pool.submit(batch_predict, following)
                guarded(batch, batch_read_text)
                guarded(batch, batch_store)
            except BaseException:
                if following is not None:
                    if predicting is not None:
                        predicting.exception()  # wait: the network is done with its photos
                    classification_release(claim=following.claim)
                raise
            if unclaimed is not None:
                raise unclaimed
            batch = following if predicting is not None else None
    return results


def _waiting_for(work: Future[None]) -> Callable[[Batch], None]:
    def wait(batch: Batch) -> None:
        work.result()  # the helper thread's error, raised here

    return wait
