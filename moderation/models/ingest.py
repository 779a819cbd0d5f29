"""What the models made of each post's image: embeddings, model versions, scores, text."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from posts.models import Post


class Embedding(models.Model):
    """What the backbone network saw in one post's image. The network runs once per post and
    backbone; every model version's concept scores are computed from this row."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="embeddings")
    backbone = models.CharField(max_length=150, help_text="The backbone classifier's version.")
    vector = models.BinaryField(
        help_text="Pooled embedding: dim numbers, float16 (float32 in older rows), little-endian."
    )
    dim = models.PositiveIntegerField()
    base_scores = models.JSONField(help_text="The backbone's own concept scores (roll-up).")
    signals = models.JSONField(default=dict, blank=True, help_text="Other stored evidence.")
    # Set in the database too: the bulk seeders write rows by SQL without this column.
    signal_versions = models.JSONField(
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),
        blank=True,
        help_text="Signal source → the version that made its signals (none: not run).",
    )
    top_labels = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When completion of its signals was last queued; cleared once done (a lost task's is swept).
    completion_queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "backbone"], name="unique_embedding_per_backbone"
            )
        ]
        indexes = [
            models.Index(
                fields=["completion_queued_at"],
                condition=models.Q(completion_queued_at__isnull=False),
                name="embedding_completion_due",
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
    rescore_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The last embedding rescored: a rescoring queued again after a stop goes on after it.
    rescore_last_pk = models.BigIntegerField(default=0)
    # rescore_last_pk when the sweep last queued it again: lost with no progress since, failed.
    rescore_requeued_at_pk = models.BigIntegerField(null=True, blank=True)

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


class TextExtraction(models.Model):
    """Words read in a post's image (OCR), kept so rule changes apply without re-reading."""

    class Status(models.TextChoices):
        OK = "ok", "Read"
        UNAVAILABLE = "unavailable", "OCR not installed"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not read: no text expected"
        DEFERRED = "deferred", "Not read yet: no verdict could change with it"

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="text_extraction")
    engine = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=Status.choices)
    text = models.TextField(blank=True)
    words = models.JSONField(default=list, blank=True, help_text="Normalised words found.")
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Text of {self.post_id} ({self.status})"
