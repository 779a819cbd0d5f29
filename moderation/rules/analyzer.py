"""Korean and English content words of a text, from kiwipiepy's morphological analyzer: nouns
(``마라탕집에서`` → 마라탕, 집), Latin words, and compounds of neighbouring ones (마라탕집,
``마라 탕`` → 마라탕). No Django; the model ships in the ``kiwipiepy-model`` package."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kiwipiepy import Kiwi

# Nouns carry what a caption is about; particles, endings and verbs do not.
NOUN_TAGS = frozenset({"NNG", "NNP"})
LATIN_TAG = "SL"
# A prefix glued to a noun is part of it: 대 + 박 is 대박, 왕 + 만두 is 왕만두.
PREFIX_TAG = "XPN"
# Longest compound tried, in words: 떡 + 볶이 + 집 glued is three; across a space only two
# ("마라 탕", "nail art"), as far as spacing variants go.
MAX_COMPOUND = 3


@dataclass(frozen=True)
class _Token:
    form: str  # empty for anything but a content word
    start: int
    end: int
    latin: bool
    alone: bool = False  # no token glued to it on either side


_lock = threading.Lock()
_kiwi: Kiwi | None = None


def analyzer() -> Kiwi:
    """The process's one analyzer, built on first use (about 2 s and 250 MB: docs/moderation.md)."""
    global _kiwi
    if _kiwi is None:
        with _lock:
            if _kiwi is None:
                _kiwi = Kiwi()
    return _kiwi


def analyzer_warm() -> None:
    content_terms("준비 ready")


def _tokens(text: str) -> list[_Token]:
    """Every token, content words with their form as written, anything else with none."""
    kiwi = analyzer()
    # Kiwi does not document tokenize as thread-safe; a caption takes well under a millisecond.
    with _lock:
        raw: list[Any] = list(kiwi.tokenize(text))
    tokens: list[_Token] = []
    for i, token in enumerate(raw):
        start, end = token.start, token.start + token.len
        prefix = raw[i - 1] if i else None
        if token.tag in NOUN_TAGS and prefix is not None and prefix.tag == PREFIX_TAG:
            if prefix.start + prefix.len == start:
                start = prefix.start
        before = i - 1 if start == token.start else i - 2
        alone = (before < 0 or raw[before].start + raw[before].len < start) and (
            i + 1 == len(raw) or raw[i + 1].start > end
        )
        latin = token.tag == LATIN_TAG
        form = text[start:end] if latin or token.tag in NOUN_TAGS else ""
        tokens.append(_Token(form, start, end, latin, alone))
    return tokens


def _runs(tokens: list[_Token]) -> Iterator[list[_Token]]:
    """Neighbouring content words of one script; anything else (a particle, a verb) ends a run."""
    run: list[_Token] = []
    for token in tokens:
        if not token.form or (run and run[-1].latin != token.latin):
            if run:
                yield run
            run = [token] if token.form else []
        else:
            run.append(token)
    if run:
        yield run


def content_terms(text: str) -> list[str]:
    """Content words as written, in reading order, then their compounds (joined as written,
    spaces kept). A one-syllable Korean noun counts only standing alone (꽃 사진): glued to
    anything (산도, 꽃게, 바다뷰, 오운완) it is too often a fragment of another word."""
    if not text.strip():
        return []  # a post with no text never loads the analyzer
    text = unicodedata.normalize("NFC", text)
    words: list[str] = []
    compounds: list[str] = []
    for run in _runs(_tokens(text)):
        for i, token in enumerate(run):
            if token.latin or len(token.form) > 1 or token.alone:
                words.append(token.form)
            spaces = 0
            for j in range(i + 1, min(i + MAX_COMPOUND, len(run))):
                spaces += run[j - 1].end < run[j].start
                if spaces and j > i + 1:
                    break
                compounds.append(text[token.start : run[j].end])
    return words + compounds
