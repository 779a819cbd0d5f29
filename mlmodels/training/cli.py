"""``python -m mlmodels.training PHOTOS --out var/reports/<name>``: train heads, write a report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from mlmodels.base import ALL_CONCEPTS
from mlmodels.build import build
from mlmodels.dataset import embed_paths, folder_names, load_labelled_folder
from mlmodels.rollup import ROLLUP_CONCEPTS
from mlmodels.tf_mobilenet import MobileNetV2RollupClassifier
from mlmodels.training.fit import fit_and_evaluate
from mlmodels.training.metrics import PRECISION_TARGET
from mlmodels.training.report import format_table, targets_missed, write_report
from mlmodels.training.solver import L2_GRID


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.training",
        description=__doc__,
    )
    parser.add_argument("photos", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="report folder (under var/)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision-target", type=float, default=PRECISION_TARGET)
    parser.add_argument("--model-dir", type=Path, default=repo / "var" / "models")
    parser.add_argument("--cache-dir", type=Path, default=repo / "var" / "cache")
    parser.add_argument(
        "--signals",
        choices=("imagenet", "none"),
        default="imagenet",
        help="extra head features: the roll-up scores (default) or the embedding only",
    )
    parser.add_argument(
        "--hflip", action="store_true", help="average embeddings with the mirrored photo's"
    )
    parser.add_argument(
        "--l2", type=float, nargs="+", default=list(L2_GRID), help="l2 values for the inner CV"
    )
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        parser.error(f"{args.photos} is not a directory")

    build(args.model_dir)  # no-op when already built
    classifier = MobileNetV2RollupClassifier(args.model_dir)
    concepts = ALL_CONCEPTS
    paths, labels = load_labelled_folder(args.photos, concepts)
    t0 = time.perf_counter()
    cache = args.cache_dir / f"embeddings-{'hflip' if args.hflip else 'plain'}.npz"
    emb = embed_paths(paths, classifier, cache, hflip=args.hflip)
    embed_seconds = time.perf_counter() - t0
    labels, groups = labels[emb.kept], folder_names(paths)[emb.kept]
    print(f"{classifier.version}: {len(emb.kept)} photos embedded in {embed_seconds:.1f} s")
    signal_keys = (
        [f"imagenet:{c}" for c in sorted(ROLLUP_CONCEPTS)] if args.signals == "imagenet" else []
    )
    bar = tqdm(total=args.folds, desc="cross-validation", unit="fold")

    def progress(done: int, total: int, what: str) -> None:
        bar.update(done - bar.n)

    t1 = time.perf_counter()
    heads, cv = fit_and_evaluate(
        emb.embeddings,
        emb.signals,
        labels,
        concepts,
        groups=groups,
        backbone=classifier.version,
        signal_keys=signal_keys,
        folds=args.folds,
        seed=args.seed,
        precision_target=args.precision_target,
        l2_grid=args.l2,
        metadata={"hflip": bool(args.hflip), "photos": len(emb.kept)},
        progress=progress,
    )
    bar.close()
    train_seconds = time.perf_counter() - t1
    print(format_table(cv))
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "backbone": classifier.version,
        "photos": len(emb.kept),
        "signal_keys": signal_keys,
        "hflip": bool(args.hflip),
        "l2_grid": list(args.l2),
        "embed_seconds": round(embed_seconds, 1),
        "cv_and_train_seconds": round(train_seconds, 1),
        "heads_digest": heads.digest(),
    }
    write_report(args.out, cv, meta)
    heads.save(args.out / "heads.npz")
    print(f"\nCV + training {train_seconds:.1f} s; report and heads.npz in {args.out}")
    missed = targets_missed(cv)
    for reason in missed:
        print(f"MISS {reason}")
    return 0
