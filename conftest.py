"""Root test set-up: temporary media, the fake classifier, tasks run inline."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
PHOTOS = Path(os.environ.get("TAGLENS_PHOTOS", str(REPO.parent / "shared" / "photos")))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(  # type: ignore[no-untyped-def]
    django_db_modify_db_settings_parallel_suffix, tmp_path_factory
) -> Iterator[None]:
    """SQLite tests use a database file rather than memory, so worker processes started by a
    test (tests/ingest/test_workers.py) open the same database. In /dev/shm when there is
    one: as fast as memory."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    shm = Path("/dev/shm")
    in_memory = shm.is_dir() and os.access(shm, os.W_OK)
    folder = (
        Path(tempfile.mkdtemp(prefix="taglens-test-db-", dir=shm))
        if in_memory
        else tmp_path_factory.mktemp("db")
    )
    database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
    yield
    if in_memory:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _media_and_classifier(settings, tmp_path: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    from django_q.conf import Conf

    from mlmodels.fake import FakeClassifier

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TAGLENS_CLASSIFIER = "mlmodels.fake.FakeClassifier"
    settings.TAGLENS_SIGNAL_SOURCES = []
    # Tesseract takes ~0.2-1 s an image; tests that read text turn it on (tests/web/test_text.py).
    settings.TAGLENS_OCR = False
    if "TAGLENS_SEARCH_CACHE_SECONDS" not in os.environ:
        # Off (it is on with Redis): tests that write without committing, or read a view's
        # context, would see the cached page. tests/web/test_search_cache.py turns it on.
        settings.TAGLENS_SEARCH_CACHE_SECONDS = 0
    from django.core.cache import cache

    cache.clear()  # throttle counters: in Redis on the scaled-out run, they would outlive a test
    old_sync = Conf.SYNC
    Conf.SYNC = True  # django-q2 runs queued tasks inline, at on_commit time
    FakeClassifier.reset()
    yield
    Conf.SYNC = old_sync
    FakeClassifier.reset()


@pytest.fixture
def photos_dir() -> Path:
    if not PHOTOS.is_dir():
        pytest.skip(f"development photos not found at {PHOTOS} (set TAGLENS_PHOTOS)")
    return PHOTOS


@pytest.fixture(scope="session")
def built_model_dir() -> Path:
    """The converted MobileNetV2 (``make model`` builds it; built here if missing)."""
    from mlmodels.build import build

    target = Path(os.environ.get("TAGLENS_MODEL_DIR", str(REPO / "var" / "models")))
    build(target)  # a no-op when the manifest matches the source weights
    return target
