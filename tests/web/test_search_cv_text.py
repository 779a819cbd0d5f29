"""The cross-validation weighs text read in a photo as an upload's: words through the stored
keyword mappings (the food lexicon of migration 0018), the gate before Tesseract, a cache."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from mlmodels.text.ocr import TesseractReader
from mlmodels.text.textlike import MENU_SIGNAL, TEXT_SIGNAL
from mlmodels.training.crossval import cross_validate
from moderation.ingest.search_cv import (
    MISSED,
    SHOWN_WRONGLY,
    decisions_with_text,
    hashtag_results,
    menu_check,
)
from moderation.ingest.text import MENU_WORD
from moderation.ingest.training import Evaluation
from moderation.ingest.training_text import photo_words
from moderation.rules.starter import CONCEPTS
from tests.web.test_text import ocr, printed_jpeg

pytestmark = pytest.mark.django_db
__all__ = ["ocr"]  # the fixture, imported for these tests

KEYS = tuple(key for key, *_ in CONCEPTS)
FOOD = KEYS.index("food")


def _cv(n: int = 60):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    labels = (rng.uniform(size=(n, len(KEYS))) < 0.3).astype(np.int8)
    labels[:4, FOOD] = -1  # menus: food unknown, as the development set labels them
    folders = np.array(["menu"] * 4 + ["other"] * (n - 4))
    return cross_validate(
        rng.normal(size=(n, 6)), [{}] * n, labels, KEYS,
        groups=np.array([f"repo-{i % 6}" for i in range(n)]), folders=folders, folds=3,
        inner_folds=2, l2_grid=(1.0,),
    )  # fmt: skip


def test_words_read_lift_the_concept_they_are_evidence_for() -> None:
    cv = _cv()
    cv.decisions[:4, FOOD] = False
    words = [["김치찌개"], [MENU_WORD], ["hello"], ["카페"]] + [[]] * (len(cv.decisions) - 4)

    read = decisions_with_text(cv, words)

    # A lexicon dish and the menu word are food evidence; a stray word is none, and a word of
    # #카페 (food or beverage) is no evidence for one concept.
    assert read[:4, FOOD].tolist() == [True, True, False, False]
    assert (read[4:] == cv.decisions[4:]).all()
    image_only, with_text = menu_check(cv, read)
    assert (image_only.hits, image_only.n) == (0, 4)
    assert (with_text.hits, with_text.n, with_text.target) == (2, 4, 0.9)
    assert with_text.passed is False


def test_the_evaluation_reports_search_with_and_without_the_text() -> None:
    cv = _cv()
    words = [["bánh mì"] if i % 2 else [] for i in range(len(cv.decisions))]
    alone, read = Evaluation.of(cv, None), Evaluation.of(cv, words)

    assert alone.hashtags == hashtag_results(cv)
    assert read.hashtags == hashtag_results(cv, decisions_with_text(cv, words))

    def shown(evaluation: Evaluation) -> int:
        food = next(h for h in evaluation.hashtags if h.hashtag == "음식").metrics
        return food.tp + food.fp

    assert shown(read) > shown(alone)  # the dish word lifts food where the image missed it
    assert [c.name for c in alone.checks if "with their text" in c.name] == [
        "menu photos shown under #음식 with their text (not read: no OCR)"
    ]


def test_photos_are_read_behind_the_gate_once(ocr, tmp_path: Path, monkeypatch) -> None:
    menu, plain = tmp_path / "menu.jpg", tmp_path / "plain.jpg"
    menu.write_bytes(printed_jpeg(["김치찌개 9,000원", "된장찌개 8,000원", "비빔밥 9,500원"]))
    plain.write_bytes(printed_jpeg(["떡볶이 5,000원"]))
    signals = [{TEXT_SIGNAL: 0.9, MENU_SIGNAL: 0.2}, {TEXT_SIGNAL: 0.01, MENU_SIGNAL: 0.0}]
    cache = tmp_path / "cache" / "text.json"

    words = photo_words([menu, plain], signals, cache)

    assert words is not None
    assert "김치찌개" in words[0] and MENU_WORD in words[0]  # three prices: a menu
    assert words[1] == []  # the gate was shut: never read

    def no_read(self, image):  # type: ignore[no-untyped-def]
        raise AssertionError("read again despite the cache")

    monkeypatch.setattr(TesseractReader, "read", no_read)
    assert photo_words([menu, plain], signals, cache) == words


def test_no_words_without_ocr(settings, tmp_path: Path) -> None:
    settings.TAGLENS_OCR = False
    assert photo_words([tmp_path / "x.jpg"], [{TEXT_SIGNAL: 0.9}], tmp_path / "c.json") is None


def test_the_evaluation_names_each_hashtags_wrong_photos(tmp_path: Path) -> None:
    cv = _cv()
    files = [f"{folder}/photo-{i}.jpg" for i, folder in enumerate(cv.folders)]
    cv.labels[5, FOOD], cv.decisions[5, FOOD] = 0, True  # shown under #음식, not food
    cv.labels[6, FOOD], cv.decisions[6, FOOD] = 1, False  # food, missed

    evaluation = Evaluation.of(cv, None, files)

    for result in evaluation.hashtags:
        mine = [e for e in evaluation.errors if e.hashtag == result.hashtag]
        assert sum(e.kind == SHOWN_WRONGLY for e in mine) == result.metrics.fp
        assert sum(e.kind == MISSED for e in mine) == result.metrics.fn
    food = {(e.file, e.kind) for e in evaluation.errors if e.hashtag == "음식"}
    assert {("other/photo-5.jpg", SHOWN_WRONGLY), ("other/photo-6.jpg", MISSED)} <= food
    assert Evaluation.of(cv, None).errors == []  # without names nothing is listed

    evaluation.write(tmp_path, {})
    with (tmp_path / "errors.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(evaluation.errors)
    planted = next(r for r in rows if r["file"] == "other/photo-5.jpg" and r["hashtag"] == "음식")
    assert planted["kind"] == SHOWN_WRONGLY
    assert "food" in planted["decided"].split(";")
    assert "food" not in planted["labelled"].split(";")
