"""Calibrate per-concept thresholds on the labelled development photos."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mlmodels.dataset import FOLDER_LABELS, IMAGE_SUFFIXES, default_photos_dir
from mlmodels.rollup import CONCEPT_PARENTS, present_concepts
from mlmodels.training.metrics import NEVER, Metrics

# folder -> concepts true for its images: the same table as training
FOLDER_CONCEPTS: dict[str, frozenset[str]] = FOLDER_LABELS
CANDIDATES: tuple[float, ...] = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))  # 0.10 .. 0.90


def labelled_files(root: Path) -> list[tuple[Path, frozenset[str]]]:
    """All images under ``root/<folder>/`` with their true concepts; unknown folders are skipped."""
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name in FOLDER_CONCEPTS):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                out.append((path, FOLDER_CONCEPTS[folder.name]))
    return out


F1_TOLERANCE = 0.01


def metrics(
    scores: Sequence[Mapping[str, float]],
    truths: Sequence[frozenset[str]],
    concept: str,
    threshold: float,
    others: Mapping[str, float] | None = None,
) -> Metrics:
    """Counts for ``concept`` at ``threshold``; ``others`` are the thresholds of the other concepts
    (they matter through the child -> parent rule)."""
    thresholds = {**(others or {}), concept: threshold}
    tp = fp = fn = 0
    for score, truth in zip(scores, truths, strict=True):
        predicted = concept in present_concepts(score, thresholds)
        actual = concept in truth
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    return Metrics(tp, fp, fn)


def choose_threshold(
    scores: Sequence[Mapping[str, float]],
    truths: Sequence[frozenset[str]],
    concept: str,
    others: Mapping[str, float] | None = None,
    candidates: Iterable[float] = CANDIDATES,
) -> tuple[float, Metrics]:
    """Highest threshold whose F1 is within ``F1_TOLERANCE`` of the best, and its counts."""
    table = [(t, metrics(scores, truths, concept, t, others)) for t in candidates]
    best_f1 = max(m.f1 for _, m in table)
    return max(((t, m) for t, m in table if m.f1 >= best_f1 - F1_TOLERANCE), key=lambda tm: tm[0])


def calibration_order(concepts: Iterable[str]) -> list[str]:
    """Children (dog, cat) before their parent (animal), otherwise alphabetical."""
    return sorted(concepts, key=lambda c: (c in set(CONCEPT_PARENTS.values()), c))


def calibrate(
    scores: Sequence[Mapping[str, float]], truths: Sequence[frozenset[str]], concepts: Iterable[str]
) -> dict[str, tuple[float, Metrics]]:
    chosen: dict[str, float] = {c: NEVER for c in concepts}
    result: dict[str, tuple[float, Metrics]] = {}
    for concept in calibration_order(concepts):
        result[concept] = choose_threshold(scores, truths, concept, chosen)
        chosen[concept] = result[concept][0]
    return result


def score_files(
    paths: Sequence[Path], classifier: object, batch_size: int = 16
) -> list[dict[str, float]]:
    from mlmodels.base import load_image

    out: list[dict[str, float]] = []
    for start in range(0, len(paths), batch_size):
        images = [load_image(p) for p in paths[start : start + batch_size]]
        out.extend(pred.scores for pred in classifier.predict(images))  # type: ignore[attr-defined]
    return out


def report(
    scores: Sequence[Mapping[str, float]], truths: Sequence[frozenset[str]], concepts: Iterable[str]
) -> dict[str, float]:
    """Print the per-concept tables and return the chosen thresholds."""
    result = calibrate(scores, truths, concepts)
    chosen = {c: t for c, (t, _) in result.items()}
    for concept in calibration_order(concepts):
        positives = sum(concept in t for t in truths)
        print(f"\n{concept}  (positives {positives} / {len(truths)})")
        print("  thr    P      R      F1     tp  fp  fn")
        for t in CANDIDATES:
            m = metrics(scores, truths, concept, t, chosen)
            mark = "  <- chosen" if t == chosen[concept] else ""
            print(
                f"  {t:.2f}  {m.precision:.3f}  {m.recall:.3f}  {m.f1:.3f}"
                f"  {m.tp:3d} {m.fp:3d} {m.fn:3d}{mark}"
            )
    print("\nsummary (chosen thresholds):")
    for concept in calibration_order(concepts):
        thr, m = result[concept]
        print(f"  {concept:9s} {thr:.2f}  P {m.precision:.3f}  R {m.recall:.3f}  F1 {m.f1:.3f}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    from mlmodels.tf_mobilenet import MobileNetV2RollupClassifier

    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.calibrate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("photos", nargs="?", type=Path, default=default_photos_dir())
    parser.add_argument(
        "--model-dir", type=Path, default=Path(__file__).resolve().parents[1] / "var" / "models"
    )
    parser.add_argument(
        "--preprocess", choices=("resize", "crop"), default=None, help="override preprocessing"
    )
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        parser.error(f"{args.photos} is not a directory")

    from mlmodels.build import build

    build(args.model_dir)  # no-op when already built
    options = {"preprocess": args.preprocess} if args.preprocess else {}
    classifier = MobileNetV2RollupClassifier(args.model_dir, **options)
    files = labelled_files(args.photos)
    print(f"{classifier.version}: scoring {len(files)} images from {args.photos}")
    scores = score_files([p for p, _ in files], classifier)
    chosen = report(scores, [t for _, t in files], classifier.concepts)
    print("\nDEFAULT_THRESHOLDS = {")
    for concept, thr in sorted(chosen.items()):
        print(f'    "{concept}": {thr:.2f},')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
