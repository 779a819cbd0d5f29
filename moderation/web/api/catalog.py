"""The moderators' API: verdicts, the catalogue (concepts, rules, keyword mappings) and the
audit trail."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from moderation.judging.audit import UndoRefused
from moderation.judging.catalog import (
    concept_delete,
    concept_save,
    keyword_mapping_delete,
    keyword_mapping_save,
    rule_delete,
    rule_save,
)
from moderation.judging.overrides import verdict_override, verdict_override_undo
from moderation.judging.review import ReviewRefused, review_request, verdict_report
from moderation.models import AuditEvent, Concept, KeywordMapping, Rule, Verdict
from moderation.selectors.review import review_queue
from moderation.web.api import serializers as s
from moderation.web.permissions import IsModerator


class VerdictViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Verdicts; moderators override them. Authors ask for reviews, anyone may report one."""

    serializer_class = s.VerdictSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self) -> QuerySet[Verdict]:
        joined = Verdict.objects.select_related("post", "hashtag", "rule", "override_by")
        return joined.order_by("-id")

    @extend_schema(responses={200: s.QueuedVerdictSerializer(many=True)})
    @action(
        detail=False,
        methods=["get"],
        url_path="review-queue",
        permission_classes=[IsModerator],
        serializer_class=s.QueuedVerdictSerializer,
    )
    def queue(self, request: Request) -> Response:
        """The review queue in the admin's order (docs/moderation.md). Moderators only."""
        queue = review_queue().select_related("override_by")
        page = self.paginate_queryset(queue)
        rows = s.QueuedVerdictSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(rows.data)

    @extend_schema(request=s.OverrideSerializer, responses={200: s.VerdictSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsModerator])
    def override(self, request: Request, pk: str | None = None) -> Response:
        # DRF's lookup: a malformed id is a 404, not a ValueError (found by the fuzz test).
        verdict = self.get_object()
        payload = s.OverrideSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        verdict = verdict_override(
            verdict=verdict,
            relevant=payload.validated_data["relevant"],
            by=request.user,  # type: ignore[arg-type]
            note=payload.validated_data["note"],
            reason=payload.validated_data["reason"],
        )
        return Response(s.VerdictSerializer(verdict, context={"request": request}).data)

    @extend_schema(
        request=s.ReviewRequestSerializer,
        responses={
            200: s.VerdictSerializer,
            403: OpenApiResponse(description="Only the post's author may ask for a review."),
            409: OpenApiResponse(
                description="Not now: the post is shown, a moderator has decided, a review "
                "was already asked for, or too many of yours are waiting; see the message."
            ),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="review-request",
        permission_classes=[permissions.IsAuthenticated],
    )
    def review_request(self, request: Request, pk: str | None = None) -> Response:
        """The post's author asks a moderator to look again at a verdict that hides the post."""
        verdict = self.get_object()
        payload = s.ReviewRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            verdict = review_request(
                verdict=verdict,
                by=request.user,  # type: ignore[arg-type]
                note=payload.validated_data["note"],
            )
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.VerdictSerializer(verdict, context={"request": request}).data)

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer("ReportResult", {"reports": serializers.IntegerField()}),
            403: OpenApiResponse(description="Your own post: edit its hashtags instead."),
            409: OpenApiResponse(
                description="Not shown under the hashtag, decided by a moderator, already "
                "reported by you, or your reports for the day are spent; see the message."
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def report(self, request: Request, pk: str | None = None) -> Response:
        """The post shown under the hashtag does not fit it: to the review queue. Once each."""
        verdict = self.get_object()
        try:
            count = verdict_report(verdict=verdict, by=request.user)  # type: ignore[arg-type]
        except ReviewRefused as exc:
            return _refused(exc)
        return Response({"reports": count}, status=status.HTTP_201_CREATED)


def _refused(exc: ReviewRefused) -> Response:
    """Not theirs to ask: 403; not now (the verdict's state, a limit): 409 with the reason."""
    if exc.denied:
        raise exceptions.PermissionDenied(str(exc)) from exc
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


@extend_schema_view(
    destroy=extend_schema(
        parameters=[
            OpenApiParameter("reason", str, required=False, description="Kept in the audit trail.")
        ]
    )
)
class CatalogViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """Concepts, rules and keyword mappings: moderators only. Writes go through the same
    services as the admin: each is an audit event and re-applies every verdict in the
    background from stored scores."""

    permission_classes = [IsModerator]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def write_save(self, instance: Any, reason: str) -> Any:
        raise NotImplementedError

    def write_delete(self, instance: Any, reason: str) -> None:
        raise NotImplementedError

    def _write(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        reason = data.pop("reason", "")
        instance = serializer.instance or self.get_queryset().model()
        for field, value in data.items():
            setattr(instance, field, value)
        serializer.instance = self.write_save(instance, reason)

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self._write(serializer)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self._write(serializer)

    def perform_destroy(self, instance: Any) -> None:
        self.write_delete(instance, str(self.request.query_params.get("reason", ""))[:300])


class ConceptViewSet(CatalogViewSet):
    serializer_class = s.ConceptSerializer
    queryset = Concept.objects.select_related("parent").order_by("key")

    def write_save(self, instance: Concept, reason: str) -> Concept:
        return concept_save(concept=instance, by=self.request.user, reason=reason)  # type: ignore[arg-type]

    def write_delete(self, instance: Concept, reason: str) -> None:
        concept_delete(concept=instance, by=self.request.user, reason=reason)  # type: ignore[arg-type]


class RuleViewSet(CatalogViewSet):
    serializer_class = s.RuleSerializer
    queryset = Rule.objects.order_by("hashtag")

    def write_save(self, instance: Rule, reason: str) -> Rule:
        return rule_save(rule=instance, by=self.request.user, reason=reason)  # type: ignore[arg-type]

    def write_delete(self, instance: Rule, reason: str) -> None:
        rule_delete(rule=instance, by=self.request.user, reason=reason)  # type: ignore[arg-type]


class KeywordMappingViewSet(CatalogViewSet):
    serializer_class = s.KeywordMappingSerializer
    queryset = KeywordMapping.objects.select_related("rule").order_by("word")

    def write_save(self, instance: KeywordMapping, reason: str) -> KeywordMapping:
        return keyword_mapping_save(mapping=instance, by=self.request.user, reason=reason)  # type: ignore[arg-type]

    def write_delete(self, instance: KeywordMapping, reason: str) -> None:
        keyword_mapping_delete(mapping=instance, by=self.request.user, reason=reason)  # type: ignore[arg-type]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """The audit trail, newest first: moderators only. An override can be undone."""

    serializer_class = s.AuditEventSerializer
    permission_classes = [IsModerator]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.select_related("actor").order_by("-at", "-id")

    @extend_schema(
        request=s.UndoSerializer,
        responses={
            200: inline_serializer(
                "UndoResult", {"event": s.AuditEventSerializer(), "verdict": s.VerdictSerializer()}
            ),
            409: OpenApiResponse(
                description="Not an override, or the verdict has changed since the event."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        event = self.get_object()
        payload = s.UndoSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            verdict = verdict_override_undo(
                event=event,
                by=request.user,  # type: ignore[arg-type]
                reason=payload.validated_data["reason"],
            )
        except UndoRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        undo_event = AuditEvent.objects.filter(
            action=AuditEvent.Action.OVERRIDE_UNDO, object_type="verdict", object_id=str(verdict.pk)
        ).first()
        verdict = self.verdicts().get(pk=verdict.pk)
        return Response(
            {
                "event": s.AuditEventSerializer(undo_event).data,
                "verdict": s.VerdictSerializer(verdict, context={"request": request}).data,
            }
        )

    @staticmethod
    def verdicts() -> QuerySet[Verdict]:
        return Verdict.objects.select_related("hashtag", "rule", "override_by")
