"""The OCR gate and menu recognition: text-like classes, prices, and the real backbone on a
development menu photo. No Django."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mlmodels.base import load_image
from mlmodels.concepts import rollup
from mlmodels.concepts.imagenet import class_names
from mlmodels.text.tesseract import Token
from mlmodels.text.textlike import (
    GATE_THRESHOLD,
    MENU_SIGNAL,
    TEXT_SIGNAL,
    is_menu,
    is_price,
    prices,
    text_expected,
)

REPO = Path(__file__).resolve().parents[2]
PHOTOS = Path(os.environ.get("TAGLENS_PHOTOS", str(REPO.parent / "shared" / "photos")))


def probabilities(**mass: float) -> np.ndarray:
    """One image's ImageNet probabilities with ``mass`` on the named classes, the rest spread."""
    names = class_names()
    probs = np.full((1, len(names)), (1 - sum(mass.values())) / (len(names) - len(mass)))
    for name, p in mass.items():
        probs[0, names.index(name.replace("_", " "))] = p
    return probs


def test_the_text_like_classes_add_up_and_the_menu_class_stands_alone() -> None:
    [scores] = rollup.text_scores(probabilities(menu=0.5, website=0.2, tabby_cat=0.2))
    assert scores["menu"] == pytest.approx(0.5, abs=1e-4)
    assert scores["text"] == pytest.approx(0.7, abs=1e-3)
    [cat] = rollup.text_scores(probabilities(tabby_cat=0.9))
    assert cat["text"] < 0.01


def test_the_text_classes_are_not_part_of_the_classifier_version() -> None:
    # Adding the gate's classes must not make every stored embedding stale.
    assert "text" not in rollup.ROLLUP_CONCEPTS and "menu" not in rollup.ROLLUP_CONCEPTS
    assert "text" not in rollup.resolve_table()


def test_the_gate_reads_text_like_photos_skips_the_rest_and_reads_when_it_cannot_tell() -> None:
    assert text_expected({TEXT_SIGNAL: 0.93}) is True
    assert text_expected({TEXT_SIGNAL: GATE_THRESHOLD}) is True
    assert text_expected({TEXT_SIGNAL: 0.02, "imagenet:food": 0.9}) is False
    assert text_expected({"people:faces": 2.0}) is None  # a backbone without the signal


@pytest.mark.parametrize(
    "word",
    ["9,000원", "₩12,000", "\\12.000", "20.000", "35.000đ", "35k", "25K", "$12.99", "5000원",
     "8.0004/chai", "60.000d/", "28.0008", "(20.000)", "1.250.000", "9,000 원"],
)  # fmt: skip
def test_prices_of_korean_english_and_vietnamese_menus_are_found(word: str) -> None:
    assert is_price(word)


@pytest.mark.parametrize(
    "word", ["0945.766.781", "-0914.014.781", "2024", "12", "menu", "0919.44", "1.5", "16c", "T6"]
)
def test_phone_numbers_years_and_words_are_not_prices(word: str) -> None:
    assert not is_price(word)


def test_prices_count_only_words_tesseract_is_fairly_sure_of() -> None:
    tokens = [
        Token("9,000원", 80, (1, 1, 1), (0, 0, 9, 9)),
        Token("20.000", 12, (1, 1, 2), (0, 9, 9, 9)),
        Token("김밥", 95, (1, 1, 3), (0, 18, 9, 9)),
    ]
    assert prices(tokens) == ["9,000원"]


def test_a_menu_is_the_menu_class_or_prices_on_a_text_like_photo() -> None:
    assert is_menu({MENU_SIGNAL: 0.8, TEXT_SIGNAL: 0.9}, 0)
    assert is_menu({MENU_SIGNAL: 0.05, TEXT_SIGNAL: 0.3}, 3)
    assert not is_menu({MENU_SIGNAL: 0.05, TEXT_SIGNAL: 0.3}, 2)
    assert not is_menu({MENU_SIGNAL: 0.0, TEXT_SIGNAL: 0.01}, 9)  # the gate said no text
    assert is_menu({}, 3)  # no signals: prices alone


@pytest.mark.model
@pytest.mark.photos
def test_the_backbone_opens_the_gate_on_a_menu_photo_and_keeps_it_shut_on_a_cat(
    classifier: object,
) -> None:
    menu, cat = PHOTOS / "menu/vnmenu_d834a0_795.jpg", PHOTOS / "cat"
    if not menu.exists() or not cat.is_dir():
        pytest.skip(f"development photos not found at {PHOTOS} (set TAGLENS_PHOTOS)")
    cats = sorted(cat.glob("*.jpg"))[:8]
    predictions = classifier.predict([load_image(p) for p in [menu, *cats]])  # type: ignore[attr-defined]
    assert text_expected(predictions[0].signals) is True
    assert predictions[0].signals[MENU_SIGNAL] > 0.5
    assert not any(text_expected(p.signals) for p in predictions[1:])
