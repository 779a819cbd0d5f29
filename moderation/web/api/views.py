"""The REST API. Thin: validate, call a selector or service, serialise."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from moderation.models import Verdict
from moderation.selectors.catalog import rule_index_for
from moderation.selectors.cursor import InvalidCursor, SearchCursor, page_request
from moderation.selectors.search import (
    classifications_active_first,
    hashtag_lookup,
    hashtag_summary,
    posts_recent_shown,
    posts_relevant_for_hashtag,
)
from moderation.selectors.search_cache import CachedSearch, search_cached
from moderation.web.api import serializers as s
from moderation.web.api.throttles import SearchAnonThrottle, SearchUserThrottle, UploadThrottle
from posts.clients import client_key
from posts.models import Post, PostHashtag
from posts.services import (
    PostEditDenied,
    PostRejected,
    hashtag_search_record,
    post_create,
    post_delete,
    post_update,
)
from posts.uploads import request_body_too_large


def _posts_with_verdicts() -> QuerySet[Post]:
    return (
        Post.objects.select_related("author")
        .prefetch_related(
            Prefetch(
                "verdicts",
                queryset=Verdict.objects.select_related("hashtag", "rule", "override_by").order_by(
                    "hashtag__name"
                ),
            ),
            Prefetch("post_hashtags", queryset=PostHashtag.objects.select_related("hashtag")),
        )
        .order_by("-created_at", "-id")
    )


def _cursor_link(request: Request, cursor: SearchCursor | None) -> str | None:
    """The address asked, at the cursor's page (search and explore)."""
    if cursor is None:
        return None
    url = remove_query_param(request.build_absolute_uri(), "page")
    return str(replace_query_param(url, "cursor", cursor.encode()))


class UploadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is larger than the limit."
    default_code = "too_large"


