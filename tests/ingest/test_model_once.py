"""A worker process loads the real backbone once and keeps it for every later task."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mlmodels import base
from mlmodels.network import tf_mobilenet
from posts.models import Post
from posts.services import post_create
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.model]


@pytest.fixture
def real_backbone(settings, built_model_dir: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.TAGLENS_CLASSIFIER = "mlmodels.network.tf_mobilenet.MobileNetV2RollupClassifier"
    settings.TAGLENS_MODEL_DIR = built_model_dir
    base.clear_classifier_cache()
    yield
    base.clear_classifier_cache()


def photo(name: str) -> io.BytesIO:
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(getattr(data, name)()).convert("RGB").save(out, format="JPEG", quality=90)
    out.seek(0)
    return out


def test_two_classifications_in_one_process_build_the_backbone_once(
    real_backbone, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    constructed: list[Any] = []
    engines: list[Any] = []
    real_init = tf_mobilenet.MobileNetV2RollupClassifier.__init__
    real_make = tf_mobilenet.make_engine

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        constructed.append(self)
        real_init(self, *args, **kwargs)

    def counting_make(*args: Any, **kwargs: Any) -> Any:
        engine = real_make(*args, **kwargs)
        engines.append(engine)
        return engine

    monkeypatch.setattr(tf_mobilenet.MobileNetV2RollupClassifier, "__init__", counting_init)
    monkeypatch.setattr(tf_mobilenet, "make_engine", counting_make)
    author = UserFactory()
    posts = []
    for name in ("chelsea", "coffee"):
        with django_capture_on_commit_callbacks(execute=True):  # one task per upload
            posts.append(post_create(author=author, image=photo(name), hashtags=["고양이"]))

    assert [p.status for p in Post.objects.filter(pk__in=[p.pk for p in posts])] == [
        "classified",
        "classified",
    ]
    assert len(constructed) == 1  # one classifier object per process...
    assert len(engines) == 1  # ...whose TFLite interpreters are built on the first predict
    cat, coffee = (p.classifications.get().scores for p in posts)
    assert cat["cat"] > 0.5 > coffee["cat"]  # the real network ran on both photos
