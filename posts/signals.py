"""The one named hook by which the posts floor hands work to the floor above it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside post_create's transaction with `post`. Receivers that queue background
# work must do so with transaction.on_commit.
post_created = Signal()
