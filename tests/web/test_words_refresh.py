"""Migration 0013 recomputes the stored word forms (PostWord) with the analyzer."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from moderation.models import PostWord
from posts.models import Comment
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

refresh_migration = importlib.import_module("moderation.migrations.0013_post_words_analyzer")


def test_the_refresh_replaces_particle_forms_with_the_analyzers_nouns() -> None:
    post = PostFactory(caption="마라탕집에서 점심")
    Comment.objects.create(post=post, text="라멘맛집 추천")
    PostWord.objects.create(post=post, key="마라탕집에", source="caption", form="마라탕집에서")
    refresh_migration.refresh(apps, None)
    rows = set(PostWord.objects.filter(post=post).values_list("key", "source"))
    assert {("마라탕", "caption"), ("마라탕집", "caption"), ("라멘", "comment")} <= rows
    assert ("마라탕집에", "caption") not in rows


def test_the_refresh_leaves_other_posts_rows_matching_their_own_text() -> None:
    first = PostFactory(caption="바다 여행")
    second = PostFactory(caption="")
    refresh_migration.refresh(apps, None)
    assert set(PostWord.objects.filter(post=first).values_list("key", flat=True)) >= {"바다"}
    assert not PostWord.objects.filter(post=second).exists()
