"""Compare ImageNet backbones on the labelled dev photos: speed and concept accuracy.

Usage: ``python bench/backbones.py [--photos /work/shared/photos] [--model-dir var/models]
[--folds 5] [--rounds 3]``

For each backbone (MobileNetV2, EfficientNet-Lite0; both TFLite, 2 threads):

- **speed**: images/s end to end = ``load_image`` (read + verify + decode) + resize/crop/normalise
  + model + roll-up, in batches of 16 over all dev photos. Backbones are timed in alternating
  rounds and the median round is reported, because the machine is shared.
- **accuracy**, on ONE stratified (by folder) k-fold split shared by all backbones:
  (a) the ImageNet roll-up: per concept, the threshold with the best F1 on the training folds
      (grid 0.01..0.99; not ``mlmodels.training.calibrate``'s precision-target rule, and no
      dog/cat -> animal rule) is applied to the held-out fold; F1 over the pooled held-out
      predictions. Also the in-sample max F1 (optimistic);
  (b) a linear head on the pooled embedding: per concept, L2-regularised logistic regression on
      standardised features (train-fold statistics), decided at p >= 0.5. ``mlmodels.training``
      did not exist when this was written, so a minimal numpy version is in this file.
  Average precision (threshold-free) is reported for both.

Labels: folder -> concepts as ``mlmodels.dataset.FOLDER_LABELS`` (cat -> cat+animal, dog ->
dog+animal, other_animal -> animal, other -> none, the rest -> themselves); menu photos are left
out of the food and beverage evaluation (neither positive nor negative) and are negatives
elsewhere.

Prints a table and writes JSON to ``bench/results/backbones-<date>.json`` (git-ignored). The photos
are read in place, never copied.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from mlmodels.base import ALL_CONCEPTS, Classifier, load_image  # noqa: E402
from mlmodels.dataset import default_photos_dir, load_labelled_folder  # noqa: E402

BATCH = 16
SEED = 20261126
# Folders whose photos are excluded (not negatives) when evaluating a concept: a menu photo often
# shows dishes or drinks, so calling it a food/beverage negative would punish a correct score.
IGNORED: dict[str, frozenset[str]] = {"menu": frozenset({"food", "beverage"})}
# L2 penalty of the logistic head (mean log-loss + LAMBDA/2 |w|^2 on standardised features).
# Fixed a priori, not tuned on this set; 1e-2 keeps 1280-d weights in check with ~640 train photos.
LAMBDA = 1e-2
GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


@dataclass
class BackboneRun:
    name: str
    version: str
    scores: np.ndarray  # (N, n_rollup_concepts), order = rollup concepts sorted
    embeddings: np.ndarray  # (N, D)
    rates: list[float]  # end-to-end images/s per timed round
    predict_rates: list[float]  # the same rounds without read + decode


def make_classifiers(model_dir: Path) -> dict[str, Classifier]:
    from mlmodels.build import build, build_efficientnet_lite0
    from mlmodels.network.efficientnet_lite import EfficientNetLite0RollupClassifier
    from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier

    build(model_dir)  # both no-ops when already built
    build_efficientnet_lite0(model_dir)
    return {
        "MobileNetV2": MobileNetV2RollupClassifier(model_dir, threads=2),
        "EfficientNet-Lite0": EfficientNetLite0RollupClassifier(model_dir, threads=2),
    }


def run_pass(
    classifier: Classifier, paths: Sequence[Path], concepts: Sequence[str]
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """One end-to-end pass; returns (images/s, predict-only images/s, roll-up scores, embeddings).

    predict-only = preprocess + model + roll-up, i.e. without reading and decoding the files.
    """
    scores, embs = [], []
    in_predict = 0.0
    start = time.perf_counter()
    for i in range(0, len(paths), BATCH):
        images = [load_image(p) for p in paths[i : i + BATCH]]
        t0 = time.perf_counter()
        preds = classifier.predict(images)
        in_predict += time.perf_counter() - t0
        for pred in preds:
            scores.append([pred.scores[c] for c in concepts])
            embs.append(pred.embedding)
    elapsed = time.perf_counter() - start
    n = len(paths)
    return n / elapsed, n / in_predict, np.asarray(scores, dtype=np.float64), np.stack(embs)


def stratified_folds(groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Fold index per item; each group (folder) is shuffled and dealt round-robin over k folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(groups), dtype=np.int64)
    offset = 0
    for g in sorted(set(groups)):
        idx = np.array([i for i, x in enumerate(groups) if x == g])
        rng.shuffle(idx)
        # rotate the starting fold per group so fold sizes stay balanced overall
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return fold


def f1_counts(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def average_precision(score: np.ndarray, truth: np.ndarray) -> float:
    order = np.argsort(-score, kind="stable")
    hits = truth[order]
    if not hits.any():
        return 0.0
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(np.sum(precision_at[hits]) / hits.sum())


def best_threshold(score: np.ndarray, truth: np.ndarray) -> float:
    f1s = [f1_counts(score >= t, truth)["f1"] for t in GRID]
    return float(GRID[int(np.argmax(f1s))])


def fit_logistic(x: np.ndarray, y: np.ndarray, lam: float = LAMBDA, iters: int = 400) -> np.ndarray:
    """Binary logistic regression (bias last in the weights), Nesterov-accelerated gradient descent.

    x: (n, d) standardised features; y: (n,) 0/1. Convex objective, step 1/L with
    L = sigma_max(x)^2 / (4n) + lam, so it converges without tuning.
    """
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    lipschitz = np.linalg.norm(xb, 2) ** 2 / (4 * n) + lam
    step = 1.0 / lipschitz
    w = np.zeros(d + 1)
    v = w.copy()
    for t in range(1, iters + 1):
        p = 1.0 / (1.0 + np.exp(-(xb @ v)))
        grad = xb.T @ (p - y) / n
        grad[:-1] += lam * v[:-1]  # bias not penalised
        w_next = v - step * grad
        v = w_next + (t - 1) / (t + 2) * (w_next - w)
        w = w_next
    return w


def head_cv(
    emb: np.ndarray, truth: dict[str, np.ndarray], valid: dict[str, np.ndarray], fold: np.ndarray
) -> dict[str, np.ndarray]:
    """Held-out probabilities per concept from a logistic head trained on the other folds."""
    out = {c: np.zeros(len(emb)) for c in truth}
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        mu = emb[train].mean(axis=0)
        sd = emb[train].std(axis=0) + 1e-6
        xtr, xte = (emb[train] - mu) / sd, (emb[test] - mu) / sd
        for c in truth:
            use = train & valid[c]
            sel = use[train]
            w = fit_logistic(xtr[sel], truth[c][use].astype(np.float64))
            out[c][test] = 1.0 / (1.0 + np.exp(-(xte @ w[:-1] + w[-1])))
    return out


def evaluate(
    run: BackboneRun,
    rollup_concepts: Sequence[str],
    truth: dict[str, np.ndarray],
    valid: dict[str, np.ndarray],
    fold: np.ndarray,
) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    head_probs = head_cv(run.embeddings, truth, valid, fold)
    for c in truth:
        v, y = valid[c], truth[c]
        entry: dict[str, Any] = {"positives": int(np.sum(y & v)), "evaluated": int(np.sum(v))}
        if c in rollup_concepts:
            s = run.scores[:, list(rollup_concepts).index(c)]
            pred = np.zeros(len(s), dtype=bool)
            thresholds = []
            for k in np.unique(fold):
                train, test = (fold != k) & v, (fold == k) & v
                t = best_threshold(s[train], y[train])
                thresholds.append(t)
                pred[test] = s[test] >= t
            entry["rollup_cv"] = f1_counts(pred[v], y[v]) | {"thresholds": thresholds}
            entry["rollup_insample_max_f1"] = max(f1_counts(s[v] >= t, y[v])["f1"] for t in GRID)
            entry["rollup_ap"] = average_precision(s[v], y[v])
        hp = head_probs[c]
        entry["head_cv"] = f1_counts(hp[v] >= 0.5, y[v])
        entry["head_ap"] = average_precision(hp[v], y[v])
        result[c] = entry
    return result


def main(argv: list[str] | None = None) -> int:
    from mlmodels.concepts.rollup import ROLLUP_CONCEPTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=default_photos_dir())
    parser.add_argument("--model-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per backbone")
    args = parser.parse_args(argv)

    paths, labels = load_labelled_folder(args.photos, ALL_CONCEPTS, strict=False)
    folders = [p.parent.name for p in paths]
    positive = {c: labels[:, j] == 1 for j, c in enumerate(ALL_CONCEPTS)}
    concepts = [c for c in ALL_CONCEPTS if positive[c].any()]
    truth = {c: positive[c] for c in concepts}
    valid = {c: np.array([c not in IGNORED.get(f, frozenset()) for f in folders]) for c in concepts}
    fold = stratified_folds(folders, args.folds, SEED)
    rollup_concepts = sorted(ROLLUP_CONCEPTS)
    print(f"{len(paths)} photos, {len(set(folders))} folders, {args.folds} folds, seed {SEED}")

    classifiers = make_classifiers(args.model_dir)
    runs: dict[str, BackboneRun] = {}
    for clf in classifiers.values():  # warm-up: interpreters, caches, page cache
        clf.predict([load_image(paths[0])])
    for rnd in range(args.rounds):
        for name, clf in classifiers.items():
            rate, predict_rate, scores, embs = run_pass(clf, paths, rollup_concepts)
            print(
                f"  round {rnd + 1} {name}: {rate:.1f} img/s end to end, "
                f"{predict_rate:.1f} img/s without decoding"
            )
            if name not in runs:
                runs[name] = BackboneRun(name, clf.version, scores, embs, [], [])
            runs[name].rates.append(rate)
            runs[name].predict_rates.append(predict_rate)

    results: dict[str, dict[str, Any]] = {
        name: {
            "version": run.version,
            "embedding_dim": int(run.embeddings.shape[1]),
            "images_per_s_rounds": run.rates,
            "images_per_s_median": statistics.median(run.rates),
            "predict_only_images_per_s_rounds": run.predict_rates,
            "predict_only_images_per_s_median": statistics.median(run.predict_rates),
            "concepts": evaluate(run, rollup_concepts, truth, valid, fold),
        }
        for name, run in runs.items()
    }

    names = list(results)
    print(
        "\nend to end img/s (median of rounds): "
        + ", ".join(f"{n} {results[n]['images_per_s_median']:.1f}" for n in names)
    )
    print(
        "without read + decode: "
        + ", ".join(f"{n} {results[n]['predict_only_images_per_s_median']:.1f}" for n in names)
    )
    header = (
        f"{'concept':9s} {'pos':>4s} | "
        + " | ".join(f"{n[:12]:>12s} roll-up F1/AP" for n in names)
        + " | "
        + " | ".join(f"{n[:12]:>12s} head F1/AP" for n in names)
    )
    print(header)
    means: dict[str, list[float]] = {}
    for c in concepts:
        cells_r, cells_h = [], []
        for n in names:
            e = results[n]["concepts"][c]
            if "rollup_cv" in e:
                cells_r.append(f"{e['rollup_cv']['f1']:.3f} / {e['rollup_ap']:.3f}".rjust(26))
                means.setdefault(f"{n} rollup", []).append(e["rollup_cv"]["f1"])
                means.setdefault(f"{n} head(rollup concepts)", []).append(e["head_cv"]["f1"])
            else:
                cells_r.append("—".rjust(26))
            cells_h.append(f"{e['head_cv']['f1']:.3f} / {e['head_ap']:.3f}".rjust(23))
            means.setdefault(f"{n} head(all)", []).append(e["head_cv"]["f1"])
        pos = results[names[0]]["concepts"][c]["positives"]
        print(f"{c:9s} {pos:4d} | " + " | ".join(cells_r) + " | " + " | ".join(cells_h))
    summary = {k: float(np.mean(v)) for k, v in means.items()}
    for k, v in summary.items():
        print(f"  mean F1 {k}: {v:.3f}")

    out = {
        "date": dt.date.today().isoformat(),
        "photos": str(args.photos),
        "n_photos": len(paths),
        "folds": args.folds,
        "seed": SEED,
        "batch": BATCH,
        "threads": 2,
        "lambda": LAMBDA,
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "mean_f1": summary,
        "backbones": results,
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"backbones-{out['date']}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
