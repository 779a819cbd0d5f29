"""Training inside the product on a small real-photo subset (the real backbone, no people)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from mlmodels.base import clear_classifier_cache
from moderation.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.model, pytest.mark.photos]

FOLDERS = ("food", "beverage", "flower", "sea", "gym", "mountain", "cat", "other")
PER_FOLDER = 14


@pytest.fixture
def small_photo_set(photos_dir: Path, tmp_path: Path) -> Path:
    """Links to a fixed sample of the dev photos (nothing copied)."""
    root = tmp_path / "photos"
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True)
        for path in sorted((photos_dir / folder).glob("*.jpg"))[:PER_FOLDER]:
            os.symlink(path, root / folder / path.name)
    return root


def test_training_registers_a_version_that_beats_the_roll_up_on_its_cv(
    settings, built_model_dir: Path, small_photo_set: Path, tmp_path: Path
) -> None:
    settings.TAGLENS_CLASSIFIER = "mlmodels.network.tf_mobilenet.MobileNetV2RollupClassifier"
    settings.TAGLENS_MODEL_DIR = built_model_dir
    settings.VAR_DIR = tmp_path / "var"
    clear_classifier_cache()

    call_command("train_concepts", photos=small_photo_set, no_overrides=True, folds=3)

    version = ModelVersion.objects.get(kind=ModelVersion.Kind.HEADS)
    assert version.is_active is False  # registering never switches by itself
    concepts = version.metrics["concepts"]
    rollup_concepts = [c for c in ("food", "beverage", "flower", "sea", "gym", "mountain")]
    selected = sum(concepts[c]["selected"]["f1"] for c in rollup_concepts) / 6
    rollup = sum(concepts[c]["imagenet"]["f1"] for c in rollup_concepts) / 6
    assert selected > rollup, (selected, rollup)
    assert set(version.thresholds) >= set(rollup_concepts)
    assert (Path(version.training["report_dir"]) / "chart.png").is_file()


def test_evaluate_concepts_prints_a_table_and_writes_a_report(
    settings, built_model_dir: Path, small_photo_set: Path, tmp_path: Path, capsys
) -> None:
    settings.TAGLENS_CLASSIFIER = "mlmodels.network.tf_mobilenet.MobileNetV2RollupClassifier"
    settings.TAGLENS_MODEL_DIR = built_model_dir
    settings.VAR_DIR = tmp_path / "var"
    clear_classifier_cache()
    out = tmp_path / "report"

    call_command("evaluate_concepts", str(small_photo_set), out=out, folds=3, seeds=[0, 1])

    printed = capsys.readouterr().out
    assert "macro F1" in printed and "food" in printed
    assert (out / "report.json").is_file() and (out / "chart.png").is_file()
    assert (out / "errors.csv").is_file() and "wrong photos" in printed
    assert (out / "seed-1" / "report.json").is_file()
    assert json.loads((out / "seed-1" / "report.json").read_text())["method"]["seed"] == 1
    deals = json.loads((out / "deals.json").read_text())
    assert deals["seeds"] == [0, 1] and len(deals["hashtags"]["카페"]) == 2
    assert "over deals of the folds" in printed
