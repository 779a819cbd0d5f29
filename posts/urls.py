from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.urls import path
from django.views.generic import RedirectView

from posts import views
from posts.forms import SignInForm

urlpatterns = [
    path("upload/", views.post_upload, name="post-upload"),
    path("p/<int:post_id>/edit/", views.post_edit, name="post-edit"),
    path("p/<int:post_id>/delete/", views.post_remove, name="post-delete"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/password/", views.PasswordChange.as_view(), name="password-change"),
    path("accounts/password_change/", RedirectView.as_view(pattern_name="password-change")),
    path("accounts/email/", views.account_email, name="account-email"),
    path("accounts/password_reset/", views.PasswordReset.as_view(), name="password_reset"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/delete/", views.account_remove, name="account-delete"),
]
