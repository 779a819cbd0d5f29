"""Text in the image (OCR, once per post) and the words that count as evidence."""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from PIL import Image

from mlmodels.base import ImageDecodeError, load_image
from mlmodels.ocr import OcrError, TesseractReader
from moderation.models import TextExtraction
from posts.models import Post

logger = logging.getLogger(__name__)


NOT_INSTALLED = "OCR is not installed (see README)"


TURNED_OFF = "OCR is turned off (TAGLENS_OCR=false)"


@lru_cache(maxsize=4)
def text_reader(timeout: float) -> TesseractReader:
    """One reader per process (it remembers whether Tesseract is installed)."""
    return TesseractReader(timeout=timeout)


def _store(post: Post, **fields: object) -> TextExtraction:
    row, _ = TextExtraction.objects.update_or_create(post=post, defaults=fields)
    return row


def _full_resolution(post: Post, image: Image.Image | None) -> Image.Image:
    # The classifier decodes big JPEGs at a reduced scale; text needs every pixel.
    if image is not None and image.width >= post.width and image.height >= post.height:
        return image
    with post.image.open("rb") as handle:
        return load_image(handle, draft_size=None)


def text_extract(*, post: Post, image: Image.Image | None = None) -> TextExtraction:
    """Read and store the post's TextExtraction. Idempotent per engine; OCR off, no Tesseract
    or a failed read is stored as such and never stops classification."""
    if not settings.TAGLENS_OCR:
        return _store(
            post,
            engine="off",
            status=TextExtraction.Status.UNAVAILABLE,
            text="",
            words=[],
            message=TURNED_OFF,
        )
    reader = text_reader(float(settings.TAGLENS_OCR_TIMEOUT))
    done = TextExtraction.objects.filter(
        post=post, status=TextExtraction.Status.OK, engine=reader.version
    ).first()
    if done is not None:
        return done
    if not reader.available():
        problem = reader.problem()
        return _store(
            post,
            engine=reader.version,
            status=TextExtraction.Status.UNAVAILABLE,
            text="",
            words=[],
            message=f"{NOT_INSTALLED}: {problem}" if problem else NOT_INSTALLED,
        )
    try:
        read = reader.read(_full_resolution(post, image))
    except (OcrError, ImageDecodeError, OSError) as exc:
        logger.warning("Text of post %s not read: %s", post.pk, exc)
        return _store(
            post,
            engine=reader.version,
            status=TextExtraction.Status.FAILED,
            text="",
            words=[],
            message=str(exc)[:300],
        )
    logger.info("Read %d words in post %s in %.2f s.", len(read.words), post.pk, read.seconds)
    return _store(
        post,
        engine=reader.version,
        status=TextExtraction.Status.OK,
        text=read.text,
        words=read.words,
        message="",
    )


def texts_extract(*, items: list[tuple[Post, Image.Image]]) -> None:
    """``text_extract`` for a batch of posts; with OCR turned off, one statement for all."""
    if settings.TAGLENS_OCR:
        for post, image in items:
            text_extract(post=post, image=image)
        return
    if not items:
        return
    TextExtraction.objects.bulk_create(
        [
            TextExtraction(
                post=post,
                engine="off",
                status=TextExtraction.Status.UNAVAILABLE,
                text="",
                words=[],
                message=TURNED_OFF,
            )
            for post, _ in items
        ],
        update_conflicts=True,
        unique_fields=["post"],
        update_fields=["engine", "status", "text", "words", "message"],
    )
