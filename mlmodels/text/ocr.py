"""Text in the image: Tesseract (Korean + English) in process, words above a measured confidence.

Figures behind each constant: docs/moderation.md, "Reading the text".
"""

from __future__ import annotations

import functools
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageOps

from mlmodels.text import tesseract
from mlmodels.text.tesseract import RecognitionFailed, TesseractMissing, Token

# Runs of Hangul syllables or of Latin letters (with Vietnamese / European accents after NFC).
# Digits, prices and punctuation are dropped: they carry no concept.
_WORD = re.compile(r"[\uac00-\ud7a3]+|[a-z\u00c0-\u024f\u1e00-\u1eff]+")
MIN_WORD_CHARS = 2
# Letters of a script other than Latin (Hangul, ...): what the first, Latin pass cannot read.
_OTHER_SCRIPT = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f\u1e00-\u1eff]")

UPSCALE_TO = 512
MAX_UPSCALE = 2.0
DOWNSCALE_TO = 1600  # a 12 MP photo's signs are legible at this size, and cost a quarter

# A word is kept (shown, and evidence) from this Tesseract confidence up, when it holds two
# letters or digits, or a Hangul syllable: "|", "~" and lone letters are texture.
MIN_CONFIDENCE = 80.0
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# The script probe: this many of the Latin pass's least sure words, read by the other languages.
PROBE_WORDS = 8
PROBE_CONFIDENCE = 75.0
# Hangul needs more pixels than Latin letters: the Korean pass scales the photo so that the
# first pass's median word is this tall, up to 2x (measured in docs/moderation.md).
HANGUL_HEIGHT = 28
MAX_HANGUL_SCALE = 2.0


def text_words(text: str) -> list[str]:
    """Normalised words in reading order: NFC, case-folded, Korean or Latin runs of >= 2
    characters. Duplicates are kept so neighbouring words can be joined ("thực đơn")."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return [w for w in _WORD.findall(folded) if len(w) >= MIN_WORD_CHARS]


def is_shown(token: Token, min_confidence: float = MIN_CONFIDENCE) -> bool:
    if token.conf < min_confidence:
        return False
    return sum(c.isalnum() for c in token.text) >= 2 or bool(_HANGUL.search(token.text))


def confident_text(tokens: Sequence[Token], min_confidence: float = MIN_CONFIDENCE) -> str:
    """The words Tesseract is sure of, a line of text per line it found."""
    lines: dict[tuple[int, int, int], list[Token]] = {}
    for token in tokens:
        if is_shown(token, min_confidence):
            lines.setdefault(token.line, []).append(token)
    out = []
    for line in lines.values():
        text = line[0].text
        for after in line[1:]:
            text += ("" if after.glued else " ") + after.text
        out.append(text)
    return unicodedata.normalize("NFC", "\n".join(out))


@dataclass(frozen=True)
class TextRead:
    text: str  # the confident words, by line
    words: list[str]
    seconds: float
    tokens: tuple[Token, ...] = field(default=(), repr=False)  # all, with confidences
    languages: str = ""  # the languages the text was read with


class OcrError(RuntimeError):
    """Tesseract ran but did not give text (timeout, crash); ``str(exc)`` is the reason."""


def _scaled(gray: Image.Image, factor: float) -> Image.Image:
    if factor == 1:
        return gray
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    return gray.resize(size, Image.Resampling.LANCZOS)


def _boxes_scaled(tokens: Sequence[Token], factor: float) -> list[Token]:
    out = []
    for t in tokens:
        x, y, w, h = (round(v * factor) for v in t.box)
        out.append(Token(t.text, t.conf, t.line, (x, y, w, h), t.glued))
    return out


def preprocess(image: Image.Image) -> Image.Image:
    """Grayscale, upscaled when small and downscaled when huge (long side)."""
    gray = ImageOps.grayscale(image)
    long_side = max(gray.size)
    if long_side < UPSCALE_TO:
        return _scaled(gray, min(UPSCALE_TO / long_side, MAX_UPSCALE))
    if long_side > DOWNSCALE_TO:
        return _scaled(gray, DOWNSCALE_TO / long_side)
    return gray


def _word_crop(gray: Image.Image, box: tuple[int, int, int, int], pad: int) -> Image.Image:
    """A word's box with a margin, dark on light; clamped, since black padding passes for ink."""
    x, y, w, h = box
    crop = gray.crop(
        (
            max(0, x - pad),
            max(0, y - pad),
            min(gray.width, x + w + pad),
            min(gray.height, y + h + pad),
        )
    )
    histogram = crop.histogram()
    mean = sum(i * n for i, n in enumerate(histogram)) / max(1, sum(histogram))
    # Light letters on a dark sign come out as noise on the white sheet: make them dark.
    return ImageOps.invert(crop) if mean < 128 else crop


def probe_image(
    gray: Image.Image, tokens: Sequence[Token], count: int = PROBE_WORDS
) -> Image.Image:
    """The Latin pass's ``count`` least sure word boxes on white: where Hangul would be."""
    boxes = sorted((t for t in tokens if t.box[2] >= t.box[3] >= 8), key=lambda t: t.conf)
    pad = 4
    crops = [_word_crop(gray, t.box, pad) for t in boxes[:count]]
    width = max((c.width for c in crops), default=1) + 4 * pad
    sheet = Image.new("L", (width, sum(c.height + 4 * pad for c in crops) + 4 * pad), 255)
    top = 4 * pad
    for crop in crops:
        sheet.paste(crop, (2 * pad, top))
        top += crop.height + 4 * pad
    return sheet


