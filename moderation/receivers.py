"""Moderation's side of posts.signals.post_created."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from moderation.services import classification_queue, verdicts_create_pending
from posts.models import Post
from posts.signals import post_created


@receiver(post_created, dispatch_uid="moderation.post_created")
def on_post_created(sender: type[Post], post: Post, **kwargs: Any) -> None:
    verdicts_create_pending(post=post)
    classification_queue(post=post)
