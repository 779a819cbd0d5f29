"""Text in the image (OCR, once per post) and the words that count as evidence."""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from PIL import Image

from mlmodels.base import ImageDecodeError, load_image
from mlmodels.ocr import OcrError, TesseractReader
from moderation.models import PostWord, TextExtraction
from moderation.rules import Expr, RuleSyntaxError, parse
from moderation.selectors import PostText, RuleIndex, post_texts
from moderation.words import WordMatch, candidate_keys, post_word_matches, word_index
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
    """Read the text in a post's image and store it as the post's TextExtraction.

    Idempotent: a text already read by the same engine is kept. When OCR is turned off or
    Tesseract is missing the row says so (status ``unavailable``), and a failed read is
    stored with its reason; neither stops the post from being classified.
    """
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


def text_matches(
    *,
    post_ids: list[int],
    index: RuleIndex,
    names: dict[str, str],
    texts: dict[int, PostText] | None = None,
) -> dict[int, list[WordMatch]]:
    """For each post, the words in its image, caption and comments that point to a rule with
    a single concept. Two queries (none when the caller passes the posts' ``texts``); the
    stored image text is used, OCR is not run."""
    parsed: dict[str, Expr | None] = {}
    for keyword, rule in index.rules.items():
        try:
            parsed[keyword] = parse(rule.expression, names)
        except RuleSyntaxError:
            parsed[keyword] = None
    mappings = {word: rule.keyword for word, rule in index.mappings.items()}
    words = word_index(parsed, mappings)
    return {
        post_id: post_word_matches(
            index=words, image_words=t.image_words, caption=t.caption, comments=t.comments
        )
        for post_id, t in (post_texts(post_ids=post_ids) if texts is None else texts).items()
    }


def post_words_store(*, post_ids: list[int], texts: dict[int, PostText] | None = None) -> None:
    """Keep each post's word forms (``PostWord``) in step with its image text, caption and
    comments (``texts``, read here unless the caller has them); only the difference is
    written."""
    if not post_ids:
        return
    if texts is None:
        texts = post_texts(post_ids=post_ids)
    wanted = {
        (post_id, *row)
        for post_id, t in texts.items()
        for row in candidate_keys(image_words=t.image_words, caption=t.caption, comments=t.comments)
        if len(row[0]) <= PostWord.MAX_KEY and len(row[2]) <= PostWord.MAX_KEY
    }
    rows = PostWord.objects.filter(post_id__in=post_ids)
    stored = {
        (r[1], r[2], r[3], r[4]): r[0]
        for r in rows.values_list("pk", "post_id", "key", "source", "form")
    }
    gone = [pk for row, pk in stored.items() if row not in wanted]
    if gone:
        PostWord.objects.filter(pk__in=gone).delete()
    PostWord.objects.bulk_create(
        [
            PostWord(post_id=post_id, key=key, source=source, form=form)
            for post_id, key, source, form in wanted - set(stored)
        ],
        ignore_conflicts=True,
    )
