"""Text in the image (OCR, once per post) and the words that count as evidence."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from PIL import Image

from mlmodels.base import ImageDecodeError, load_image
from mlmodels.text.ocr import OcrError, TesseractReader, TextRead
from mlmodels.text.textlike import MENU_SIGNAL, TEXT_SIGNAL, is_menu, prices, text_expected
from moderation.ingest.needs import hashtag_rules, post_rules
from moderation.models import Classification, ModelVersion, TextExtraction
from moderation.rules.compiled import CompiledRule, ConceptInfo, image_words_could_change
from moderation.rules.words import evidence_concept
from moderation.selectors.catalog import concept_catalog, rule_index
from posts.models import Post

logger = logging.getLogger(__name__)


NOT_INSTALLED = "OCR is not installed (see README)"


TURNED_OFF = "OCR is turned off (TAGLENS_OCR=false)"


DEFERRED = "No rule of its hashtags could decide otherwise with words read in it."
DEFERRED_MENU = "No rule of its hashtags could decide otherwise with more words read in it."


# A menu's added word: the mapping 메뉴 → 음식 (migration 0006, editable) makes it food evidence.
MENU_WORD = "메뉴"


@lru_cache(maxsize=4)
def text_reader(timeout: float) -> TesseractReader:
    """One reader per process (it remembers whether Tesseract is installed)."""
    return TesseractReader(timeout=timeout)


def text_reader_warm() -> None:
    """Tesseract's engines for the thread that reads (a worker starting); none with OCR off."""
    if settings.TAGLENS_OCR:
        text_reader(float(settings.TAGLENS_OCR_TIMEOUT)).warm()


FIELDS = ("engine", "status", "text", "words", "message")


def _stored(rows: Sequence[TextExtraction]) -> None:
    """One statement for the batch: a commit each cost the workers more than the reads."""
    if rows:
        TextExtraction.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["post"], update_fields=FIELDS
        )


def _full_resolution(post: Post, image: Image.Image | None) -> Image.Image:
    # The classifier decodes big JPEGs at a reduced scale; text needs every pixel.
    if image is not None and image.width >= post.width and image.height >= post.height:
        return image
    with post.image.open("rb") as handle:
        return load_image(handle, draft_size=None)


def _menu_note(signals: Mapping[str, float], found: list[str]) -> str:
    menu = signals.get(MENU_SIGNAL)
    seen = f"menu class {menu:.2f}, " if menu is not None else ""
    count = f"{len(found)} price{'' if len(found) == 1 else 's'}"
    return f"Recognised as a menu ({seen}{count}): it counts as the word {MENU_WORD}."


def texts_extract(
    *,
    items: Sequence[tuple[Post, Image.Image | None, Mapping[str, float]]],
    wanted: Mapping[int, bool] | None = None,
) -> None:
    """Read and store each post's TextExtraction. Idempotent per engine; OCR off, no Tesseract
    or a failed read is stored as such and never stops classification. The backbone's
    ``signals`` decide whether Tesseract runs (``mlmodels.text.textlike``); ``wanted``: whether
    a post's words could change a verdict (``TextPlan``), else its text waits; all by default."""
    if not items:
        return
    if not settings.TAGLENS_OCR:
        off = dict(engine="off", status=TextExtraction.Status.UNAVAILABLE, message=TURNED_OFF)
        _stored([TextExtraction(post=post, text="", words=[], **off) for post, _, _ in items])
        return
    reader = text_reader(float(settings.TAGLENS_OCR_TIMEOUT))
    done = TextExtraction.objects.filter(
        post__in=[post for post, _, _ in items],
        status__in=[TextExtraction.Status.OK, TextExtraction.Status.SKIPPED],
        engine=reader.version,
    )
    kept = set(done.values_list("post_id", flat=True))
    wants = wanted or {}
    rows = [
        TextExtraction(
            post=post,
            engine=reader.version,
            **_extraction(reader, post, image, signals, wants.get(post.pk, True)),
        )
        for post, image, signals in items
        if post.pk not in kept
    ]
    _stored(rows)


