"""Verdicts under each hashtag, the counts pages read, the words rules match, the audit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from moderation.models.catalog import Rule
from moderation.models.ingest import Classification
from moderation.rules import compiled
from posts.models import Hashtag, Post


class Verdict(models.Model):
    """Whether a post is shown under one of its hashtags, and why."""

    class Decision(models.TextChoices):
        PENDING = compiled.PENDING, "Pending classification"
        RELEVANT = compiled.RELEVANT, "Relevant"
        NOT_RELEVANT = compiled.NOT_RELEVANT, "Not relevant"
        UNKNOWN = compiled.UNKNOWN, "Unknown"
        NO_RULE = compiled.NO_RULE, "No rule"

    # No index of their own: the constraint and verdict_search lead with them (writes cost).
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="verdicts", db_index=False
    )
    hashtag = models.ForeignKey(
        Hashtag, on_delete=models.CASCADE, related_name="verdicts", db_index=False
    )
    # Copied from the post so the search query is one index range scan.
    post_created_at = models.DateTimeField()
    rule = models.ForeignKey(
        Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="verdicts"
    )
    classification = models.ForeignKey(
        Classification, on_delete=models.SET_NULL, null=True, blank=True, related_name="verdicts"
    )
    decision = models.CharField(max_length=14, choices=Decision.choices, default=Decision.PENDING)
    # Computed for display, not stored, so a rule change rewrites only verdicts that move.
    explanation: dict[str, Any] | None = None
    decided_at = models.DateTimeField(null=True, blank=True)
    # A moderator's word wins over the model's decision.
    override = models.BooleanField(null=True, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)
    override_note = models.CharField(max_length=200, blank=True)
    # Effective visibility under the hashtag: the override, else the decision.
    shown = models.BooleanField(default=False)
    # Distance of the deciding score from its threshold: small ones go to the review queue.
    margin = models.FloatField(null=True, blank=True)
    # The post's author asked a moderator to look again at a hidden verdict: first in the queue.
    review_requested_at = models.DateTimeField(null=True, blank=True)
    review_request_note = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-post_created_at", "-post_id"]
        permissions = [("override_verdict", "Can override a verdict")]
        constraints = [
            models.UniqueConstraint(fields=["post", "hashtag"], name="unique_verdict_per_tag")
        ]
        indexes = [
            models.Index(
                fields=["hashtag", "shown", "-post_created_at", "-post"], name="verdict_search"
            ),
            # hashtag_counts_refresh counts a tag's verdicts from this index alone.
            models.Index(fields=["hashtag", "shown", "decision"], name="verdict_counts"),
            # A plain index (a CharField's db_index adds a second one for LIKE on PostgreSQL).
            models.Index(fields=["decision"], name="verdict_decision"),
        ]

    def __str__(self) -> str:
        decision = self.get_decision_display().lower()  # ids: no query per verdict named
        return f"post {self.post_id}, hashtag {self.hashtag_id}: {decision}"

    def effective_shown(self) -> bool:
        """What ``shown`` should hold: the moderator's word, else the decision."""
        return compiled.shown(self.decision, self.override)


class VerdictReport(models.Model):
    """Someone searching a hashtag says a post shown under it does not fit: once per person."""

    # No indexes of their own: the constraint and the index below lead with them.
    verdict = models.ForeignKey(
        Verdict, on_delete=models.CASCADE, related_name="reports", db_index=False
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["verdict", "reporter"], name="one_report_per_person")
        ]
        indexes = [models.Index(fields=["reporter", "created_at"], name="report_by_reporter")]

    def __str__(self) -> str:
        return f"report on verdict {self.verdict_id}"


class HashtagStats(models.Model):
    """A hashtag's shown, hidden and pending counts, kept by `hashtag_counts_refresh` so pages
    read one row instead of counting verdicts (docs/scaling.md, "Search at scale")."""

    hashtag = models.OneToOneField(
        Hashtag, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    shown = models.PositiveIntegerField(default=0)
    hidden = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "hashtag stats"
        indexes = [models.Index(fields=["-shown", "hashtag"], name="hashtagstats_popular")]

    def __str__(self) -> str:
        return (
            f"#{self.hashtag_id}: {self.shown} shown, {self.hidden} hidden, {self.pending} pending"
        )


class AuditEvent(models.Model):
    """Who changed what, when, from what to what, and why. Never edited or deleted."""

    class Action(models.TextChoices):
        OVERRIDE = "override", "Verdict overridden"
        OVERRIDE_UNDO = "override_undo", "Override undone"
        RULE_CREATE = "rule_create", "Rule created"
        RULE_UPDATE = "rule_update", "Rule changed"
        RULE_DELETE = "rule_delete", "Rule deleted"
        KEYWORD_CREATE = "keyword_create", "Keyword mapping created"
        KEYWORD_UPDATE = "keyword_update", "Keyword mapping changed"
        KEYWORD_DELETE = "keyword_delete", "Keyword mapping deleted"
        CONCEPT_CREATE = "concept_create", "Concept created"
        CONCEPT_UPDATE = "concept_update", "Concept changed"
        CONCEPT_DELETE = "concept_delete", "Concept deleted"
        MODEL_ACTIVATE = "model_activate", "Model version activated"
        MODEL_DISCARD = "model_discard", "Model version discarded"
        COMMENT_DELETE = "comment_delete", "Comment deleted by a moderator"
        REVIEW_REQUEST = "review_request", "Review asked for by the author"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    object_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    # For overrides: the concept and rule involved, so the dashboard can count corrections.
    concept_keys = models.JSONField(default=list, blank=True)
    rule_hashtag = models.CharField(max_length=100, blank=True, db_column="rule_keyword")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class PostWord(models.Model):
    """One word form of a post's text, kept so a rule or mapping change finds in SQL which
    posts' words are evidence instead of reading every caption again."""

    MAX_KEY = 100

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="word_keys")
    key = models.CharField(max_length=MAX_KEY)
    source = models.CharField(max_length=8)  # image, caption or comment
    # The compared form the key came from: itself, or the word a particle was cut from.
    form = models.CharField(max_length=MAX_KEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post", "key", "source", "form"], name="unique_post_word"
            )
        ]
        indexes = [models.Index(fields=["key", "post"], name="post_word_key")]

    def __str__(self) -> str:
        return f"{self.post_id}: {self.key} ({self.source})"
