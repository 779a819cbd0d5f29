"""Hashtags in use, most shown first: what the search box suggests as someone types."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from moderation.selectors.catalog import rule_words_starting
from moderation.selectors.search import hashtags_popular
from moderation.web.api.serializers import NormalizedTagField
from moderation.web.api.throttles import SuggestAnonThrottle, SuggestUserThrottle
from posts.models import Hashtag

SUGGESTED_MAX = 20


class HashtagQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    prefix = NormalizedTagField(
        searched=True,
        required=False,
        allow_blank=True,
        max_length=101,
        help_text="The start of a hashtag, # optional. Without it, the most shown hashtags.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=SUGGESTED_MAX, default=8)


class HashtagSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(help_text="Normalised, without #.")
    shown = serializers.IntegerField(source="shown_count", help_text="Posts shown under it.")
    url = serializers.SerializerMethodField(help_text="Its hashtag page.")
    search = serializers.SerializerMethodField(help_text="Its posts in the API.")

    def get_url(self, hashtag: Any) -> str:
        return self._absolute(reverse("explore-tag", kwargs={"tag": hashtag.name}))

    def get_search(self, hashtag: Any) -> str:
        return self._absolute(reverse("api-search") + "?" + urlencode({"tag": hashtag.name}))

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class HashtagListSerializer(serializers.Serializer):  # type: ignore[type-arg]
    prefix = serializers.CharField(help_text="The prefix as normalised; empty without one.")
    results = HashtagSerializer(
        many=True,
        help_text="Most shown first; then, for a prefix, hashtags a rule judges that no post "
        "shows yet (shown 0).",
    )


def _judged_without_posts(prefix: str, limit: int, listed: set[str]) -> list[Hashtag]:
    words = rule_words_starting(prefix=prefix, limit=limit + len(listed))
    judged = [Hashtag(name=word) for word in words if word not in listed][:limit]
    for hashtag in judged:
        hashtag.shown_count = 0  # type: ignore[attr-defined]
    return judged


class HashtagListView(APIView):
    """Hashtags with posts shown, most shown first; `prefix` keeps those starting with it, and
    adds the judged hashtags (rules' own, keyword mappings) that start with it but show none."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [SuggestAnonThrottle, SuggestUserThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "prefix", str, description="The start of a hashtag (case and # do not matter)."
            ),
            OpenApiParameter("limit", int, description=f"How many, 1 to {SUGGESTED_MAX} (8)."),
        ],
        responses={200: HashtagListSerializer},
    )
    def get(self, request: Request) -> Response:
        query = HashtagQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        prefix = query.validated_data.get("prefix", "")
        limit = query.validated_data["limit"]
        rows = list(hashtags_popular(prefix=prefix, limit=limit))
        if prefix and len(rows) < limit:
            rows += _judged_without_posts(prefix, limit - len(rows), {h.name for h in rows})
        answer = HashtagListSerializer(
            {"prefix": prefix, "results": rows}, context={"request": request}
        )
        return Response(answer.data)
