"""What the model may see and what hashtags ask of it: concepts, rules, keyword mappings."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


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
