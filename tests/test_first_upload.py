"""`make run`'s set-up steps on a fresh variable folder, then the demo user's first upload.

train_concepts is left out: it trains on the photo set for minutes and has nothing to do with
who may upload. The upload runs in a process of its own after the set-up processes, through
the real login (with its lockout check), the form and the API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.settings_process import REPO, settings_process

PASSWORD = "demo-password-for-the-first-upload"

UPLOAD_AS_DEMO = """
import io, json, django
django.setup()
from django.test import Client
from PIL import Image
from django.contrib.auth import get_user_model
from posts.models import Post

def photo(name):
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (180, 120, 60)).save(out, format="JPEG")
    out.seek(0)
    out.name = name
    return out

client = Client()
login = client.post("/accounts/login/", {"username": "demo", "password": PASSWORD})
form = client.post("/upload/", {"image": photo("a.jpg"), "hashtags": "#카페"})
token = Client().post("/api/auth/token/", {"username": "demo", "password": PASSWORD})
api = Client().post(
    "/api/posts/",
    {"image": photo("b.jpg"), "hashtags": "#cafe"},
    HTTP_AUTHORIZATION="Token " + token.json().get("token", ""),
)
print(json.dumps({
    "login": login.status_code,
    "form": form.status_code,
    "form_to": form.get("Location", ""),
    "api": api.status_code,
    "demo_posts": Post.objects.filter(author__username="demo").count(),
    "feed_posts": Post.objects.filter(author__username="demo_feed").count(),
}))
""".replace("PASSWORD", repr(PASSWORD))


def manage(tmp_path: Path, *args: str, env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TAGLENS_"))}
    clean.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**clean, "TAGLENS_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_demo_user_can_upload_right_after_the_make_run_set_up(tmp_path: Path) -> None:
    photos = Path(os.environ.get("TAGLENS_PHOTOS", str(REPO.parent / "shared" / "photos")))
    env = {
        "TAGLENS_DEMO_PASSWORD": PASSWORD,
        # Fewer uploads an hour than the feed has posts: were the feed the demo user's, the
        # first upload would be refused whichever photos the feed is made from.
        "TAGLENS_UPLOADS_PER_HOUR": "3",
        "TAGLENS_PHOTOS": str(photos),
    }
    manage(tmp_path, "migrate", "--noinput", env=env)
    manage(tmp_path, "seed_demo", env=env)
    manage(tmp_path, "demo_accounts", env=env)

    result = settings_process(UPLOAD_AS_DEMO, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["login"] == 302
    assert outcome["form"] == 302 and outcome["form_to"].startswith("/p/"), outcome
    assert outcome["api"] == 201, outcome
    assert outcome["demo_posts"] == 2
    assert outcome["feed_posts"] >= 4  # the feed is there (scikit-image's 4 at least)
