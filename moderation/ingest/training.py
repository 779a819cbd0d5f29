"""Training concept heads on photo folders and overrides into a new, inactive model version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from mlmodels.base import ALL_CONCEPTS
from mlmodels.dataset import embed_paths, folder_names, load_labelled_folder
from mlmodels.heads import ConceptHeads
from mlmodels.rollup import ROLLUP_CONCEPTS
from mlmodels.training.crossval import CVResult, cross_validate
from mlmodels.training.fit import fit_and_evaluate
from mlmodels.training.metrics import PRECISION_TARGET
from mlmodels.training.predictions import predictions_of, predictions_to_bytes
from mlmodels.training.report import report_json, write_report
from moderation.ingest.classifier import embedding_vector, get_backbone, get_signal_sources
from moderation.ingest.model_versions import model_version_register
from moderation.models import ModelVersion
from moderation.selectors.training import override_training_examples

# Stored signals the heads may read besides the embedding. Age keys are left out: they are
# absent when no face is found, and absent reads as 0 (a baby).
PEOPLE_KEYS = (
    "people:person",
    "people:faces",
    "people:adult",
    "people:child",
    "people:adults",
    "people:children",
)
Progress = Callable[[int, int, str], None]


@dataclass
class TrainingSet:
    embeddings: np.ndarray
    signals: list[dict[str, float]]
    labels: np.ndarray  # (N, C) in {1, 0, -1 ignore}
    groups: np.ndarray  # stratum per row: the photo folder, or "override"
    counts: dict[str, Any] = field(default_factory=dict)


def signal_keys_available() -> list[str]:
    keys = [f"imagenet:{c}" for c in sorted(ROLLUP_CONCEPTS)]
    if any(getattr(s, "name", "") == "people" for s in get_signal_sources()):
        keys += list(PEOPLE_KEYS)
    return keys


def training_set_build(
    *, photos: Path | None, include_overrides: bool, progress: Progress | None = None
) -> TrainingSet:
    """Embed the labelled photos (cached under var/cache) and add every override label."""
    backbone = get_backbone()
    sources = get_signal_sources()
    parts_e: list[np.ndarray] = []
    signals: list[dict[str, float]] = []
    labels: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    counts: dict[str, Any] = {}
    if photos is not None:
        paths, folder_labels = load_labelled_folder(photos, ALL_CONCEPTS)
        cache = Path(settings.VAR_DIR) / "cache" / "training-embeddings.npz"
        embedded = embed_paths(
            paths,
            backbone,
            cache,
            signal_sources=sources,
            on_batch=(lambda done, total: progress(done, total, "photos embedded"))
            if progress
            else None,
        )
        parts_e.append(embedded.embeddings)
        signals += embedded.signals
        labels.append(folder_labels[embedded.kept])
        names = folder_names(paths)[embedded.kept]
        groups.append(names)
        counts["photos"] = len(embedded.kept)
        counts["photo_folders"] = {str(n): int((names == n).sum()) for n in sorted(set(names))}
    if include_overrides:
        examples = override_training_examples(backbone=backbone.version)
        if examples:
            parts_e.append(np.stack([embedding_vector(e.embedding) for e in examples]))
            signals += [dict(e.embedding.signals) for e in examples]
            rows = np.full((len(examples), len(ALL_CONCEPTS)), -1, dtype=np.int8)
            for i, example in enumerate(examples):
                for key, value in example.labels.items():
                    if key in ALL_CONCEPTS:
                        rows[i, ALL_CONCEPTS.index(key)] = int(value)
            labels.append(rows)
            groups.append(np.array(["override"] * len(examples)))
        counts["override_posts"] = len(examples)
    if not parts_e:
        raise ValueError("Nothing to train on: give a photo folder or record some overrides.")
    return TrainingSet(
        embeddings=np.concatenate(parts_e).astype(np.float32),
        signals=signals,
        labels=np.concatenate(labels),
        groups=np.concatenate(groups),
        counts=counts,
    )


def concepts_evaluate(
    *, data: TrainingSet, folds: int, precision_target: float, progress: Progress | None = None
) -> CVResult:
    return cross_validate(
        data.embeddings,
        data.signals,
        data.labels,
        ALL_CONCEPTS,
        groups=data.groups,
        folds=folds,
        precision_target=precision_target,
        signal_keys=signal_keys_available(),
        progress=progress,
    )


def model_version_train(
    *,
    data: TrainingSet,
    folds: int = 5,
    precision_target: float = PRECISION_TARGET,
    name: str | None = None,
    progress: Progress | None = None,
) -> tuple[ModelVersion, CVResult]:
    """Cross-validate for the report, train on everything, register an inactive version."""
    backbone = get_backbone()
    keys = signal_keys_available()
    heads: ConceptHeads
    heads, cv = fit_and_evaluate(
        data.embeddings,
        data.signals,
        data.labels,
        ALL_CONCEPTS,
        groups=data.groups,
        backbone=backbone.version,
        signal_keys=keys,
        folds=folds,
        precision_target=precision_target,
        metadata=data.counts,
        progress=progress,
    )
    name = name or f"{backbone.version}+heads-{heads.digest()[:10]}"
    if ModelVersion.objects.filter(name=name).exists():
        # Same rows, same seed: the same heads. Nothing new to register or compare.
        raise ValueError(f"The trained heads are those of {name}, which exists already.")
    meta = {
        "backbone": backbone.version,
        "signal_keys": keys,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **data.counts,
    }
    report = report_json(cv, meta)
    report_dir = Path(settings.VAR_DIR) / "reports" / name
    write_report(report_dir, cv, meta)
    version = model_version_register(
        name=name,
        backbone=backbone.version,
        concepts=list(heads.concepts),
        heads=heads.to_bytes(),
        thresholds={k: float(v) for k, v in heads.thresholds.items()},
        metrics=report,
        predictions=predictions_to_bytes(predictions_of(cv)),
        training={
            **meta,
            "report_dir": str(report_dir),
            "folds": folds,
            "precision_target": precision_target,
        },
    )
    return version, cv
