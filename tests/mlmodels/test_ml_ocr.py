"""Tesseract OCR on real printed text: a Korean menu line rendered with a Debian font, and
menu photos from the development set. No Django."""

from __future__ import annotations

import functools
import os
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from mlmodels.base import load_image
from mlmodels.text import ocr, tesseract
from mlmodels.text.ocr import (
    OcrError,
    TesseractReader,
    confident_text,
    hangul_scale,
    merged,
    other_script_found,
    preprocess,
    text_words,
)
from mlmodels.text.tesseract import TesseractMissing, Token, parse_tsv

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
    assert small.mode == "L" and small.size == (512, 384)
    tiny = preprocess(Image.new("RGB", (40, 30), "white"))
    assert tiny.size == (80, 60)  # at most 2x: nothing legible to gain from more
    assert preprocess(Image.new("RGB", (512, 300), "white")).size == (512, 300)
    huge = preprocess(Image.new("RGB", (4800, 3600), "white"))
    assert huge.size == (1600, 1200)


def test_a_missing_library_is_unavailable_with_the_reason(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def missing() -> str:
        raise TesseractMissing("libtesseract.so.5 was not found (test)")

    monkeypatch.setattr(tesseract, "version", missing)
    monkeypatch.setattr(ocr, "installed", functools.cache(ocr.installed.__wrapped__))
    reader = TesseractReader()
    assert reader.available() is False
    assert "was not found" in reader.problem()
    assert reader.version == "tesseract not installed kor+eng"


TSV = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
    "4\t1\t1\t1\t1\t0\t10\t10\t200\t30\t-1\t\n"
    "5\t1\t1\t1\t1\t1\t10\t10\t90\t30\t91.5\t마라탕\n"
    "5\t1\t1\t1\t1\t2\t110\t10\t90\t30\t22.0\tae\n"
    "5\t1\t2\t1\t1\t1\t10\t60\t90\t30\t88.0\t12,000원\n"
    "5\t1\t2\t1\t1\t2\t110\t60\t9\t30\t95.0\t \n"
)


def test_tesseract_tsv_gives_words_with_their_line_box_and_confidence() -> None:
    tokens = parse_tsv(TSV)
    assert [t.text for t in tokens] == ["마라탕", "ae", "12,000원"]
    assert tokens[0] == Token("마라탕", 91.5, (1, 1, 1), (10, 10, 90, 30))
    assert tokens[2].line == (2, 1, 1)


def test_only_words_above_the_confidence_are_kept_line_by_line() -> None:
    tokens = parse_tsv(TSV)
    assert confident_text(tokens, 60) == "마라탕\n12,000원"
    assert confident_text(tokens, 20) == "마라탕 ae\n12,000원"
    assert confident_text(tokens, 95) == ""


def test_sure_strokes_and_lone_letters_are_not_text_but_a_korean_syllable_is() -> None:
    noise = [
        Token(t, 96, (1, 1, i), (0, 10 * i, 9, 9)) for i, t in enumerate(["|", "~", "a", "밥"])
    ]
    assert confident_text(noise) == "밥"


def test_korean_syllables_tesseract_splits_are_one_word_where_its_text_has_no_space() -> None:
    tsv = TSV.replace("\tae\n", "\t라\n")
    assert confident_text(parse_tsv(tsv, "마라탕라 12,000원"), 20) == "마라탕라\n12,000원"
    assert confident_text(parse_tsv(tsv, "마라탕 라 12,000원"), 20) == "마라탕 라\n12,000원"


def test_of_two_overlapping_words_from_the_two_passes_the_surer_one_stays() -> None:
    latin = [
        Token("Seoul", 97, (1, 1, 1), (10, 50, 60, 20)),
        Token("ae", 83, (2, 1, 1), (10, 0, 60, 40)),  # English noise over Hangul
    ]
    korean = [
        Token("서울", 93, (1, 1, 1), (12, 2, 56, 36)),
        Token("Seo", 70, (2, 1, 1), (10, 50, 40, 20)),  # Korean model on Latin letters
    ]
    assert [t.text for t in merged(latin, korean, 60)] == ["서울", "Seoul"]  # top line first


