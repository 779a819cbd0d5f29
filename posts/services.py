"""Writes for posts."""

from __future__ import annotations

import io
from typing import IO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile, File
from django.db import transaction
from PIL import Image, ImageOps

from mlmodels.base import ImageDecodeError, load_image
from posts.hashtags import InvalidHashtag, normalize_hashtag
from posts.models import Hashtag, Post, PostHashtag
from posts.signals import post_created

THUMBNAIL_SIZE = 320
EXIF_ORIENTATION = 0x0112


class PostRejected(ValueError):
    """An upload that is refused; nothing is stored."""


def _thumbnail_bytes(image: Image.Image) -> bytes:
    square = ImageOps.fit(image, (THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


def _displayed_size(image: IO[bytes]) -> tuple[int, int]:
    """Width and height as shown, read from the header (the decoded copy may be reduced)."""
    image.seek(0)
    with Image.open(image) as header:
        width, height = header.size
        if header.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
            width, height = height, width
    return width, height


def hashtags_get_or_create(*, names: list[str]) -> list[Hashtag]:
    normalized = list(dict.fromkeys(normalize_hashtag(name) for name in names))
    existing = {tag.name: tag for tag in Hashtag.objects.filter(name__in=normalized)}
    missing = [Hashtag(name=name) for name in normalized if name not in existing]
    if missing:
        Hashtag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Hashtag.objects.filter(name__in=normalized)}
    return [existing[name] for name in normalized]


def post_create(
    *,
    author: User | None,
    image: IO[bytes],
    image_name: str,
    caption: str = "",
    hashtags: list[str],
) -> Post:
    """Store an upload at once with status pending; classification follows in the background."""
    size = getattr(image, "size", None)
    if size is not None and size > settings.TAGLENS_MAX_UPLOAD_BYTES:
        raise PostRejected(
            f"The image is {size} bytes; the limit is {settings.TAGLENS_MAX_UPLOAD_BYTES} bytes."
        )
    if not hashtags:
        raise PostRejected("Add at least one hashtag.")
    try:
        decoded = load_image(image, draft_size=THUMBNAIL_SIZE)
    except ImageDecodeError as exc:
        raise PostRejected(str(exc)) from exc
    try:
        # Validate every tag before anything is written.
        names = [normalize_hashtag(name) for name in hashtags]
    except InvalidHashtag as exc:
        raise PostRejected(str(exc)) from exc
    width, height = _displayed_size(image)
    image.seek(0)
    post = Post(author=author, caption=caption, width=width, height=height)
    try:
        with transaction.atomic():
            post.image.save(image_name, File(image), save=False)
            post.thumbnail.save("thumb.jpg", ContentFile(_thumbnail_bytes(decoded)), save=False)
            post.save()
            tags = hashtags_get_or_create(names=names)
            PostHashtag.objects.bulk_create(
                PostHashtag(post=post, hashtag=tag, position=index)
                for index, tag in enumerate(tags)
            )
            post_created.send(sender=Post, post=post)
    except BaseException:
        # A failed write leaves no file behind.
        for field in (post.image, post.thumbnail):
            if field.name:
                field.storage.delete(field.name)
        raise
    return post
