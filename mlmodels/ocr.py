"""Text in the image: Tesseract OCR (Korean + English) through its command-line program."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from PIL import Image, ImageOps

# Runs of Hangul syllables or of Latin letters (with Vietnamese / European accents after NFC).
# Digits, prices and punctuation are dropped: they carry no concept.
_WORD = re.compile(r"[\uac00-\ud7a3]+|[a-z\u00c0-\u024f\u1e00-\u1eff]+")
MIN_WORD_CHARS = 2

UPSCALE_TO = 1024
MAX_UPSCALE = 4.0  # a thumbnail-sized picture has no legible text to find
DOWNSCALE_TO = 2400  # bounds time on 12 MP phone photos


def text_words(text: str) -> list[str]:
    """Normalised words in reading order: NFC, case-folded, Korean or Latin runs of >= 2
    characters. Duplicates are kept so neighbouring words can be joined ("thực đơn")."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return [w for w in _WORD.findall(folded) if len(w) >= MIN_WORD_CHARS]


@dataclass(frozen=True)
class TextRead:
    text: str
    words: list[str]
    seconds: float


class OcrError(RuntimeError):
    """Tesseract ran but did not give text (timeout, crash); ``str(exc)`` is the reason."""


def preprocess(image: Image.Image) -> Image.Image:
    """Grayscale, upscaled when small and downscaled when huge (long side)."""
    gray = ImageOps.grayscale(image)
    long_side = max(gray.size)
    if long_side < UPSCALE_TO:
        factor = min(UPSCALE_TO / long_side, MAX_UPSCALE)
    elif long_side > DOWNSCALE_TO:
        factor = DOWNSCALE_TO / long_side
    else:
        return gray
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    return gray.resize(size, Image.Resampling.LANCZOS)


class TesseractReader:
    """Reads Korean and English text with the ``tesseract`` program (one process per image)."""

    def __init__(
        self,
        *,
        binary: str = "tesseract",
        languages: tuple[str, ...] = ("kor", "eng"),
        timeout: float = 30.0,
    ) -> None:
        self.binary = binary
        self.languages = languages
        self.timeout = timeout

    @cached_property
    def _probe(self) -> tuple[str, str]:
        """(version, problem): problem is "" when the program and every language are there."""
        path = shutil.which(self.binary)
        if path is None:
            return "", f"the program {self.binary!r} was not found"
        try:
            version = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=10, check=False
            )
            langs = subprocess.run(
                [path, "--list-langs"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return "", f"{self.binary} did not start ({exc})"
        first = (version.stdout or version.stderr).strip().splitlines()
        number = first[0].split()[-1] if first else "?"
        # --list-langs prints a header line, then one language per line (stdout or stderr).
        have = {line.strip() for line in (langs.stdout + langs.stderr).splitlines()}
        missing = [lang for lang in self.languages if lang not in have]
        if missing:
            return number, f"language data missing: {', '.join(missing)}"
        return number, ""

    def available(self) -> bool:
        return not self._probe[1]

    def problem(self) -> str:
        """Why the reader is unavailable ("" when it is available)."""
        return self._probe[1]

    @property
    def version(self) -> str:
        number = self._probe[0] or "not installed"
        return f"tesseract {number} {'+'.join(self.languages)}"

    def read(self, image: Image.Image) -> TextRead:
        """OCR one image. Raises :class:`OcrError` on a timeout or a failed run."""
        buffer = io.BytesIO()
        preprocess(image).save(buffer, format="PNG")
        # One thread: OpenMP made Tesseract 4x slower (docs/moderation.md); workers parallelise.
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        command = [self.binary, "stdin", "stdout", "-l", "+".join(self.languages), "--psm", "11"]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                input=buffer.getvalue(),
                capture_output=True,
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise OcrError(f"tesseract took longer than {self.timeout:g} s") from exc
        except OSError as exc:
            raise OcrError(f"tesseract did not start ({exc})") from exc
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrError(f"tesseract failed: {lines[-1] if lines else done.returncode}")
        text = unicodedata.normalize("NFC", done.stdout.decode("utf-8", "replace")).strip()
        text = re.sub(r"\n\s*\n+", "\n", text)  # Tesseract separates blocks by blank lines
        return TextRead(text=text, words=text_words(text), seconds=time.perf_counter() - started)
