"""Nested cross-validation of concept heads against the ImageNet roll-up, grouped by source."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlmodels.concepts.heads import (
    SOURCE_HEAD,
    SOURCE_IMAGENET,
    SOURCE_MAX,
    SOURCE_MEAN,
    imagenet_key,
    raw_features,
    signal_matrix,
    source_score,
)
from mlmodels.training.folds import group_folds
from mlmodels.training.metrics import (
    PRECISION_TARGET,
    RULE_FLOOR,
    Metrics,
    average_precision,
    calibrate_threshold,
)
from mlmodels.training.solver import BOOST_GRID, L2_GRID, Setting, fit_all, predict, settings_grid

PEOPLE = ("adult", "child")
Progress = Callable[[int, int, str], None]  # progress(done, total, what)


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
    folders: tuple[str, ...]  # per row, the photo's folder (for the confusion table)
    groups: tuple[str, ...]  # per row, its source: never in two folds
    fold_of: np.ndarray  # (N,) the outer fold that held each row out
    labels: np.ndarray  # (N, C)
    oof_head: np.ndarray  # (N, C) head probabilities from the fold that held each row out
    oof_imagenet: np.ndarray  # (N, C) roll-up scores (0 where unsupported)
    decisions: np.ndarray  # (N, C) bool, the selected source with its fold's threshold
    imagenet_decisions: np.ndarray  # (N, C) bool, the roll-up alone (False where unsupported)
    head: dict[str, Metrics]
    imagenet: dict[str, Metrics]
    mean: dict[str, Metrics]  # of the head and the direct evidence
    selected: dict[str, Metrics]
    fold_sources: dict[str, list[str]]  # source chosen per outer fold
    fold_l2: dict[str, list[float]]
    fold_boost: dict[str, list[float]]  # the signals' boost chosen per outer fold
    fold_rules: dict[str, list[str]]  # threshold rule per outer fold (of the selected source)
    # Final choices on all outer out-of-fold scores (used by fit_and_evaluate's heads):
    source: dict[str, str]
    thresholds: dict[str, float]
    threshold_rule: dict[str, str]
    l2: dict[str, float]
    boost: dict[str, float]
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


Calibrated = tuple[float, str]  # threshold, the rule that chose it
# Below this many sources among a concept's positives, scores fitted on them say little about
# other sources: the direct evidence (trained elsewhere, on many sources) is kept unchallenged.
MIN_SOURCES_TO_CHOOSE = 3


def _calibrate_sources(
    head: np.ndarray,
    direct: np.ndarray | None,
    y: np.ndarray,
    groups: np.ndarray,
    target: float,
    floor: float = 0.0,
) -> tuple[str, dict[str, Calibrated]]:
    """Each candidate source's threshold, and the source with the best F1 at it. A tie goes
    to the head, then the mean: the direct evidence alone is kept only where strictly better,
    or where the positives come from fewer than MIN_SOURCES_TO_CHOOSE sources."""
    candidates = {SOURCE_HEAD: head}
    if direct is not None:
        candidates[SOURCE_MEAN] = source_score(SOURCE_MEAN, head, direct)
        candidates[SOURCE_MAX] = source_score(SOURCE_MAX, head, direct)
        candidates[SOURCE_IMAGENET] = direct
    calibrated: dict[str, Calibrated] = {}
    best, best_f1 = SOURCE_HEAD, -1.0
    for name, scores in candidates.items():
        cut, rule = calibrate_threshold(scores, y, target)
        if name == SOURCE_IMAGENET and cut < floor:
            cut, rule = floor, RULE_FLOOR
        calibrated[name] = (cut, rule)
        f1 = Metrics.of(scores >= cut, y).f1
        if f1 > best_f1:
            best, best_f1 = name, f1
    if direct is not None and len(set(groups[y == 1].tolist())) < MIN_SOURCES_TO_CHOOSE:
        best = SOURCE_IMAGENET
    return best, calibrated


@dataclass(frozen=True)
class _Choice:
    """What an inner CV chose for one concept on one outer training split."""

    setting: Setting
    source: str
    thresholds: dict[str, Calibrated]  # per candidate source

    @property
    def rule(self) -> str:
        return self.thresholds[self.source][1]


def _inner_choices(
    x_raw: np.ndarray,
    labels: np.ndarray,
    imagenet: np.ndarray,
    has_imagenet: Sequence[bool],
    groups: np.ndarray,
    *,
    inner_folds: int,
    seed: int,
    grid: Sequence[Setting],
    n_signals: int,
    precision_target: float,
    floors: Sequence[float],
) -> list[_Choice]:
    """On one training split: per concept the setting (l2, signal boost), thresholds and source,
    chosen on inner out-of-fold head scores (the roll-up needs no fitting: its threshold uses
    the whole split)."""
    n, n_concepts = labels.shape
    fold_of = group_folds(groups, labels, min(inner_folds, len(set(groups.tolist()))), seed)
    oof = np.zeros((len(grid), n, n_concepts))
    for k in range(int(fold_of.max()) + 1):
        train, held = fold_of != k, fold_of == k
        std, fits = fit_all(x_raw[train], labels[train], [grid] * n_concepts, n_signals)
        for j in range(n_concepts):
            for g in range(len(grid)):
                oof[g, held, j] = predict(std, fits[j][g], x_raw[held])
    choices: list[_Choice] = []
    for j in range(n_concepts):
        y = labels[:, j]
        g = int(np.argmax([average_precision(oof[i, :, j], y) for i in range(len(grid))]))
        direct = imagenet[:, j] if has_imagenet[j] else None
        source, calibrated = _calibrate_sources(
            oof[g, :, j], direct, y, groups, precision_target, floors[j]
        )
        choices.append(_Choice(grid[g], source, calibrated))
    return choices


def cross_validate(
    embeddings: np.ndarray,
    signals: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    *,
    groups: np.ndarray,
    folders: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
    precision_target: float = PRECISION_TARGET,
    signal_keys: Sequence[str] = (),
    l2_grid: Sequence[float] = L2_GRID,
    boost_grid: Sequence[float] = BOOST_GRID,
    inner_folds: int = 4,
    direct_floors: Mapping[str, float] | None = None,
    progress: Progress | None = None,
) -> CVResult:
    """Nested k-fold CV grouped by ``groups`` (each photo's source), outer and inner folds
    alike: a source's photos are never both fitted and scored. ``folders`` label the rows of
    the confusion table (default: the groups). ``direct_floors``: the lowest cut per concept
    on its direct evidence."""
    concepts = tuple(concepts)
    labels = np.asarray(labels, dtype=np.int8)
    groups = np.asarray(groups)
    folders = groups if folders is None else np.asarray(folders)
    x_raw = raw_features(embeddings, signals, signal_keys)
    imagenet, has_imagenet = _imagenet_scores(signals, concepts)
    n, n_concepts = labels.shape
    floors = [(direct_floors or {}).get(c, 0.0) for c in concepts]
    grid = settings_grid(l2_grid, boost_grid if signal_keys else (1.0,))
    fold_of = group_folds(groups, labels, folds, seed)
    oof_head = np.zeros((n, n_concepts))
    head_dec = np.zeros((n, n_concepts), dtype=bool)
    imagenet_dec = np.zeros((n, n_concepts), dtype=bool)
    mean_dec = np.zeros((n, n_concepts), dtype=bool)
    selected_dec = np.zeros((n, n_concepts), dtype=bool)
    fold_sources: dict[str, list[str]] = {c: [] for c in concepts}
    fold_l2: dict[str, list[float]] = {c: [] for c in concepts}
    fold_boost: dict[str, list[float]] = {c: [] for c in concepts}
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
            grid=grid,
            n_signals=len(signal_keys),
            precision_target=precision_target,
            floors=floors,
        )
        std, fits = fit_all(
            x_raw[train], labels[train], [[ch.setting] for ch in choices], len(signal_keys)
        )
        for j, c in enumerate(concepts):
            ch = choices[j]
            oof_head[held, j] = predict(std, fits[j][0], x_raw[held])
            # Each candidate source is measured with its own nested threshold.
            for name, dec in (
                (SOURCE_HEAD, head_dec),
                (SOURCE_IMAGENET, imagenet_dec),
                (SOURCE_MEAN, mean_dec),
            ):
                if name in ch.thresholds:
                    value = source_score(name, oof_head[held, j], imagenet[held, j])
                    dec[held, j] = value >= ch.thresholds[name][0]
            score = source_score(ch.source, oof_head[held, j], imagenet[held, j])
            selected_dec[held, j] = score >= ch.thresholds[ch.source][0]
            fold_sources[c].append(ch.source)
            fold_l2[c].append(ch.setting.l2)
            fold_boost[c].append(ch.setting.boost)
            fold_rules[c].append(ch.rule)
        if progress:
            progress(k + 1, folds, f"outer fold {k + 1}/{folds}")

    # Final choices for heads trained on everything: on all outer out-of-fold scores.
    source: dict[str, str] = {}
    final_thr: dict[str, float] = {}
    final_rule: dict[str, str] = {}
    final_l2: dict[str, float] = {}
    final_boost: dict[str, float] = {}
    for j, c in enumerate(concepts):
        direct = imagenet[:, j] if has_imagenet[j] else None
        source[c], calibrated = _calibrate_sources(
            oof_head[:, j], direct, labels[:, j], groups, precision_target, floors[j]
        )
        final_thr[c], final_rule[c] = calibrated[source[c]]
        # Most often chosen; ties go to the stronger penalty, then to the weaker boost.
        counts = Counter(zip(fold_l2[c], fold_boost[c], strict=True))
        final_l2[c], final_boost[c] = max(counts, key=lambda v: (counts[v], v[0], -v[1]))

    return CVResult(
        concepts=concepts,
        folders=tuple(str(f) for f in folders),
        groups=tuple(str(g) for g in groups),
        fold_of=fold_of,
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
        mean={
            c: Metrics.of(mean_dec[:, j], labels[:, j])
            for j, c in enumerate(concepts)
            if has_imagenet[j]
        },
        selected={c: Metrics.of(selected_dec[:, j], labels[:, j]) for j, c in enumerate(concepts)},
        fold_sources=fold_sources,
        fold_l2=fold_l2,
        fold_boost=fold_boost,
        fold_rules=fold_rules,
        source=source,
        thresholds=final_thr,
        threshold_rule=final_rule,
        l2=final_l2,
        boost=final_boost,
        folds=folds,
        seed=seed,
        precision_target=precision_target,
        adult_child=adult_vs_child(selected_dec, labels, concepts),
        confusion=confusion_table(selected_dec, list(folders), concepts),
    )
