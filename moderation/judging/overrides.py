"""A moderator's word on a verdict: override, bulk override, undo; each one audited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from moderation.judging.audit import UndoRefused, verdict_override_record, verdict_override_snapshot
from moderation.judging.counts import hashtag_counts_refresh
from moderation.models import AuditEvent, Verdict
from moderation.selectors.catalog import concept_catalog, concept_names


def verdict_override(
    *,
    verdict: Verdict,
    relevant: bool | None,
    by: User,
    note: str = "",
    reason: str = "",
    names: dict[str, str] | None = None,
    refresh_counts: bool = True,
) -> Verdict:
    """A moderator's word: shown (True), hidden (False), or back to the model (None).
    Recorded as an audit event (reason defaults to the note); clearing no override is a no-op."""
    # The stored row, not `verdict`: an admin form has already written its input onto it.
    stored = Verdict.objects.select_related("override_by").filter(pk=verdict.pk).first()
    before = verdict_override_snapshot(stored or verdict)
    if relevant is None and before["override"] is None:
        return verdict
    with transaction.atomic():
        verdict.override = relevant
        verdict.override_by = by if relevant is not None else None
        verdict.override_at = timezone.now() if relevant is not None else None
        verdict.override_note = note[:200] if relevant is not None else ""
        verdict.shown = verdict.effective_shown()
        verdict.save(
            update_fields=["override", "override_by", "override_at", "override_note", "shown"]
        )
        verdict_override_record(
            verdict=verdict, before=before, by=by, reason=reason or note, names=names
        )
        if refresh_counts:
            hashtag_counts_refresh(hashtag_ids=[verdict.hashtag_id])
    return verdict


def verdicts_override_bulk(
    *,
    verdicts: QuerySet[Verdict],
    relevant: bool | None,
    by: User,
    note: str = "",
    reason: str = "",
) -> int:
    """Override many verdicts; each one changed is its own audit event. Returns how many."""
    count = 0
    names = concept_names(concept_catalog())
    hashtag_ids: set[int] = set()
    with transaction.atomic():
        # of=self: PostgreSQL refuses to lock the admin queryset's nullable joins.
        for verdict in verdicts.select_for_update(of=("self",)).select_related("rule", "hashtag"):
            verdict_override(
                verdict=verdict,
                relevant=relevant,
                by=by,
                note=note,
                reason=reason,
                names=names,
                refresh_counts=False,
            )
            hashtag_ids.add(verdict.hashtag_id)
            count += 1
        # Once for all: one refresh per verdict would lock the counts in no particular order.
        hashtag_counts_refresh(hashtag_ids=hashtag_ids)
    return count


def verdict_override_undo(*, event: AuditEvent, by: User, reason: str = "") -> Verdict:
    """Put a verdict's override back as it was before `event`, and record that as an event.
    Refused when the verdict has changed since the event, so a later override is never lost."""
    if event.action != AuditEvent.Action.OVERRIDE or event.object_type != "verdict":
        raise UndoRefused("Only a verdict override can be undone.")
    with transaction.atomic():
        verdict = (
            Verdict.objects.select_for_update(of=("self",))
            .select_related("rule", "hashtag", "override_by")
            .filter(pk=event.object_id)
            .first()
        )
        if verdict is None:
            raise UndoRefused("The verdict no longer exists (its post was deleted).")
        current = verdict_override_snapshot(verdict)
        after = event.after or {}
        if any(current.get(k) != after.get(k) for k in ("override", "override_by_id")):
            raise UndoRefused("The verdict was changed after this event; undo the later change.")
        previous = event.before or {}
        by_id = previous.get("override_by_id")
        verdict.override = previous.get("override")
        verdict.override_by = User.objects.filter(pk=by_id).first() if by_id else None
        at = previous.get("override_at")
        verdict.override_at = parse_datetime(at) if at else None
        verdict.override_note = previous.get("override_note") or ""
        verdict.shown = verdict.effective_shown()
        verdict.save(
            update_fields=["override", "override_by", "override_at", "override_note", "shown"]
        )
        verdict_override_record(
            verdict=verdict,
            before=current,
            by=by,
            reason=reason or f"Undo of event #{event.pk}",
            action=AuditEvent.Action.OVERRIDE_UNDO,
        )
        hashtag_counts_refresh(hashtag_ids=[verdict.hashtag_id])
    return verdict
