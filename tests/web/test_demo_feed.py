from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from moderation.models import Rule
from posts.models import Post

pytestmark = pytest.mark.django_db


def test_demo_feed_falls_back_to_scikit_image_photos(settings, tmp_path: Path) -> None:
    settings.TAGLENS_PHOTOS_DIR = tmp_path / "absent"
    call_command("seed_demo")
    posts = list(Post.objects.all())
    assert len(posts) == 4
    assert all(p.width > 0 and p.height > 0 and p.thumbnail for p in posts)
    assert all(p.verdicts.exists() for p in posts)


def test_the_demo_feed_is_posted_by_its_own_account_that_cannot_sign_in(
    settings, tmp_path: Path
) -> None:
    settings.TAGLENS_PHOTOS_DIR = tmp_path / "absent"
    call_command("seed_demo")
    authors = {p.author for p in Post.objects.select_related("author")}
    assert [a.username for a in authors] == ["demo_feed"]
    assert not authors.pop().has_usable_password()
    assert not Post.objects.filter(author__username="demo").exists()


def test_demo_feed_mixes_fitting_and_spam_hashtags_from_the_photo_set(
    settings, photos_dir: Path
) -> None:
    settings.TAGLENS_PHOTOS_DIR = photos_dir
    call_command("seed_demo", per_folder=2)
    assert Post.objects.count() == 2 * 15
    tagged = set(Post.objects.values_list("hashtags__name", flat=True))
    for rule in ["패션", "연애", "카페", "육아"]:
        assert Rule.objects.filter(hashtag=rule).exists()
        assert (
            rule in tagged
            or Rule.objects.get(hashtag=rule).keyword_mappings.filter(word__in=tagged).exists()
        ), rule
    call_command("seed_demo")  # a second run adds nothing
    assert Post.objects.count() == 30
