"""Which stored scores judge a post now."""

from __future__ import annotations

from moderation.models import Classification, ModelVersion


def current_classifications(*, post_ids: list[int]) -> dict[int, Classification]:
    """Each post's scores from the active model version, else its newest."""
    active_id = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    current: dict[int, Classification] = {}
    rows = Classification.objects.filter(post_id__in=post_ids).select_related("model_version")
    for c in rows.order_by("created_at", "id"):
        held = current.get(c.post_id)
        if held is None or held.model_version_id != active_id:
            current[c.post_id] = c
    return current
