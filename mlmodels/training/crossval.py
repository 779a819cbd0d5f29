"""Nested, stratified cross-validation of concept heads against the ImageNet roll-up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlmodels.heads import SOURCE_HEAD, SOURCE_IMAGENET, imagenet_key, raw_features, signal_matrix
from mlmodels.training.metrics import (
    PRECISION_TARGET,
    Metrics,
    average_precision,
    calibrate_threshold,
)
from mlmodels.training.solver import L2_GRID, fit_all, predict

PEOPLE = ("adult", "child")
Progress = Callable[[int, int, str], None]  # progress(done, total, what)


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


def _imagenet_scores(
    signals: Sequence[Mapping[str, float]], concepts: Sequence[str]
) -> tuple[np.ndarray, list[bool]]:
    """(N, C) roll-up scores from the signals, and per concept whether the roll-up has it."""
    keys = [imagenet_key(c) for c in concepts]
    has = [any(k in s for s in signals) for k in keys]
    return signal_matrix(signals, keys).astype(np.float64), has


@dataclass(frozen=True)
class CVResult:
    """Outer-fold metrics per concept, thresholds (and source) chosen without the held-out
    fold; ``imagenet`` only for concepts the roll-up supports."""

    concepts: tuple[str, ...]
    folders: tuple[str, ...]  # per row, the stratum / folder label
    labels: np.ndarray  # (N, C)
    oof_head: np.ndarray  # (N, C) head probabilities from the fold that held each row out
    oof_imagenet: np.ndarray  # (N, C) roll-up scores (0 where unsupported)
    decisions: np.ndarray  # (N, C) bool, the selected source with nested thresholds
    imagenet_decisions: np.ndarray  # (N, C) bool, the roll-up alone (False where unsupported)
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
        std, fits = fit_all(x_raw[train], labels[train], [l2_grid] * n_concepts)
        for j in range(n_concepts):
            for g in range(len(l2_grid)):
                oof[g, held, j] = predict(std, fits[j][g], x_raw[held])
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
    precision_target: float = PRECISION_TARGET,
    signal_keys: Sequence[str] = (),
    l2_grid: Sequence[float] = L2_GRID,
    inner_folds: int = 4,
    progress: Progress | None = None,
) -> CVResult:
    """Nested, stratified k-fold CV (strata = ``groups``, e.g. the folder of each photo)."""
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
        std, fits = fit_all(x_raw[train], labels[train], [[ch.l2] for ch in choices])
        for j, c in enumerate(concepts):
            ch = choices[j]
            oof_head[held, j] = predict(std, fits[j][0], x_raw[held])
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
        imagenet_decisions=imagenet_dec,
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
