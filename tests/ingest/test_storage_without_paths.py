"""Media are read through the storage only: on a storage with no local file paths (as S3) an
upload is stored, classified, its text read at full resolution and its pages shown."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from PIL import Image

from mlmodels.text.ocr import TextRead
from moderation.ingest import text
from moderation.models import TextExtraction
from posts.models import Post
from tests.factories import UserFactory, upload

pytestmark = pytest.mark.django_db


def test_upload_classification_and_pages_need_no_file_paths(
    settings, client, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }

    def no_path(field: FieldFile) -> str:
        raise AssertionError(f"{field.name} read through a file-system path")

    # Nothing on disk to find, and any FieldFile.path use fails the test.
    monkeypatch.setattr(FieldFile, "path", property(no_path))
    read_sizes: list[tuple[int, int]] = []

    class Reader:
        version = "fake-ocr"

        def available(self) -> bool:
            return True

        def problem(self) -> str:
            return ""

        def read(self, image: Image.Image) -> TextRead:
            read_sizes.append(image.size)
            return TextRead(text="", words=[], seconds=0.0)

    settings.TAGLENS_OCR = True
    monkeypatch.setattr(text, "text_reader", lambda timeout: Reader())
    photo = io.BytesIO()
    Image.new("RGB", (1600, 1200), (200, 120, 40)).save(photo, format="JPEG")
    client.force_login(UserFactory())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("post-upload"),
            {"image": upload("big.jpg", photo.getvalue()), "hashtags": "#카페"},
        )

    assert response.status_code == 302
    post = Post.objects.get()
    assert post.status == Post.Status.CLASSIFIED
    assert type(default_storage._wrapped).__name__ == "InMemoryStorage"  # type: ignore[attr-defined]
    assert default_storage.exists(post.image.name) and default_storage.exists(post.thumbnail.name)
    assert not (settings.MEDIA_ROOT / post.image.name).exists()
    assert read_sizes == [(1600, 1200)]  # OCR reopened the photo, at full size, via the storage
    assert TextExtraction.objects.get(post=post).status == TextExtraction.Status.OK
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk}))
    assert page.status_code == 200
    assert post.image.url in page.content.decode()
