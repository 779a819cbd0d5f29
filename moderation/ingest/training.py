"""Training concept heads on photo folders and overrides into a new, inactive model version."""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, astuple, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image

from mlmodels.base import ALL_CONCEPTS, ImageDecodeError, SignalSource
from mlmodels.concepts.heads import ConceptHeads
from mlmodels.concepts.rollup import ROLLUP_CONCEPTS
from mlmodels.dataset import (
    embed_paths,
    folder_names,
    load_labelled_folder,
    people_in_scene,
    photo_sources,
    source_key,
)
from mlmodels.people.signals import HEAD_SIGNAL_KEYS
from mlmodels.people.signals import NAME as PEOPLE
from mlmodels.training.checks import Check, HashtagResult, checks_missed, concept_checks
from mlmodels.training.crossval import CVResult, cross_validate
from mlmodels.training.deals import Deal
from mlmodels.training.fit import fit_and_evaluate, floors_of
from mlmodels.training.metrics import PRECISION_TARGET
from mlmodels.training.predictions import predictions_of, predictions_to_bytes
from mlmodels.training.report import format_table, report_json, targets_missed, write_report
from moderation.ingest.batches import post_image
from moderation.ingest.classifier import embedding_vector, get_backbone, get_signal_sources
from moderation.ingest.model_versions import model_version_register
from moderation.ingest.search_cv import (
    SearchError,
    decisions_with_text,
    hashtag_errors,
    hashtag_results,
    menu_check,
)
from moderation.ingest.signals import SignalPlan, signals_replaced, signals_run
from moderation.ingest.training_text import override_words, photo_words
from moderation.models import ModelVersion
from moderation.selectors.training import OverrideExample, override_training_examples

logger = logging.getLogger(__name__)
POST_ROW = "post:"  # an overridden post's group and name: each post is its own source

Progress = Callable[[int, int, str], None]


@dataclass
class TrainingSet:
    embeddings: np.ndarray
    signals: list[dict[str, float]]
    labels: np.ndarray  # (N, C) in {1, 0, -1 ignore}
    groups: np.ndarray  # per row its source (MANIFEST.csv), or the overridden post
    folders: np.ndarray  # per row the photo folder, or "override"
    counts: dict[str, Any] = field(default_factory=dict)
    image_words: list[list[str]] | None = None  # read as an upload's; None: no OCR here
    files: list[str] = field(default_factory=list)  # per row its path under the folder, or POST_ROW


@dataclass(frozen=True)
class Evaluation:
    """A source-grouped cross-validation with the must-shows and the starter hashtags' search."""

    cv: CVResult
    checks: list[Check]
    hashtags: list[HashtagResult]
    errors: list[SearchError] = field(default_factory=list)

    @classmethod
    def of(
        cls, cv: CVResult, image_words: list[list[str]] | None, files: Sequence[str] = ()
    ) -> Evaluation:
        """``image_words``: per row the words read in the photo (None: the image alone);
        ``files``: per row its name, to list each hashtag's errors (none listed without)."""
        scenes = people_in_scene(np.asarray(cv.folders), np.asarray(cv.groups))
        read = None if image_words is None else decisions_with_text(cv, image_words)
        checks = concept_checks(cv, scenes) + menu_check(cv, read)
        errors = hashtag_errors(cv, files, read) if len(files) else []
        return cls(cv, checks, hashtag_results(cv, read), errors)

    def table(self) -> str:
        return format_table(self.cv, self.checks, self.hashtags)

    def missed(self) -> list[str]:
        return targets_missed(self.cv) + checks_missed(self.checks, self.hashtags)

    def report(self, meta: dict[str, Any]) -> dict[str, Any]:
        errors = [asdict(e) for e in self.errors]
        return {**report_json(self.cv, meta, self.checks, self.hashtags), "errors": errors}

    def write(self, out: Path, meta: dict[str, Any]) -> None:
        write_report(out, self.cv, meta, self.checks, self.hashtags)
        if self.errors:
            with (out / "errors.csv").open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow([column.name for column in fields(SearchError)])
                writer.writerows(astuple(e) for e in self.errors)

    def deal(self) -> Deal:
        return Deal(self.cv.seed, self.cv.macro_f1, self.checks, self.hashtags)


