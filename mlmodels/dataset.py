"""Labelled photo folders -> label matrices, and photos -> cached backbone embeddings."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from mlmodels.base import (
    ALL_CONCEPTS,
    Classifier,
    ImageDecodeError,
    Prediction,
    SignalSource,
    load_image,
)

log = logging.getLogger(__name__)


def default_photos_dir() -> Path:
    """``$TAGLENS_PHOTOS`` or ``<repo>/../shared/photos``."""
    env = os.environ.get("TAGLENS_PHOTOS")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "photos"


POSITIVE, NEGATIVE, IGNORE = 1, 0, -1

# folder -> concepts its photos are positive for; every other concept is a negative, except for
# IGNORE_LABELS.
FOLDER_LABELS: dict[str, frozenset[str]] = {
    "adult": frozenset({"adult"}),
    "child": frozenset({"child"}),
    "cat": frozenset({"cat", "animal"}),
    "dog": frozenset({"dog", "animal"}),
    "other_animal": frozenset({"animal"}),
    "food": frozenset({"food"}),
    "beverage": frozenset({"beverage"}),
    "flower": frozenset({"flower"}),
    "mountain": frozenset({"mountain"}),
    "sea": frozenset({"sea"}),
    "gym": frozenset({"gym"}),
    "nail": frozenset({"nail"}),
    "clothing": frozenset({"clothing"}),
    "menu": frozenset(),
    "other": frozenset(),
}

# A nail photo's hand says nothing about adults either way (other folders: ALSO.csv, decisions).
IGNORE_LABELS: dict[str, frozenset[str]] = {
    "menu": frozenset({"food", "beverage"}),
    "nail": frozenset({"adult", "child"}),
}

ALSO_FILE = "ALSO.csv"  # file,also: the other categories a photo clearly shows, ";"-separated
MANIFEST_FILE = "MANIFEST.csv"  # file,category,source_repo,...: the source is the CV group
# Our own labelling decisions beyond ALSO.csv (file,concept,label): docs/model.md, "Labels".
DECISIONS_FILE = Path(__file__).with_name("label_decisions.csv")

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})
CACHE_FORMAT = 1
BATCH_SIZE = 16


class UnknownFolderError(ValueError):
    """A labelled root has folders whose labels we do not know (we do not guess), or no photo in
    a folder whose label we know."""


def label_row(folder: str, concepts: Sequence[str]) -> np.ndarray:
    """The int8 label vector over ``concepts`` for a photo in ``folder``."""
    positives = FOLDER_LABELS[folder]
    ignored = IGNORE_LABELS.get(folder, frozenset())
    return np.array(
        [IGNORE if c in ignored else POSITIVE if c in positives else NEGATIVE for c in concepts],
        dtype=np.int8,
    )


def _csv_rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = set(columns) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def also_labels(root: Path) -> dict[str, frozenset[str]]:
    """``folder/file`` -> concepts the photo also shows (ALSO.csv's categories, mapped through
    :data:`FOLDER_LABELS`, so a dog is also an animal)."""
    out: dict[str, frozenset[str]] = {}
    for row in _csv_rows(root / ALSO_FILE, ("file", "also")):
        names = [n.strip() for n in row["also"].split(";") if n.strip()]
        unknown = [n for n in names if n not in FOLDER_LABELS]
        if unknown:
            raise UnknownFolderError(f"{root / ALSO_FILE}: {row['file']} names {unknown}")
        out[row["file"]] = frozenset().union(*(FOLDER_LABELS[n] for n in names))
    return out


def label_decisions(path: Path = DECISIONS_FILE) -> dict[str, dict[str, int]]:
    """``folder/file`` -> {concept: 1 or -1}: labels we decided beyond ALSO.csv."""
    out: dict[str, dict[str, int]] = {}
    for row in _csv_rows(path, ("file", "concept", "label")):
        value = int(row["label"])
        if value not in (POSITIVE, IGNORE):
            raise ValueError(f"{path}: {row['file']} label {value} is not 1 or -1")
        out.setdefault(row["file"], {})[row["concept"]] = value
    return out


def photo_key(root: Path, path: Path) -> str:
    """How MANIFEST.csv and ALSO.csv name a photo: ``folder/file``."""
    return path.relative_to(root).as_posix()


def photo_sources(root: str | os.PathLike[str], paths: Sequence[Path]) -> np.ndarray:
    """Each photo's source (MANIFEST.csv's ``source_repo``), the group cross-validation keeps
    on one side; a photo the manifest does not list is its own group."""
    base = Path(root)
    listed = {r["file"]: r["source_repo"] for r in _csv_rows(base / MANIFEST_FILE, ("file",))}
    return np.array(
        [listed.get(photo_key(base, p)) or f"unlisted:{photo_key(base, p)}" for p in paths]
    )


# The dev set's face crops, catalogue shots and ImageNet samples: its other adult and child
# photos are people in scenes (its README), on which adults must be found.
PORTRAIT_SOURCES = frozenset(
    {
        "Mohanish-5744/Major_Ensemble_Gender",
        "GaneshNeupane01/Fashion-Recommendation-System",
        "EliSchwartz/imagenet-sample-images",
    }
)


def people_in_scene(folders: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Rows of photos filed under adult or child whose source is not a portrait source."""
    return np.isin(folders, ["adult", "child"]) & ~np.isin(sources, list(PORTRAIT_SOURCES))


