"""Public pages: hashtag search, a post with its verdicts, a user's posts. Never run the model."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse

from moderation.judging.verdicts import verdicts_explain
from moderation.selectors.catalog import hashtags_related, rule_index_for
from moderation.selectors.cursor import InvalidCursor, SearchCursor, page_request
from moderation.selectors.review import reported_by
from moderation.selectors.search import (
    classification_shown,
    hashtag_lookup,
    hashtag_summary,
    hashtags_popular,
    post_with_verdicts,
    posts_by_author,
    posts_recent_shown,
    posts_relevant_for_hashtag,
)
from moderation.selectors.search_cache import CachedSearch, search_cached
from moderation.selectors.seen import concept_scores, people_seen
from moderation.selectors.text import post_comments, text_extraction_for
from moderation.web.permissions import is_moderator
from moderation.web.search_throttle import search_throttled
from posts.clients import client_key
from posts.hashtags import InvalidHashtag, hashtags_in_words, normalize_hashtag
from posts.services import comment_max_chars, hashtag_search_record

USER_POSTS_PER_PAGE = 24
HOME_RECENT = 12


def home(request: HttpRequest) -> HttpResponse:
    recent = posts_recent_shown(size=HOME_RECENT)
    more = _cursor_query(recent.next)
    return render(
        request,
        "moderation/home.html",
        {
            "popular": hashtags_popular(),
            "recent": recent.posts,
            "more_url": reverse("explore-recent") + more if more else None,
        },
    )


def recent(request: HttpRequest) -> HttpResponse:
    """Every post shown under some hashtag, newest first, a page at a time (home's "more")."""
    try:
        asked = page_request(request.GET)
    except InvalidCursor as exc:
        return render(request, "moderation/recent.html", {"error": exc}, status=400)
    page = posts_recent_shown(size=settings.TAGLENS_PAGE_SIZE, cursor=asked.cursor)
    return render(
        request,
        "moderation/recent.html",
        {
            "page": page,
            "next_url": _cursor_query(page.next),
            "newest_url": reverse("explore-recent"),
        },
    )


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    try:
        tag = normalize_hashtag(query, searched=True)
    except InvalidHashtag as exc:
        meant = hashtags_popular(names=hashtags_in_words(query), limit=8)
        return render(
            request,
            "moderation/search_error.html",
            {"query": query, "error": exc, "meant": meant},
            status=400,
        )
    return redirect(reverse("explore-tag", kwargs={"tag": tag}))


@search_throttled
def explore_tag(request: HttpRequest, tag: str) -> HttpResponse:
    try:
        name = normalize_hashtag(tag, searched=True)
    except InvalidHashtag as exc:
        return render(
            request, "moderation/search_error.html", {"query": tag, "error": exc}, status=400
        )
    hidden = request.GET.get("hidden") == "1"
    newest = _tag_url(name, hidden=hidden)
    if name != tag:
        return redirect(newest)
    try:
        asked = page_request(request.GET)
    except InvalidCursor as exc:
        return render(
            request,
            "moderation/search_error.html",
            {"query": name, "error": exc, "newest": newest},
            status=400,
        )
    if asked.cursor is None:
        found = search_cached(
            kind="page",
            name=name,
            variant="hidden" if hidden else "",
            build=lambda: _tag_content(name, None, hidden=hidden),
        )
    else:
        found = _tag_content(name, asked.cursor, hidden=hidden)
    if found.hashtag_id is not None and asked.is_new_search and not hidden:
        hashtag_search_record(hashtag_id=found.hashtag_id, client=client_key(request))
    starting = hashtags_popular(prefix=name, limit=8) if found.hashtag_id is None else []
    return render(
        request,
        "moderation/explore_tag.html",
        {"tag": name, "body": found.content, "starting": starting, "hidden": hidden},
    )


def _tag_content(name: str, cursor: SearchCursor | None, *, hidden: bool) -> CachedSearch:
    hashtag = hashtag_lookup(name)
    refused = None
    try:
        normalize_hashtag(name)
    except InvalidHashtag as exc:  # searched, but no longer given (#2024)
        refused = str(exc)
    # A ruled hashtag no post carries yet (#연애) still says its rule and where to look.
    rule, via = rule_index_for(name)
    context: dict[str, object] = {
        "tag": name,
        "hashtag": hashtag,
        "refused": refused,
        "rule": rule,
        "via": via,
        "related": hashtags_related(rule=rule, name=name) if rule is not None else [],
        "hidden": hidden,
    }
    if hashtag is not None:
        page = posts_relevant_for_hashtag(hashtag=hashtag, cursor=cursor, hidden=hidden)
        extra = {"hidden": "1"} if hidden else {}
        context.update(
            page=page,
            next_url=_cursor_query(page.next, **extra),
            previous_url=_cursor_query(page.previous, **extra),
            newest_url=_tag_url(name, hidden=hidden),
            summary=hashtag_summary(hashtag=hashtag),
        )
    # Without the request: no user, token or nonce can reach what is shared between users.
    content = render_to_string("moderation/explore_tag_body.html", context)
    return CachedSearch(hashtag_id=hashtag.pk if hashtag else None, content=content)


def _tag_url(name: str, *, hidden: bool) -> str:
    return reverse("explore-tag", kwargs={"tag": name}) + ("?hidden=1" if hidden else "")


def _cursor_query(cursor: SearchCursor | None, **extra: str) -> str | None:
    return "?" + urlencode({**extra, "cursor": cursor.encode()}) if cursor is not None else None


def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_with_verdicts(post_id=post_id)
    if post is None:
        raise Http404("No such post.")
    classification = classification_shown(post)
    scores = concept_scores(classification) if classification is not None else []
    verdicts = list(post.verdicts.all())
    verdicts_explain(verdicts)
    return render(
        request,
        "moderation/post_detail.html",
        {
            "post": post,
            "verdicts": verdicts,
            "classification": classification,
            "scores": scores,
            "text_extraction": text_extraction_for(post=post),
            "people": people_seen(classification.embedding if classification else None),
            "comments": post_comments(post=post),
            "is_moderator": is_moderator(request.user),
            "comment_max": comment_max_chars(),
            "reported": reported_by(reporter_id=request.user.pk, post_id=post.pk),
            "preview_image": request.build_absolute_uri((post.thumbnail or post.image).url),
        },
    )


def user_posts(request: HttpRequest, username: str) -> HttpResponse:
    author = get_object_or_404(get_user_model(), username=username)
    page = Paginator(posts_by_author(author_id=author.pk), USER_POSTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "moderation/user_posts.html", {"author": author, "page": page})