def test_the_korean_pass_enlarges_small_letters_only() -> None:
    def words(height: int) -> list[Token]:
        return [Token("x", 90, (1, 1, i), (0, 0, 9, height)) for i in range(3)]

    photo = Image.new("L", (512, 384))
    assert hangul_scale(photo, words(14)) == 2.0
    assert hangul_scale(photo, words(20)) == pytest.approx(1.4)
    assert hangul_scale(photo, words(44)) == 1.0
    assert hangul_scale(Image.new("L", (1200, 900)), words(10)) == pytest.approx(1600 / 1200)


def test_the_probe_needs_two_sure_syllables_of_another_script() -> None:
    assert other_script_found([Token("서울", 93, (1, 1, 1), (0, 0, 1, 1))])
    assert not other_script_found([Token("도", 90, (1, 1, 1), (0, 0, 1, 1))])
    assert not other_script_found([Token("서울", 40, (1, 1, 1), (0, 0, 1, 1))])
    assert not other_script_found([Token("Seoul", 99, (1, 1, 1), (0, 0, 1, 1))])


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
    assert read.languages == "kor+eng"  # the probe found Hangul
    assert read.seconds < 10


@needs_tesseract
def test_english_alone_is_read_with_the_english_model_only() -> None:
    read = READER.read(printed(["Today special", "Fried rice with egg"]))
    assert {"today", "special", "fried", "rice"} <= set(read.words)
    assert read.languages == "eng"


@needs_tesseract
def test_a_blank_photo_shows_no_text() -> None:
    read = READER.read(Image.new("RGB", (512, 384), (120, 140, 90)))
    assert read.text == "" and read.words == []


@needs_tesseract
def test_a_run_longer_than_the_timeout_is_an_ocr_error() -> None:
    with pytest.raises(OcrError, match="took longer than"):
        TesseractReader(timeout=0.001).read(printed(["마라탕"]))


@needs_tesseract
def test_a_setting_changes_the_reading_and_an_unknown_one_is_refused() -> None:
    image = printed(["Today special", "Fried rice with egg"])
    engine = tesseract.Engine("eng")
    gray = ImageOps.grayscale(image)
    assert {t.text for t in engine.read(gray, 10_000)} >= {"Today", "special"}
    # An engine's own parameter: textord_* ones are process-wide and would reach other engines.
    engine.set_variable("tessedit_char_whitelist", "0123456789")
    assert not any(c.isalpha() for t in engine.read(gray, 10_000) for c in t.text)
    with pytest.raises(ValueError, match="no parameter 'no_such_knob'"):
        engine.set_variable("no_such_knob", "1")


@needs_tesseract
def test_a_real_menu_photo_yields_food_words() -> None:
    photo = PHOTOS / MENU_PHOTO
    if not photo.exists():
        pytest.skip(f"development menu photo {photo} not found (set TAGLENS_PHOTOS)")
    read = READER.read(load_image(photo, draft_size=None))
    # Tesseract's English model drops most Vietnamese accents: bánh → banh, phở → pho.
    assert {"banh", "pho"} & set(read.words), read.words


@needs_tesseract
def test_leptonica_prints_nothing_once_tesseract_is_loaded() -> None:
    import ctypes
    import ctypes.util

    tesseract.library()
    lept = ctypes.CDLL(ctypes.util.find_library("lept") or tesseract.LEPTONICA)
    lept.setMsgSeverity.argtypes, lept.setMsgSeverity.restype = [ctypes.c_int], ctypes.c_int
    before = lept.setMsgSeverity(tesseract.LEPTONICA_SILENT)  # returns the severity it replaces
    assert before == tesseract.LEPTONICA_SILENT
