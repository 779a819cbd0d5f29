"""A demo feed of real photos with a realistic share of spam hashtags."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from PIL import Image

from posts.models import Post
from posts.services import PostRejected, post_create

# Per folder of the photo set: hashtags that fit the photo, and spam people add anyway.
FITTING: dict[str, list[str]] = {
    "food": ["음식", "맛집", "food", "마라탕", "국밥", "쌀국수"],
    "beverage": ["카페", "커피", "cafe", "음료"],
    "cat": ["고양이", "cat", "동물", "냥스타그램"],
    "dog": ["강아지", "dog", "동물", "멍스타그램"],
    "other_animal": ["동물", "animal"],
    "adult": ["패션", "데일리", "ootd", "연애", "럽스타그램"],
    "child": ["육아", "아기"],
    "flower": ["꽃", "flower"],
    "mountain": ["산", "등산", "mountain"],
    "sea": ["바다", "여름", "sea"],
    "gym": ["헬스", "오운완", "gym"],
    "nail": ["네일", "nail"],
    "menu": ["메뉴", "음식", "카페"],
    "clothing": ["패션", "ootd"],
    "other": ["일상"],
}
# Seeded posts are this account's, never `demo`'s (see _feed_account).
FEED_USERNAME = "demo_feed"
SPAM = ["카페", "음식", "맛집", "cafe", "강아지", "고양이", "패션", "꽃", "바다", "럽스타그램"]
CAPTIONS = ["오늘의 기록", "주말 ☀️", "좋아요 반사", "daily", "맞팔해요", "", "행복한 하루"]

# Real photos that ship inside scikit-image, for machines without the photo set.
SKIMAGE_PHOTOS: dict[str, list[str]] = {
    "coffee": ["카페", "커피", "cafe"],
    "chelsea": ["고양이", "cat", "카페"],
    "astronaut": ["패션", "카페", "우주"],
    "rocket": ["카페", "여행"],
}


class Command(BaseCommand):
    help = "Load a demo feed of real photos (../shared/photos, else scikit-image's) once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--per-folder", type=int, default=6)
        parser.add_argument("--force", action="store_true", help="Add even if posts exist.")

    def handle(self, *args: Any, **options: Any) -> None:
        if Post.objects.exists() and not options["force"]:
            self.stdout.write("Demo feed: posts already exist, nothing added.")
            return
        rng = random.Random(20261126)
        author = self._feed_account()
        photos = Path(settings.TAGLENS_PHOTOS_DIR)
        items = (
            self._from_photo_set(photos, options["per_folder"], rng)
            if photos.is_dir()
            else self._from_skimage()
        )
        created = 0
        for name, data, tags in items:
            caption = " ".join([rng.choice(CAPTIONS), *(f"#{t}" for t in tags)]).strip()
            try:
                post_create(
                    author=author,
                    image=io.BytesIO(data),
                    image_name=name,
                    caption=caption,
                    hashtags=tags,
                )
            except PostRejected as exc:
                self.stderr.write(f"skipped {name}: {exc}")
                continue
            created += 1
        source = photos if photos.is_dir() else "scikit-image's sample photos"
        self.stdout.write(f"Demo feed: {created} posts from {source}, queued for classification.")

    def _feed_account(self) -> Any:
        """The demo feed's author: an account of its own that cannot sign in, so the feed's
        posts never count against the `demo` user's hourly upload limit."""
        author, created = get_user_model().objects.get_or_create(username=FEED_USERNAME)
        if created:
            author.set_unusable_password()
            author.save(update_fields=["password"])
        return author

    def _from_photo_set(
        self, root: Path, per_folder: int, rng: random.Random
    ) -> list[tuple[str, bytes, list[str]]]:
        items = []
        for folder, fitting in FITTING.items():
            files = sorted((root / folder).glob("*.jpg"))
            for path in rng.sample(files, min(per_folder, len(files))):
                tags = rng.sample(fitting, min(2, len(fitting)))
                if rng.random() < 0.45:  # spam: a popular tag that does not fit
                    tags.append(rng.choice([t for t in SPAM if t not in fitting]))
                items.append((path.name, path.read_bytes(), tags))
        rng.shuffle(items)
        return items

    def _from_skimage(self) -> list[tuple[str, bytes, list[str]]]:
        from skimage import data as skdata

        items = []
        for name, tags in SKIMAGE_PHOTOS.items():
            out = io.BytesIO()
            Image.fromarray(getattr(skdata, name)()).convert("RGB").save(out, format="JPEG")
            items.append((f"{name}.jpg", out.getvalue(), tags))
        return items
