"""Tesseract OCR on real printed text: a Korean menu line rendered with a Debian font, and
menu photos from the development set. No Django."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from mlmodels.base import load_image
from mlmodels.ocr import OcrError, TesseractReader, preprocess, text_words

REPO = Path(__file__).resolve().parents[2]
PHOTOS = Path(os.environ.get("TAGLENS_PHOTOS", str(REPO.parent / "shared" / "photos")))
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
# A menu photo Tesseract 5.3 kor+eng reads food words on (banh, pho, thit, ...).
MENU_PHOTO = "menu/vnmenu_d834a0_795.jpg"

READER = TesseractReader()
needs_tesseract = pytest.mark.skipif(
    not READER.available(),
    reason=f"Tesseract OCR with kor+eng is not installed ({READER.problem()}): "
    "apt-get install tesseract-ocr tesseract-ocr-kor",
)


def printed(lines: list[str], size: int = 44) -> Image.Image:
    """A photo-like picture of printed text: warm paper, dark ink, a Korean font."""
    if not NANUM.exists():
        pytest.skip(f"Korean font {NANUM} missing: apt-get install fonts-nanum")
    font = ImageFont.truetype(str(NANUM), size)
    image = Image.new("RGB", (720, 90 + 70 * len(lines)), (250, 245, 232))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 70 * i), line, font=font, fill=(35, 30, 30))
    return image


def test_text_words_are_nfc_casefolded_korean_and_latin_runs() -> None:
    decomposed = unicodedata.normalize("NFD", "Phở MENU 마라탕 12,000원 a Café")
    assert text_words(decomposed) == ["phở", "menu", "마라탕", "café"]


def test_small_images_are_upscaled_and_huge_ones_downscaled_in_gray() -> None:
    small = preprocess(Image.new("RGB", (400, 300), "white"))
    assert small.mode == "L" and small.size == (1024, 768)
    tiny = preprocess(Image.new("RGB", (40, 30), "white"))
    assert tiny.size == (160, 120)  # at most 4x: nothing legible to gain from more
    huge = preprocess(Image.new("RGB", (4800, 3600), "white"))
    assert huge.size == (2400, 1800)


def test_a_missing_program_is_unavailable_with_the_reason() -> None:
    reader = TesseractReader(binary="no-such-tesseract-binary")
    assert reader.available() is False
    assert "not found" in reader.problem()
    assert reader.version == "tesseract not installed kor+eng"


@needs_tesseract
def test_missing_language_data_is_named() -> None:
    reader = TesseractReader(languages=("kor", "xx_none"))
    assert reader.available() is False
    assert reader.problem() == "language data missing: xx_none"


@needs_tesseract
def test_reads_printed_korean_and_english() -> None:
    read = READER.read(printed(["마라탕 메뉴 12,000원", "Today special"]))
    assert "마라탕" in read.text
    assert {"마라탕", "메뉴", "today", "special"} <= set(read.words)
    assert not any(ch.isdigit() for word in read.words for ch in word)
    assert read.seconds < 10


@needs_tesseract
def test_a_run_longer_than_the_timeout_is_an_ocr_error() -> None:
    with pytest.raises(OcrError, match="took longer than"):
        TesseractReader(timeout=0.001).read(printed(["마라탕"]))


@needs_tesseract
def test_a_real_menu_photo_yields_food_words() -> None:
    photo = PHOTOS / MENU_PHOTO
    if not photo.exists():
        pytest.skip(f"development menu photo {photo} not found (set TAGLENS_PHOTOS)")
    read = READER.read(load_image(photo, draft_size=None))
    # Tesseract's English model drops most Vietnamese accents: bánh → banh, phở → pho.
    assert {"banh", "pho"} & set(read.words), read.words
