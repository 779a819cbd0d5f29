"""posts.hashtags: normalising, parsing typed lists, extracting from captions."""

from __future__ import annotations

import unicodedata

import pytest

from posts.hashtags import (
    MAX_HASHTAG_LENGTH,
    MAX_HASHTAGS,
    InvalidHashtag,
    extract_hashtags,
    hashtags_in_words,
    normalize_hashtag,
    parse_hashtags,
)

CAFE_KO = "카페"
CAFE_KO_DECOMPOSED = unicodedata.normalize("NFD", CAFE_KO)  # conjoining jamo sequence


# --- normalize_hashtag ----------------------------------------------------------------


def test_invalid_hashtag_is_a_value_error() -> None:
    assert issubclass(InvalidHashtag, ValueError)


def test_a_leading_hash_is_removed() -> None:
    assert normalize_hashtag("#카페") == "카페"


def test_several_leading_hashes_including_fullwidth_are_removed() -> None:
    assert normalize_hashtag("##cafe") == "cafe"
    assert normalize_hashtag("＃카페") == "카페"
    assert normalize_hashtag("#＃#cafe") == "cafe"


def test_surrounding_whitespace_is_removed() -> None:
    assert normalize_hashtag("  #cafe \n") == "cafe"
    assert normalize_hashtag("\u3000카페\u3000") == "카페"  # ideographic space


def test_latin_letters_are_case_folded() -> None:
    assert normalize_hashtag("Cafe") == "cafe"
    assert normalize_hashtag("#CAFE") == "cafe"
    assert normalize_hashtag("Straße") == "strasse"


def test_decomposed_hangul_equals_composed_hangul() -> None:
    assert CAFE_KO_DECOMPOSED != CAFE_KO
    assert normalize_hashtag(CAFE_KO_DECOMPOSED) == CAFE_KO
    assert normalize_hashtag("#" + CAFE_KO_DECOMPOSED) == normalize_hashtag("#카페")


def test_decomposed_accents_are_composed() -> None:
    assert normalize_hashtag("Cafe\u0301") == "café"


def test_fullwidth_latin_letters_and_digits_are_the_ascii_tag() -> None:
    # A keyboard in fullwidth mode types ｃａｆｅ: it is searched and judged as cafe.
    assert normalize_hashtag("ＣＡＦＥ") == "cafe"
    assert normalize_hashtag("＃ｏｏｔｄ＿２０２４") == "ootd_2024"
    assert parse_hashtags("#ｃａｆｅ #카페") == ["cafe", "카페"]
    # Other fullwidth forms are not letters: still refused, not folded by NFKC.
    with pytest.raises(InvalidHashtag):
        normalize_hashtag("cafe！")


def test_compatibility_jamo_are_kept_as_typed() -> None:
    assert normalize_hashtag("ㅋㅋㅋ") == "ㅋㅋㅋ"


def test_digits_and_underscores_are_allowed_beside_a_letter() -> None:
    assert normalize_hashtag("#ootd_2024") == "ootd_2024"
    assert normalize_hashtag("#2024여행") == "2024여행"
    assert normalize_hashtag("_카페_") == "_카페_"


@pytest.mark.parametrize("raw", ["_", "#_", "#123", "2024", "__1__", "＃１２３", "_\u0301"])
def test_a_hashtag_without_a_letter_is_refused(raw: str) -> None:
    # Instagram links no such tag: #2024 is a year, #1 a rank.
    with pytest.raises(InvalidHashtag, match="no letter"):
        normalize_hashtag(raw)


def test_letters_of_other_scripts_are_allowed() -> None:
    assert normalize_hashtag("#カフェ") == "カフェ"
    assert normalize_hashtag("#咖啡") == "咖啡"
    assert normalize_hashtag("#Кофе") == "кофе"


def test_normalizing_twice_changes_nothing() -> None:
    for raw in ["#Cafe", CAFE_KO_DECOMPOSED, "ＣＡＦＥ", "Straße", "İstanbul"]:
        once = normalize_hashtag(raw)
        assert normalize_hashtag(once) == once
        assert unicodedata.is_normalized("NFC", once)


@pytest.mark.parametrize("raw", ["", "   ", "#", "##", "＃", " # "])
def test_an_empty_hashtag_is_refused(raw: str) -> None:
    with pytest.raises(InvalidHashtag):
        normalize_hashtag(raw)


@pytest.mark.parametrize("raw", ["ca fe", "#카 페", "cafe\u3000latte", "a\tb"])
def test_whitespace_inside_a_hashtag_is_refused(raw: str) -> None:
    with pytest.raises(InvalidHashtag, match="space"):
        normalize_hashtag(raw)


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        ("cafe☕", "☕"),
        ("😀", "😀"),
        ("#cafe!", "!"),
        ("ca-fe", "-"),
        ("ca#fe", "#"),
        ("cafe.", "."),
    ],
)
def test_characters_other_than_letters_digits_and_underscore_are_refused(
    raw: str, bad: str
) -> None:
    with pytest.raises(InvalidHashtag, match="only letters, digits and _") as info:
        normalize_hashtag(raw)
    assert bad in str(info.value)


def test_a_hashtag_of_the_maximum_length_is_accepted() -> None:
    assert normalize_hashtag("가" * MAX_HASHTAG_LENGTH) == "가" * MAX_HASHTAG_LENGTH


