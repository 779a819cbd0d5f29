"""Cross-validation folds: grouped (a source on one side only) for the heads, stratified for the
roll-up's threshold check (mlmodels.training.calibrate)."""

from __future__ import annotations

import numpy as np


class TooFewGroupsError(ValueError):
    """Fewer groups than folds: some fold would have nothing to hold out."""


def group_folds(groups: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold per row, every group in one fold. Groups are dealt largest first, each to the fold
    that keeps the rows and every concept's positives closest to an even spread (the fold with
    fewer rows on a tie); ``seed`` only orders groups of equal size."""
    groups = np.asarray(groups)
    names, inverse = np.unique(groups, return_inverse=True)
    if folds < 2 or len(names) < folds:
        raise TooFewGroupsError(
            f"{len(names)} groups cannot fill {folds} folds (2 at least): each source of photos "
            "and each overridden post is held out whole, so there must be as many as folds"
        )
    y = np.asarray(labels).reshape(len(groups), -1)
    counts = np.zeros((len(names), y.shape[1] + 1))
    np.add.at(counts, inverse, np.c_[(y == 1).astype(np.float64), np.ones(len(groups))])
    totals = np.maximum(counts.sum(axis=0), 1.0)
    shuffled = np.random.default_rng(seed).permutation(len(names))
    order = shuffled[np.argsort(-counts[shuffled, -1], kind="stable")]
    per_fold = np.zeros((folds, counts.shape[1]))
    fold_of_group = np.empty(len(names), dtype=np.int64)
    for g in order:
        trial = per_fold[None, :, :] + np.eye(folds)[:, :, None] * counts[g]
        spread = (trial / totals).std(axis=1).mean(axis=1)
        k = int(np.lexsort((per_fold[:, -1], np.round(spread, 12)))[0])
        per_fold[k] += counts[g]
        fold_of_group[g] = k
    out: np.ndarray = fold_of_group[inverse]
    return out


def stratified_folds(strata: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold per row, strata dealt out with a running offset so small ones spread over folds."""
    rng = np.random.default_rng(seed)
    out = np.empty(len(strata), dtype=np.int64)
    offset = 0
    for stratum in sorted(set(strata.tolist())):
        idx = np.flatnonzero(strata == stratum)
        idx = idx[rng.permutation(idx.size)]
        out[idx] = (np.arange(idx.size) + offset) % folds
        offset += idx.size
    return out
