"""The OCR gate and menu recognition over the backbone's signals and Tesseract's words
(thresholds measured in docs/moderation.md, "The gate" and "Menus")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mlmodels.text.tesseract import Token

TEXT_SIGNAL = "imagenet:text"  # menu, website, scoreboard, book jacket, packet, street sign
MENU_SIGNAL = "imagenet:menu"

# From this summed probability of the text-like classes up, Tesseract reads the photo.
GATE_THRESHOLD = 0.1
# A menu: the menu class from MENU_CLASS up, or prices (at least MENU_PRICES) on a photo the
# gate let through.
MENU_CLASS = 0.5
MENU_PRICES = 3
# Digits on menus come out less sure than letters, and a price alone is no evidence.
PRICE_CONFIDENCE = 40.0

_PRICE = re.compile(
    r"""^[^\w₩\\$€£]*                          # leading quotes, dashes, brackets
    (?:
        [₩\\$€£]?\s?\d{1,3}(?:[.,]\d{3})+        # 9,000  20.000  ₩12,000 (\ is ₩ misread)
        (?:\s?(?:원|₫|đ|vnd)|[\w%])?             # 9,000원 35.000đ; 원 and đ misread as 2 % 8 a
      | [₩\\$€£]\s?\d+(?:[.,]\d{1,2})?          # $12.99  ₩9000
      | \d{1,4}\s?(?:원|₫|k)                     # 5000원  35k
    )
    (?:/\w*)?                                   # per unit: 8.000đ/chai
    \W*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Phone numbers look grouped too (0945.766.781): a group of four digits or more comes first.
_PHONE = re.compile(r"^\W*\d{4,}[.,\s-]")


def text_expected(signals: Mapping[str, float]) -> bool | None:
    """True when the backbone sees a text-like photo, False when not, None when the backbone
    reports no such signal (another backbone, a test double): then the caller reads anyway."""
    score = signals.get(TEXT_SIGNAL)
    if score is None:
        return None
    return float(score) >= GATE_THRESHOLD


def is_price(word: str) -> bool:
    """``9,000원``, ``₩12,000``, ``20.000``, ``35.000đ``, ``35k``, ``$12.99``."""
    word = word.strip()
    return bool(_PRICE.match(word)) and not _PHONE.match(word)


def prices(tokens: Iterable[Token], min_confidence: float = PRICE_CONFIDENCE) -> list[str]:
    return [t.text for t in tokens if t.conf >= min_confidence and is_price(t.text)]


def is_menu(signals: Mapping[str, float], price_count: int) -> bool:
    """The backbone's menu class, or enough prices on a text-like photo."""
    if float(signals.get(MENU_SIGNAL, 0.0)) >= MENU_CLASS:
        return True
    return price_count >= MENU_PRICES and text_expected(signals) is not False
