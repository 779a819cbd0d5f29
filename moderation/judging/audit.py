"""The audit trail: every moderator's change is an AuditEvent with before and after values.
Events are only ever added; undoing an override is a new event, not an edit."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import models

from moderation.models import AuditEvent, Concept, KeywordMapping, Rule, Verdict
from moderation.selectors.catalog import rule_concept_keys

Action = AuditEvent.Action


class UndoRefused(ValueError):
    """The event cannot be undone (not an override, or the verdict changed since)."""


def audit_record(
    *,
    action: str,
    obj: models.Model,
    actor: User | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str = "",
    concept_keys: list[str] | None = None,
    rule_hashtag: str = "",
    object_repr: str = "",
) -> AuditEvent:
    """Append one event. `obj` may already be deleted (its pk is read before deletion)."""
    # An anonymous or unsaved user (system jobs) is recorded as no actor.
    actor = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        object_type=obj._meta.model_name or "",
        object_id=str(obj.pk),
        object_repr=(object_repr or str(obj))[:200],
        before=before,
        after=after,
        reason=reason[:300],
        concept_keys=concept_keys or [],
        rule_hashtag=rule_hashtag,
    )


def rule_snapshot(rule: Rule) -> dict[str, Any]:
    return {"hashtag": rule.hashtag, "expression": rule.expression, "description": rule.description}


def keyword_mapping_snapshot(mapping: KeywordMapping) -> dict[str, Any]:
    rule = Rule.objects.filter(pk=mapping.rule_id).first()
    return {"word": mapping.word, "rule": rule.hashtag if rule else None}


def concept_snapshot(concept: Concept) -> dict[str, Any]:
    parent = Concept.objects.filter(pk=concept.parent_id).first() if concept.parent_id else None
    return {
        "key": concept.key,
        "name_ko": concept.name_ko,
        "name_en": concept.name_en,
        "kind": concept.kind,
        "parent": parent.key if parent else None,
        "threshold": concept.threshold,
    }


def verdict_override_snapshot(verdict: Verdict) -> dict[str, Any]:
    """The override state of a verdict, enough to restore it (undo)."""
    by = verdict.override_by
    return {
        "override": verdict.override,
        "override_by_id": verdict.override_by_id,
        "override_by": by.get_username() if by else None,
        "override_at": verdict.override_at.isoformat() if verdict.override_at else None,
        "override_note": verdict.override_note,
        "shown": verdict.shown,
    }


def verdict_override_record(
    *,
    verdict: Verdict,
    before: dict[str, Any],
    by: User | None,
    reason: str,
    action: str = Action.OVERRIDE,
    names: dict[str, str] | None = None,
) -> AuditEvent:
    rule = verdict.rule
    return audit_record(
        action=action,
        obj=verdict,
        actor=by,
        before=before,
        after=verdict_override_snapshot(verdict),
        reason=reason,
        concept_keys=rule_concept_keys(rule, names),
        rule_hashtag=rule.hashtag if rule else "",
        object_repr=f"#{verdict.hashtag.name} on post {verdict.post_id}",
    )
