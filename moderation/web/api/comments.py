"""Comments in the API: anyone reads, signed-in users write, the author deletes their own and
moderators any (audited). Each write calls one service; the post is judged again."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from moderation.web.api.throttles import CommentThrottle
from moderation.web.comments import comment_remove
from posts.models import Comment, Post
from posts.services import (
    CommentDeleteDenied,
    CommentRejected,
    comment_create,
)

MAX_ID = 2**63 - 1


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "post", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]

    def get_author(self, comment: Comment) -> str | None:
        return comment.author.get_username() if comment.author else None


class CommentCreateSerializer(serializers.Serializer[Any]):
    post = serializers.PrimaryKeyRelatedField(queryset=Post.objects.all())
    # Length is checked by the service, so the API and the page say the same thing.
    text = serializers.CharField(trim_whitespace=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("post", int, description="Only this post's comments.")]
    ),
)
class CommentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Comments, oldest first. Their words are evidence for a post's hashtags, weaker than
    text read in the image (docs/moderation.md)."""

    serializer_class = CommentSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Comment]:
        rows = Comment.objects.select_related("author").order_by("created_at", "pk")
        post = self.request.query_params.get("post")
        if post is not None:
            # Bounded too: SQLite cannot even compare with an integer past 64 bits.
            if not (post.isascii() and post.isdigit()) or int(post) > MAX_ID:
                raise exceptions.ValidationError({"post": "A post id is a whole number."})
            rows = rows.filter(post_id=int(post))
        return rows

    def get_throttles(self) -> list[Any]:
        if getattr(self, "action", None) == "create":
            return [CommentThrottle()]
        return super().get_throttles()

    @extend_schema(
        request=CommentCreateSerializer,
        responses={
            201: CommentSerializer,
            400: OpenApiResponse(description="Empty, longer than the limit, or no such post."),
        },
    )
    def create(self, request: Request) -> Response:
        data = CommentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            comment = comment_create(
                post=data.validated_data["post"],
                author=request.user,  # type: ignore[arg-type]
                text=data.validated_data["text"],
            )
        except CommentRejected as exc:
            if exc.code == "too_many":
                raise exceptions.Throttled(detail=str(exc)) from exc
            raise exceptions.ValidationError({"text": [str(exc)]}) from exc
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Deleted; the post is judged again."),
            403: OpenApiResponse(description="Not your comment, and you are no moderator."),
        }
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        comment = self.get_object()
        try:
            comment_remove(comment=comment, by=request.user)
        except CommentDeleteDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
