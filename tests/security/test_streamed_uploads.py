"""A body sent in chunks (no Content-Length) is counted as it streams: an oversize one is a
413 before any of it is written to disk; a small one is read as usual."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.test.client import ClientHandler
from rest_framework.authtoken.models import Token

from posts.models import Post
from scripts.make_bad_inputs import coffee_jpeg
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BOUNDARY = "taglensboundary"


class CountingStream(io.BytesIO):
    """The server's decoded request body, remembering how much of it the app read."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data


def multipart(image: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="hashtags"\r\n\r\n#카페\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def chunked_post(body: bytes, *, token: str, terminated: bool = True) -> tuple[Any, int]:
    """What gunicorn hands the app for a chunked request: the decoded body, no length."""
    stream = CountingStream(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/posts/",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream,
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Token {token}",
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return ClientHandler()(environ), stream.taken


@pytest.fixture
def token() -> str:
    return str(Token.objects.create(user=UserFactory()).key)


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_an_oversize_chunked_upload_is_refused_with_413_before_it_reaches_the_disk(
    settings, token: str, tmp_path: Path
) -> None:
    settings.TAGLENS_MAX_UPLOAD_BYTES = 100_000  # the body limit is this + 1 MiB
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    body = multipart(b"\xff\xd8\xff" + b"\0" * 8_000_000)
    response, taken = chunked_post(body, token=token)
    assert response.status_code == 413
    assert "larger than the limit (1.1 MB)" in json.loads(response.content)["detail"]
    assert "nothing was stored" in json.loads(response.content)["detail"]
    assert taken < 100_000 + 1024 * 1024 + 128 * 1024  # stopped reading near the limit
    assert Post.objects.count() == 0
    assert files_under(tmp_path / "spool") == [] and files_under(Path(settings.MEDIA_ROOT)) == []


def test_a_small_chunked_upload_is_read_and_stored(token: str) -> None:
    response, _ = chunked_post(multipart(coffee_jpeg()), token=token)
    assert response.status_code == 201, response.content
    assert Post.objects.get().hashtags.get().name == "카페"


def test_a_chunked_body_the_server_cannot_end_is_refused_with_411(token: str) -> None:
    response, taken = chunked_post(multipart(coffee_jpeg()), token=token, terminated=False)
    assert response.status_code == 411
    assert "Content-Length" in json.loads(response.content)["detail"]
    assert taken == 0 and Post.objects.count() == 0
