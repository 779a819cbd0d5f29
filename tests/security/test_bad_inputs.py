"""Every file of the generated corpus gets its expected outcome through the upload form and
through the API; refused files leave no row and no file, accepted ones are stored clean."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from posts.models import Post
from scripts.make_bad_inputs import ACCEPTED, Case, cases
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CASES = [case for case, _ in cases()]
STORED_NAME = re.compile(r"^posts/[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|png|webp)$")
SUFFIX = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def via_form(client, path: Path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    client.force_login(UserFactory())
    upload = SimpleUploadedFile(path.name, path.read_bytes(), "image/jpeg")
    response = client.post(reverse("post-upload"), {"image": upload, "hashtags": "#카페"})
    return response.status_code, html.unescape(response.content.decode())


def via_api(client, path: Path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    api = APIClient()
    api.force_authenticate(UserFactory())
    upload = SimpleUploadedFile(path.name, path.read_bytes(), "image/jpeg")
    response = api.post("/api/posts/", {"image": upload, "hashtags": "#카페"}, format="multipart")
    return response.status_code, response.content.decode()


def close(actual: tuple[int, ...] | int, expected: tuple[int, ...], tolerance: int = 12) -> bool:
    values = (actual,) if isinstance(actual, int) else actual
    return len(values) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(values, expected, strict=True)
    )


def assert_stored_clean(post: Post, case: Case) -> None:
    assert STORED_NAME.match(post.image.name), post.image.name
    assert post.image.name.endswith("." + SUFFIX[case.stored_format])
    data = Path(post.image.path).read_bytes()
    for marker in (b"Exif", b"GPS", b"<?php", b"<script", b"TagLensCam"):
        assert marker not in data, f"{marker!r} survived in the stored copy"
    with Image.open(io.BytesIO(data), formats=[case.stored_format]) as stored:
        assert stored.size == case.size
        assert (post.width, post.height) == case.size
        assert stored.mode == case.mode
        assert not stored.getexif()
        assert "comment" not in stored.info and "xmp" not in stored.info
        assert getattr(stored, "n_frames", 1) == 1
        if case.first_pixel:
            assert close(stored.getpixel((2, 2)), case.first_pixel), stored.getpixel((2, 2))
    with Image.open(post.thumbnail.path) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (320, 320))


def test_the_corpus_has_at_least_twenty_hostile_files_and_real_photos() -> None:
    refused = [case for case in CASES if case.outcome != ACCEPTED]
    assert len(refused) >= 18
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("channel", ["form", "api"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_file_gets_its_expected_outcome(
    client, settings, bad_inputs, django_capture_on_commit_callbacks, case: Case, channel: str
) -> None:
    folder, _ = bad_inputs
    media = Path(settings.MEDIA_ROOT)
    files_before = stored_files(media)
    send = via_form if channel == "form" else via_api

    with django_capture_on_commit_callbacks(execute=True):
        status, body = send(client, folder / case.name)

    if case.outcome == ACCEPTED:
        assert status == (302 if channel == "form" else 201), body[:500]
        post = Post.objects.get()
        # The worker reads the stored copy: classified, not failed.
        assert post.status == Post.Status.CLASSIFIED, post.failure_reason
        assert_stored_clean(post, case)
    else:
        expected_status = 413 if case.outcome == "too_large" else 400
        assert status == expected_status, body[:500]
        assert case.message.lower() in body.lower(), body[:2000]
        assert Post.objects.count() == 0
        assert stored_files(media) == files_before
