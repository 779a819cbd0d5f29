"""The moderators' admin: model lists, the review queue, audit, previews and the dashboard."""

from moderation.web.admin import audit, catalog, dashboard, preview, review  # noqa: F401