def other_script_found(probe: Sequence[Token]) -> bool:
    """Two sure syllables of another script: a stray Latin stroke reads as one, not two."""
    sure = [t.text for t in probe if t.conf >= PROBE_CONFIDENCE]
    return sum(len(_OTHER_SCRIPT.findall(text)) for text in sure) >= 2


def _overlaps(a: Token, b: Token) -> bool:
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def merged(first: Sequence[Token], second: Sequence[Token], min_confidence: float) -> list[Token]:
    """The shown words of both passes; where a word of one overlaps a word of the other, the
    surer one (the first on a tie). Lines in reading order (top, then left), each line's words
    in Tesseract's order."""
    shift = 1 + max((t.line[0] for t in first), default=0)
    ours = [t for t in first if is_shown(t, min_confidence)]
    theirs = [
        Token(t.text, t.conf, (t.line[0] + shift, t.line[1], t.line[2]), t.box, t.glued)
        for t in second
        if is_shown(t, min_confidence)
    ]
    kept = [t for t in ours if not any(o.conf > t.conf and _overlaps(t, o) for o in theirs)]
    kept += [t for t in theirs if not any(o.conf >= t.conf and _overlaps(t, o) for o in ours)]
    lines: dict[tuple[int, int, int], list[Token]] = {}
    for token in kept:
        lines.setdefault(token.line, []).append(token)
    order = sorted(lines.values(), key=lambda ts: (min(t.box[1] for t in ts) // 16, ts[0].box[0]))
    return [token for line in order for token in line]


def hangul_scale(gray: Image.Image, tokens: Sequence[Token]) -> float:
    """The Korean pass's scale: the median word to HANGUL_HEIGHT, within 1 and the caps."""
    heights = sorted(t.box[3] for t in tokens)
    median = heights[len(heights) // 2] if heights else HANGUL_HEIGHT
    wanted = min(HANGUL_HEIGHT / max(1, median), MAX_HANGUL_SCALE, DOWNSCALE_TO / max(gray.size))
    return max(1.0, wanted)


@functools.cache
def installed(languages: tuple[str, ...]) -> tuple[str, str]:
    """(version, problem or "") of libtesseract and the languages' data, once a process: the
    health check asks on every call, and loading a language takes up to 0.2 s."""
    try:
        number = tesseract.version()
    except TesseractMissing as exc:
        return "", str(exc)
    missing = []
    for language in languages:
        try:
            tesseract.Engine(language)
        except TesseractMissing:
            missing.append(language)
    if missing:
        return number, f"language data missing: {', '.join(missing)}"
    return number, ""


class TesseractReader:
    """Reads with the Latin language (``eng``, last) first; the others join only when a probe of
    the unsure words finds their script (docs/moderation.md)."""

    def __init__(
        self,
        *,
        languages: tuple[str, ...] = ("kor", "eng"),
        timeout: float = 30.0,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> None:
        self.languages = languages
        self.timeout = timeout
        self.min_confidence = min_confidence

    @property
    def _probe(self) -> tuple[str, str]:
        return installed(self.languages)

    def available(self) -> bool:
        return not self._probe[1]

    def problem(self) -> str:
        """Why the reader is unavailable ("" when it is available)."""
        return self._probe[1]

    @property
    def version(self) -> str:
        number = self._probe[0] or "not installed"
        return f"tesseract {number} {'+'.join(self.languages)}"

    @property
    def _passes(self) -> tuple[str, str]:
        return self.languages[-1], "+".join(self.languages[:-1])  # Latin first, then the rest

    def warm(self) -> None:
        """Load this thread's engines now (a worker starting), not on the first photo read."""
        if self.available():
            for languages in filter(None, self._passes):
                tesseract.engine(languages)

    def read(self, image: Image.Image) -> TextRead:
        """OCR one image. Raises :class:`OcrError` past the timeout or on a failed run."""
        started = time.perf_counter()
        deadline = started + self.timeout

        def left_ms() -> int:
            return int((deadline - time.perf_counter()) * 1000)

        gray = preprocess(image)
        first, others = self._passes
        try:
            tokens = tesseract.engine(first).read(gray, left_ms())
            languages = first
            if others and tokens:
                probe = tesseract.engine(others).read(probe_image(gray, tokens), left_ms())
                if other_script_found(probe):
                    languages = "+".join(self.languages)
                    factor = hangul_scale(gray, tokens)
                    second = tesseract.engine(others).read(_scaled(gray, factor), left_ms())
                    tokens = merged(tokens, _boxes_scaled(second, 1 / factor), self.min_confidence)
        except RecognitionFailed as exc:
            raise OcrError(f"tesseract took longer than {self.timeout:g} s") from exc
        except TesseractMissing as exc:
            raise OcrError(str(exc)) from exc
        text = confident_text(tokens, self.min_confidence)
        return TextRead(
            text=text,
            words=text_words(text),
            seconds=time.perf_counter() - started,
            tokens=tuple(tokens),
            languages=languages,
        )
