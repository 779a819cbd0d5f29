"""A post's words that count as evidence: matched against rules, and kept per post."""

from __future__ import annotations

import unicodedata
from typing import Any

from moderation.models import PostWord
from moderation.rules.expr import Expr
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.rules.words import (
    COMMENT,
    WordIndex,
    WordMatch,
    candidate_keys,
    post_word_matches,
    word_index,
)
from moderation.selectors.catalog import RuleIndex
from moderation.selectors.text import PostText, post_texts


def text_matches(
    *,
    post_ids: list[int],
    index: RuleIndex,
    names: dict[str, str],
    texts: dict[int, PostText] | None = None,
) -> dict[int, list[WordMatch]]:
    """Per post, the words (image text, caption, comments) pointing to a single-concept rule.
    Reads stored text (no OCR); no queries when the caller passes ``texts``."""
    words = rules_word_index(index, names)
    return {
        post_id: post_word_matches(
            index=words, image_words=t.image_words, caption=t.caption, comments=t.comments
        )
        for post_id, t in (post_texts(post_ids=post_ids) if texts is None else texts).items()
    }


def rules_word_index(index: RuleIndex, names: dict[str, str]) -> WordIndex:
    """What each hashtag and mapped word is evidence for under these rules."""
    parsed: dict[str, Expr | None] = {}
    for hashtag, rule in index.rules.items():
        try:
            parsed[hashtag] = parse(rule.expression, names)
        except RuleSyntaxError:
            parsed[hashtag] = None
    mappings = {word: rule.hashtag for word, rule in index.mappings.items()}
    return word_index(parsed, mappings)


def post_words_store(*, post_ids: list[int], texts: dict[int, PostText] | None = None) -> None:
    """Sync each post's ``PostWord`` rows with its texts (read unless passed); writes the diff."""
    if not post_ids:
        return
    if texts is None:
        texts = post_texts(post_ids=post_ids)
    wanted = {
        (post_id, *row)
        for post_id, t in texts.items()
        for row in candidate_keys(image_words=t.image_words, caption=t.caption, comments=t.comments)
        if len(row[0]) <= PostWord.MAX_KEY and len(row[2]) <= PostWord.MAX_KEY
    }
    rows = PostWord.objects.filter(post_id__in=post_ids)
    stored = {
        (r[1], r[2], r[3], r[4]): r[0]
        for r in rows.values_list("pk", "post_id", "key", "source", "form")
    }
    gone = [pk for row, pk in stored.items() if row not in wanted]
    if gone:
        PostWord.objects.filter(pk__in=gone).delete()
    PostWord.objects.bulk_create(
        [
            PostWord(post_id=post_id, key=key, source=source, form=form)
            for post_id, key, source, form in wanted - set(stored)
        ],
        ignore_conflicts=True,
    )


# Characters of a comment shown either side of the word that counted.
EXCERPT_AROUND = 30


def comments_cite(explanation: dict[str, Any], text: PostText | None) -> None:
    """Name, on each comment word of an explanation, the comment it came from: its author
    (``comment_by``) and the words around it (``comment_excerpt``), for the post page's "why"."""
    rows = [*explanation.get("words", []), *explanation.get("words_not_counted", [])]
    if text is None or not any(row.get("source") == COMMENT for row in rows):
        return
    # Words are found as the analyzer saw them: NFC, runs of spaces as one.
    bodies = [" ".join(unicodedata.normalize("NFC", c).split()) for c in text.comments]
    authors = text.comment_authors or [None] * len(bodies)
    for row in rows:
        if row.get("source") != COMMENT:
            continue
        for body, author in zip(bodies, authors, strict=False):
            at = body.find(row["word"])
            if at >= 0:
                start, end = max(0, at - EXCERPT_AROUND), at + len(row["word"]) + EXCERPT_AROUND
                excerpt = body[start:end]
                row["comment_by"] = author
                row["comment_excerpt"] = (
                    ("…" if start else "") + excerpt + ("…" if end < len(body) else "")
                )
                break
