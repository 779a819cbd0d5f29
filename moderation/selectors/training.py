"""Training labels that moderators' overrides imply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moderation.models import (
    Embedding,
    Verdict,
)
from moderation.rules.expr import forced_values
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.selectors.catalog import concept_catalog, concept_names


@dataclass(frozen=True)
class OverrideExample:
    """Concept labels a moderator's overrides imply for one post, with its stored embedding."""

    post_id: int
    labels: dict[str, bool]
    embedding: Embedding


def override_training_examples(*, backbone: str) -> list[OverrideExample]:
    """Every override is a label where the rule's outcome forces concept values."""
    names = concept_names(concept_catalog())
    parsed: dict[int, Any] = {}
    labels: dict[int, dict[str, bool]] = {}
    conflicted: set[int] = set()
    verdicts = Verdict.objects.filter(override__isnull=False, rule__isnull=False).select_related(
        "rule"
    )
    for verdict in verdicts:
        rule = verdict.rule
        assert rule is not None
        if rule.pk not in parsed:
            try:
                parsed[rule.pk] = parse(rule.expression, names)
            except RuleSyntaxError:
                parsed[rule.pk] = None
        if parsed[rule.pk] is None or verdict.override is None:
            continue
        forced = forced_values(parsed[rule.pk], verdict.override)
        if not forced:
            continue
        held = labels.setdefault(verdict.post_id, {})
        for key, value in forced.items():
            if held.get(key, value) != value:
                conflicted.add(verdict.post_id)
            held[key] = value
    stored = Embedding.objects.filter(backbone=backbone, post_id__in=list(labels))
    embeddings = {e.post_id: e for e in stored.select_related("post")}
    return [
        OverrideExample(post_id=post_id, labels=values, embedding=embeddings[post_id])
        for post_id, values in sorted(labels.items())
        if post_id in embeddings and post_id not in conflicted
    ]
