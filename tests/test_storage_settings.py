"""Media storage chosen by environment variables: the local folder by default, an S3-compatible
bucket with TAGLENS_STORAGE=s3. Settings are built in a fresh process; nothing goes over the
network (a signed link is computed locally)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.settings_process import settings_process

SHOW = """
import json, django
django.setup()
from django.conf import settings
from django.core.files.storage import default_storage, storages
media = storages["default"]
print(json.dumps({
    "storages": settings.STORAGES,
    "class": type(media).__module__ + "." + type(media).__name__,
    "url": default_storage.url("posts/ab/photo.jpg"),
}))
"""


def settings_with(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return settings_process(SHOW, tmp_path, **env)


def shown(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_media_stay_in_the_local_folder_by_default(tmp_path: Path) -> None:
    found = shown(settings_with(tmp_path))
    assert found["storages"]["default"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }
    assert found["class"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert found["url"] == "/media/posts/ab/photo.jpg"


def test_s3_variables_give_a_private_bucket_with_signed_links(tmp_path: Path) -> None:
    found = shown(
        settings_with(
            tmp_path,
            TAGLENS_STORAGE="s3",
            TAGLENS_S3_BUCKET="taglens-media",
            TAGLENS_S3_ENDPOINT_URL="https://objects.example.net",
            TAGLENS_S3_REGION="kr-central-1",
            TAGLENS_S3_ADDRESSING_STYLE="path",
            TAGLENS_S3_ACCESS_KEY_ID="AKIDEXAMPLE",
            TAGLENS_S3_SECRET_ACCESS_KEY="not-a-real-secret",
            TAGLENS_S3_URL_EXPIRY="600",
        )
    )
    assert found["storages"]["default"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "taglens-media",
            "location": "media",
            "querystring_auth": True,
            "querystring_expire": 600,
            "default_acl": None,
            "file_overwrite": False,
            "endpoint_url": "https://objects.example.net",
            "region_name": "kr-central-1",
            "addressing_style": "path",
            "access_key": "AKIDEXAMPLE",
            "secret_key": "not-a-real-secret",
        },
    }
    assert found["class"] == "storages.backends.s3.S3Storage"
    url = found["url"]
    assert url.startswith("https://objects.example.net/taglens-media/media/posts/ab/photo.jpg?")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url
    assert "AKIDEXAMPLE" in url and "not-a-real-secret" not in url


def test_a_public_bucket_behind_a_cdn_gives_plain_links_on_its_domain(tmp_path: Path) -> None:
    found = shown(
        settings_with(
            tmp_path,
            TAGLENS_STORAGE="s3",
            TAGLENS_S3_BUCKET="taglens-media",
            TAGLENS_S3_CUSTOM_DOMAIN="media.taglens.example",
            TAGLENS_S3_SIGNED_URLS="false",
            TAGLENS_S3_PREFIX="taglens",
        )
    )
    options = found["storages"]["default"]["OPTIONS"]
    assert options["querystring_auth"] is False
    assert "access_key" not in options  # boto3's own credential chain decides
    assert found["url"] == "https://media.taglens.example/taglens/posts/ab/photo.jpg"


def test_s3_without_a_bucket_or_an_unknown_storage_stops_with_a_clear_message(
    tmp_path: Path,
) -> None:
    missing = settings_with(tmp_path, TAGLENS_STORAGE="s3")
    assert missing.returncode != 0
    assert "Environment variable TAGLENS_S3_BUCKET is required." in missing.stderr
    unknown = settings_with(tmp_path, TAGLENS_STORAGE="ftp")
    assert unknown.returncode != 0
    assert "TAGLENS_STORAGE='ftp' is not 'local' or 's3'." in unknown.stderr
