"""Hashtags that would look like another tag: invisible characters and mixed-script look-alikes.

Pure functions; the three cases and why: docs/security.md, "Notes moved from the code: posts".
"""

from __future__ import annotations

import unicodedata

__all__ = ["lookalike_problem"]

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties), as inclusive ranges.
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors
    (0x200B, 0x200F),  # zero-width space, joiners, direction marks
    (0x202A, 0x202E),  # bidirectional embedding and override
    (0x2060, 0x206F),  # word joiner, invisible operators
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
)

# Cyrillic and Greek lower-case letters that look like a Latin letter. ф is not in UTS #39's
# table, but in a tag next to с, а, е it is read as f (сафе), the fake this guards against.
_LATIN_TWINS = frozenset("асԁеһіјӏорԛѕԝхуфᴦαβεικνορτυχ")

_CONFUSABLE_WITH_LATIN = ("CYRILLIC", "GREEK")


def _invisible(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def _script(ch: str) -> str | None:
    """LATIN, CYRILLIC, GREEK, HANGUL, ... from the character's name; None for digits, _,
    marks and anything unnamed (they belong to no script here)."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    name = unicodedata.name(ch, "")
    for script in ("LATIN", *_CONFUSABLE_WITH_LATIN):
        if script in name.split():
            return script
    return name.split(" ", 1)[0] or None


def _code_point(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"


def lookalike_problem(tag: str) -> str | None:
    """Why ``tag`` (already normalised) would pass for another tag, or None."""
    invisible = [ch for ch in tag if _invisible(ch)]
    if invisible:
        shown = ", ".join(_code_point(ch) for ch in dict.fromkeys(invisible))
        return f"it contains an invisible or filler character ({shown})"
    scripts = {script for ch in tag if (script := _script(ch)) is not None}
    mixed = scripts & {*_CONFUSABLE_WITH_LATIN}
    if "LATIN" in scripts and mixed:
        return (
            f"it mixes Latin letters with {' and '.join(sorted(s.title() for s in mixed))} "
            "letters that look alike; type the tag in one alphabet"
        )
    letters = [ch for ch in tag if _script(ch) is not None]
    if (
        scripts
        and scripts <= {*_CONFUSABLE_WITH_LATIN}
        and all(ch in _LATIN_TWINS for ch in letters)
    ):
        return (
            f"every letter is a {'/'.join(sorted(s.title() for s in scripts))} letter that looks "
            "Latin, so it passes for a Latin tag; type it in Latin letters"
        )
    return None
