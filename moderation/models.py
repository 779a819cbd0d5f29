"""Concepts, rules, keyword mappings, classifications and verdicts. Sits above posts/."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from moderation.rules import compiled
from posts.models import Hashtag, Post


class Concept(models.Model):
    class Kind(models.TextChoices):
        OBJECT = "object", "Object"
        SCENE = "scene", "Scene"

    # The key the model scores (mlmodels' concept keys): food, beverage, adult, dog ...
    key = models.SlugField(max_length=40, unique=True)
    name_ko = models.CharField(max_length=40, unique=True)
    name_en = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.OBJECT)
    # Fine labels roll up: a dog present makes animal present.
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    threshold = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A score at or above this counts as present.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name_ko} ({self.name_en})"


class Rule(models.Model):
    # The hashtag this rule judges, normalised: 카페, 패션 ...
    hashtag = models.CharField(max_length=100, unique=True, db_column="keyword")
    expression = models.CharField(
        max_length=500,
        help_text="Concepts with and / or / not and parentheses, e.g. 'food or beverage'. "
        "Korean or English concept names.",
    )
    description = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["hashtag"]

    def __str__(self) -> str:
        return f"#{self.hashtag} = {self.expression}"


class KeywordMapping(models.Model):
    """A word judged by another hashtag's rule: #마라탕 is judged by the 음식 rule."""

    word = models.CharField(max_length=100, unique=True)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="keyword_mappings")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return f"#{self.word} → #{self.rule.hashtag}"


class Embedding(models.Model):
    """What the backbone network saw in one post's image. The network runs once per post and
    backbone; every model version's concept scores are computed from this row."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="embeddings")
    backbone = models.CharField(max_length=150, help_text="The backbone classifier's version.")
    vector = models.BinaryField(help_text="float32 little-endian pooled embedding.")
    dim = models.PositiveIntegerField()
    base_scores = models.JSONField(help_text="The backbone's own concept scores (roll-up).")
    signals = models.JSONField(default=dict, blank=True, help_text="Other stored evidence.")
    top_labels = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "backbone"], name="unique_embedding_per_backbone"
            )
        ]

    def __str__(self) -> str:
        return f"{self.post_id} by {self.backbone}"


class ModelVersion(models.Model):
    """A way of turning stored embeddings into concept scores; exactly one is active."""

    class Kind(models.TextChoices):
        ROLLUP = "rollup", "ImageNet roll-up (no training)"
        HEADS = "heads", "Trained concept heads"

    class Rescore(models.TextChoices):
        IDLE = "idle", "Idle"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=150, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    backbone = models.CharField(max_length=150)
    concepts = models.JSONField(default=list, help_text="Concepts this version can score.")
    heads = models.BinaryField(null=True, blank=True, editable=False)
    # The cross-validated decisions and labels the report measures (npz), for rule figures.
    predictions = models.BinaryField(null=True, blank=True, editable=False)
    thresholds = models.JSONField(default=dict, blank=True, help_text="Calibrated thresholds.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Evaluation report.")
    training = models.JSONField(default=dict, blank=True, help_text="What trained it.")
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rescore_status = models.CharField(max_length=8, choices=Rescore.choices, default=Rescore.IDLE)
    rescore_done = models.PositiveIntegerField(default=0)
    rescore_total = models.PositiveIntegerField(default=0)
    rescore_message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_model_version",
            )
        ]

    def __str__(self) -> str:
        return self.name


class TrainingRun(models.Model):
    """One "train a new version" request: its progress while it runs, then the version it
    registered or the error that stopped it. At most one is queued or running at a time."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # True while queued or running: the unique constraint below refuses a second one.
    in_progress = models.BooleanField(default=True)
    stage = models.CharField(max_length=120, blank=True)
    percent = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="What it trains on.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["in_progress"],
                condition=models.Q(in_progress=True),
                name="one_training_in_progress",
            )
        ]

    def __str__(self) -> str:
        return f"Training {self.pk} ({self.status})"


class Classification(models.Model):
    """One model version's concept scores for one post, computed from its embedding."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="classifications")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="classifications"
    )
    embedding = models.ForeignKey(
        Embedding, on_delete=models.CASCADE, related_name="classifications"
    )
    scores = models.JSONField(help_text="Concept key → score in 0..1, supported concepts only.")
    unsupported = models.JSONField(default=list, help_text="Concepts this model cannot see.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "model_version"], name="unique_classification_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.post_id} by {self.model_version_id}"


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
        return f"{self.post_id} #{self.hashtag_id}: {self.decision}"

    def effective_shown(self) -> bool:
        """What ``shown`` should hold: the moderator's word, else the decision."""
        return compiled.shown(self.decision, self.override)


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


class TextExtraction(models.Model):
    """Words read in a post's image (OCR), kept so rule changes apply without re-reading."""

    class Status(models.TextChoices):
        OK = "ok", "Read"
        UNAVAILABLE = "unavailable", "OCR not installed"
        FAILED = "failed", "Failed"

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="text_extraction")
    engine = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=Status.choices)
    text = models.TextField(blank=True)
    words = models.JSONField(default=list, blank=True, help_text="Normalised words found.")
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Text of {self.post_id} ({self.status})"


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
