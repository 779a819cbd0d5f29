"""Hashtags: one normal form for storing, searching and matching rules.

NFC, fullwidth Latin letters and digits as ASCII, case-folded; not NFKC. What a tag may hold:
docs/security.md, "Notes moved from the code".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from posts.hashtag_scripts import lookalike_problem

__all__ = [
    "MAX_HASHTAGS",
    "MAX_HASHTAG_LENGTH",
    "InvalidHashtag",
    "extract_hashtags",
    "hashtags_in_words",
    "normalize_hashtag",
    "normalize_hashtags",
    "parse_hashtags",
]

MAX_HASHTAG_LENGTH = 100
MAX_HASHTAGS = 30

_HASH_SIGNS = "#＃"
_FULLWIDTH = {  # fullwidth digits, letters and _ (U+FF10-FF5A) as ASCII: ｃａｆｅ is cafe
    code: code - 0xFEE0
    for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), 0xFF3F, *range(0xFF41, 0xFF5B))
}
# Separators in a typed list of tags: whitespace, ASCII/fullwidth/ideographic commas, and
# the hash signs themselves, so "#카페#cafe" is two tags.
_LIST_TOKEN = re.compile(r"[^\s,，、#＃]+")
# In free text: a run of #tags ("#카페#cafe" counts twice, "##cafe" once) not glued to a
# preceding word, entity or path ("abc#x", "&#123;", "page/#x" are not hashtags).
_CAPTION_RUN = re.compile(r"(?<![\w&/#＃])((?:[#＃]+\w+)+)")


class InvalidHashtag(ValueError):
    """Hashtags that cannot be stored or searched; ``messages`` says why, one per tag."""

    def __init__(self, *messages: str) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)


def _is_tag_char(ch: str, *, first: bool) -> bool:
    if ch == "_":
        return True
    category = unicodedata.category(ch)
    if category.startswith("L") or category == "Nd":
        return True
    return not first and category.startswith("M")


def _normalize(raw: str, *, searched: bool = False) -> tuple[str, str | None]:
    """The normalised tag and, when it is not a valid hashtag, the reason why."""
    text = raw.strip().lstrip(_HASH_SIGNS).strip()
    text = unicodedata.normalize("NFC", text).translate(_FULLWIDTH)
    tag = unicodedata.normalize("NFC", text.casefold())
    if not tag:
        return tag, "it has no letters or digits"
    if any(ch.isspace() for ch in tag):
        return tag, "it contains a space; a hashtag is one word (join words with _)"
    lookalike = lookalike_problem(tag)
    if lookalike is not None:
        return tag, lookalike
    bad = [ch for i, ch in enumerate(tag) if not _is_tag_char(ch, first=i == 0)]
    if bad:
        shown = " ".join(repr(ch) for ch in dict.fromkeys(bad))
        return tag, f"it contains {shown}; use only letters, digits and _"
    if not searched and not any(unicodedata.category(ch).startswith("L") for ch in tag):
        return tag, "it has no letter; a hashtag needs at least one"
    if len(tag) > MAX_HASHTAG_LENGTH:
        return tag, f"it is {len(tag)} characters long; the limit is {MAX_HASHTAG_LENGTH}"
    return tag, None


def _shown(raw: str) -> str:
    text = raw.strip()
    return repr(text if len(text) <= 40 else text[:40] + "…")


def normalize_hashtag(raw: str, *, searched: bool = False) -> str:
    """The stored form of a hashtag, or InvalidHashtag saying what is wrong. ``searched``: a
    tag looked up, not given, may lack a letter (posts kept tags such as #2024 from before)."""
    tag, problem = _normalize(raw, searched=searched)
    if problem is not None:
        if not raw.strip():
            raise InvalidHashtag("The hashtag is empty.")
        raise InvalidHashtag(f"{_shown(raw)} is not a valid hashtag: {problem}.")
    return tag


def normalize_hashtags(names: Iterable[str]) -> list[str]:
    """The stored forms, unique, first-seen order; InvalidHashtag names every bad one."""
    tags: dict[str, None] = {}
    problems: dict[str, None] = {}
    for name in names:
        try:
            tags[normalize_hashtag(name)] = None
        except InvalidHashtag as exc:
            problems.update(dict.fromkeys(exc.messages))
    if problems:
        raise InvalidHashtag(*problems)
    return list(tags)


def parse_hashtags(text: str) -> list[str]:
    """Tags typed by a user ("#카페 #cafe, latte"): unique, normalised, first-seen order.

    Raises InvalidHashtag naming every bad token, or when more than MAX_HASHTAGS distinct
    tags are given. Empty input gives an empty list.
    """
    tags = normalize_hashtags(_LIST_TOKEN.findall(text))
    if len(tags) > MAX_HASHTAGS:
        raise InvalidHashtag(f"Too many hashtags: at most {MAX_HASHTAGS} per post.")
    return tags


def hashtags_in_words(text: str) -> list[str]:
    """What a search typed as several words may mean ("강남 카페"): the words joined, joined
    with _, then each word; the valid ones, normalised, unique, in that order."""
    words = _LIST_TOKEN.findall(text)[:MAX_HASHTAGS]
    tags: dict[str, None] = {}
    for candidate in ["".join(words), "_".join(words), *words]:  # no words: "" is refused
        tag, problem = _normalize(candidate, searched=True)
        if problem is None:
            tags[tag] = None
    return list(tags)


def extract_hashtags(caption: str) -> list[str]:
    """``#word`` occurrences in free text, normalised, unique, in order.

    Malformed ones (too long, no letter: ``#1`` is a rank) are skipped silently.
    """
    tags: dict[str, None] = {}
    text = unicodedata.normalize("NFC", caption)
    for run in _CAPTION_RUN.findall(text):
        for word in re.split(r"[#＃]+", run):
            tag, problem = _normalize(word)
            if problem is None:
                tags[tag] = None
    return list(tags)
