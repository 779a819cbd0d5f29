"""Calibrate the roll-up's per-concept thresholds on the labelled development photos."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlmodels.build import build, build_efficientnet_lite0
from mlmodels.concepts.rollup import CONCEPT_PARENTS, DEFAULT_THRESHOLDS, present_concepts
from mlmodels.dataset import (
    UnknownFolderError,
    default_photos_dir,
    embed_paths,
    folder_names,
    load_labelled_folder,
)
from mlmodels.network.pair import MobileNetV2Lite0Classifier
from mlmodels.network.tf_mobilenet import SIGNAL_PREFIX, MobileNetV2RollupClassifier
from mlmodels.training.folds import stratified_folds
from mlmodels.training.metrics import PRECISION_TARGET, Metrics, calibrate_threshold

DECIMALS = 4  # thresholds are cuts between scores; 2 decimals would move some across a photo


def calibration_order(concepts: Iterable[str]) -> list[str]:
    """Children (dog, cat) before their parent (animal), otherwise alphabetical."""
    return sorted(concepts, key=lambda c: (c in set(CONCEPT_PARENTS.values()), c))


def shown_scores(
    scores: Sequence[Mapping[str, float]], concept: str, thresholds: Mapping[str, float]
) -> np.ndarray:
    """``concept``'s scores, 1.0 where a child concept with a threshold is present: there
    ``present_concepts`` shows the parent whatever its own score."""
    children = [c for c, p in CONCEPT_PARENTS.items() if p == concept and c in thresholds]
    return np.array(
        [1.0 if any(s[c] >= thresholds[c] for c in children) else s[concept] for s in scores]
    )


def calibrate(
    scores: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    precision_target: float = PRECISION_TARGET,
) -> dict[str, tuple[float, str]]:
    """Per concept (threshold, rule) by the training rule, ``labels`` (N, C) int8 over
    ``concepts``; children are chosen first so a parent's cut sees what the roll-up shows."""
    chosen: dict[str, float] = {}
    result: dict[str, tuple[float, str]] = {}
    for concept in calibration_order(concepts):
        y = labels[:, list(concepts).index(concept)]
        thr, rule = calibrate_threshold(shown_scores(scores, concept, chosen), y, precision_target)
        result[concept] = (round(thr, DECIMALS), rule)
        chosen[concept] = result[concept][0]
    return result


def evaluate(
    scores: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    thresholds: Mapping[str, float],
) -> dict[str, Metrics]:
    """Counts per concept of what ``present_concepts`` shows at ``thresholds``."""
    present = [present_concepts(s, thresholds) for s in scores]
    return {
        c: Metrics.of(np.array([c in p for p in present]), labels[:, j])
        for j, c in enumerate(concepts)
    }


@dataclass(frozen=True)
class ScoredPhotos:
    scores: Sequence[Mapping[str, float]]
    labels: np.ndarray  # (N, C) int8 over ``concepts``
    concepts: Sequence[str]
    strata: np.ndarray  # each photo's folder, for stratified folds


def held_out(
    photos: ScoredPhotos,
    precision_target: float = PRECISION_TARGET,
    folds: int = 5,
    repeats: int = 5,
) -> dict[str, Metrics]:
    """Counts on photos the thresholds were not chosen on: chosen on k-1 stratified folds,
    applied to the k-th, summed over all folds of ``repeats`` splits."""
    scores, labels, concepts = photos.scores, photos.labels, photos.concepts
    totals = {c: np.zeros(3, dtype=np.int64) for c in concepts}
    for seed in range(repeats):
        fold = stratified_folds(photos.strata, folds, seed)
        for k in range(folds):
            train, test = np.flatnonzero(fold != k).tolist(), np.flatnonzero(fold == k).tolist()
            result = calibrate(
                [scores[i] for i in train], labels[train], concepts, precision_target
            )
            chosen = {c: t for c, (t, _) in result.items()}
            counts = evaluate([scores[i] for i in test], labels[test], concepts, chosen)
            for c, m in counts.items():
                totals[c] += (m.tp, m.fp, m.fn)
    return {c: Metrics(*map(int, t)) for c, t in totals.items()}


def _cells(m: Metrics) -> str:
    return f"{m.precision:.3f} {m.recall:.3f} {m.f1:.3f}"


def report(
    photos: ScoredPhotos,
    precision_target: float = PRECISION_TARGET,
    current: Mapping[str, float] = DEFAULT_THRESHOLDS,
) -> dict[str, float]:
    """Print the current and the new thresholds' figures; return the new thresholds."""
    scores, labels, concepts = photos.scores, photos.labels, photos.concepts
    result = calibrate(scores, labels, concepts, precision_target)
    chosen = {c: t for c, (t, _) in result.items()}
    figures = {
        "current": evaluate(scores, labels, concepts, current),
        "new": evaluate(scores, labels, concepts, chosen),
        "held out": held_out(photos, precision_target),
    }
    print(f"\nprecision target {precision_target:.2f}; P R F1 per column")
    print(
        "concept   pos  | current thr  P     R     F1    | new thr     P     R     F1    | held out"
    )
    for c in calibration_order(concepts):
        b, a, h = (f[c] for f in figures.values())
        print(
            f"{c:9s} {b.support:4d} | {current.get(c, float('nan')):.4f}  {_cells(b)} | "
            f"{chosen[c]:.4f}  {_cells(a)} | {_cells(h)}  ({result[c][1]})"
        )
    for name, f in figures.items():
        means = [
            np.mean([getattr(f[c], a) for c in concepts]) for a in ("precision", "recall", "f1")
        ]
        print(f"{name:8s} macro P {means[0]:.3f} R {means[1]:.3f} F1 {means[2]:.3f}")
    print("current and new are in-sample (new was chosen on these photos); held out: 5 x 5-fold")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.training.calibrate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("photos", nargs="?", type=Path, default=default_photos_dir())
    parser.add_argument(
        "--model-dir", type=Path, default=Path(__file__).resolve().parents[2] / "var" / "models"
    )
    parser.add_argument(
        "--preprocess", choices=("resize", "crop"), default=None, help="override preprocessing"
    )
    parser.add_argument("--precision-target", type=float, default=PRECISION_TARGET)
    parser.add_argument(
        "--pair",
        action="store_true",
        help="the two networks' averaged scores (mlmodels.network.pair), not MobileNetV2's",
    )
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        parser.error(f"{args.photos} is not a directory")

    build(args.model_dir)  # no-op when already built
    if args.pair:
        build_efficientnet_lite0(args.model_dir)
    options = {"preprocess": args.preprocess} if args.preprocess else {}
    kind = MobileNetV2Lite0Classifier if args.pair else MobileNetV2RollupClassifier
    classifier = kind(args.model_dir, **options)
    concepts = sorted(classifier.concepts)
    try:
        paths, labels = load_labelled_folder(args.photos, concepts)
    except UnknownFolderError as exc:
        parser.error(str(exc))
    print(f"{classifier.version}: scoring {len(paths)} images from {args.photos}")
    emb = embed_paths(paths, classifier, cache_file=None)
    scores = [{c: s[SIGNAL_PREFIX + c] for c in concepts} for s in emb.signals]
    strata = folder_names(paths)[emb.kept]
    photos = ScoredPhotos(scores, labels[emb.kept], concepts, strata)
    chosen = report(photos, args.precision_target, classifier.thresholds)
    print(f"\n{'AVERAGED' if args.pair else 'DEFAULT'}_THRESHOLDS = {{")
    for concept, thr in sorted(chosen.items()):
        print(f'    "{concept}": {thr},')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
