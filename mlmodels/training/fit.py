"""Concept heads trained on all rows, with the choices cross-validation made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlmodels.concepts.heads import SOURCE_HEAD, ConceptHeads, raw_features
from mlmodels.people.signals import NAME as PEOPLE
from mlmodels.training.crossval import CVResult, Progress, cross_validate
from mlmodels.training.metrics import PRECISION_TARGET
from mlmodels.training.solver import BOOST_GRID, L2_GRID, Setting, fit_all


def train_heads(
    embeddings: np.ndarray,
    signals: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    *,
    backbone: str,
    l2: float | Mapping[str, float],
    boost: float | Mapping[str, float] = 1.0,
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
    boost_of = {c: float(boost[c] if isinstance(boost, Mapping) else boost) for c in concepts}
    settings = [[Setting(l2_of[c], boost_of[c])] for c in concepts]
    std, fits = fit_all(x_raw, np.asarray(labels), settings, len(signal_keys))
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
        metadata={"l2": l2_of, "signal_boost": boost_of, **(metadata or {})},
    )


def floors_of(sources: Sequence[object]) -> dict[str, float]:
    """A face the people source counts as an adult's is no evidence of a child."""
    cuts = [
        getattr(s, "child_threshold", None) for s in sources if getattr(s, "name", "") == PEOPLE
    ]
    return {"child": float(cuts[0])} if cuts and cuts[0] is not None else {}


def fit_and_evaluate(
    embeddings: np.ndarray,
    signals: Sequence[Mapping[str, float]],
    labels: np.ndarray,
    concepts: Sequence[str],
    *,
    groups: np.ndarray,
    folders: np.ndarray | None = None,
    backbone: str,
    signal_keys: Sequence[str] = (),
    folds: int = 5,
    seed: int = 0,
    precision_target: float = PRECISION_TARGET,
    l2_grid: Sequence[float] = L2_GRID,
    boost_grid: Sequence[float] = BOOST_GRID,
    metadata: Mapping[str, Any] | None = None,
    direct_floors: Mapping[str, float] | None = None,
    progress: Progress | None = None,
) -> tuple[ConceptHeads, CVResult]:
    """Nested CV for the report, then heads on all rows with the outer folds' choices."""
    cv = cross_validate(
        embeddings,
        signals,
        labels,
        concepts,
        groups=groups,
        folders=folders,
        folds=folds,
        seed=seed,
        precision_target=precision_target,
        signal_keys=signal_keys,
        l2_grid=l2_grid,
        boost_grid=boost_grid,
        direct_floors=direct_floors,
        progress=progress,
    )
    heads = train_heads(
        embeddings,
        signals,
        labels,
        concepts,
        backbone=backbone,
        l2=cv.l2,
        boost=cv.boost,
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
