"""Catalogue writes (admin and API): every save and delete is audited and re-applies verdicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import models, transaction

from moderation.judging.audit import (
    audit_record,
    concept_snapshot,
    keyword_mapping_snapshot,
    rule_snapshot,
)
from moderation.judging.reevaluate import verdicts_reevaluate_queue
from moderation.models import AuditEvent, Concept, KeywordMapping, Rule
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.rules.words import evidence_concept, keyword_key
from moderation.selectors.catalog import (
    concept_catalog,
    concept_names,
    rule_hashtags,
    rules_about_concept,
)
from moderation.selectors.search_cache import search_cache_stale

Action = AuditEvent.Action
M = TypeVar("M", bound=models.Model)


def _save(
    obj: M,
    *,
    snapshot: Callable[[M], dict[str, Any]],
    actions: tuple[str, str],
    by: User | None,
    reason: str,
) -> M:
    """Save `obj` (changed in memory, or new) with the stored row's values as "before"."""
    model = type(obj)
    with transaction.atomic():
        stored = model._default_manager.filter(pk=obj.pk).first() if obj.pk else None
        before = snapshot(stored) if stored is not None else None
        obj.save()
        after = snapshot(obj)
        if before != after:
            action = actions[0] if before is None else actions[1]
            audit_record(
                action=action, obj=obj, actor=by, before=before, after=after, reason=reason
            )
        _queue(obj, stored)
    return obj


def _delete(
    obj: M, *, snapshot: Callable[[M], dict[str, Any]], action: str, by: User | None, reason: str
) -> None:
    with transaction.atomic():
        before = snapshot(obj)
        audit_record(action=action, obj=obj, actor=by, before=before, after=None, reason=reason)
        _queue(obj, obj)
        obj.delete()


def reevaluation_scope(obj: models.Model, stored: models.Model | None) -> dict[str, Any]:
    """Which verdicts a change to a rule, mapping or concept can alter, as keyword arguments of
    ``verdicts_reevaluate``: ``stored`` is the row before the change (None when new)."""
    if isinstance(obj, Rule):
        words = {obj.hashtag, *rule_hashtags(rule_ids=[obj.pk])}
        expressions = [obj.expression]
        if isinstance(stored, Rule):
            words.add(stored.hashtag)
            expressions.append(stored.expression)
        return {
            "rules": [obj.pk] if obj.pk else [],
            "hashtags": words,
            "word_keys": {keyword_key(word) for word in words},
            "word_concepts": _evidence_concepts(expressions),
        }
    if isinstance(obj, KeywordMapping):
        words = {obj.word}
        rules = [obj.rule_id]
        if isinstance(stored, KeywordMapping):
            words.add(stored.word)
            rules.append(stored.rule_id)
        expressions = list(Rule.objects.filter(pk__in=rules).values_list("expression", flat=True))
        return {
            "rules": [],
            "hashtags": words,
            "word_keys": {keyword_key(w) for w in words},
            "word_concepts": _evidence_concepts(expressions),
        }
    if (
        isinstance(obj, Concept)
        and isinstance(stored, Concept)
        and obj is not stored
        and (obj.key, obj.parent_id) == (stored.key, stored.parent_id)
    ):
        rules = rules_about_concept(key=obj.key)
        return {"rules": rules, "hashtags": rule_hashtags(rule_ids=rules)}
    return {"rules": None}  # a concept created, deleted or moved in the tree: everything


def _evidence_concepts(expressions: list[str]) -> set[str]:
    """The concepts a rule's words are evidence for (``words.evidence_concept``)."""
    names = concept_names(concept_catalog())
    found = set()
    for expression in expressions:
        try:
            concept = evidence_concept(parse(expression, names))
        except RuleSyntaxError:
            continue
        if concept is not None:
            found.add(concept)
    return found


def _queue(obj: models.Model, stored: models.Model | None) -> None:
    """Re-evaluate, after commit, the verdicts this change can alter (and only those)."""
    verdicts_reevaluate_queue(**reevaluation_scope(obj, stored))
    # Search pages show the rule that judges the tag (or the mapping to it) at once.
    search_cache_stale(hashtag_ids=None)


def rule_save(*, rule: Rule, by: User | None, reason: str = "") -> Rule:
    if by is not None and by.pk:
        rule.updated_by = by
    actions = (Action.RULE_CREATE, Action.RULE_UPDATE)
    return _save(rule, snapshot=rule_snapshot, actions=actions, by=by, reason=reason)


def rule_delete(*, rule: Rule, by: User | None, reason: str = "") -> None:
    """The rule's keyword mappings go with it (cascade); each is recorded, not lost silently."""
    with transaction.atomic():
        for mapping in KeywordMapping.objects.filter(rule=rule):
            keyword_mapping_delete(
                mapping=mapping, by=by, reason=reason or f"Rule #{rule.hashtag} deleted"
            )
        _delete(rule, snapshot=rule_snapshot, action=Action.RULE_DELETE, by=by, reason=reason)


def keyword_mapping_save(
    *, mapping: KeywordMapping, by: User | None, reason: str = ""
) -> KeywordMapping:
    actions = (Action.KEYWORD_CREATE, Action.KEYWORD_UPDATE)
    return _save(mapping, snapshot=keyword_mapping_snapshot, actions=actions, by=by, reason=reason)


def keyword_mapping_delete(*, mapping: KeywordMapping, by: User | None, reason: str = "") -> None:
    _delete(
        mapping,
        snapshot=keyword_mapping_snapshot,
        action=Action.KEYWORD_DELETE,
        by=by,
        reason=reason,
    )


def concept_save(*, concept: Concept, by: User | None, reason: str = "") -> Concept:
    actions = (Action.CONCEPT_CREATE, Action.CONCEPT_UPDATE)
    return _save(concept, snapshot=concept_snapshot, actions=actions, by=by, reason=reason)


def concept_delete(*, concept: Concept, by: User | None, reason: str = "") -> None:
    """Refused by the database (ProtectedError) while finer concepts name it as parent."""
    _delete(concept, snapshot=concept_snapshot, action=Action.CONCEPT_DELETE, by=by, reason=reason)