def load_labelled_folder(
    root: str | os.PathLike[str],
    concepts: Sequence[str] = ALL_CONCEPTS,
    *,
    strict: bool = True,
    decisions: Path | None = DECISIONS_FILE,
) -> tuple[list[Path], np.ndarray]:
    """All images under ``root/<folder>/`` (sorted) and their (N, C) int8 labels over ``concepts``
    (1 positive, 0 negative, -1 ignore): the folder's, raised by ALSO.csv, then ``decisions``.
    ``strict``: an unknown folder, or no image at all, raises ``UnknownFolderError``."""
    base = Path(root)
    names = ", ".join(sorted(FOLDER_LABELS))
    folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name not in FOLDER_LABELS]
    if unknown:
        message = (
            f"{base}: folders with unknown labels {unknown}; name each folder after one of {names}"
        )
        if strict:
            raise UnknownFolderError(message)
        log.warning("%s (skipped)", message)
    also = also_labels(base)
    decided = label_decisions(decisions) if decisions is not None else {}
    paths: list[Path] = []
    rows: list[np.ndarray] = []
    for folder in folders:
        if folder.name not in FOLDER_LABELS:
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                row = label_row(folder.name, concepts)
                key = photo_key(base, path)
                for j, concept in enumerate(concepts):
                    if concept in also.get(key, ()):
                        row[j] = POSITIVE
                    row[j] = decided.get(key, {}).get(concept, row[j])
                paths.append(path)
                rows.append(row)
    if strict and not paths:
        raise UnknownFolderError(f"{base} holds no photos in folders named after labels ({names})")
    labels = np.stack(rows) if rows else np.zeros((0, len(concepts)), dtype=np.int8)
    return paths, labels


def folder_names(paths: Sequence[Path]) -> np.ndarray:
    """Each path's folder name: the strata for stratified cross-validation."""
    return np.array([p.parent.name for p in paths])


class Embedded(NamedTuple):
    """Result of :func:`embed_paths`. ``kept`` indexes the input paths that could be read
    (unreadable images are skipped), so ``labels[kept]`` lines up with the rows."""

    embeddings: np.ndarray  # (N, D) float32
    signals: list[dict[str, float]]
    kept: np.ndarray  # (N,) int64 indices into the input paths


def file_sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def source_key(source: SignalSource) -> str:
    # A source may carry a version; results of another version must not be reused.
    return f"{source.name}@{getattr(source, 'version', '')}"


def _load_cache(cache_file: Path, version: str) -> dict[str, tuple[np.ndarray, dict[str, float]]]:
    """sha1 -> (embedding, signals) from ``cache_file`` if it was made by ``version``."""
    if not cache_file.is_file():
        return {}
    try:
        with np.load(cache_file, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != CACHE_FORMAT or meta.get("version") != version:
                log.info("embedding cache %s is for another model; recomputing", cache_file)
                return {}
            signals = json.loads(str(data["signals"]))
            return {
                key: (emb, sig)
                for key, emb, sig in zip(meta["keys"], data["embeddings"], signals, strict=True)
            }
    except (OSError, ValueError, KeyError) as exc:
        log.warning("embedding cache %s unreadable (%s); recomputing", cache_file, exc)
        return {}


def _save_cache(
    cache_file: Path, version: str, entries: dict[str, tuple[np.ndarray, dict[str, float]]]
) -> None:
    keys = sorted(entries)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        meta=np.array(json.dumps({"format": CACHE_FORMAT, "version": version, "keys": keys})),
        embeddings=np.stack([entries[k][0] for k in keys]).astype(np.float32),
        signals=np.array(json.dumps([entries[k][1] for k in keys])),
    )
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(cache_file)  # atomic: an interrupted run leaves the old cache intact


