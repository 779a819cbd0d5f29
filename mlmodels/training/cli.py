"""``python -m mlmodels.training PHOTOS --out var/reports/<name>``: train heads, write a report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from mlmodels.base import ALL_CONCEPTS, SignalSource
from mlmodels.build import build
from mlmodels.concepts.rollup import ROLLUP_CONCEPTS
from mlmodels.dataset import (
    UnknownFolderError,
    embed_paths,
    folder_names,
    load_labelled_folder,
    people_in_scene,
    photo_sources,
    source_key,
)
from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier
from mlmodels.people.lite import PeopleSignalsLite
from mlmodels.people.signals import HEAD_SIGNAL_KEYS
from mlmodels.training.checks import checks_missed, concept_checks
from mlmodels.training.fit import fit_and_evaluate, floors_of
from mlmodels.training.folds import TooFewGroupsError, group_folds
from mlmodels.training.metrics import PRECISION_TARGET
from mlmodels.training.report import format_table, targets_missed, write_report
from mlmodels.training.solver import BOOST_GRID, L2_GRID


def fold_count(value: str) -> int:
    """``--folds``: cross-validation holds one fold out against the rest, so 2 at least."""
    folds = int(value)
    if folds < 2:
        raise argparse.ArgumentTypeError(f"{value} folds: cross-validation needs 2 at least")
    return folds


def precision_target(value: str) -> float:
    """``--precision-target``: a precision, above 0 and at most 1."""
    target = float(value)
    if not 0.0 < target <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a precision (above 0, at most 1)")
    return target


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.training",
        description=__doc__,
    )
    parser.add_argument("photos", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="report folder (under var/)")
    parser.add_argument("--folds", type=fold_count, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision-target", type=precision_target, default=PRECISION_TARGET)
    parser.add_argument("--model-dir", type=Path, default=repo / "var" / "models")
    parser.add_argument("--cache-dir", type=Path, default=repo / "var" / "cache")
    parser.add_argument(
        "--signals",
        choices=("imagenet", "none"),
        default="imagenet",
        help="extra head features: the roll-up scores (default) or the embedding only",
    )
    parser.add_argument(
        "--people",
        choices=("lite", "none"),
        default="lite",
        help="people signals (TFLite MoveNet + BlazeFace + ages) as head features and adult/child "
        "sources, or none",
    )
    parser.add_argument(
        "--hflip", action="store_true", help="average embeddings with the mirrored photo's"
    )
    parser.add_argument(
        "--l2", type=float, nargs="+", default=list(L2_GRID), help="l2 values for the inner CV"
    )
    parser.add_argument(
        "--boost",
        type=float,
        nargs="+",
        default=list(BOOST_GRID),
        help="signal boosts for the inner CV (1 = penalised like the embedding)",
    )
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        parser.error(f"{args.photos} is not a directory")

    concepts = ALL_CONCEPTS
    try:
        paths, labels = load_labelled_folder(args.photos, concepts)
    except UnknownFolderError as exc:
        parser.error(str(exc))
    try:  # before embedding: too few sources for the folds fails in seconds, not minutes
        group_folds(photo_sources(args.photos, paths), labels, args.folds, args.seed)
    except TooFewGroupsError as exc:
        parser.error(str(exc))
    build(args.model_dir)  # no-op when already built
    classifier = MobileNetV2RollupClassifier(args.model_dir)
    t0 = time.perf_counter()
    sources: list[SignalSource] = []
    if args.people == "lite":
        sources.append(PeopleSignalsLite(args.model_dir / "people-lite"))
    # One file per feature set; each is recomputed when a model's version changes.
    name = ("hflip" if args.hflip else "plain") + ("-people-lite" if sources else "")
    emb = embed_paths(
        paths, classifier, args.cache_dir / f"embeddings-{name}.npz", sources, hflip=args.hflip
    )
    embed_seconds = time.perf_counter() - t0
    labels = labels[emb.kept]
    folders = folder_names(paths)[emb.kept]
    groups = photo_sources(args.photos, paths)[emb.kept]
    print(
        f"{classifier.version}: {len(emb.kept)} photos from {len(set(groups))} sources "
        f"embedded in {embed_seconds:.1f} s"
    )
    signal_keys = (
        [f"imagenet:{c}" for c in sorted(ROLLUP_CONCEPTS)] if args.signals == "imagenet" else []
    ) + (list(HEAD_SIGNAL_KEYS) if sources else [])
    bar = tqdm(total=args.folds, desc="cross-validation", unit="fold")

    def progress(done: int, total: int, what: str) -> None:
        bar.update(done - bar.n)

    t1 = time.perf_counter()
    try:
        heads, cv = fit_and_evaluate(
            emb.embeddings,
            emb.signals,
            labels,
            concepts,
            groups=groups,
            folders=folders,
            backbone=classifier.version,
            signal_keys=signal_keys,
            folds=args.folds,
            seed=args.seed,
            precision_target=args.precision_target,
            l2_grid=args.l2,
            boost_grid=args.boost,
            metadata={"hflip": bool(args.hflip), "photos": len(emb.kept)},
            direct_floors=floors_of(sources),
            progress=progress,
        )
    except TooFewGroupsError as exc:
        parser.error(str(exc))
    finally:
        bar.close()
    train_seconds = time.perf_counter() - t1
    checks = concept_checks(cv, people_in_scene(folders, groups))
    print(format_table(cv, checks))
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "backbone": classifier.version,
        "signal_sources": [source_key(s) for s in sources],
        "photos": len(emb.kept),
        "signal_keys": signal_keys,
        "hflip": bool(args.hflip),
        "l2_grid": list(args.l2),
        "boost_grid": list(args.boost),
        "embed_seconds": round(embed_seconds, 1),
        "cv_and_train_seconds": round(train_seconds, 1),
        "heads_digest": heads.digest(),
    }
    write_report(args.out, cv, meta, checks)
    heads.save(args.out / "heads.npz")
    print(f"\nCV + training {train_seconds:.1f} s; report and heads.npz in {args.out}")
    for reason in targets_missed(cv) + checks_missed(checks, ()):
        print(f"MISS {reason}")
    return 0
