"""Fixtures for the mlmodels tests.

No Django: these run with ``-p no:django`` and under pytest-django alike.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # so `import mlmodels` works however pytest was started
    sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mlmodels.fake import FakeClassifier  # noqa: E402


@pytest.fixture(autouse=True)
def _media_and_classifier() -> Iterator[None]:
    """Overrides the repo-root autouse fixture of the same name for this folder.

    That one needs pytest-django's ``settings``; mlmodels must test without Django
    (``-p no:django``), and nothing here reads Django settings.
    """
    yield


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """Converted model, built once into ``$TAGLENS_MODEL_DIR`` (default ``<repo>/var/models``).

    The build is idempotent, so after the first run this only hashes the source weights.
    """
    from mlmodels.build import build

    path = Path(os.environ.get("TAGLENS_MODEL_DIR") or REPO / "var" / "models")
    build(path)
    return path


@pytest.fixture(scope="session")
def classifier(model_dir: Path) -> object:
    from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier

    return MobileNetV2RollupClassifier(model_dir)


def _skimage_photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


@pytest.fixture(scope="session")
def coffee() -> Image.Image:
    return _skimage_photo("coffee")


@pytest.fixture(scope="session")
def chelsea() -> Image.Image:
    return _skimage_photo("chelsea")


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    return _skimage_photo("astronaut")


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """The internal dev photo set (never copied into the repo); skips where it is absent."""
    from mlmodels.dataset import default_photos_dir

    path = default_photos_dir()
    if not path.is_dir():
        pytest.skip(
            f"dev photos not found at {path} (set TAGLENS_PHOTOS to run the roll-up quality test)"
        )
    return path


@pytest.fixture()
def fake() -> Iterator[type[FakeClassifier]]:
    FakeClassifier.reset()
    yield FakeClassifier
    FakeClassifier.reset()
