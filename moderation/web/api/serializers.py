from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html
from rest_framework.validators import UniqueValidator

from moderation.judging.review import REVIEW_NOTE_MAX
from moderation.judging.verdicts import verdicts_explain
from moderation.models import AuditEvent, Concept, KeywordMapping, Rule, Verdict
from moderation.rules.syntax import RuleSyntaxError, validate
from moderation.selectors.catalog import concept_catalog, concept_names
from moderation.web.api.seen import SeenSerializer, seen_in
from moderation.web.permissions import is_moderator
from posts.hashtags import InvalidHashtag, normalize_hashtag, parse_hashtags
from posts.models import Post
from posts.uploads import EMPTY_FILE


class VerdictListSerializer(serializers.ListSerializer):  # type: ignore[type-arg]
    """Computes the explanations of a whole list with a few queries (they are not stored)."""

    def to_representation(self, data: Any) -> list[Any]:
        verdicts = list(data.all() if hasattr(data, "all") else data)
        verdicts_explain(v for v in verdicts if v.explanation is None)
        return super().to_representation(verdicts)


class VerdictSerializer(serializers.ModelSerializer[Verdict]):
    hashtag = serializers.CharField(source="hashtag.name", read_only=True)
    explanation = serializers.SerializerMethodField(
        help_text="Why: the rule, each concept's score against its threshold, the words that "
        "counted. Computed from the stored scores and the current rules; `stale` is true while "
        "a rule change is being applied and the rules now decide otherwise."
    )
    rule = serializers.CharField(source="rule.hashtag", read_only=True, allow_null=True)
    override_by = serializers.CharField(
        source="override_by.username",
        read_only=True,
        allow_null=True,
        help_text="The moderator who overrode the verdict; null unless you are a moderator.",
    )
    override_note = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The moderator's note; null unless you are a moderator.",
    )
    review_requested_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the post's author asked a moderator to look again; null if never.",
    )
    review_request_note = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The author's note with the request; null unless you are the author or a "
        "moderator.",
    )

    class Meta:
        model = Verdict
        fields = [
            "id",
            "hashtag",
            "shown",
            "decision",
            "rule",
            "explanation",
            "decided_at",
            "override",
            "override_by",
            "override_at",
            "override_note",
            "review_requested_at",
            "review_request_note",
        ]
        read_only_fields = fields
        list_serializer_class = VerdictListSerializer

    def to_representation(self, instance: Verdict) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        # Who overrode and why is the moderators' business: it names a colleague and may
        # say things about the poster. Everyone else sees only that a moderator decided.
        request = self.context.get("request")
        moderator = request is not None and is_moderator(request.user)
        if not moderator:
            data["override_by"] = None
            data["override_note"] = None
        # The author's note is theirs and the moderators'; the post is read only for a note.
        if not data["review_request_note"] or not (
            moderator or (request is not None and request.user.pk == instance.post.author_id)
        ):
            data["review_request_note"] = None
        return data

    def get_explanation(self, verdict: Verdict) -> dict[str, Any]:
        if verdict.explanation is None:
            verdicts_explain([verdict])
        return verdict.explanation or {}


class QueuedVerdictSerializer(VerdictSerializer):
    reports = serializers.IntegerField(
        source="report_count",
        read_only=True,
        help_text="How many people reported the post as not fitting the hashtag.",
    )

    class Meta(VerdictSerializer.Meta):
        fields = [*VerdictSerializer.Meta.fields, "reports"]
        read_only_fields = fields


class PostListSerializer(serializers.ListSerializer):  # type: ignore[type-arg]
    """The explanations of every post's verdicts on the page at once."""

    def to_representation(self, data: Any) -> list[Any]:
        posts = list(data.all() if hasattr(data, "all") else data)
        verdicts_explain(v for post in posts for v in post.verdicts.all())
        return super().to_representation(posts)


class PostSerializer(serializers.ModelSerializer[Post]):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)
    hashtags = serializers.SerializerMethodField()
    verdicts = VerdictSerializer(many=True, read_only=True)
    image = serializers.ImageField(read_only=True)
    thumbnail = serializers.ImageField(read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "author",
            "image",
            "thumbnail",
            "width",
            "height",
            "caption",
            "hashtags",
            "status",
            "failure_reason",
            "created_at",
            "classified_at",
            "verdicts",
        ]
        read_only_fields = fields
        list_serializer_class = PostListSerializer

    def get_hashtags(self, post: Post) -> list[str]:
        # The post's own list, in the author's order (verdicts may lag behind an edit).
        return [link.hashtag.name for link in post.post_hashtags.all()]


@extend_schema_field(SeenSerializer)
class SeenField(serializers.Field):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, post: Post) -> dict[str, Any]:
        return seen_in(post)


class PostDetailSerializer(PostSerializer):
    seen = SeenField(
        help_text="What the models saw, as the post page shows it: every concept's score, the "
        "people found, the text read and the backbone's labels. Only on a single post."
    )

    class Meta(PostSerializer.Meta):
        fields = [*PostSerializer.Meta.fields, "seen"]
        read_only_fields = fields


