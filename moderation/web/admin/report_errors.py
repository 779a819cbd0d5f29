"""The held-out photos behind each hashtag's false positives and misses, on a version's page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from moderation.ingest.search_cv import MISSED, SHOWN_WRONGLY
from moderation.ingest.training import POST_ROW


def _photo(file: str) -> SafeString:
    """A dev photo by its path; an overridden post as a link to its admin page."""
    post_id = file.removeprefix(POST_ROW)
    if file.startswith(POST_ROW) and post_id.isdigit():
        url = reverse("admin:posts_post_change", args=[int(post_id)])
        return format_html('<a href="{}">post {}</a>', url, post_id)
    return format_html("{}", file)


def _items(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    return format_html_join(
        "",
        "<li>{}: {} <span class='help'>({} · labelled {} · decided {})</span></li>",
        (
            (
                row["kind"],
                _photo(row["file"]),
                row["source"],
                row["labelled"] or "nothing",
                row["decided"] or "nothing",
            )
            for row in rows
        ),
    )


def errors_html(errors: list[Mapping[str, Any]]) -> SafeString:
    """One collapsed list per hashtag (in the report's order); empty for versions trained before
    the report kept them."""
    if not errors:
        return SafeString()
    parts = []
    for hashtag, rows in groupby(errors, key=lambda row: row["hashtag"]):
        mine = list(rows)
        shown = sum(row["kind"] == SHOWN_WRONGLY for row in mine)
        missed = sum(row["kind"] == MISSED for row in mine)
        parts.append(
            format_html(
                "<details data-hashtag='{}'><summary>#{}: {} shown wrongly, {} missed</summary>"
                "<ul>{}</ul></details>",
                hashtag,
                hashtag,
                shown,
                missed,
                _items(mine),
            )
        )
    return format_html(
        "<p>The held-out photos behind these figures (a photo is wrong when the rule on its "
        "decisions disagrees with the rule on its labels):</p>{}",
        format_html_join("", "{}", ((part,) for part in parts)),
    )
