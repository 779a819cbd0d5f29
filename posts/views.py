"""Upload and account pages. Thin: parse, call a service, redirect."""

from __future__ import annotations

from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import (
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetView,
)
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from config.lockout import password_confirmed
from posts.clients import client_address
from posts.forms import (
    EmailForm,
    NewPasswordForm,
    PasswordForm,
    PostTextForm,
    PostUploadForm,
    ResetRequestForm,
    SignUpForm,
)
from posts.models import Post
from posts.services import (
    DELETE_PASSWORD_WRONG,
    PASSWORD_RESET_WINDOW,
    AccountDeleteDenied,
    PostRejected,
    account_delete,
    account_email_set,
    password_reset_allowed,
    post_create,
    post_delete,
    post_update,
    try_again_in,
    uploads_wait,
)
from posts.uploads import request_body_too_large

TOO_MANY_UPLOADS = "You have uploaded many photos in the last hour."


@login_required
def post_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request_body_too_large(request.META.get("CONTENT_LENGTH")):
        # Refused before the body is read (and spooled to disk).
        messages.error(request, "The upload is larger than the limit; nothing was stored.")
        return render(request, "posts/upload.html", {"form": PostUploadForm()}, status=413)
    form = PostUploadForm(request.POST or None, request.FILES or None)
    status, wait = 200, 0
    if request.method == "POST":
        status = 400
        if wait := uploads_wait(author=request.user):  # type: ignore[arg-type]
            form.add_error(None, f"{TOO_MANY_UPLOADS} {try_again_in(wait)}")
            status = 429
        elif form.is_valid():
            try:
                post = post_create(
                    author=request.user,  # type: ignore[arg-type]
                    image=form.cleaned_data["image"],
                    caption=form.cleaned_data["caption"],
                    hashtags=form.cleaned_data["hashtags"],
                )
            except PostRejected as exc:
                form.add_error("image", str(exc))
                status = 413 if exc.code == "too_large" else 400
            else:
                messages.success(request, "Uploaded. TagLens is looking at the photo now.")
                return redirect("post-detail", post_id=post.pk)
    response = render(request, "posts/upload.html", {"form": form}, status=status)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # 2 backends
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


class PasswordChange(PasswordChangeView):
    """In the site's page; other sessions and the API token stop working (docs/security.md)."""

    template_name = "registration/password_change.html"
    form_class = PasswordForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(
            self.request,
            "비밀번호를 바꿨습니다. Your password is changed; other sessions and the API token "
            "were signed out.",
        )
        return response

    def get_success_url(self) -> str:
        return reverse("user-posts", kwargs={"username": self.request.user.get_username()})


class PasswordReset(PasswordResetView):
    """A link by mail, limited per address and mailbox; without mail, whom to ask instead."""

    template_name = "registration/password_reset_form.html"
    form_class = ResetRequestForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "mail": settings.TAGLENS_MAIL}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.TAGLENS_MAIL:
            return self.render_to_response(self.get_context_data(), status=503)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"]
        if not password_reset_allowed(address=client_address(self.request), email=email):
            form.add_error(None, "Too many reset requests in the last hour; try again later.")
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(PASSWORD_RESET_WINDOW)
            return response
        return super().form_valid(form)


class PasswordResetConfirm(PasswordResetConfirmView):
    """The new password signs out every session and the API token, and lifts a lockout."""

    template_name = "registration/password_reset_confirm.html"
    form_class = NewPasswordForm

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        name = form.user.get_username()
        axes_reset(username=name)  # from every address where attempts are rows (no Redis)
        axes_reset(ip=client_address(self.request), username=name)  # a cache key needs both
        return response


@login_required
def account_email(request: HttpRequest) -> HttpResponse:
    """The address password resets go to, changed with the current password."""
    user = request.user
    form = EmailForm(request.POST or None, initial={"email": user.email}, request=request)  # type: ignore[union-attr]
    if request.method == "POST" and form.is_valid():
        account_email_set(user=user, email=form.cleaned_data["email"])  # type: ignore[arg-type]
        messages.success(request, "이메일을 저장했습니다. Your email is saved.")
        return redirect("user-posts", username=user.get_username())
    status = 400 if form.errors else 200
    return render(request, "registration/account_email.html", {"form": form}, status=status)


@login_required
def account_remove(request: HttpRequest) -> HttpResponse:
    """GET asks for the password; POST with it deletes the account and what it posted."""
    error = ""
    if request.method == "POST":
        user = request.user
        try:
            if not password_confirmed(request, user, request.POST.get("password", "")):  # type: ignore[arg-type]
                raise AccountDeleteDenied(DELETE_PASSWORD_WRONG)
            posts = account_delete(user=user)  # type: ignore[arg-type]
        except AccountDeleteDenied as exc:
            error = str(exc)
        else:
            logout(request)
            messages.success(
                request,
                f"계정을 삭제했습니다. Your account and its {posts} "
                f"post{'' if posts == 1 else 's'} are deleted.",
            )
            return redirect("home")
    status = 400 if error else 200
    return render(request, "registration/account_delete.html", {"error": error}, status=status)


def _not_yours(request: HttpRequest, post: Post) -> HttpResponse | None:
    """A 403 page for anyone but the post's author, who gets None."""
    if post.author_id == request.user.pk:
        return None
    return render(request, "posts/not_yours.html", {"post": post}, status=403)


@login_required
def post_remove(request: HttpRequest, post_id: int) -> HttpResponse:
    """GET asks the author to confirm; POST deletes. Others get 403 and nothing changes."""
    post = get_object_or_404(Post, pk=post_id)
    if refused := _not_yours(request, post):
        return refused
    if request.method == "POST":
        post_delete(post=post, by=request.user)
        messages.success(request, "Post deleted, with its photo, verdicts and comments.")
        return redirect("home")
    return render(request, "posts/delete.html", {"post": post})


@login_required
def post_edit(request: HttpRequest, post_id: int) -> HttpResponse:
    """The author changes the caption and hashtags; the post is judged again from its scores."""
    post = get_object_or_404(Post, pk=post_id)
    if refused := _not_yours(request, post):
        return refused
    tags = " ".join(
        f"#{name}"
        for name in post.hashtags.order_by("post_hashtags__position").values_list("name", flat=True)
    )
    form = PostTextForm(request.POST or None, initial={"caption": post.caption, "hashtags": tags})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                post_update(
                    post=post,
                    by=request.user,
                    caption=form.cleaned_data["caption"],
                    hashtags=form.cleaned_data["hashtags"],
                )
            except PostRejected as exc:
                form.add_error("hashtags", str(exc))
            else:
                messages.success(request, "Saved. The post's hashtags were judged again.")
                return redirect("post-detail", post_id=post.pk)
    return render(request, "posts/edit.html", {"post": post, "form": form}, status=status)
