"""Hashtags that would pass for another tag are refused with a clear reason: invisible and
filler characters, Latin mixed with Cyrillic or Greek, and all-look-alike Cyrillic tags."""

from __future__ import annotations

import pytest

from posts.hashtags import InvalidHashtag, extract_hashtags, normalize_hashtag


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("카페\u3164", "U+3164 HANGUL FILLER"),
        ("\u3164", "U+3164 HANGUL FILLER"),
        ("\uffa0카페", "U+FFA0 HALFWIDTH HANGUL FILLER"),
        ("\u115f카페", "U+115F HANGUL CHOSEONG FILLER"),
        ("카\u1160페", "U+1160 HANGUL JUNGSEONG FILLER"),
        ("cafe\u200b", "U+200B ZERO WIDTH SPACE"),
        ("ca\u200dfe", "U+200D ZERO WIDTH JOINER"),
        ("cafe\u2060", "U+2060 WORD JOINER"),
        ("\ufeffcafe", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("cafe\u00ad", "U+00AD SOFT HYPHEN"),
        ("cafe\ufe0f", "VARIATION SELECTOR-16"),
    ],
)
def test_invisible_and_filler_characters_are_refused_by_name(raw: str, named: str) -> None:
    with pytest.raises(InvalidHashtag, match="invisible or filler character") as info:
        normalize_hashtag(raw)
    assert named in str(info.value)


@pytest.mark.parametrize("raw", ["cаfe", "сafe", "cafе", "ｃаfe", "latte_со", "cafeα"])
def test_latin_mixed_with_cyrillic_or_greek_look_alikes_is_refused(raw: str) -> None:
    with pytest.raises(InvalidHashtag, match="mixes Latin letters with"):
        normalize_hashtag(raw)


@pytest.mark.parametrize("raw", ["сафе", "сосо", "Сасао"])
def test_a_cyrillic_tag_made_only_of_latin_look_alikes_is_refused(raw: str) -> None:
    with pytest.raises(InvalidHashtag, match="looks Latin"):
        normalize_hashtag(raw)


@pytest.mark.parametrize(
    "raw", ["кафе", "москва", "καφε", "카페latte", "東京cafe", "cafe_2024", "ｃａｆｅ", "café"]
)
def test_real_words_in_one_script_and_korean_or_han_with_latin_are_kept(raw: str) -> None:
    assert normalize_hashtag(raw)


def test_a_look_alike_in_a_caption_is_skipped_and_the_real_tags_kept() -> None:
    assert extract_hashtags("오늘 #cаfe #카페\u3164 #카페 #cafe") == ["카페", "cafe"]
