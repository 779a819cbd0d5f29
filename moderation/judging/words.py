"""The words of a post that count as evidence: matched against the rules, kept per post for
the set-based re-evaluation."""

from __future__ import annotations

from moderation.models import PostWord
from moderation.rules.expr import Expr
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.rules.words import WordMatch, candidate_keys, post_word_matches, word_index
from moderation.selectors.catalog import RuleIndex
from moderation.selectors.text import PostText, post_texts


def text_matches(
    *,
    post_ids: list[int],
    index: RuleIndex,
    names: dict[str, str],
    texts: dict[int, PostText] | None = None,
) -> dict[int, list[WordMatch]]:
    """For each post, the words in its image, caption and comments that point to a rule with
    a single concept. Two queries (none when the caller passes the posts' ``texts``); the
    stored image text is used, OCR is not run."""
    parsed: dict[str, Expr | None] = {}
    for keyword, rule in index.rules.items():
        try:
            parsed[keyword] = parse(rule.expression, names)
        except RuleSyntaxError:
            parsed[keyword] = None
    mappings = {word: rule.keyword for word, rule in index.mappings.items()}
    words = word_index(parsed, mappings)
    return {
        post_id: post_word_matches(
            index=words, image_words=t.image_words, caption=t.caption, comments=t.comments
        )
        for post_id, t in (post_texts(post_ids=post_ids) if texts is None else texts).items()
    }


def post_words_store(*, post_ids: list[int], texts: dict[int, PostText] | None = None) -> None:
    """Keep each post's word forms (``PostWord``) in step with its image text, caption and
    comments (``texts``, read here unless the caller has them); only the difference is
    written."""
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
