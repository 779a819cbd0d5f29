"""Writes for posts."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
from datetime import timedelta
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from rest_framework.authtoken.models import Token

from posts.hashtags import InvalidHashtag, normalize_hashtags
from posts.models import Comment, CommentMention, Hashtag, Post, PostHashtag
from posts.signals import (
    post_caption_changed,
    post_comments_changed,
    post_created,
    post_hashtags_changed,
)
from posts.uploads import UploadRejected, image_clean

logger = logging.getLogger(__name__)


class PostRejected(ValueError):
    """An upload that is refused; nothing is stored. ``code`` says why (see posts.uploads)."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def hashtags_get_or_create(*, names: list[str]) -> list[Hashtag]:
    normalized = normalize_hashtags(names)
    existing = {tag.name: tag for tag in Hashtag.objects.filter(name__in=normalized)}
    missing = [Hashtag(name=name) for name in normalized if name not in existing]
    if missing:
        Hashtag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Hashtag.objects.filter(name__in=normalized)}
    return [existing[name] for name in normalized]


def hashtag_search_record(*, hashtag_id: int, client: str) -> bool:
    """Count a search for the tag once per client per TAGLENS_SEARCH_COUNT_WINDOW seconds, so
    one client reloading (or a script) cannot push a tag up the review queue. ``client`` names
    who searched (``posts.clients.client_key``). True when this search was counted.

    The mark is an atomic cache ``add`` (shared across processes with Redis); the count is a
    single UPDATE, so concurrent searches never lose one."""
    window = settings.TAGLENS_SEARCH_COUNT_WINDOW
    digest = hashlib.sha256(f"{hashtag_id}:{client}".encode()).hexdigest()[:32]
    if window > 0 and not cache.add(f"search-counted:{digest}", 1, timeout=window):
        return False
    Hashtag.objects.filter(pk=hashtag_id).update(search_count=F("search_count") + 1)
    return True


