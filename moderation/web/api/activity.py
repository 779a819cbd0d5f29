"""A person's activity in the API, as the activity page lists it (docs/moderation.md)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from moderation.judging.review import activity_read
from moderation.selectors.activity import (
    ACTIVITY_SHOWN,
    COMMENT,
    DECISION,
    MENTION,
    REPORT_ANSWER,
    activity_for,
    activity_unread,
)


class ActivitySerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(
        choices=[COMMENT, MENTION, DECISION, REPORT_ANSWER],
        help_text="comment: someone commented on your post; mention: someone named you (@name) "
        "in a comment on another post; decision: a moderator showed or hid "
        "your post under a hashtag; report_answer: a moderator decided a post you reported.",
    )
    at = serializers.DateTimeField()
    post = serializers.IntegerField(source="post.pk")
    new = serializers.BooleanField(help_text="After the last time you marked it read.")
    by = serializers.CharField(help_text="The commenter; empty when their account is gone.")
    text = serializers.CharField(help_text="The comment.")
    hashtag = serializers.CharField()
    shown = serializers.BooleanField(allow_null=True, help_text="The moderator's decision.")
    asked = serializers.BooleanField(help_text="The decision answered your review request.")
    comment = serializers.IntegerField(
        source="comment_id", allow_null=True, help_text="The comment, for comment and mention."
    )


class ActivityListSerializer(serializers.Serializer):  # type: ignore[type-arg]
    unread = serializers.IntegerField(help_text="New events, counted up to 100.")
    listed_at = serializers.DateTimeField(help_text="Pass it to /api/activity/read/ as until.")
    results = ActivitySerializer(many=True, help_text="The newest events, newest first.")


class ActivityQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    limit = serializers.IntegerField(min_value=0, max_value=ACTIVITY_SHOWN, default=ACTIVITY_SHOWN)


class ActivityReadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    until = serializers.DateTimeField(
        required=False, help_text="Mark read what came up to then (default: now)."
    )


class ActivityView(APIView):
    """Comments on your posts and moderators' decisions that concern you, newest first."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "limit",
                int,
                description=f"How many events, 0 to {ACTIVITY_SHOWN} (0: only the unread count).",
            )
        ],
        responses={200: ActivityListSerializer},
    )
    def get(self, request: Request) -> Response:
        query = ActivityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]
        listed_at = timezone.now()
        data: dict[str, Any] = {
            "unread": activity_unread(user_id=request.user.pk),
            "listed_at": listed_at,
            "results": activity_for(user_id=request.user.pk, limit=limit) if limit else [],
        }
        return Response(ActivityListSerializer(data).data)


class ActivityReadView(APIView):
    """Mark your activity read (the top bar's count starts again from zero)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=ActivityReadSerializer,
        responses={204: OpenApiResponse(description="Marked read.")},
    )
    def post(self, request: Request) -> Response:
        payload = ActivityReadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        until = min(payload.validated_data.get("until", timezone.now()), timezone.now())
        activity_read(user=request.user, at=until)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
