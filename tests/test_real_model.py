"""The real TensorFlow model on real photos, through the product. Slower; in the default run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image
from skimage import data as skdata

from mlmodels.base import clear_classifier_cache
from mlmodels.text.ocr import TesseractReader
from moderation.judging.verdicts import verdicts_explain
from moderation.models import TextExtraction, Verdict
from posts.models import Post
from tests.factories import UserFactory, upload

pytestmark = [pytest.mark.django_db, pytest.mark.model]

REAL = "mlmodels.network.tf_mobilenet.MobileNetV2RollupClassifier"


def photo(name: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(getattr(skdata, name)()).convert("RGB").save(out, format="JPEG", quality=92)
    return out.getvalue()


@pytest.fixture
def real_model(settings, built_model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    settings.TAGLENS_CLASSIFIER = REAL
    settings.TAGLENS_MODEL_DIR = built_model_dir
    clear_classifier_cache()


def upload_and_classify(client, capture, name: str, tags: str) -> Post:  # type: ignore[no-untyped-def]
    client.force_login(UserFactory())
    with capture(execute=True):
        response = client.post(
            reverse("post-upload"), {"image": upload(f"{name}.jpg", photo(name)), "hashtags": tags}
        )
    assert response.status_code == 302
    return Post.objects.latest("id")


def shown(post: Post) -> dict[str, bool]:
    return {v.hashtag.name: v.shown for v in post.verdicts.select_related("hashtag")}


def test_a_cat_photo_is_hidden_under_cafe_and_shown_under_cat(
    client, django_capture_on_commit_callbacks, real_model
) -> None:
    post = upload_and_classify(
        client, django_capture_on_commit_callbacks, "chelsea", "#카페 #고양이 #동물 #강아지"
    )
    assert post.status == Post.Status.CLASSIFIED
    assert shown(post) == {"카페": False, "고양이": True, "동물": True, "강아지": False}
    cafe = post.verdicts.get(hashtag__name="카페")
    assert cafe.decision == Verdict.Decision.NOT_RELEVANT
    page = client.get(reverse("explore-tag", kwargs={"tag": "카페"}))
    assert post not in page.context["page"].posts


def test_a_coffee_photo_is_shown_under_cafe(
    client, django_capture_on_commit_callbacks, real_model
) -> None:
    post = upload_and_classify(client, django_capture_on_commit_callbacks, "coffee", "#카페 cafe")
    assert shown(post) == {"카페": True, "cafe": True}
    classification = post.classifications.select_related("embedding", "model_version").get()
    assert classification.embedding.dim == 1280 + 96  # the embedding, then the texture
    assert classification.model_version.name.startswith("mobilenet_v2")


def test_a_person_is_undecided_under_fashion_while_people_are_unsupported(
    client, django_capture_on_commit_callbacks, real_model
) -> None:
    post = upload_and_classify(client, django_capture_on_commit_callbacks, "astronaut", "#패션")
    verdict = post.verdicts.get()
    assert verdict.decision == Verdict.Decision.UNKNOWN and not verdict.shown
    assert set(post.classifications.get().unsupported) >= {"adult", "child", "nail"}


def test_classify_images_prints_one_json_line_per_image(tmp_path: Path, capsys, real_model) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "coffee.jpg").write_bytes(photo("coffee"))
    (folder / "chelsea.jpg").write_bytes(photo("chelsea"))
    (folder / "broken.jpg").write_bytes(b"not an image at all")
    call_command("classify_images", str(folder))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    by_name = {Path(row["path"]).name: row for row in lines}
    assert set(by_name) == {"coffee.jpg", "chelsea.jpg", "broken.jpg"}
    assert "error" in by_name["broken.jpg"]
    assert "beverage" in by_name["coffee.jpg"]["present"]
    assert {"animal", "cat"} <= set(by_name["chelsea.jpg"]["present"])
    assert "food" not in by_name["chelsea.jpg"]["present"]
    for row in (by_name["coffee.jpg"], by_name["chelsea.jpg"]):
        assert row["model_version"].startswith("mobilenet_v2")
        assert "adult" in row["unsupported"]
        assert all(0.0 <= v <= 1.0 for v in row["scores"].values())


def test_a_development_menu_photo_is_read_recognised_and_shown_under_food(
    client, django_capture_on_commit_callbacks, real_model, photos_dir, settings
) -> None:
    reader = TesseractReader()
    if not reader.available():
        pytest.skip(f"Tesseract OCR with kor+eng is not installed ({reader.problem()})")
    settings.TAGLENS_OCR = True
    menu = photos_dir / "menu" / "vnmenu_c76067_502.jpg"  # the menu class misses it: 0.01
    if not menu.exists():
        pytest.skip(f"development menu photo {menu} not found")
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("post-upload"),
            {"image": upload("menu.jpg", menu.read_bytes()), "hashtags": "#음식"},
        )
    post = Post.objects.latest("id")
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.OK
    assert extraction.message.startswith("Recognised as a menu"), extraction.text  # its prices
    food = post.verdicts.get()
    assert food.shown
    verdicts_explain([food])
    assert {w["source"] for w in food.explanation["words"]} == {"image"}
