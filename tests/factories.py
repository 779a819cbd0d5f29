"""Factories for rows. Images here are tiny made-up pictures: fine for plumbing tests,
never evidence of accuracy (the model tests use real photos)."""

from __future__ import annotations

import io
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from moderation.judging.counts import hashtag_counts_refresh
from moderation.models import Verdict
from moderation.web.permissions import MODERATORS_GROUP
from posts.models import Hashtag, Post


def jpeg_bytes(
    color: tuple[int, int, int] = (200, 120, 40), size: tuple[int, int] = (64, 48)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def upload(name: str = "photo.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else jpeg_bytes(), "image/jpeg")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-only")


class ModeratorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"moderator{n}")

    @factory.post_generation
    def moderators_group(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.groups.add(Group.objects.get(name=MODERATORS_GROUP))


class HashtagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hashtag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")


class PostFactory(factory.django.DjangoModelFactory):
    """A post row written directly (no classification queued)."""

    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    image = factory.django.ImageField(width=32, height=32, color="blue")
    thumbnail = factory.django.ImageField(width=16, height=16, color="blue")
    caption = factory.Faker("sentence")
    status = Post.Status.CLASSIFIED
    classified_at = factory.LazyFunction(timezone.now)


class VerdictFactory(factory.django.DjangoModelFactory):
    """A verdict row written directly; the hashtag's maintained counts follow, as they do
    after every service that changes verdicts."""

    class Meta:
        model = Verdict
        skip_postgeneration_save = True

    post = factory.SubFactory(PostFactory)
    hashtag = factory.SubFactory(HashtagFactory)
    post_created_at = factory.LazyAttribute(lambda v: v.post.created_at)
    decision = Verdict.Decision.RELEVANT
    shown = True

    @factory.post_generation
    def counts(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            hashtag_counts_refresh(hashtag_ids=[self.hashtag_id])
