"""Train concept heads on stored embeddings and measure them honestly with nested cross-validation.

Usage: ``python -m mlmodels.training /work/shared/photos --out var/reports/<name>``

* Per concept an L2-regularised, class-balanced logistic regression (numpy, Newton's method,
  deterministic). Labels are 1/0/-1; -1 ("ignore", e.g. menus for food) rows carry no weight.
* Cross-validation is stratified by folder. Within each outer training split an inner CV gives
  out-of-fold scores on which l2, the threshold and the source (head or ImageNet roll-up) are
  chosen; the outer held-out fold only measures. Calibrating on the same out-of-fold scores that
  are then measured would flatter every number.
* The final heads are trained on all photos; their thresholds and sources are chosen on the outer
  out-of-fold scores.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # Before numpy loads: multi-threaded OpenBLAS thrashes when the 2 cores are shared (measured:
    # an SVD of 640 x 1289 took 6-19 s with 2 threads under load, 0.37 s with one).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlmodels.heads import (
    SOURCE_HEAD,
    SOURCE_IMAGENET,
    ConceptHeads,
    imagenet_key,
    raw_features,
    sigmoid,
    signal_matrix,
)

# l2 strengths tried by the inner CV (on standardised features, loss averaged over photos).
L2_GRID: tuple[float, ...] = (0.01, 0.1, 1.0)
NEVER = 2.0  # a threshold no score in 0..1 reaches (concept without positives)
TARGET_F1 = 0.90
TARGET_F1_PEOPLE = 0.85  # adult, child and adult-vs-child
PEOPLE = ("adult", "child")

# progress(done, total, what)
Progress = Callable[[int, int, str], None]


# --------------------------------------------------------------------------- logistic regression


@dataclass(frozen=True)
class Basis:
    """Thin SVD of a standardised training matrix X = U S Vt.

    With an L2 penalty the optimal weights lie in X's row space (the gradient's data term is
    X^T r), so ``w = V z`` and the problem can be solved exactly in ``rank <= N`` coordinates
    ``Z = U S`` instead of F: a 1289-d problem on ~600 photos becomes ~600-d, and since Z's columns
    are orthogonal the Hessian is close to diagonal there (fast conjugate gradients). One
    decomposition serves all concepts and l2 values.
    """

    z: np.ndarray  # (N, r) = U S
    v: np.ndarray  # (F, r)

    @classmethod
    def of(cls, x: np.ndarray) -> Basis:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[0] < x.shape[1]:
            # Eigen-decomposition of the N x N Gram matrix: ~3x cheaper than an SVD when N < F.
            eig, u = np.linalg.eigh(x @ x.T)
            eig, u = eig[::-1], u[:, ::-1]
            keep = eig > max(float(eig[0]), 0.0) * 1e-12 if eig.size else eig > 0
            s, u = np.sqrt(eig[keep]), u[:, keep]
            return cls(z=u * s, v=(x.T @ u) / s)
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        keep = s > s[0] * 1e-6 if s.size else s > 0
        return cls(z=u[:, keep] * s[keep], v=vt[keep].T)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Balanced weights: positives and negatives each weigh half; ignored (-1) rows weigh 0.
    Works on one label column (N,) or many (N, C), column by column."""
    y2 = y.reshape(len(y), -1)
    n_pos, n_neg = (y2 == 1).sum(axis=0), (y2 == 0).sum(axis=0)
    n = n_pos + n_neg
    both = (n_pos > 0) & (n_neg > 0)
    w_pos = np.where(both, n / (2 * np.maximum(n_pos, 1)), 0.0)
    w_neg = np.where(both, n / (2 * np.maximum(n_neg, 1)), 0.0)
    w = np.where(y2 == 1, w_pos, np.where(y2 == 0, w_neg, 0.0))
    return w.reshape(y.shape)


