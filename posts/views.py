"""Upload and account pages. Thin: parse, call a service, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from posts.forms import PostUploadForm
from posts.services import PostRejected, post_create


@login_required
def post_upload(request: HttpRequest) -> HttpResponse:
    form = PostUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        image = form.cleaned_data["image"]
        try:
            post = post_create(
                author=request.user,  # type: ignore[arg-type]
                image=image,
                image_name=image.name,
                caption=form.cleaned_data["caption"],
                hashtags=form.cleaned_data["hashtags"],
            )
        except PostRejected as exc:
            form.add_error("image", str(exc))
        else:
            messages.success(request, "Uploaded. TagLens is looking at the photo now.")
            return redirect("post-detail", post_id=post.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "posts/upload.html", {"form": form}, status=status)


def signup(request: HttpRequest) -> HttpResponse:
    form: UserCreationForm[User] = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
