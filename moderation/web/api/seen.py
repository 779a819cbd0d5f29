"""What the models saw in a post's photo, as the post page shows it, for one post in the API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from moderation.models import TextExtraction
from moderation.selectors.search import classification_shown
from moderation.selectors.seen import concept_scores, people_seen
from posts.models import Post


class ConceptScoreSerializer(serializers.Serializer):  # type: ignore[type-arg]
    concept = serializers.CharField(source="info.key")
    score = serializers.FloatField(
        allow_null=True,
        help_text="null: not measured for this post (adult and child wait for the people "
        "models: people.looked false) or this model version cannot see the concept.",
    )
    threshold = serializers.FloatField(source="info.threshold")
    present = serializers.BooleanField(
        allow_null=True, help_text="score ≥ threshold; null (unknown) without a score."
    )


class PeopleSeenSerializer(serializers.Serializer):  # type: ignore[type-arg]
    looked = serializers.BooleanField(
        source="ran",
        help_text="false: the people models have not looked at this photo; they run where a "
        "hashtag's rule needs adult or child.",
    )
    faces = serializers.IntegerField()
    faces_aged_as_child = serializers.IntegerField(
        source="child_faces",
        help_text="Faces whose chance of being a child's reaches the people models' cut, which is "
        "low: the age model spreads a 7 to 12 year old's face over older ages.",
    )
    child_chance = serializers.IntegerField(
        allow_null=True, help_text="Per cent, the likeliest child among the faces."
    )
    faceless_people = serializers.IntegerField(
        source="bodies", help_text="Clear bodies without a readable face, presumed adult."
    )
    age_min = serializers.IntegerField(allow_null=True, help_text="Years, the faces' youngest.")
    age_max = serializers.IntegerField(allow_null=True)


class TextReadSerializer(serializers.ModelSerializer[TextExtraction]):
    class Meta:
        model = TextExtraction
        fields = ["status", "engine", "text", "words", "message"]
        read_only_fields = fields


class SeenSerializer(serializers.Serializer):  # type: ignore[type-arg]
    model_version = serializers.CharField(allow_null=True)
    concepts = ConceptScoreSerializer(many=True)
    people = PeopleSeenSerializer(allow_null=True)
    text = TextReadSerializer(
        allow_null=True,
        help_text="null: not classified yet. status deferred: not read until its words could "
        "change a verdict (a hashtag, rule or model version that needs them).",
    )
    top_labels = serializers.ListField(
        child=serializers.ListField(), help_text="The backbone's ImageNet labels: [label, score]."
    )


def seen_in(post: Post) -> dict[str, Any]:
    """Needs the post's classifications prefetched active first and its text joined."""
    current = classification_shown(post)
    try:
        text: TextExtraction | None = post.text_extraction
    except TextExtraction.DoesNotExist:
        text = None
    return SeenSerializer(
        {
            "model_version": current.model_version.name if current else None,
            "concepts": concept_scores(current) if current else [],
            "people": people_seen(current.embedding if current else None),
            "text": text,
            "top_labels": current.embedding.top_labels if current else [],
        }
    ).data
