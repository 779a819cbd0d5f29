"""A comment as the post page shows it: escaped, its lines kept, the people it names linked."""

from __future__ import annotations

import re

from django import template
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from posts.models import Comment
from posts.services import MENTION

register = template.Library()


@register.filter
def comment_html(comment: Comment) -> SafeString:
    """Links only stored mentions (prefetched): a stray @word stays text."""
    names = {m.user.get_username() for m in comment.mentions.all()}
    html = str(linebreaksbr(comment.text, autoescape=True))
    if not names:
        return mark_safe(html)  # escaped by linebreaksbr

    def link(match: re.Match[str]) -> str:
        name = match.group(1).rstrip(".")
        if name not in names:
            return match.group(0)
        url = reverse("user-posts", kwargs={"username": name})
        return format_html('<a href="{}">@{}</a>', url, name) + match.group(1)[len(name) :]

    return mark_safe(MENTION.sub(link, html))  # escaped; the links are format_html's
