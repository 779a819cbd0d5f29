"""Content: posts, their images and hashtags. The lowest floor; imports no other app."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models


def post_image_path(instance: Post, filename: str) -> str:
    # Never trust the uploaded name: a fresh random name with the decoded format's suffix.
    suffix = PurePosixPath(filename).suffix.lower()[:6] or ".jpg"
    return f"posts/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{suffix}"


class Hashtag(models.Model):
    # Normalised form (NFC, case-folded, no leading '#'); see posts.hashtags.
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # How often people searched this tag: orders the review queue by the searches it affects.
    search_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"#{self.name}"


class Post(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CLASSIFIED = "classified", "Classified"
        FAILED = "failed", "Failed"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="posts",
    )
    image = models.ImageField(upload_to=post_image_path)
    # A small square JPEG made at upload, so the grid never ships full photos.
    thumbnail = models.ImageField(upload_to=post_image_path, blank=True)
    # As the photo is shown (EXIF orientation applied).
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    caption = models.TextField(blank=True, max_length=2200)
    hashtags = models.ManyToManyField(Hashtag, through="PostHashtag", related_name="posts")
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    classified_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim while it classifies the post (a lease): who, and until when. Another
    # worker takes the post only once the lease has run out (its holder died or hung).
    # db_default: rows written by raw SQL (seed_bulk) that do not name the column are unclaimed.
    claimed_by = models.CharField(max_length=100, blank=True, default="", db_default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Post {self.pk}"


class PostHashtag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="post_hashtags")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="post_hashtags")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["post", "hashtag"], name="unique_post_hashtag")
        ]

    def __str__(self) -> str:
        return f"{self.post_id} #{self.hashtag_id}"


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
    )
    text = models.TextField(max_length=2200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.post_id}"


class CommentMention(models.Model):
    """A person named with @ in a comment: the comment is in their activity."""

    # No index of its own: the constraint leads with it.
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="mentions", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="one_mention_per_person")
        ]
        indexes = [models.Index(fields=["user", "comment"], name="mention_by_user")]

    def __str__(self) -> str:
        return f"user {self.user_id} in comment {self.comment_id}"
