"""The signed-in person's account in the API: deleting it, as its page does."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from posts.services import AccountDeleteDenied, account_delete


class AccountDeleteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    password = serializers.CharField(trim_whitespace=False, help_text="The account's password.")


class AccountDeleteView(APIView):
    """Delete your account with your posts, comments and reports (docs/security.md)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=AccountDeleteSerializer,
        responses={
            204: OpenApiResponse(description="Deleted; the token no longer works."),
            403: OpenApiResponse(description="Wrong password, or a staff account."),
        },
    )
    def post(self, request: Request) -> Response:
        payload = AccountDeleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            account_delete(user=request.user, password=payload.validated_data["password"])  # type: ignore[arg-type]
        except AccountDeleteDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
