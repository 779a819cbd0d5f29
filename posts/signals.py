"""The named hooks by which the posts floor hands work to the floor above it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside post_create's transaction with `post`. Receivers that queue background
# work must do so with transaction.on_commit.
post_created = Signal()

# Sent inside post_update's transaction after the post's hashtag links changed, with `post`,
# `added` and `removed` (lists of normalised hashtag names).
post_hashtags_changed = Signal()

# Sent inside post_update's transaction when the author changed a post's caption, with
# `post`. Words in a caption are evidence for some rules, so moderation judges the post again.
post_caption_changed = Signal()

# Sent inside comment_create's and comment_delete's transaction with `post`: comment words are
# (weak) evidence too, so moderation judges the post again from stored scores.
post_comments_changed = Signal()