# Bidi embeddings, overrides, isolates: they show text in another order than it is stored.
# NUL: PostgreSQL cannot store it in text, and it shows nothing.
_UNSHOWN = dict.fromkeys([0, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def plain_text(text: str) -> str:
    """Text as written, without NULs and the bidi controls that reorder what it shows."""
    return text.translate(_UNSHOWN)


def post_create(
    *,
    author: User | None,
    image: IO[bytes],
    image_name: str = "",
    caption: str = "",
    hashtags: list[str],
) -> Post:
    """Store an upload at once with status pending; classification follows in the background.

    The image is validated and re-encoded by ``posts.uploads.image_clean``; the stored copy
    gets a random name whose suffix comes from the decoded format. ``image_name`` (the
    name the client sent) is never used for anything on disk.
    """
    if not hashtags:
        raise PostRejected("Add at least one hashtag.", code="hashtags")
    try:
        # Validate every tag before anything is decoded or written.
        names = normalize_hashtags(hashtags)
    except InvalidHashtag as exc:
        raise PostRejected(str(exc), code="hashtags") from exc
    try:
        clean = image_clean(image)
    except UploadRejected as exc:
        raise PostRejected(str(exc), code=exc.code) from exc
    post = Post(author=author, caption=plain_text(caption), width=clean.width, height=clean.height)
    try:
        with transaction.atomic():
            post.image.save(f"upload{clean.suffix}", ContentFile(clean.data), save=False)
            post.thumbnail.save("thumb.jpg", ContentFile(clean.thumbnail), save=False)
            post.save()
            _hashtags_link(post=post, names=names)
            post_created.send(sender=Post, post=post)
    except BaseException:
        _files_delete(_files_of(post))  # a failed write leaves no file behind
        raise
    return post


def _files_of(post: Post) -> list[tuple[Storage, str]]:
    return [(field.storage, field.name) for field in (post.image, post.thumbnail) if field.name]


def _files_delete(files: list[tuple[Storage, str]]) -> None:
    for storage, name in files:
        storage.delete(name)


def _hashtags_link(*, post: Post, names: list[str]) -> None:
    tags = hashtags_get_or_create(names=names)
    PostHashtag.objects.bulk_create(
        PostHashtag(post=post, hashtag=tag, position=index) for index, tag in enumerate(tags)
    )


class PostEditDenied(PermissionError):
    """Someone other than the author tried to edit a post."""


def post_update(
    *,
    post: Post,
    by: AbstractBaseUser | AnonymousUser,
    caption: str | None = None,
    hashtags: list[str] | None = None,
) -> Post:
    """Change a post's caption and/or hashtags; only its author may.

    A changed hashtag list replaces the old one and sends ``post_hashtags_changed`` with
    the tags added and removed, inside the transaction (receivers queue work on commit).
    """
    if not by.is_authenticated or post.author_id != by.pk:
        raise PostEditDenied("Only the author may edit a post.")
    names: list[str] | None = None
    if hashtags is not None:
        if not hashtags:
            raise PostRejected("Add at least one hashtag.", code="hashtags")
        try:
            names = normalize_hashtags(hashtags)
        except InvalidHashtag as exc:
            raise PostRejected(str(exc), code="hashtags") from exc
    with transaction.atomic():
        caption_changed = False
        caption = None if caption is None else plain_text(caption)
        if caption is not None and caption != post.caption:
            caption_changed = True
            post.caption = caption
            post.save(update_fields=["caption"])
        if names is not None:
            before = list(post.hashtags.order_by("post_hashtags__position"))
            if [tag.name for tag in before] != names:
                PostHashtag.objects.filter(post=post).delete()
                _hashtags_link(post=post, names=names)
                after = set(names)
                old = {tag.name for tag in before}
                post_hashtags_changed.send(
                    sender=Post,
                    post=post,
                    added=[name for name in names if name not in old],
                    removed=[tag.name for tag in before if tag.name not in after],
                )
        if caption_changed:
            post_caption_changed.send(sender=Post, post=post)
    return post


def _hourly_wait(rows: QuerySet[Post] | QuerySet[Comment], limit: int) -> int:
    """Seconds until ``rows`` (one author's) fall under ``limit`` in the last hour; 0: now.

    Counted from stored rows, so the limit holds across processes without a shared cache;
    refused writes store nothing and do not count.
    """
    if limit <= 0:
        return 0
    now = timezone.now()
    recent = rows.filter(created_at__gte=now - timedelta(hours=1)).order_by("-created_at")
    edge = recent.values_list("created_at", flat=True)[limit - 1 : limit].first()
    if edge is None:
        return 0
    return max(1, math.ceil((edge + timedelta(hours=1) - now).total_seconds()))


def post_delete(*, post: Post, by: AbstractBaseUser | AnonymousUser) -> None:
    """The author deletes their post: its verdicts, comments and words go with it (cascade),
    its hashtags are counted again, and its files are removed once the deletion is committed."""
    if not by.is_authenticated or post.author_id != by.pk:
        raise PostEditDenied("Only the author may delete a post.")
    files = _files_of(post)
    with transaction.atomic():
        post.delete()
        transaction.on_commit(functools.partial(_files_delete, files))


def try_again_in(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Try again in {minutes} minute{'s' if minutes > 1 else ''}."


def uploads_wait(*, author: AbstractBaseUser) -> int:
    """Seconds until the author may upload again (TAGLENS_UPLOADS_PER_HOUR); 0: now."""
    return _hourly_wait(Post.objects.filter(author_id=author.pk), settings.TAGLENS_UPLOADS_PER_HOUR)


class CommentRejected(ValueError):
    """A comment that is refused; nothing is stored. ``code``: empty, too_long or too_many."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class CommentDeleteDenied(PermissionError):
    """Someone other than the author (or a moderator) tried to delete a comment."""


TOO_MANY_COMMENTS = "You have written many comments in the last hour."
# @name, not inside an address (a@b.com); Django's user names are letters, digits and @.+-_
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]+)")
MAX_MENTIONS = 10


def mentioned_names(text: str) -> list[str]:
    """Named users in order, once each; a full stop after a name ("@minji.") is the sentence's."""
    names = dict.fromkeys(m.rstrip(".") for m in MENTION.findall(text))
    return [n for n in names if n][:MAX_MENTIONS]


def comment_max_chars() -> int:
    return Comment._meta.get_field("text").max_length or 2200


def comment_create(*, post: Post, author: User, text: str) -> Comment:
    """Store a comment and hand the post up to be judged again (``post_comments_changed``):
    its words may be evidence for a hashtag."""
    text = plain_text(text).strip()
    limit = comment_max_chars()
    if not text:
        raise CommentRejected(
            "Write something first; an empty comment is not stored.", code="empty"
        )
    if len(text) > limit:
        raise CommentRejected(
            f"A comment can be at most {limit} characters; this one has {len(text)}.",
            code="too_long",
        )
    if wait := comments_wait(author=author):
        raise CommentRejected(f"{TOO_MANY_COMMENTS} {try_again_in(wait)}", code="too_many")
    with transaction.atomic():
        comment = Comment.objects.create(post=post, author=author, text=text)
        if names := mentioned_names(text):
            named = User.objects.filter(username__in=names).exclude(pk=author.pk)
            CommentMention.objects.bulk_create(
                CommentMention(comment=comment, user=u) for u in named
            )
        post_comments_changed.send(sender=Post, post=post)
    return comment


def comment_delete(
    *, comment: Comment, by: AbstractBaseUser | AnonymousUser, as_moderator: bool = False
) -> None:
    """Delete a comment: its author may. ``as_moderator``: the caller checked that ``by`` is a
    moderator and records the audit event (moderation/judging/comments.py)."""
    if not as_moderator and (not by.is_authenticated or comment.author_id != by.pk):
        raise CommentDeleteDenied("Only the author or a moderator may delete a comment.")
    post = comment.post
    with transaction.atomic():
        comment.delete()
        post_comments_changed.send(sender=Post, post=post)


def comments_wait(*, author: AbstractBaseUser) -> int:
    """Seconds until the author may comment again (TAGLENS_COMMENTS_PER_HOUR); 0: now."""
    limit = settings.TAGLENS_COMMENTS_PER_HOUR
    return _hourly_wait(Comment.objects.filter(author_id=author.pk), limit)


def api_tokens_revoke(*, user: User) -> int:
    """The user's API token stops working: asked for, or after a password change."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


class AccountDeleteDenied(PermissionError):
    """The account was not deleted; ``str(exc)`` says why."""


def account_email_set(*, user: User, email: str) -> None:
    """The address resets go to (empty: none), told to the old one; the password is confirmed."""
    old, user.email = user.email, email.strip()
    user.save(update_fields=["email"])
    if old.casefold() != user.email.casefold():
        account_notice(user=user, to=old, what="email")


ACCOUNT_NOTICE_SUBJECT = "TagLens: 계정 변경 Your account was changed"


def account_notice(*, user: User, to: str, what: str) -> None:
    """Mails `to`, after the commit, that the account's email or password changed; a failed
    send is logged."""
    if not to or not settings.TAGLENS_MAIL:
        return
    body = render_to_string(
        "registration/account_changed.txt", {"username": user.get_username(), "what": what}
    )

    def send() -> None:
        try:
            send_mail(ACCOUNT_NOTICE_SUBJECT, body, None, [to])
        except Exception:
            logger.exception("The account notice to %s could not be sent.", to)

    transaction.on_commit(send)


PASSWORD_RESET_WINDOW = 3600  # seconds over which TAGLENS_PASSWORD_RESETS_PER_HOUR counts


def password_reset_allowed(*, address: str, email: str) -> bool:
    """Counts a reset request per address and mailbox; False over the hour's limit of either."""
    allowed = True
    mailbox = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    for key in (f"password-reset:addr:{address}", f"password-reset:mail:{mailbox}"):
        cache.add(key, 0, timeout=PASSWORD_RESET_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, count := 1, timeout=PASSWORD_RESET_WINDOW)
        allowed = allowed and count <= settings.TAGLENS_PASSWORD_RESETS_PER_HOUR
    return allowed


DELETE_PASSWORD_WRONG = "The password is wrong; nothing was deleted."


def account_delete(*, user: User) -> int:
    """The account with its posts, reports and comments (others' posts judged again without
    them); returns the posts deleted. The caller confirmed the password. docs/security.md."""
    if user.is_staff or user.is_superuser:
        raise AccountDeleteDenied("A staff account is closed by an operator, not from this page.")
    own = list(Post.objects.filter(author=user))
    files = [f for post in own for f in _files_of(post)]
    commented = list(Post.objects.filter(comments__author=user).exclude(author=user).distinct())
    with transaction.atomic():
        Comment.objects.filter(author=user).delete()
        for post in commented:
            post_comments_changed.send(sender=Post, post=post)
        Post.objects.filter(author=user).delete()  # Django's delete signals per post
        user.delete()
        transaction.on_commit(functools.partial(_files_delete, files))
    return len(own)
