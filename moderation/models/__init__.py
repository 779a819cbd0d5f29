"""Concepts, rules, keyword mappings, classifications and verdicts. Sits above posts/."""

from moderation.models.activity import ActivityRead
from moderation.models.catalog import Concept, KeywordMapping, Rule
from moderation.models.ingest import (
    Classification,
    Embedding,
    ModelVersion,
    TextExtraction,
    TrainingRun,
)
from moderation.models.judging import AuditEvent, HashtagStats, PostWord, Verdict, VerdictReport

__all__ = [
    "ActivityRead",
    "AuditEvent",
    "Classification",
    "Concept",
    "Embedding",
    "HashtagStats",
    "KeywordMapping",
    "ModelVersion",
    "PostWord",
    "Rule",
    "TextExtraction",
    "TrainingRun",
    "Verdict",
    "VerdictReport",
]
