"""Moderation's handlers for posts.signals hooks, post deletion and django-q2 worker start."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver
from django_q.conf import Conf
from django_q.signals import post_spawn
from django_q.tasks import async_task

from moderation.ingest.classifier import models_warm
from moderation.ingest.completion import signals_complete_queue
from moderation.ingest.queue import classification_queue
from moderation.ingest.text import text_reader_warm
from moderation.judging.counts import hashtag_counts_refresh_on_commit
from moderation.judging.verdicts import verdicts_create_pending, verdicts_evaluate
from moderation.models import Verdict
from moderation.rules.analyzer import analyzer_warm
from moderation.selectors.search_cache import search_cache_stale
from posts.models import Hashtag, Post
from posts.signals import (
    post_caption_changed,
    post_comments_changed,
    post_created,
    post_hashtags_changed,
)

logger = logging.getLogger(__name__)

SWEEP_TASK = "moderation.tasks.classify_sweep"


@receiver(post_created, dispatch_uid="moderation.post_created")
def on_post_created(sender: type[Post], post: Post, **kwargs: Any) -> None:
    verdicts_create_pending(post=post)
    classification_queue(post=post)


@receiver(post_hashtags_changed, dispatch_uid="moderation.post_hashtags_changed")
def on_post_hashtags_changed(
    sender: type[Post], post: Post, added: list[str], removed: list[str], **kwargs: Any
) -> None:
    # Verdicts of removed tags go with the tags; new ones are judged from stored scores, and
    # a new tag whose rule needs people the upload skipped queues them (then judges again).
    gone = Verdict.objects.filter(post=post, hashtag__name__in=removed)
    hashtag_counts_refresh_on_commit(hashtag_ids=gone.values_list("hashtag_id", flat=True))
    gone.delete()
    verdicts_create_pending(post=post)
    verdicts_evaluate(posts=[post])
    if added:
        signals_complete_queue(post_ids=[post.pk])


@receiver(post_caption_changed, dispatch_uid="moderation.post_caption_changed")
def on_post_caption_changed(sender: type[Post], post: Post, **kwargs: Any) -> None:
    # Caption words are (weak) evidence: judge the post again from stored scores.
    verdicts_evaluate(posts=[post])


@receiver(post_comments_changed, dispatch_uid="moderation.post_comments_changed")
def on_post_comments_changed(sender: type[Post], post: Post, **kwargs: Any) -> None:
    # Comment words are (weak) evidence like the caption's: judge again from stored scores.
    verdicts_evaluate(posts=[post])


@receiver(pre_delete, sender=Post, dispatch_uid="moderation.post_deleted")
def on_post_deleted(sender: type[Post], instance: Post, **kwargs: Any) -> None:
    # The verdicts go with the post (cascade); its hashtags are counted again after commit.
    hashtag_counts_refresh_on_commit(
        hashtag_ids=Verdict.objects.filter(post=instance).values_list("hashtag_id", flat=True)
    )


@receiver(post_save, sender=Hashtag, dispatch_uid="moderation.hashtag_saved")
@receiver(post_delete, sender=Hashtag, dispatch_uid="moderation.hashtag_deleted")
def on_hashtag_changed(sender: type[Hashtag], instance: Hashtag, **kwargs: Any) -> None:
    # Renamed or deleted in the admin (uploads link tags with bulk_create, which sends nothing):
    # rare, and the old name is gone, so every hashtag's cached page goes.
    search_cache_stale(hashtag_ids=None)


@receiver(post_spawn, dispatch_uid="moderation.worker_spawned")
def on_worker_spawned(sender: str, proc_name: str, **kwargs: Any) -> None:
    # Sweep now (Redis never redelivers), load models and analyzer; sync mode spawns one per task.
    if Conf.SYNC:
        return
    try:
        async_task(SWEEP_TASK, group="classify-sweep")
    except Exception:  # never keep a worker from starting
        logger.exception("Could not queue the classification sweep.")
    try:
        models_warm()
        text_reader_warm()
        analyzer_warm()
    except Exception:  # the first batch will say what is wrong, on the posts it fails
        logger.exception("Could not load the models at worker start.")