def hflip_version(version: str) -> str:
    """Version tag of embeddings averaged over the image and its mirror image."""
    return f"{version}+hflip"


def merge_predictions(
    images: Sequence[Image.Image],
    preds: Sequence[Prediction],
    mirrored: Sequence[Prediction] | None = None,
    signal_sources: Sequence[SignalSource] = (),
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Embeddings (N, D) float32 and merged signals from backbone predictions."""
    emb = np.stack([p.embedding for p in preds]).astype(np.float32)
    signals = [dict(p.signals) for p in preds]
    if mirrored is not None:
        emb = ((emb + np.stack([p.embedding for p in mirrored])) / 2).astype(np.float32)
        signals = [
            {k: (v + m.signals.get(k, v)) / 2 for k, v in s.items()}
            for s, m in zip(signals, mirrored, strict=True)
        ]
    for source in signal_sources:
        for merged, extra in zip(signals, source.signals(images), strict=True):
            merged.update(extra)
    return emb, signals


def flipped(images: Sequence[Image.Image]) -> list[Image.Image]:
    return [img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for img in images]


def embed_images(
    images: Sequence[Image.Image],
    classifier: Classifier,
    signal_sources: Sequence[SignalSource] = (),
    *,
    hflip: bool = False,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Embeddings and signals of decoded images, uncached; ``hflip`` doubles the backbone's cost."""
    preds = classifier.predict(images)
    mirrored = classifier.predict(flipped(images)) if hflip else None
    return merge_predictions(images, preds, mirrored, signal_sources)


def embed_paths(
    paths: Sequence[Path],
    classifier: Classifier,
    cache_file: str | os.PathLike[str] | None,
    signal_sources: Sequence[SignalSource] = (),
    *,
    hflip: bool = False,
    progress: bool = True,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int, int], None] | None = None,
) -> Embedded:
    """Embed image files with ``classifier`` (and ``signal_sources``), reusing a cache;
    ``on_batch(done, total)`` after each batch of images not in the cache."""
    from tqdm import tqdm

    version = hflip_version(classifier.version) if hflip else classifier.version
    version += "".join(f"|{source_key(s)}" for s in signal_sources)
    cache_path = Path(cache_file) if cache_file is not None else None
    cache = _load_cache(cache_path, version) if cache_path else {}
    keys = [file_sha1(p) if p.is_file() else "" for p in paths]
    todo = [i for i, k in enumerate(keys) if k not in cache]
    failed: set[int] = set()
    computed = 0
    bar = tqdm(total=len(todo), desc="embedding", unit="img", disable=not progress or not todo)
    for start in range(0, len(todo), batch_size):
        batch: list[tuple[int, Image.Image]] = []
        for i in todo[start : start + batch_size]:
            try:
                batch.append((i, load_image(paths[i])))
            except ImageDecodeError as exc:
                log.warning("skipped: %s", exc)
                failed.add(i)
        if batch:
            emb, sig = embed_images(
                [im for _, im in batch], classifier, signal_sources, hflip=hflip
            )
            for (i, _), e, s in zip(batch, emb, sig, strict=True):
                cache[keys[i]] = (e, s)
            computed += len(batch)
        bar.update(len(todo[start : start + batch_size]))
        if on_batch:
            on_batch(min(start + batch_size, len(todo)), len(todo))
    bar.close()
    if cache_path and computed:
        _save_cache(cache_path, version, cache)
    kept = np.array([i for i in range(len(paths)) if i not in failed], dtype=np.int64)
    dim = next(iter(cache.values()))[0].shape[0] if cache else 0
    embeddings = (
        np.stack([cache[keys[i]][0] for i in kept]).astype(np.float32)
        if len(kept)
        else np.zeros((0, dim), dtype=np.float32)
    )
    return Embedded(embeddings, [dict(cache[keys[i]][1]) for i in kept], kept)
