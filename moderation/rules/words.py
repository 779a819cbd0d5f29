"""Words as evidence, no Django: a word points to a rule when it is the rule's hashtag or a
mapped word, and to a concept only when that rule names one concept (docs/moderation.md)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from moderation.rules.analyzer import content_terms
from moderation.rules.expr import ConceptRef, Expr

IMAGE, CAPTION, COMMENT = "image", "caption", "comment"
SOURCE_LABELS = {IMAGE: "image text", CAPTION: "caption", COMMENT: "comment"}

_HANGUL = re.compile(r"^[\uac00-\ud7a3]+$")
_LATIN = re.compile(r"^[a-z]+$")
_HASHTAG_OR_MENTION = re.compile(r"[#@]\S+")


@dataclass(frozen=True)
class WordMatch:
    word: str  # as written in the text (joined when it spanned two words)
    source: str  # IMAGE, CAPTION or COMMENT
    keyword: str  # the keyword it matched: a rule's hashtag or a word mapped to it
    rule: str  # the hashtag of the rule it points to
    concept: str  # the rule's single concept


def _singular(word: str) -> str:
    """A simple English plural rule: dishes → dish, menus → menu (not glass → glas)."""
    if not _LATIN.match(word) or len(word) < 4:
        return word
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def keyword_key(word: str) -> str:
    """The form words are compared in: NFC, case-folded, no spaces, Latin letters without
    accents (phở = pho, café = cafe, đ = d), English plurals singular."""
    folded = "".join(unicodedata.normalize("NFC", word).casefold().split())
    if not _HANGUL.match(folded):
        # Accents only come off Latin letters: NFD would also split Hangul into jamo.
        stripped = "".join(
            c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
        )
        folded = unicodedata.normalize("NFC", stripped).replace("đ", "d")
    return _singular(folded)


@dataclass(frozen=True)
class _Meaning:
    keyword: str
    rule: str
    concept: str


WordIndex = Mapping[str, _Meaning]


def evidence_concept(expr: Expr | None) -> str | None:
    """The concept a rule's words (its hashtag and mapped words) are evidence for: only a rule
    whose expression is one concept lends its words; None for any other (or an invalid one)."""
    return expr.key if isinstance(expr, ConceptRef) else None


def word_index(
    rules: Mapping[str, Expr | None], mappings: Mapping[str, str]
) -> dict[str, _Meaning]:
    """``rules``: rule hashtag → parsed expression (None when invalid); ``mappings``: word →
    rule hashtag. Only rules naming one concept give evidence. A rule's own hashtag wins over a
    mapping word with the same key."""
    concept_of = {
        hashtag: concept
        for hashtag, expr in rules.items()
        if (concept := evidence_concept(expr)) is not None
    }
    index: dict[str, _Meaning] = {}
    for word, rule in mappings.items():
        if rule in concept_of:
            index[keyword_key(word)] = _Meaning(word, rule, concept_of[rule])
    for rule, concept in concept_of.items():
        index[keyword_key(rule)] = _Meaning(rule, rule, concept)
    return index


# OCR turns texture into short Latin "words": on the 768 non-menu photos of the development
# set, sea, cat and "se as" came out of beaches, valleys and a tiger cat. Image text must
# match a Latin keyword of at least 4 letters (coffee, nails, menu, banh: all true hits).
MIN_IMAGE_LATIN = 4


def _compared(words: Sequence[str], source: str) -> Iterable[tuple[str, str]]:
    """Nouns, Latin words and their compounds (rules/analyzer.py), as written and compared:
    "마라탕을" and "마라탕집에서" give 마라탕, "마라 탕" and "nail art" are joined."""
    for written in content_terms(" ".join(words)):
        compared = keyword_key(written)
        if source == IMAGE and _LATIN.match(compared) and len(compared) < MIN_IMAGE_LATIN:
            continue
        yield written, compared


def match_words(words: Sequence[str], index: WordIndex, source: str) -> list[WordMatch]:
    """Matches among the words' nouns and compounds (spacing variants: "마라 탕", "thực đơn",
    "nail art"); one match per concept and matched keyword."""
    found: dict[tuple[str, str], WordMatch] = {}
    for written, compared in _compared(words, source):
        meaning = index.get(compared)
        if meaning is not None:
            found.setdefault(
                (meaning.concept, meaning.keyword),
                WordMatch(written, source, meaning.keyword, meaning.rule, meaning.concept),
            )
    return list(found.values())


def written_words(text: str) -> list[str]:
    """Words of a caption or comment as written. Hashtags and @mentions are left out: a hashtag
    is the claim being judged, not evidence for it."""
    return _HASHTAG_OR_MENTION.sub(" ", text).split()


def post_word_matches(
    *,
    index: WordIndex,
    image_words: Sequence[str],
    caption: str,
    comments: Iterable[str],
) -> list[WordMatch]:
    matches = match_words(image_words, index, IMAGE)
    matches += match_words(written_words(caption), index, CAPTION)
    for comment in comments:
        matches += match_words(written_words(comment), index, COMMENT)
    return matches


def candidate_keys(
    *, image_words: Sequence[str], caption: str, comments: Iterable[str]
) -> set[tuple[str, str, str]]:
    """``(key, source, form)`` for every index key a post's words could match: each compared
    form of its nouns and compounds (key = form: the analyzer has already cut the particles).
    ``post_word_matches`` finds a match only among these. Stored per post (``PostWord``), they
    let a rule change decide in SQL which posts have word evidence, without reading every
    caption again."""
    keys: set[tuple[str, str, str]] = set()
    sources = [(image_words, IMAGE), (written_words(caption), CAPTION)]
    sources += [(written_words(comment), COMMENT) for comment in comments]
    for words, source in sources:
        for _, compared in _compared(words, source):
            keys.add((compared, source, compared))
    return keys
