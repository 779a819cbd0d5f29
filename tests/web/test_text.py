"""Text in the image (OCR) and words from captions and comments as evidence for concepts."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont

from mlmodels.fake import FakeClassifier
from mlmodels.text.ocr import TesseractReader
from moderation.ingest.text import NOT_INSTALLED, texts_extract
from moderation.judging.verdicts import verdicts_evaluate, verdicts_explain
from moderation.models import Concept, PostWord, TextExtraction, Verdict
from moderation.rules.decide import apply_text_evidence
from moderation.rules.words import CAPTION, IMAGE, WordMatch, keyword_key, match_words, word_index
from moderation.selectors.search import posts_relevant_for_hashtag
from posts.models import Comment, Hashtag, Post
from posts.services import post_create, post_update
from tests.factories import UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
PHOTOS = Path(os.environ.get("TAGLENS_PHOTOS", str(REPO.parent / "shared" / "photos")))
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
# A menu photo of the development set that Tesseract reads food words on (banh, pho, thit).
MENU_PHOTO = "menu/vnmenu_d834a0_795.jpg"

NOTHING = {
    "food": 0.0,
    "beverage": 0.0,
    "animal": 0.0,
    "dog": 0.0,
    "cat": 0.0,
    "flower": 0.0,
    "mountain": 0.0,
    "sea": 0.0,
    "gym": 0.0,
}
CAT = {**NOTHING, "animal": 0.93, "cat": 0.9}


@pytest.fixture
def ocr(settings) -> None:  # type: ignore[no-untyped-def]
    reader = TesseractReader()
    if not reader.available():
        pytest.skip(
            f"Tesseract OCR with kor+eng is not installed ({reader.problem()}): "
            "apt-get install tesseract-ocr tesseract-ocr-kor"
        )
    settings.TAGLENS_OCR = True


def printed_jpeg(lines: list[str]) -> bytes:
    if not NANUM.exists():
        pytest.skip(f"Korean font {NANUM} missing: apt-get install fonts-nanum")
    font = ImageFont.truetype(str(NANUM), 44)
    image = Image.new("RGB", (720, 90 + 70 * len(lines)), (250, 245, 232))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 70 * i), line, font=font, fill=(35, 30, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def judged(capture, tags: list[str], scores: dict[str, float], **kwargs) -> Post:  # type: ignore[no-untyped-def]
    """Upload through the service; classified (and read) after commit with these scores."""
    FakeClassifier.next_scores = scores
    image = kwargs.pop("image", None) or jpeg_bytes(size=(64, 48))
    with capture(execute=True):
        post = post_create(author=UserFactory(), image=io.BytesIO(image), hashtags=tags, **kwargs)
    post.refresh_from_db()
    assert post.status == Post.Status.CLASSIFIED
    return post


def verdict(post: Post, tag: str) -> Verdict:
    found = post.verdicts.get(hashtag__name=tag)
    verdicts_explain([found])
    return found


def threshold(key: str) -> float:
    return Concept.objects.get(key=key).threshold


# Words: normalisation and matching (pure)


def test_keywords_compare_without_case_spaces_accents_or_english_plurals() -> None:
    assert keyword_key("Menus") == "menu"
    assert keyword_key("DISHES") == "dish"
    assert keyword_key("glass") == "glass"
    assert keyword_key("Phở") == keyword_key("pho") == "pho"
    assert keyword_key("thực đơn") == "thucdon"
    assert keyword_key("마라 탕") == "마라탕"  # Hangul keeps its syllables


def test_spacing_variants_and_korean_particles_still_match() -> None:
    index = word_index({"음식": _food(), "산": _concept("mountain")}, {"마라탕": "음식"})
    assert [m.keyword for m in match_words(["마라", "탕"], index, CAPTION)] == ["마라탕"]
    assert [m.keyword for m in match_words(["마라탕을"], index, CAPTION)] == ["마라탕"]
    assert [m.keyword for m in match_words(["foods"], word_index({"food": _food()}, {}), IMAGE)]
    # One syllable plus a particle is too often another word: 산도 (acidity) is no mountain.
    assert match_words(["산도"], index, CAPTION) == []
    # Short Latin words read in an image are mostly OCR noise; written ones count.
    pho = word_index({"음식": _food()}, {"phở": "음식", "bánh": "음식"})
    assert [m.keyword for m in match_words(["pho", "banh"], pho, IMAGE)] == ["bánh"]
    assert [m.keyword for m in match_words(["phở"], pho, CAPTION)] == ["phở"]


def test_only_rules_with_a_single_concept_give_evidence() -> None:
    from moderation.rules.syntax import parse

    names = {"food": "food", "beverage": "beverage"}
    index = word_index({"카페": parse("food or beverage", names)}, {"커피": "카페"})
    assert match_words(["카페", "커피"], index, IMAGE) == []


def test_image_text_is_strong_and_caption_words_weak() -> None:
    thresholds = {"food": 0.4, "nail": 0.5}
    menu = WordMatch("메뉴", IMAGE, "메뉴", "음식", "food")
    caption = WordMatch("마라탕", CAPTION, "마라탕", "음식", "food")
    scores, rows = apply_text_evidence({"food": 0.05}, thresholds, [menu])
    assert scores["food"] == 0.4 and rows[0]["counted"]
    scores, rows = apply_text_evidence({"food": 0.05}, thresholds, [caption])
    assert scores["food"] == 0.05 and not rows[0]["counted"]
    assert "half the threshold" in rows[0]["why"]
    scores, rows = apply_text_evidence({"food": 0.2}, thresholds, [caption])
    assert scores["food"] == 0.4 and rows[0]["counted"]
    nail = WordMatch("nail", IMAGE, "nail", "네일", "nail")
    scores, rows = apply_text_evidence({"food": 0.0}, thresholds, [nail])
    assert "nail" not in scores and not rows[0]["counted"]  # no score is invented


def _concept(key: str):  # type: ignore[no-untyped-def]
    from moderation.rules.expr import ConceptRef

    return ConceptRef(key)


def _food():  # type: ignore[no-untyped-def]
    return _concept("food")


# OCR in the product


def test_a_korean_menu_photo_is_relevant_under_food_though_the_scores_show_none(
    ocr, client, django_capture_on_commit_callbacks
) -> None:
    image = printed_jpeg(["마라탕 메뉴 12,000원", "오늘의 특선"])
    post = judged(django_capture_on_commit_callbacks, ["음식", "고양이"], NOTHING, image=image)

    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.OK
    assert extraction.engine.startswith("tesseract ") and extraction.engine.endswith("kor+eng")
    assert "마라탕" in extraction.words
    food = verdict(post, "음식")
    assert food.decision == Verdict.Decision.RELEVANT and food.shown
    counted = {(w["word"], w["source"], w["concept"]) for w in food.explanation["words"]}
    assert ("마라탕", "image", "food") in counted
    food_row = next(r for r in food.explanation["concepts"] if r["key"] == "food")
    assert food_row["score"] == 0.0 and food_row["by_words"]  # the photo's own score is kept
    assert verdict(post, "고양이").decision == Verdict.Decision.NOT_RELEVANT

    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "Counted words:" in page and "마라탕 (image text) → food" in page
    assert "마라탕 메뉴" in page


def test_extracted_text_is_escaped_on_the_post_page(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING)
    TextExtraction.objects.update_or_create(
        post=post,
        defaults={"engine": "tesseract 5 kor+eng", "status": "ok", "text": "<script>x()</script>"},
    )
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<script>x()" not in page


def test_a_real_menu_photo_counts_toward_food(
    ocr, photos_dir, django_capture_on_commit_callbacks
) -> None:
    photo = photos_dir / MENU_PHOTO
    if not photo.exists():
        pytest.skip(f"development menu photo {photo} not found")
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING, image=photo.read_bytes())
    food = verdict(post, "음식")
    assert food.shown, TextExtraction.objects.get(post=post).words
    sources = {w["source"] for w in food.explanation["words"]}
    keywords = {w["keyword"] for w in food.explanation["words"]}
    assert sources == {"image"}
    assert keywords & {"bánh", "phở", "thịt", "bún", "menu"}


def test_a_caption_full_of_food_words_leaves_a_cat_photo_hidden_under_food(
    client, django_capture_on_commit_callbacks
) -> None:
    post = judged(
        django_capture_on_commit_callbacks,
        ["음식", "마라탕"],
        CAT,
        caption="마라탕 맛집 음식 최고 #음식",
    )
    for tag in ("음식", "마라탕"):
        judged_tag = verdict(post, tag)
        assert judged_tag.decision == Verdict.Decision.NOT_RELEVANT and not judged_tag.shown
        assert judged_tag.explanation["words"] == []
        assert {w["word"] for w in judged_tag.explanation["words_not_counted"]} == {
            "마라탕",
            "맛집",
            "음식",
        }
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "Not counted: 마라탕 (caption) → food" in page
    assert "a caption alone does not decide" in page


def test_a_caption_tips_a_photo_that_shows_some_food(django_capture_on_commit_callbacks) -> None:
    some_food = {**NOTHING, "food": round(threshold("food") * 0.6, 4)}
    post = judged(django_capture_on_commit_callbacks, ["음식"], some_food, caption="마라탕 먹방")
    food = verdict(post, "음식")
    assert food.decision == Verdict.Decision.RELEVANT
    # 먹방 counts too since the food lexicon (migration 0018)
    assert {(w["word"], w["source"]) for w in food.explanation["words"]} == {
        ("마라탕", "caption"),
        ("먹방", "caption"),
    }


def test_editing_the_caption_judges_the_post_again(django_capture_on_commit_callbacks) -> None:
    some_food = {**NOTHING, "food": round(threshold("food") * 0.6, 4)}
    post = judged(django_capture_on_commit_callbacks, ["음식"], some_food)
    assert not verdict(post, "음식").shown
    with django_capture_on_commit_callbacks(execute=True):
        post_update(post=post, by=post.author, caption="마라탕 먹방")
    assert verdict(post, "음식").shown
    # The caption's words are kept for set-based re-evaluation (services/reevaluate.py).
    assert PostWord.objects.filter(post=post, key="마라탕").exists()


def test_comment_words_are_weak_evidence_too(django_capture_on_commit_callbacks) -> None:
    little = {**NOTHING, "food": round(threshold("food") * 0.3, 4)}
    some = {**NOTHING, "food": round(threshold("food") * 0.7, 4)}
    spam = judged(django_capture_on_commit_callbacks, ["음식"], little)
    photo = judged(django_capture_on_commit_callbacks, ["음식"], some)
    for post in (spam, photo):
        Comment.objects.create(post=post, text="여기 떡볶이 맛있어요")
    verdicts_evaluate(posts=[spam, photo])
    assert not verdict(spam, "음식").shown
    assert verdict(photo, "음식").shown
    assert verdict(photo, "음식").explanation["words"][0]["source"] == "comment"


def test_ocr_not_installed_is_reported_on_the_post_and_stored(
    ocr, client, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(TesseractReader, "available", lambda self: False)
    monkeypatch.setattr(TesseractReader, "problem", lambda self: "")
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.UNAVAILABLE
    assert extraction.message == NOT_INSTALLED
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "Text in the image was not read: OCR is not installed (see README)" in page


def test_ocr_turned_off_by_setting_is_reported(client, django_capture_on_commit_callbacks) -> None:
    post = judged(django_capture_on_commit_callbacks, ["음식"], NOTHING)
    extraction = TextExtraction.objects.get(post=post)
    assert extraction.status == TextExtraction.Status.UNAVAILABLE
    page = client.get(reverse("post-detail", kwargs={"post_id": post.pk})).content.decode()
    assert "Text in the image was not read: OCR is turned off (TAGLENS_OCR=false)" in page


def test_text_is_read_once_per_post(ocr, monkeypatch, django_capture_on_commit_callbacks) -> None:
    post = judged(
        django_capture_on_commit_callbacks, ["음식"], NOTHING, image=printed_jpeg(["메뉴"])
    )

    def no_second_read(self, image):  # type: ignore[no-untyped-def]
        raise AssertionError("read twice")

    monkeypatch.setattr(TesseractReader, "read", no_second_read)
    texts_extract(items=[(post, None, {})])
    again = TextExtraction.objects.get(post=post)
    assert again.status == TextExtraction.Status.OK and "메뉴" in again.words
    assert TextExtraction.objects.filter(post=post).count() == 1


# Fine labels roll up


def test_dog_tag_shows_the_dog_and_hides_the_cat_while_animal_shows_both(
    django_capture_on_commit_callbacks,
) -> None:
    dog = judged(
        django_capture_on_commit_callbacks,
        ["강아지", "동물"],
        {**NOTHING, "animal": 0.99, "dog": 0.99},
    )
    cat = judged(django_capture_on_commit_callbacks, ["강아지", "동물"], CAT)
    under_dog = set(posts_relevant_for_hashtag(hashtag=Hashtag.objects.get(name="강아지")).posts)
    under_animal = set(posts_relevant_for_hashtag(hashtag=Hashtag.objects.get(name="동물")).posts)
    assert under_dog == {dog}
    assert under_animal == {dog, cat}