class IsAuthorOrReadOnly(permissions.BasePermission):
    message = "Only the author may edit a post."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user.is_authenticated and obj.author_id == request.user.pk)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "author", str, description="Only this user's posts, whatever their verdicts."
            )
        ]
    )
)
class PostViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Posts with their verdicts. Anyone may read; signed-in users may upload; the author
    may change the caption and hashtags, or delete the post."""

    serializer_class = s.PostSerializer
    # Uploads are multipart; an edit may also be JSON.
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    permission_classes = [permissions.IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Post]:
        action = getattr(self, "action", None)
        if action == "retrieve":
            joined = _posts_with_verdicts().select_related("text_extraction")
            return joined.prefetch_related(classifications_active_first())
        author = self.request.query_params.get("author") if action == "list" else None
        if author:
            return _posts_with_verdicts().filter(author__username=author)
        return _posts_with_verdicts()

    def get_serializer_class(self) -> type[s.PostSerializer]:
        if getattr(self, "action", None) == "retrieve":
            return s.PostDetailSerializer
        return s.PostSerializer

    def get_throttles(self) -> list[Any]:
        if getattr(self, "action", None) == "create":
            return [UploadThrottle()]
        return super().get_throttles()

    @extend_schema(
        request={"multipart/form-data": s.PostCreateSerializer},
        responses={
            201: s.PostSerializer,
            400: OpenApiResponse(description="The file or a hashtag was refused; see the message."),
            413: OpenApiResponse(description="The file is larger than TAGLENS_MAX_UPLOAD_BYTES."),
            429: OpenApiResponse(description="Too many uploads in the last hour."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request_body_too_large(request.META.get("CONTENT_LENGTH")):
            raise UploadTooLarge()
        payload = s.PostCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            post = post_create(
                author=request.user,  # type: ignore[arg-type]
                image=payload.validated_data["image"],
                caption=payload.validated_data["caption"],
                hashtags=payload.validated_data["hashtags"],
            )
        except PostRejected as exc:
            if exc.code == "too_large":
                raise UploadTooLarge({"image": [str(exc)]}) from exc
            raise serializers.ValidationError({"image": [str(exc)]}) from exc
        post = _posts_with_verdicts().get(pk=post.pk)
        return Response(
            s.PostSerializer(post, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=s.PostUpdateSerializer,
        responses={
            200: s.PostSerializer,
            400: OpenApiResponse(description="A hashtag was refused; see the message."),
            403: OpenApiResponse(description="Only the author may edit a post."),
        },
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        post = self.get_object()  # checks IsAuthorOrReadOnly
        payload = s.PostUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            post_update(
                post=post,
                by=request.user,
                caption=payload.validated_data.get("caption"),
                hashtags=payload.validated_data.get("hashtags"),
            )
        except PostEditDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except PostRejected as exc:
            raise serializers.ValidationError({"hashtags": [str(exc)]}) from exc
        post = _posts_with_verdicts().get(pk=post.pk)
        return Response(s.PostSerializer(post, context={"request": request}).data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Deleted, with its verdicts, comments and files."),
            403: OpenApiResponse(description="Not your post."),
        }
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        post = self.get_object()  # checks IsAuthorOrReadOnly
        try:
            post_delete(post=post, by=request.user)
        except PostEditDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class SearchView(APIView):
    """Posts shown under a hashtag, newest first: the same selector as the /explore/tags/ page.
    Pages are reached by following `next` (older) and `previous` (newer): keyset pagination,
    as fast deep in a large tag as on its first page."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [SearchAnonThrottle, SearchUserThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("tag", str, required=True, description="A hashtag, # optional."),
            OpenApiParameter(
                "hidden",
                bool,
                required=False,
                description="true: the posts TagLens itself hid under the tag (not those a "
                "moderator hid), newest first; `GET /api/posts/<id>/` says why. `count` still "
                "counts the shown ones.",
            ),
            OpenApiParameter(
                "cursor",
                str,
                required=False,
                description="Where the page starts: an opaque token taken from the `next` or "
                "`previous` link of an earlier answer. Without it, the newest posts. A damaged "
                "or expired token is a 400 naming `cursor`.",
            ),
        ],
        responses=inline_serializer(
            "SearchResult",
            {
                "tag": serializers.CharField(),
                "rule": serializers.CharField(allow_null=True),
                "expression": serializers.CharField(allow_null=True),
                "via": serializers.CharField(allow_null=True),
                "shown": serializers.IntegerField(),
                "hidden": serializers.IntegerField(),
                "pending": serializers.IntegerField(),
                "count": serializers.IntegerField(help_text="Posts shown under the tag in all."),
                "next": serializers.URLField(
                    allow_null=True, help_text="The page of older posts (a `cursor` link)."
                ),
                "previous": serializers.URLField(
                    allow_null=True,
                    help_text="The page of newer posts; null on the first page.",
                ),
                "results": s.PostSummarySerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        query = s.SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            asked = page_request(request.query_params)
        except InvalidCursor as exc:
            raise serializers.ValidationError({"cursor": [str(exc)]}) from exc
        tag, hidden = query.validated_data["tag"], query.validated_data["hidden"]
        if asked.cursor is None:
            # The links in the answer repeat the address asked: it is part of the key.
            found = search_cached(
                kind="api",
                name=tag,
                variant=request.build_absolute_uri(),
                build=lambda: self.answer(request, tag, None, hidden=hidden),
            )
        else:
            found = self.answer(request, tag, asked.cursor, hidden=hidden)
        if found.hashtag_id is not None and asked.is_new_search and not hidden:
            hashtag_search_record(hashtag_id=found.hashtag_id, client=client_key(request))
        return Response(found.content)

    @classmethod
    def answer(
        cls, request: Request, tag: str, cursor: SearchCursor | None, *, hidden: bool = False
    ) -> CachedSearch:
        hashtag = hashtag_lookup(tag)
        rule, via = rule_index_for(tag)
        head: dict[str, Any] = {
            "tag": tag,
            "rule": rule.hashtag if rule else None,
            "expression": rule.expression if rule else None,
            "via": via,
        }
        if hashtag is None:
            nothing = {"shown": 0, "hidden": 0, "pending": 0, "count": 0, "results": []}
            return CachedSearch(
                hashtag_id=None, content={**head, **nothing, "next": None, "previous": None}
            )
        summary = hashtag_summary(hashtag=hashtag)
        page = posts_relevant_for_hashtag(hashtag=hashtag, cursor=cursor, hidden=hidden)
        data = s.PostSummarySerializer(page.posts, many=True, context={"request": request}).data
        content = {
            **head,
            "shown": summary.shown,
            "hidden": summary.hidden,
            "pending": summary.pending,
            "count": summary.shown,
            "next": _cursor_link(request, page.next),
            "previous": _cursor_link(request, page.previous),
            "results": data,
        }
        return CachedSearch(hashtag_id=hashtag.pk, content=content)


class ExploreView(APIView):
    """Posts shown under at least one hashtag, newest first (the /explore/ page); older ones by
    following `next` (keyset pages, no count)."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [SearchAnonThrottle, SearchUserThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cursor",
                str,
                required=False,
                description="Where the page starts: the `next` link of an earlier answer. A "
                "damaged or expired token is a 400 naming `cursor`.",
            ),
        ],
        responses=inline_serializer(
            "ExploreResult",
            {
                "next": serializers.URLField(allow_null=True, help_text="Older posts."),
                "results": s.PostSummarySerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        try:
            asked = page_request(request.query_params)
        except InvalidCursor as exc:
            raise serializers.ValidationError({"cursor": [str(exc)]}) from exc
        page = posts_recent_shown(size=settings.TAGLENS_PAGE_SIZE, cursor=asked.cursor)
        data = s.PostSummarySerializer(page.posts, many=True, context={"request": request}).data
        return Response({"next": _cursor_link(request, page.next), "results": data})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([permissions.AllowAny])
def api_not_found(request: Request, *args: Any, **kwargs: Any) -> Response:
    """Any /api/ address no route matches (e.g. /api/posts/1.5/): JSON, like the rest of the API,
    not Django's HTML page."""
    return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