def _cg(
    matvec: Callable[[np.ndarray], np.ndarray],
    rhs: np.ndarray,
    precond: np.ndarray,
    *,
    rtol: float,
    max_iter: int,
) -> np.ndarray:
    """Preconditioned conjugate gradients for many independent SPD systems at once (one per
    column of ``rhs``; ``matvec`` applies every column's own matrix)."""
    sol = np.zeros_like(rhs)
    res = rhs.copy()
    zres = res / precond
    direction = zres.copy()
    rz = (res * zres).sum(axis=0)
    goal = rtol * np.linalg.norm(rhs, axis=0)
    for _ in range(max_iter):
        if np.all(np.linalg.norm(res, axis=0) <= goal):
            break
        hd = matvec(direction)
        curv = (direction * hd).sum(axis=0)
        alpha = np.divide(rz, curv, out=np.zeros_like(rz), where=curv > 0)
        sol += alpha * direction
        res -= alpha * hd
        zres = res / precond
        rz_new = (res * zres).sum(axis=0)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        direction = zres + beta * direction
        rz = rz_new
    return sol


def fit_logistic_many(
    x: np.ndarray,
    y: np.ndarray,
    l2: Sequence[float] | np.ndarray,
    *,
    basis: Basis | None = None,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent class-balanced logistic regressions sharing the features ``x`` (N, F): column
    k of ``y`` (N, K) in {1, 0, -1} with penalty ``l2[k]``. Returns weights (F, K) and biases (K,).

    Each minimises ``weighted mean log-loss + l2/2 |w|^2`` (bias unpenalised) by truncated Newton
    (preconditioned CG for the steps, backtracking line search) in the row-space basis, all columns
    at once so every step is a few matrix products. Deterministic. Rows labelled -1 weigh nothing.
    A column with only one class gets zero weights and a bias of -/+10 (always no / always yes).
    """
    y = np.asarray(y).reshape(len(y), -1)
    n_cols = y.shape[1]
    if basis is None:
        basis = Basis.of(x)
    a = np.hstack([basis.z, np.ones((basis.z.shape[0], 1))])
    c = class_weights(y)
    t = (y == 1).astype(np.float64)
    n = np.maximum(c.sum(axis=0), 1.0)
    trainable = c.sum(axis=0) > 0
    penalty = np.repeat(np.asarray(l2, dtype=np.float64).reshape(1, -1), a.shape[1], axis=0)
    penalty[-1] = 1e-12  # the bias is unpenalised; a tiny value keeps the systems definite
    theta = np.zeros((a.shape[1], n_cols))
    if init is not None:
        theta[:-1] = basis.v.T @ init[0]
        theta[-1] = init[1]
    sign = 1.0 - 2.0 * t  # log-loss = log(1 + exp(sign * margin))

    def objective(th: np.ndarray) -> np.ndarray:
        loss = np.logaddexp(0.0, sign * (a @ th))
        value: np.ndarray = (c * loss).sum(axis=0) / n + 0.5 * (penalty * th * th).sum(axis=0)
        return value

    current = objective(theta)
    active = trainable.copy()
    a_sq = a * a
    for _ in range(max_iter):
        p = sigmoid(a @ theta)
        grad = a.T @ (c * (p - t)) / n + penalty * theta
        curvature = c * p * (1 - p) / n
        grad[:, ~active] = 0.0

        def hess_times(v: np.ndarray, curvature: np.ndarray = curvature) -> np.ndarray:
            out: np.ndarray = a.T @ (curvature * (a @ v)) + penalty * v
            return out

        precond = a_sq.T @ curvature + penalty
        step = _cg(hess_times, grad, precond, rtol=1e-6, max_iter=500)
        decrement = (grad * step).sum(axis=0)
        active &= decrement / 2 > tol
        if not active.any():
            break
        rate = np.where(active, 1.0, 0.0)
        for _ in range(30):
            candidate = theta - rate * step
            value = objective(candidate)
            bad = active & (value > current - 0.25 * rate * decrement)
            if not bad.any():
                break
            rate = np.where(bad, rate / 2, rate)
        theta = np.where(active, candidate, theta)
        current = np.where(active, value, current)
    weights = basis.v @ theta[:-1]
    bias = theta[-1].copy()
    # Degenerate columns: all positive -> always yes, otherwise (all negative / none) never.
    all_pos = ((y == 1).sum(axis=0) > 0) & ~trainable
    weights[:, ~trainable] = 0.0
    bias[~trainable] = np.where(all_pos[~trainable], 10.0, -10.0)
    return weights, bias


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    l2: float,
    *,
    basis: Basis | None = None,
    init: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray, float]:
    """One column of :func:`fit_logistic_many`: weights (F,) and bias."""
    init_many = None if init is None else (init[0][:, None], np.array([init[1]]))
    w, b = fit_logistic_many(x, np.asarray(y)[:, None], [l2], basis=basis, init=init_many)
    return w[:, 0], float(b[0])


@dataclass(frozen=True)
class Standardiser:
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, raw: np.ndarray) -> Standardiser:
        mean = raw.mean(axis=0)
        scale = raw.std(axis=0)
        # Constant features (e.g. a signal no photo has yet) stay 0 after standardising.
        scale = np.where(scale > 1e-6, scale, 1.0)
        return cls(mean.astype(np.float32), scale.astype(np.float32))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        out: np.ndarray = ((raw - self.mean) / self.scale).astype(np.float64)
        return out


def _fit_all(
    x_raw: np.ndarray, labels: np.ndarray, l2s: Sequence[Sequence[float]]
) -> tuple[Standardiser, list[list[tuple[np.ndarray, float]]]]:
    """Fit every concept j at every l2 in ``l2s[j]``, all in one batched solve."""
    std = Standardiser.of(x_raw)
    x = std(x_raw)
    cols = [(j, l2) for j, grid in enumerate(l2s) for l2 in grid]
    w, b = fit_logistic_many(
        x, labels[:, [j for j, _ in cols]], [l2 for _, l2 in cols], basis=Basis.of(x)
    )
    fits: list[list[tuple[np.ndarray, float]]] = [[] for _ in l2s]
    for k, (j, _) in enumerate(cols):
        fits[j].append((w[:, k], float(b[k])))
    return std, fits


def _predict(std: Standardiser, fit: tuple[np.ndarray, float], x_raw: np.ndarray) -> np.ndarray:
    return sigmoid(std(x_raw) @ fit[0] + fit[1])


def train_heads(
    embeddings: np.ndarray,
    signals: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    *,
    backbone: str,
    l2: float | Mapping[str, float],
    signal_keys: Sequence[str] = (),
    progress: Progress | None = None,
    source: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ConceptHeads:
    """Heads trained on all given rows. ``source`` defaults to "head" for every concept and
    ``thresholds`` to 0.5; :func:`fit_and_evaluate` supplies calibrated ones."""
    x_raw = raw_features(embeddings, signals, signal_keys)
    l2_of = {c: float(l2[c] if isinstance(l2, Mapping) else l2) for c in concepts}
    std, fits = _fit_all(x_raw, np.asarray(labels), [[l2_of[c]] for c in concepts])
    weights = np.stack([f[0][0] for f in fits], axis=1).astype(np.float32)
    bias = np.array([f[0][1] for f in fits], dtype=np.float32)
    if progress:
        progress(len(concepts), len(concepts), "trained heads")
    return ConceptHeads(
        concepts=tuple(concepts),
        source=dict(source) if source else {c: SOURCE_HEAD for c in concepts},
        mean=std.mean,
        scale=std.scale,
        weights=weights,
        bias=bias,
        signal_keys=tuple(signal_keys),
        backbone=backbone,
        thresholds=dict(thresholds) if thresholds else {c: 0.5 for c in concepts},
        metadata={"l2": l2_of, **(metadata or {})},
    )


# --------------------------------------------------------------------------- metrics, thresholds


@dataclass(frozen=True)
class Metrics:
    tp: int
    fp: int
    fn: int

    @classmethod
    def of(cls, predicted: np.ndarray, y: np.ndarray) -> Metrics:
        labelled = y >= 0
        p, t = predicted[labelled].astype(bool), y[labelled] == 1
        return cls(int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum()))

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


RULE_PRECISION = "precision-target"
RULE_MAX_F1 = "max-F1 (precision target unreachable)"
RULE_NO_POSITIVES = "no positives"


def calibrate_threshold(
    scores: np.ndarray, y: np.ndarray, precision_target: float
) -> tuple[float, str]:
    """The lowest threshold whose precision reaches ``precision_target`` (most recall at that
    precision), else the max-F1 threshold; returns (threshold, rule). Present = score >= threshold.

    The threshold sits halfway between the chosen score and the next lower one, so a photo
    scoring just under the last accepted one is not decided by a hair.
    """
    labelled = y >= 0
    s, t = scores[labelled].astype(np.float64), y[labelled] == 1
    if not t.any():
        return NEVER, RULE_NO_POSITIVES
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    # Candidate cut after the last of each run of equal scores.
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(t)[last]
    fp = np.cumsum(~t)[last]
    cut = s[last]
    precision = tp / (tp + fp)
    f1 = 2 * tp / (tp + fp + t.sum())
    below = np.r_[cut[1:], cut[-1] - 1e-6]  # next lower distinct score
    reach = np.flatnonzero(precision >= precision_target)
    if reach.size:
        i = int(reach[-1])  # lowest threshold = furthest down the ranking
        rule = RULE_PRECISION
    else:
        i = int(np.argmax(f1))
        rule = RULE_MAX_F1
    return float((cut[i] + below[i]) / 2), rule


def average_precision(scores: np.ndarray, y: np.ndarray) -> float:
    """Mean precision at each positive's rank: a threshold-free score for choosing l2."""
    labelled = y >= 0
    s, t = scores[labelled], y[labelled] == 1
    if not t.any():
        return 0.0
    t = t[np.argsort(-s, kind="stable")]
    hits = np.cumsum(t)
    return float((hits[t] / (np.flatnonzero(t) + 1)).mean())


# --------------------------------------------------------------------------- cross-validation


def stratified_folds(strata: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number (0..folds-1) per row: every stratum spread evenly over the folds.

    Strata are dealt out in turn with a running offset, so small strata do not all land in fold 0.
    """
    rng = np.random.default_rng(seed)
    out = np.empty(len(strata), dtype=np.int64)
    offset = 0
    for stratum in sorted(set(strata.tolist())):
        idx = np.flatnonzero(strata == stratum)
        idx = idx[rng.permutation(idx.size)]
        out[idx] = (np.arange(idx.size) + offset) % folds
        offset += idx.size
    return out


def _imagenet_scores(
    signals: Sequence[Mapping[str, float]], concepts: Sequence[str]
) -> tuple[np.ndarray, list[bool]]:
    """(N, C) roll-up scores from the signals, and per concept whether the roll-up has it."""
    keys = [imagenet_key(c) for c in concepts]
    has = [any(k in s for s in signals) for k in keys]
    return signal_matrix(signals, keys).astype(np.float64), has


@dataclass(frozen=True)
class CVResult:
    """Outer-fold measurements. ``head``/``imagenet``/``selected`` are per-concept metrics of
    decisions made with thresholds (and, for ``selected``, the source) chosen without the
    held-out fold; ``imagenet`` only for concepts the roll-up supports."""

    concepts: tuple[str, ...]
    folders: tuple[str, ...]  # per row, the stratum / folder label
    labels: np.ndarray  # (N, C)
    oof_head: np.ndarray  # (N, C) head probabilities from the fold that held each row out
    oof_imagenet: np.ndarray  # (N, C) roll-up scores (0 where unsupported)
    decisions: np.ndarray  # (N, C) bool, the selected source with nested thresholds
    head: dict[str, Metrics]
    imagenet: dict[str, Metrics]
    selected: dict[str, Metrics]
    fold_sources: dict[str, list[str]]  # source chosen per outer fold
    fold_l2: dict[str, list[float]]
    fold_rules: dict[str, list[str]]  # threshold rule per outer fold (of the selected source)
    # Final choices on all outer out-of-fold scores (used by fit_and_evaluate's heads):
    source: dict[str, str]
    thresholds: dict[str, float]
    threshold_rule: dict[str, str]
    l2: dict[str, float]
    folds: int
    seed: int
    precision_target: float
    adult_child: dict[str, float] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        scored = [m.f1 for m in self.selected.values() if m.support]
        return float(np.mean(scored)) if scored else 0.0


def adult_vs_child(
    decisions: np.ndarray, labels: np.ndarray, concepts: Sequence[str]
) -> dict[str, float]:
    """On photos labelled adult or child: exact-match accuracy (right one tagged, other not) and
    the macro F1 of the adult and child decisions within that subset."""
    if not all(c in concepts for c in PEOPLE):
        return {}
    a, c = concepts.index("adult"), concepts.index("child")
    rows = (labels[:, a] == 1) | (labels[:, c] == 1)
    if not rows.any():
        return {}
    d, y = decisions[rows], labels[rows]
    exact = (d[:, a] == (y[:, a] == 1)) & (d[:, c] == (y[:, c] == 1))
    f1s = [Metrics.of(d[:, j], y[:, j]).f1 for j in (a, c)]
    return {"n": int(rows.sum()), "accuracy": float(exact.mean()), "f1": float(np.mean(f1s))}


def confusion_table(
    decisions: np.ndarray, folders: Sequence[str], concepts: Sequence[str]
) -> dict[str, dict[str, int]]:
    """folder -> {concept: photos tagged with it, "(none)": photos with no tag, "n": photos}."""
    table: dict[str, dict[str, int]] = {}
    folder_arr = np.asarray(folders)
    for folder in sorted(set(folders)):
        d = decisions[folder_arr == folder]
        row = {c: int(d[:, j].sum()) for j, c in enumerate(concepts)}
        row["(none)"] = int((~d.any(axis=1)).sum())
        row["n"] = int(d.shape[0])
        table[folder] = row
    return table


def _choose_source(head_f1: float, imagenet_f1: float | None) -> str:
    # The roll-up is kept only where it is strictly better: the head is the default model.
    return SOURCE_IMAGENET if imagenet_f1 is not None and imagenet_f1 > head_f1 else SOURCE_HEAD


def _calibrated_f1(scores: np.ndarray, y: np.ndarray, target: float) -> tuple[float, str, float]:
    thr, rule = calibrate_threshold(scores, y, target)
    return thr, rule, Metrics.of(scores >= thr, y).f1


@dataclass(frozen=True)
class _Choice:
    """What an inner CV chose for one concept on one outer training split."""

    l2: float
    source: str
    head_threshold: float
    head_rule: str
    imagenet_threshold: float | None
    imagenet_rule: str | None

    @property
    def rule(self) -> str:
        if self.source == SOURCE_IMAGENET and self.imagenet_rule is not None:
            return self.imagenet_rule
        return self.head_rule


def _inner_choices(
    x_raw: np.ndarray,
    labels: np.ndarray,
    imagenet: np.ndarray,
    has_imagenet: Sequence[bool],
    strata: np.ndarray,
    *,
    inner_folds: int,
    seed: int,
    l2_grid: Sequence[float],
    precision_target: float,
) -> list[_Choice]:
    """On one training split: per concept the l2, thresholds and source, chosen on inner
    out-of-fold head scores (the roll-up needs no fitting: its threshold uses the whole split)."""
    n, n_concepts = labels.shape
    fold_of = stratified_folds(strata, inner_folds, seed)
    oof = np.zeros((len(l2_grid), n, n_concepts))
    for k in range(inner_folds):
        train, held = fold_of != k, fold_of == k
        std, fits = _fit_all(x_raw[train], labels[train], [l2_grid] * n_concepts)
        for j in range(n_concepts):
            for g in range(len(l2_grid)):
                oof[g, held, j] = _predict(std, fits[j][g], x_raw[held])
    choices: list[_Choice] = []
    for j in range(n_concepts):
        y = labels[:, j]
        g = int(np.argmax([average_precision(oof[i, :, j], y) for i in range(len(l2_grid))]))
        thr, rule, f1 = _calibrated_f1(oof[g, :, j], y, precision_target)
        i_thr: float | None = None
        i_rule: str | None = None
        i_f1: float | None = None
        if has_imagenet[j]:
            i_thr, i_rule, i_f1 = _calibrated_f1(imagenet[:, j], y, precision_target)
        choices.append(
            _Choice(float(l2_grid[g]), _choose_source(f1, i_f1), thr, rule, i_thr, i_rule)
        )
    return choices


def cross_validate(
    embeddings: np.ndarray,
    signals: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    *,
    groups: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    precision_target: float = 0.9,
    signal_keys: Sequence[str] = (),
    l2_grid: Sequence[float] = L2_GRID,
    inner_folds: int = 4,
    progress: Progress | None = None,
) -> CVResult:
    """Nested, stratified k-fold CV (strata = ``groups``, e.g. the folder of each photo).

    For each outer fold: l2 (by inner average precision), threshold (lowest reaching
    ``precision_target``, else max F1) and source (head or roll-up, whichever has the higher inner
    F1) are chosen on the inner out-of-fold scores of the training split; the held-out fold is
    only scored. The roll-up's own threshold is chosen on the training split too.
    """
    concepts = tuple(concepts)
    labels = np.asarray(labels, dtype=np.int8)
    groups = np.asarray(groups)
    x_raw = raw_features(embeddings, signals, signal_keys)
    imagenet, has_imagenet = _imagenet_scores(signals, concepts)
    n, n_concepts = labels.shape
    fold_of = stratified_folds(groups, folds, seed)
    oof_head = np.zeros((n, n_concepts))
    head_dec = np.zeros((n, n_concepts), dtype=bool)
    imagenet_dec = np.zeros((n, n_concepts), dtype=bool)
    selected_dec = np.zeros((n, n_concepts), dtype=bool)
    fold_sources: dict[str, list[str]] = {c: [] for c in concepts}
    fold_l2: dict[str, list[float]] = {c: [] for c in concepts}
    fold_rules: dict[str, list[str]] = {c: [] for c in concepts}
    for k in range(folds):
        train, held = fold_of != k, fold_of == k
        choices = _inner_choices(
            x_raw[train],
            labels[train],
            imagenet[train],
            has_imagenet,
            groups[train],
            inner_folds=inner_folds,
            seed=seed + 1 + k,
            l2_grid=l2_grid,
            precision_target=precision_target,
        )
        std, fits = _fit_all(x_raw[train], labels[train], [[ch.l2] for ch in choices])
        for j, c in enumerate(concepts):
            ch = choices[j]
            oof_head[held, j] = _predict(std, fits[j][0], x_raw[held])
            # Head and roll-up are each measured with their own nested threshold.
            head_dec[held, j] = oof_head[held, j] >= ch.head_threshold
            if ch.imagenet_threshold is not None:
                imagenet_dec[held, j] = imagenet[held, j] >= ch.imagenet_threshold
            selected_dec[held, j] = (
                imagenet_dec[held, j] if ch.source == SOURCE_IMAGENET else head_dec[held, j]
            )
            fold_sources[c].append(ch.source)
            fold_l2[c].append(ch.l2)
            fold_rules[c].append(ch.rule)
        if progress:
            progress(k + 1, folds, f"outer fold {k + 1}/{folds}")

    # Final choices for heads trained on everything: on all outer out-of-fold scores.
    source: dict[str, str] = {}
    final_thr: dict[str, float] = {}
    final_rule: dict[str, str] = {}
    final_l2: dict[str, float] = {}
    for j, c in enumerate(concepts):
        y = labels[:, j]
        thr, rule, f1 = _calibrated_f1(oof_head[:, j], y, precision_target)
        source[c] = SOURCE_HEAD
        if has_imagenet[j]:
            i_thr, i_rule, i_f1 = _calibrated_f1(imagenet[:, j], y, precision_target)
            source[c] = _choose_source(f1, i_f1)
            if source[c] == SOURCE_IMAGENET:
                thr, rule = i_thr, i_rule
        final_thr[c], final_rule[c] = thr, rule
        # Most often chosen l2; ties go to the stronger penalty (the full set is only 25 % bigger).
        counts = Counter(fold_l2[c])
        final_l2[c] = max(counts, key=lambda v: (counts[v], v))

    folders = tuple(str(g) for g in groups)
    return CVResult(
        concepts=concepts,
        folders=folders,
        labels=labels,
        oof_head=oof_head,
        oof_imagenet=imagenet,
        decisions=selected_dec,
        head={c: Metrics.of(head_dec[:, j], labels[:, j]) for j, c in enumerate(concepts)},
        imagenet={
            c: Metrics.of(imagenet_dec[:, j], labels[:, j])
            for j, c in enumerate(concepts)
            if has_imagenet[j]
        },
        selected={c: Metrics.of(selected_dec[:, j], labels[:, j]) for j, c in enumerate(concepts)},
        fold_sources=fold_sources,
        fold_l2=fold_l2,
        fold_rules=fold_rules,
        source=source,
        thresholds=final_thr,
        threshold_rule=final_rule,
        l2=final_l2,
        folds=folds,
        seed=seed,
        precision_target=precision_target,
        adult_child=adult_vs_child(selected_dec, labels, concepts),
        confusion=confusion_table(selected_dec, folders, concepts),
    )


def fit_and_evaluate(
    embeddings: np.ndarray,
    signals: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    *,
    groups: np.ndarray,
    backbone: str,
    signal_keys: Sequence[str] = (),
    folds: int = 5,
    seed: int = 0,
    precision_target: float = 0.9,
    l2_grid: Sequence[float] = L2_GRID,
    metadata: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[ConceptHeads, CVResult]:
    """Nested CV for the report, then heads trained on all rows with the sources, thresholds and
    l2 chosen on the outer out-of-fold scores."""
    cv = cross_validate(
        embeddings,
        signals,
        labels,
        concepts,
        groups=groups,
        folds=folds,
        seed=seed,
        precision_target=precision_target,
        signal_keys=signal_keys,
        l2_grid=l2_grid,
        progress=progress,
    )
    heads = train_heads(
        embeddings,
        signals,
        labels,
        concepts,
        backbone=backbone,
        l2=cv.l2,
        signal_keys=signal_keys,
        source=cv.source,
        thresholds=cv.thresholds,
        metadata={
            "threshold_rule": cv.threshold_rule,
            "precision_target": precision_target,
            "trained_on": int((labels >= 0).any(axis=1).sum()),
            "cv_macro_f1": round(cv.macro_f1, 4),
            **(metadata or {}),
        },
    )
    return heads, cv


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from mlmodels.base import ALL_CONCEPTS
    from mlmodels.build import build
    from mlmodels.dataset import embed_paths, folder_names, load_labelled_folder
    from mlmodels.evaluation import format_table, targets_missed, write_report
    from mlmodels.rollup import ROLLUP_CONCEPTS
    from mlmodels.tf_mobilenet import MobileNetV2RollupClassifier

    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.training", description=__doc__.splitlines()[0]
    )
    parser.add_argument("photos", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="report folder (under var/)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision-target", type=float, default=0.9)
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


if __name__ == "__main__":
    sys.exit(main())