def test_a_hashtag_longer_than_the_maximum_is_refused() -> None:
    with pytest.raises(InvalidHashtag, match="101 characters"):
        normalize_hashtag("a" * (MAX_HASHTAG_LENGTH + 1))


def test_the_length_limit_counts_composed_characters() -> None:
    decomposed = unicodedata.normalize("NFD", "가" * MAX_HASHTAG_LENGTH)
    assert len(decomposed) > MAX_HASHTAG_LENGTH
    assert normalize_hashtag(decomposed) == "가" * MAX_HASHTAG_LENGTH


# --- parse_hashtags -------------------------------------------------------------------


def test_tags_may_be_separated_by_spaces_and_commas() -> None:
    assert parse_hashtags("#카페 #cafe, latte") == ["카페", "cafe", "latte"]
    assert parse_hashtags("카페,cafe ,  latte\n라떼") == ["카페", "cafe", "latte", "라떼"]


def test_the_hash_is_optional_and_glued_tags_are_split() -> None:
    assert parse_hashtags("#카페#cafe latte") == ["카페", "cafe", "latte"]


def test_fullwidth_and_ideographic_commas_separate_tags() -> None:
    assert parse_hashtags("카페，cafe、라떼") == ["카페", "cafe", "라떼"]


def test_duplicates_are_dropped_keeping_first_seen_order() -> None:
    text = f"#Cafe #카페 cafe #{CAFE_KO_DECOMPOSED} #CAFE latte"
    assert parse_hashtags(text) == ["cafe", "카페", "latte"]


@pytest.mark.parametrize("text", ["", "   ", ", ,", "# #"])
def test_no_tags_give_an_empty_list(text: str) -> None:
    assert parse_hashtags(text) == []


def test_an_invalid_token_is_named_in_the_error() -> None:
    with pytest.raises(InvalidHashtag, match="'bad!' is not a valid hashtag"):
        parse_hashtags("#ok #bad! #fine")


def test_every_invalid_token_is_named_in_the_error() -> None:
    with pytest.raises(InvalidHashtag) as info:
        parse_hashtags("#_ #ok #123 #bad! #_ #2024여행")
    assert info.value.messages == [
        "'_' is not a valid hashtag: it has no letter; a hashtag needs at least one.",
        "'123' is not a valid hashtag: it has no letter; a hashtag needs at least one.",
        "'bad!' is not a valid hashtag: it contains '!'; use only letters, digits and _.",
    ]
    assert str(info.value) == " ".join(info.value.messages)


def test_an_emoji_token_is_refused() -> None:
    with pytest.raises(InvalidHashtag, match="☕"):
        parse_hashtags("#카페 ☕")


def test_thirty_tags_are_accepted() -> None:
    tags = [f"tag{i}" for i in range(MAX_HASHTAGS)]
    assert parse_hashtags(" ".join(tags)) == tags


def test_more_than_thirty_distinct_tags_are_refused() -> None:
    with pytest.raises(InvalidHashtag, match="at most 30"):
        parse_hashtags(" ".join(f"tag{i}" for i in range(MAX_HASHTAGS + 1)))


def test_repeated_tags_do_not_count_against_the_limit() -> None:
    assert parse_hashtags(" ".join(["cafe"] * 100)) == ["cafe"]


# --- extract_hashtags -----------------------------------------------------------------


def test_hashtags_are_found_in_free_text() -> None:
    caption = "오늘은 #카페 에서 #Latte 한 잔. #cafe"
    assert extract_hashtags(caption) == ["카페", "latte", "cafe"]


def test_a_hashtag_ends_at_punctuation_or_emoji() -> None:
    assert extract_hashtags("#카페☕ and #cafe. (#latte) #brunch!") == [
        "카페",
        "cafe",
        "latte",
        "brunch",
    ]


def test_extracted_hashtags_are_normalized_and_unique() -> None:
    caption = f"#Cafe #{CAFE_KO_DECOMPOSED} #CAFE #카페 ＃라떼"
    assert extract_hashtags(caption) == ["cafe", "카페", "라떼"]


def test_glued_and_doubled_hashes_still_count() -> None:
    assert extract_hashtags("#카페#cafe ##latte") == ["카페", "cafe", "latte"]


def test_hashes_inside_words_urls_and_entities_are_not_hashtags() -> None:
    caption = "issue#12 see https://example.com/#section &#39; C# code"
    assert extract_hashtags(caption) == []


def test_malformed_hashtags_are_skipped_silently() -> None:
    caption = "#1 fan # alone #_ #" + "a" * (MAX_HASHTAG_LENGTH + 1) + " #ok"
    assert extract_hashtags(caption) == ["ok"]


def test_a_caption_without_hashtags_gives_an_empty_list() -> None:
    assert extract_hashtags("") == []
    assert extract_hashtags("그냥 사진") == []


def test_words_typed_as_a_search_become_the_hashtags_they_may_mean() -> None:
    assert hashtags_in_words("강남 카페") == ["강남카페", "강남_카페", "강남", "카페"]
    assert hashtags_in_words("Seoul, #Cafe!") == ["seoul"]  # "cafe!" is not a hashtag
    assert hashtags_in_words("카페") == ["카페"]
    assert hashtags_in_words("  ") == []