def _extraction(
    reader: TesseractReader,
    post: Post,
    image: Image.Image | None,
    signals: Mapping[str, float],
    wanted: bool,
) -> dict[str, object]:
    """The fields of a post's TextExtraction, read with Tesseract where it is worth it."""
    nothing: dict[str, object] = {"text": "", "words": []}
    if not reader.available():
        problem = reader.problem()
        message = f"{NOT_INSTALLED}: {problem}" if problem else NOT_INSTALLED
        return {**nothing, "status": TextExtraction.Status.UNAVAILABLE, "message": message}
    if text_expected(signals) is False:
        message = f"its text-like classes (menu, sign …) sum to {signals[TEXT_SIGNAL]:.2f}"
        return {**nothing, "status": TextExtraction.Status.SKIPPED, "message": message}
    if not wanted:
        known = known_words(signals)
        menu_class = float(signals.get(MENU_SIGNAL, 0.0))
        note = (
            f"Recognised as a menu (menu class {menu_class:.2f}): it counts as the word "
            f"{MENU_WORD}. {DEFERRED_MENU}"
        )
        message = note if known else DEFERRED
        return {
            "text": "",
            "words": known,
            "status": TextExtraction.Status.DEFERRED,
            "message": message,
        }
    try:
        read = reader.read(_full_resolution(post, image))
    except (OcrError, ImageDecodeError, OSError) as exc:
        logger.warning("Text of post %s not read: %s", post.pk, exc)
        return {**nothing, "status": TextExtraction.Status.FAILED, "message": str(exc)[:300]}
    count = len(read.words)
    plural = "" if count == 1 else "s"
    logger.info("Read %d word%s in post %s in %.2f s.", count, plural, post.pk, read.seconds)
    words, found, menu = read_words(read, signals)
    message = _menu_note(signals, found) if menu else ""
    return {
        "text": read.text,
        "words": words,
        "status": TextExtraction.Status.OK,
        "message": message,
    }


def known_words(signals: Mapping[str, float]) -> list[str]:
    """Words counted unread: the menu word, where the menu class alone makes a menu."""
    return [MENU_WORD] if is_menu(signals, 0) else []


def read_words(read: TextRead, signals: Mapping[str, float]) -> tuple[list[str], list[str], bool]:
    """The words a read counts (the menu word added on a menu), its prices, whether a menu."""
    words, found = read.words, prices(read.tokens)
    menu = is_menu(signals, len(found))
    if menu and MENU_WORD not in words:
        words = [*words, MENU_WORD]
    return words, found, menu


@dataclass(frozen=True)
class TextPlan:
    """Whose text could change a verdict (lazy text): built in the database thread."""

    rules: Mapping[int, tuple[CompiledRule, ...]] = field(default_factory=dict)
    concepts: Mapping[str, str] = field(default_factory=dict)  # a known word → its concept

    def wanted(self, post_id: int, scores: Mapping[str, float], known: Sequence[str]) -> bool:
        raised = {self.concepts[word] for word in known if word in self.concepts}
        rules = self.rules.get(post_id, ())
        return any(image_words_could_change(rule, scores, raised) for rule in rules)


def text_plan(
    rules: Mapping[int, tuple[CompiledRule, ...]], catalog: Mapping[str, ConceptInfo]
) -> TextPlan:
    """The plan for the posts of ``rules``, with the menu word's current concept."""
    meaning = hashtag_rules([MENU_WORD], index=rule_index(tags=[MENU_WORD]), catalog=catalog)
    concept = evidence_concept(rule.expr) if (rule := meaning[MENU_WORD]) else None
    return TextPlan(rules, {MENU_WORD: concept} if concept else {})


def texts_deferred(*, post_ids: Sequence[int]) -> set[int]:
    """Those of these posts whose text waits for a verdict it could change."""
    deferred = TextExtraction.objects.filter(
        post_id__in=post_ids, status=TextExtraction.Status.DEFERRED
    )
    return set(deferred.values_list("post_id", flat=True))


def texts_owed(
    *,
    version: ModelVersion,
    post_ids: Sequence[int],
    rules: Mapping[int, tuple[CompiledRule, ...]] | None = None,
) -> list[int]:
    """Those of these posts whose deferred text could now change a verdict (stored scores);
    ``rules``: their ``post_rules``, when the caller has read them."""
    deferred = sorted(texts_deferred(post_ids=post_ids)) if settings.TAGLENS_OCR else []
    if not deferred:
        return []
    catalog = concept_catalog()
    if rules is None:
        rules = post_rules(post_ids=deferred, catalog=catalog)
    plan = text_plan(rules, catalog)
    stored = Classification.objects.filter(model_version=version, post_id__in=deferred)
    scores = dict(stored.values_list("post_id", "scores"))
    known = dict(
        TextExtraction.objects.filter(post_id__in=deferred).values_list("post_id", "words")
    )
    return [
        pk for pk in deferred if pk in scores and plan.wanted(pk, scores[pk], known.get(pk) or [])
    ]
