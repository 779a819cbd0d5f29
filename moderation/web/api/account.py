"""The signed-in person's account in the API: their token, and deleting the account as its
page does."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.lockout import password_confirmed
from posts.services import (
    DELETE_PASSWORD_WRONG,
    AccountDeleteDenied,
    account_delete,
    api_tokens_revoke,
)


class TokenView(ObtainAuthToken):
    """POST: the token for a user name and password (the same one until it is revoked).
    DELETE: revoke it, signed in with it (a leaked token stops working; POST makes a new one)."""

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked; it gets 401 from now on."),
            401: OpenApiResponse(description="Not signed in."),
        },
    )
    def delete(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        api_tokens_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
            429: OpenApiResponse(description="Too many wrong passwords: locked as a sign-in is."),
        },
    )
    def post(self, request: Request) -> Response:
        payload = AccountDeleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if not password_confirmed(request, request.user, payload.validated_data["password"]):  # type: ignore[arg-type]
            raise exceptions.PermissionDenied(DELETE_PASSWORD_WRONG)
        try:
            account_delete(user=request.user)  # type: ignore[arg-type]
        except AccountDeleteDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
