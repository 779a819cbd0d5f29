"""Roll-up quality on a sample of the internal dev photos (skipped where they are not available)."""

from __future__ import annotations

from pathlib import Path

from mlmodels.base import load_image
from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS, present_concepts
from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier

SAMPLE = 24  # images per folder, evenly spread; keeps the test at a few seconds

# folder -> (concept that should be present, minimum share of the sample)
EXPECTED = {
    "cat": ("cat", 0.85),
    "dog": ("dog", 0.85),
    "other_animal": ("animal", 0.85),
    "food": ("food", 0.8),
    "beverage": ("beverage", 0.75),
    "mountain": ("mountain", 0.8),
    "sea": ("sea", 0.75),
    "gym": ("gym", 0.7),
    "flower": ("flower", 0.35),  # few flower classes in ImageNet (recall 0.61 at precision 0.90)
}


def _sample(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    step = max(1, len(files) // SAMPLE)
    return files[::step][:SAMPLE]


def _present(classifier: MobileNetV2RollupClassifier, paths: list[Path]) -> list[list[str]]:
    preds = classifier.predict([load_image(p) for p in paths])
    return [present_concepts(p.scores, DEFAULT_THRESHOLDS) for p in preds]


def test_concept_folders_are_mostly_tagged(
    photos_dir: Path, classifier: MobileNetV2RollupClassifier
) -> None:
    failures = []
    for folder, (concept, minimum) in EXPECTED.items():
        paths = _sample(photos_dir / folder)
        if not paths:
            continue
        share = sum(concept in present for present in _present(classifier, paths)) / len(paths)
        if share < minimum:
            failures.append(f"{folder}: {concept} on {share:.0%} < {minimum:.0%}")
    assert not failures, failures


def test_neutral_photos_are_rarely_tagged(
    photos_dir: Path, classifier: MobileNetV2RollupClassifier
) -> None:
    paths = _sample(photos_dir / "other") + _sample(photos_dir / "menu")
    tagged = sum(bool(present) for present in _present(classifier, paths))
    assert tagged <= 0.15 * len(paths), f"{tagged}/{len(paths)} neutral photos got a concept"
    cats = _present(classifier, _sample(photos_dir / "cat"))
    assert sum("dog" in p or "food" in p for p in cats) <= 2
