"""A version of a new backbone queues the classified posts again a batch a task, not a post a
task: their verdicts stand while they wait, so no other task would take them along."""

from __future__ import annotations

import pytest

from mlmodels.fake import FakeClassifier
from moderation import tasks
from moderation.ingest.activation import model_version_rescore
from moderation.ingest.claims import classification_claim
from moderation.models import Embedding, ModelVersion
from posts.models import Post
from tests.ingest.recording import RecordingClassifier
from tests.ingest.test_batches import pending_posts, statuses

pytestmark = pytest.mark.django_db


def classified_on_an_older_backbone(capture, keys: list[int]) -> list[Post]:  # type: ignore[no-untyped-def]
    posts = pending_posts(capture, keys)
    for post in posts:
        tasks.classify_post(post.pk)
    assert statuses(posts) == ["classified"] * len(posts)
    Embedding.objects.update(backbone="older-net")
    RecordingClassifier.reset()
    return posts


def test_activation_queues_the_posts_of_another_backbone_in_batches(
    recording, django_capture_on_commit_callbacks
) -> None:
    posts = classified_on_an_older_backbone(django_capture_on_commit_callbacks, list(range(60, 70)))
    version = ModelVersion.objects.get(is_active=True)

    with django_capture_on_commit_callbacks(execute=True):
        model_version_rescore(version_id=version.pk)

    assert recording.batches == [[60, 61, 62, 63], [64, 65, 66, 67], [68, 69]]
    assert statuses(posts) == ["classified"] * 10
    assert Embedding.objects.filter(backbone=FakeClassifier.version).count() == 10
    version.refresh_from_db()
    assert "10 posts without an embedding from fake-1 queued" in version.rescore_message


def test_a_claim_takes_its_other_posts_first_unless_they_are_done(
    recording, django_capture_on_commit_callbacks
) -> None:
    old = classified_on_an_older_backbone(django_capture_on_commit_callbacks, [70, 71, 72, 73])
    Embedding.objects.filter(post=old[3]).update(backbone=FakeClassifier.version)  # done
    [waiting] = pending_posts(django_capture_on_commit_callbacks, [74])

    claim = classification_claim(
        post_id=old[2].pk,
        others=[old[0].pk, old[3].pk],
        limit=4,
        lease_seconds=60,
        backbone=FakeClassifier.version,
    )

    # Not old[1] (not named) nor old[3] (it has this backbone's embedding).
    assert claim.post_ids == [old[2].pk, old[0].pk, waiting.pk]