class PostSummarySerializer(serializers.ModelSerializer[Post]):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)

    class Meta:
        model = Post
        fields = ["id", "author", "image", "thumbnail", "caption", "status", "created_at"]
        read_only_fields = fields


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": 1000},
            {"type": "array", "items": {"type": "string", "maxLength": 101}, "maxItems": 30},
        ]
    }
)
class HashtagListField(serializers.Field):  # type: ignore[type-arg]
    """Hashtags as a list of strings or one string such as "#카페 #cafe"."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:  # a repeated field
            values = dictionary.getlist(self.field_name)
            return values[0] if len(values) == 1 else values
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> list[str]:
        try:
            if isinstance(data, str):
                return parse_hashtags(data)
            if isinstance(data, list) and all(isinstance(item, str) for item in data):
                return parse_hashtags(" ".join(data))
        except InvalidHashtag as exc:
            raise serializers.ValidationError(exc.messages) from exc
        raise serializers.ValidationError("Give hashtags as a string or a list of strings.")

    def to_representation(self, value: list[str]) -> list[str]:
        return value


class PostCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    image = serializers.FileField(
        help_text="JPEG, PNG, WebP or GIF, judged from its bytes; see docs/security.md for limits.",
        error_messages={"empty": EMPTY_FILE},
    )
    caption = serializers.CharField(required=False, allow_blank=True, max_length=2200, default="")
    hashtags = HashtagListField(help_text='"#카페 #cafe" or ["카페", "cafe"]')

    def validate_hashtags(self, tags: list[str]) -> list[str]:
        if not tags:
            raise serializers.ValidationError("Add at least one hashtag.")
        return tags


class PostUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What the author may change. Hashtags given replace the whole list."""

    caption = serializers.CharField(required=False, allow_blank=True, max_length=2200)
    hashtags = HashtagListField(required=False, help_text='"#카페 #cafe" or ["카페", "cafe"]')

    def validate_hashtags(self, tags: list[str]) -> list[str]:
        if not tags:
            raise serializers.ValidationError("Add at least one hashtag.")
        return tags


class ReviewRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=REVIEW_NOTE_MAX,
        default="",
        help_text="Why the post belongs under the hashtag; moderators read it in the queue.",
    )


class OverrideSerializer(serializers.Serializer):  # type: ignore[type-arg]
    relevant = serializers.BooleanField(
        allow_null=True, help_text="true shows, false hides, null returns to the model's decision."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        default="",
        help_text="Kept in the audit trail (the note when empty).",
    )


def _reason_field() -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Why: kept in the audit trail.",
    )


class UndoSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "reason",
            "concept_keys",
            "rule_hashtag",
        ]
        read_only_fields = fields


class ConceptSerializer(serializers.ModelSerializer[Concept]):
    parent = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="key", queryset=Concept.objects.all(), allow_null=True, required=False
    )
    reason = _reason_field()

    class Meta:
        model = Concept
        fields = [
            "id",
            "key",
            "name_ko",
            "name_en",
            "kind",
            "parent",
            "threshold",
            "updated_at",
            "reason",
        ]
        read_only_fields = ["updated_at"]


class NormalizedTagField(serializers.CharField):
    def __init__(self, *, searched: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.searched = searched

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_hashtag(value, searched=self.searched)
        except InvalidHashtag as exc:
            raise serializers.ValidationError(str(exc)) from exc


class RuleSerializer(serializers.ModelSerializer[Rule]):
    # Declared fields get no unique check of their own: without it a second rule for a hashtag
    # reached the database's constraint, a 500 (found by tests/security/test_api_fuzz.py).
    hashtag = NormalizedTagField(
        max_length=100,
        validators=[
            UniqueValidator(Rule.objects.all(), message="This hashtag has a rule already.")
        ],
    )
    reason = _reason_field()

    class Meta:
        model = Rule
        fields = ["id", "hashtag", "expression", "description", "updated_at", "reason"]
        read_only_fields = ["updated_at"]

    def validate_expression(self, value: str) -> str:
        try:
            return validate(value, concept_names(concept_catalog()))
        except RuleSyntaxError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class KeywordMappingSerializer(serializers.ModelSerializer[KeywordMapping]):
    word = NormalizedTagField(
        max_length=100,
        validators=[
            UniqueValidator(
                KeywordMapping.objects.all(), message="This word is mapped to a rule already."
            )
        ],
    )
    rule = serializers.SlugRelatedField(slug_field="hashtag", queryset=Rule.objects.all())
    reason = _reason_field()

    class Meta:
        model = KeywordMapping
        fields = ["id", "word", "rule", "updated_at", "reason"]
        read_only_fields = ["updated_at"]

    def validate_word(self, value: str) -> str:
        if Rule.objects.filter(hashtag=value).exists():
            raise serializers.ValidationError(f"#{value} has a rule of its own.")
        return value


class SearchQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    tag = NormalizedTagField(
        searched=True, max_length=101, help_text="A hashtag, with or without #."
    )
    hidden = serializers.BooleanField(
        default=False, help_text="true: the posts TagLens itself hid under the tag instead."
    )
