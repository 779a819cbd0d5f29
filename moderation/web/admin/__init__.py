"""The moderators' admin: model lists, the review queue, audit, previews and the dashboard.
Importing the package registers every model admin (AppConfig.ready does)."""

from moderation.web.admin import (  # noqa: F401
    audit,
    catalog,
    comments,
    dashboard,
    model_versions,
    posts,
    preview,
    review,
    verdicts,
)
