"""Words read in the training photos as an upload's would be, for the cross-validation."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from django.conf import settings

from mlmodels.base import ImageDecodeError, load_image
from mlmodels.dataset import file_sha1
from mlmodels.text.ocr import OcrError
from mlmodels.text.textlike import MENU_SIGNAL, text_expected
from moderation.ingest.text import read_words, text_reader
from moderation.models import TextExtraction
from moderation.selectors.text import COUNTED

logger = logging.getLogger(__name__)


def photo_words(
    paths: Sequence[Path],
    signals: Sequence[Mapping[str, float]],
    cache_file: Path,
    on_photo: Callable[[int, int], None] | None = None,
) -> list[list[str]] | None:
    """Per photo, the words an upload of it would count (None: no OCR here); cached per file,
    Tesseract version and menu class."""
    reader = text_reader(float(settings.TAGLENS_OCR_TIMEOUT))
    if not settings.TAGLENS_OCR or not reader.available():
        return None
    cache: dict[str, list[str]] = {}
    if cache_file.is_file():
        stored = json.loads(cache_file.read_text())
        if stored.get("version") == reader.version:
            cache = stored["words"]
    gated = [i for i, s in enumerate(signals) if text_expected(s) is not False]
    words: list[list[str]] = [[] for _ in paths]
    read = 0
    for done, i in enumerate(gated, 1):
        key = f"{file_sha1(paths[i])}|{float(signals[i].get(MENU_SIGNAL, 0.0)):.4f}"
        if key not in cache:
            try:
                found = reader.read(load_image(paths[i], draft_size=None))
            except (OcrError, ImageDecodeError, OSError) as exc:
                logger.warning("Text of %s not read: %s", paths[i], exc)
                continue
            cache[key] = read_words(found, signals[i])[0]
            read += 1
        words[i] = cache[key]
        if on_photo:
            on_photo(done, len(gated))
    if read:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps({"version": reader.version, "words": cache}))
    return words


def override_words(post_ids: Sequence[int]) -> list[list[str]]:
    """The words read and stored in each overridden post's image (none when never read)."""
    stored = dict(
        TextExtraction.objects.filter(post_id__in=post_ids, status__in=COUNTED).values_list(
            "post_id", "words"
        )
    )
    return [list(stored.get(pk) or []) for pk in post_ids]