def signal_keys_available() -> list[str]:
    keys = [f"imagenet:{c}" for c in sorted(ROLLUP_CONCEPTS)]
    if any(getattr(s, "name", "") == PEOPLE for s in get_signal_sources()):
        keys += list(HEAD_SIGNAL_KEYS)
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
    folders: list[np.ndarray] = []
    counts: dict[str, Any] = {}
    words: list[list[str]] | None = []
    files: list[str] = []
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
        files += [paths[i].relative_to(photos).as_posix() for i in embedded.kept]
        folders.append(names)
        groups.append(photo_sources(photos, paths)[embedded.kept])
        counts["photos"] = len(embedded.kept)
        # Heads read stored signals of these versions only (ingest/classifier.signals_usable).
        counts["signal_sources"] = [source_key(s) for s in sources]
        counts["photo_sources"] = len(set(groups[-1].tolist()))
        counts["photo_folders"] = {str(n): int((names == n).sum()) for n in sorted(set(names))}
        words = photo_words(
            [paths[i] for i in embedded.kept],
            embedded.signals,
            Path(settings.VAR_DIR) / "cache" / "training-text.json",
            on_photo=(lambda done, total: progress(done, total, "photos read"))
            if progress
            else None,
        )
        counts["photos_with_text"] = None if words is None else sum(map(bool, words))
    if include_overrides:
        examples = override_training_examples(backbone=backbone.version)
        if examples:
            parts_e.append(np.stack([embedding_vector(e.embedding) for e in examples]))
            signals += override_signals(examples, sources)
            rows = np.full((len(examples), len(ALL_CONCEPTS)), -1, dtype=np.int8)
            for i, example in enumerate(examples):
                for key, value in example.labels.items():
                    if key in ALL_CONCEPTS:
                        rows[i, ALL_CONCEPTS.index(key)] = int(value)
            labels.append(rows)
            posts = [f"{POST_ROW}{e.post_id}" for e in examples]
            groups.append(np.array(posts))
            files += posts
            folders.append(np.array(["override"] * len(examples)))
            if words is not None:
                words += override_words([e.post_id for e in examples])
        counts["override_posts"] = len(examples)
    if not parts_e:
        raise ValueError("Nothing to train on: give a photo folder or record some overrides.")
    return TrainingSet(
        embeddings=np.concatenate(parts_e).astype(np.float32),
        signals=signals,
        labels=np.concatenate(labels),
        groups=np.concatenate(groups),
        folders=np.concatenate(folders),
        counts=counts,
        image_words=words,
        files=files,
    )


class HeadsUnchanged(Exception):
    """Training gave an existing version's heads (same rows, same seed): nothing to register."""

    def __init__(self, version: ModelVersion) -> None:
        self.version = version
        super().__init__(
            f"Nothing changed since {version.name} was trained: the same photos and overrides "
            "gave the same heads, so no new version was made."
        )


def concepts_evaluate(
    *,
    data: TrainingSet,
    folds: int,
    precision_target: float,
    seed: int = 0,
    progress: Progress | None = None,
) -> Evaluation:
    cv = cross_validate(
        data.embeddings,
        data.signals,
        data.labels,
        ALL_CONCEPTS,
        groups=data.groups,
        folders=data.folders,
        folds=folds,
        seed=seed,
        precision_target=precision_target,
        signal_keys=signal_keys_available(),
        direct_floors=floors_of(get_signal_sources()),
        progress=progress,
    )
    return Evaluation.of(cv, data.image_words, data.files)


def model_version_train(
    *,
    data: TrainingSet,
    folds: int = 5,
    precision_target: float = PRECISION_TARGET,
    name: str | None = None,
    progress: Progress | None = None,
) -> tuple[ModelVersion, Evaluation]:
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
        folders=data.folders,
        backbone=backbone.version,
        signal_keys=keys,
        folds=folds,
        precision_target=precision_target,
        metadata=data.counts,
        direct_floors=floors_of(get_signal_sources()),
        progress=progress,
    )
    name = name or f"{backbone.version}+heads-{heads.digest()[:10]}"
    existing = ModelVersion.objects.filter(name=name).first()
    if existing is not None:
        raise HeadsUnchanged(existing)
    meta = {
        "backbone": backbone.version,
        "signal_keys": keys,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **data.counts,
    }
    evaluation = Evaluation.of(cv, data.image_words, data.files)
    report_dir = Path(settings.VAR_DIR) / "reports" / name
    evaluation.write(report_dir, meta)
    version = model_version_register(
        name=name,
        backbone=backbone.version,
        concepts=list(heads.concepts),
        heads=heads.to_bytes(),
        thresholds={k: float(v) for k, v in heads.thresholds.items()},
        metrics=evaluation.report(meta),
        predictions=predictions_to_bytes(predictions_of(cv)),
        training={
            **meta,
            "report_dir": str(report_dir),
            "folds": folds,
            "precision_target": precision_target,
        },
    )
    return version, evaluation


def override_signals(
    examples: Sequence[OverrideExample], sources: Sequence[SignalSource]
) -> list[dict[str, float]]:
    """Each override post's stored signals, with every source that did not run on it (lazy
    people) or ran at another version run now on its image: an absent key would read as 0,
    "nobody", and teach the heads that the adult a moderator saw is not there."""
    wanted: dict[int, tuple[SignalSource, ...]] = {}
    for i, example in enumerate(examples):
        made = example.embedding.signal_versions or {}
        stale = tuple(s for s in sources if made.get(s.name) != s.version)
        if stale:
            wanted[i] = stale
    images: dict[int, Image.Image] = {}
    for i in wanted:
        try:
            images[i] = post_image(examples[i].embedding.post)
        except (OSError, ImageDecodeError):
            logger.warning("Override post %s: image unreadable.", examples[i].post_id)
    found, made = signals_run(SignalPlan(sources=tuple(sources)), wanted, images)
    return [
        signals_replaced(e.embedding.signals, found.get(i, {}), made.get(i, {}))
        for i, e in enumerate(examples)
    ]
