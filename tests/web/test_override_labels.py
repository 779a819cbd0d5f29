from __future__ import annotations

import pytest
from django.urls import reverse

from mlmodels.fake import FakeClassifier
from moderation.judging.overrides import verdict_override
from moderation.selectors.training import override_training_examples
from posts.models import Post
from tests.factories import ModeratorFactory, UserFactory, upload

pytestmark = pytest.mark.django_db


def _post(client, capture, tags: str) -> Post:  # type: ignore[no-untyped-def]
    client.force_login(UserFactory())
    with capture(execute=True):
        client.post(reverse("post-upload"), {"image": upload(), "hashtags": tags})
    return Post.objects.latest("id")


def test_overrides_become_concept_labels_where_the_rule_forces_them(
    client, django_capture_on_commit_callbacks
) -> None:
    FakeClassifier.next_scores = {"food": 0.9}
    moderator = ModeratorFactory()
    spam = _post(client, django_capture_on_commit_callbacks, "#카페 #연애")
    verdict_override(verdict=spam.verdicts.get(hashtag__name="카페"), relevant=False, by=moderator)
    verdict_override(verdict=spam.verdicts.get(hashtag__name="연애"), relevant=True, by=moderator)
    # "relevant" under an or-rule says nothing about which concept it was.
    vague = _post(client, django_capture_on_commit_callbacks, "#카페")
    verdict_override(verdict=vague.verdicts.get(), relevant=True, by=moderator)

    examples = override_training_examples(backbone=FakeClassifier.version)

    assert [e.post_id for e in examples] == [spam.pk]
    assert examples[0].labels == {
        "food": False,
        "beverage": False,
        "adult": True,
        "child": False,
    }
    assert examples[0].embedding.post_id == spam.pk
