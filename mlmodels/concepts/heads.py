"""Concept heads: per-concept logistic regressions on a frozen backbone's embedding (+ signals)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mlmodels.base import Classifier, Prediction, SignalSource
from mlmodels.dataset import flipped, merge_predictions

HEADS_FORMAT = 1
SOURCE_HEAD = "head"
SOURCE_IMAGENET = "imagenet"
SOURCE_MEAN = "mean"  # the mean of the head's probability and the direct evidence
SOURCE_MAX = "max"  # the higher of the two: either one sure enough decides
SOURCES = (SOURCE_HEAD, SOURCE_IMAGENET, SOURCE_MEAN, SOURCE_MAX)
# Signals the backbone itself puts into Prediction.signals ("imagenet:<concept>" roll-up scores).
BACKBONE_SIGNAL_PREFIX = "imagenet"


DIRECT_SIGNALS: dict[str, str] = {"adult": "people:adult", "child": "people:child"}
ADULT_EVIDENCE = DIRECT_SIGNALS["adult"]
ANIMAL_EVIDENCE = f"{BACKBONE_SIGNAL_PREFIX}:animal"
# Adult evidence x (1 - animal ** power): pets (0.95+) lose it, people by a horse or a dog
# (0.6-0.9) keep most; an adult face on a clear body, unless an animal is all but sure.
ANIMAL_VETO_POWER = 3.0
ADULT_IN_BODY = "people:adult_in_body"
IN_BODY_VETO_POWER = 10.0
# A source that did not run for a photo (no key of it) leaves its features at their training
# mean; its features' bounds then run from "nothing found" (0) to this many sd above the mean.
ABSENT_SPREAD = 2.0


def imagenet_key(concept: str) -> str:
    return DIRECT_SIGNALS.get(concept, f"{BACKBONE_SIGNAL_PREFIX}:{concept}")


def source_of(key: str) -> str:
    """The signal source a key comes from: ``people`` for ``people:faces``."""
    return key.split(":", 1)[0]


def answered_by(source: str) -> frozenset[str]:
    """Concepts a source exists to answer (adult, child from people): without it, no score."""
    return frozenset(c for c, key in DIRECT_SIGNALS.items() if source_of(key) == source)


def sources_in(signals: Mapping[str, float]) -> frozenset[str]:
    return frozenset(source_of(key) for key in signals)


def source_score(source: str, head: Any, direct: Any) -> Any:
    """A concept's score from its source: floats or numpy arrays alike."""
    if source == SOURCE_HEAD:
        return head
    if source == SOURCE_IMAGENET:
        return direct
    if source == SOURCE_MAX:
        return np.maximum(head, direct)
    return (head + direct) / 2


def signal_value(
    sig: Mapping[str, float], key: str, veto_power: float = ANIMAL_VETO_POWER
) -> float:
    """A stored signal as heads read it (0 when missing: "not measured/not found"). The people's
    adult evidence counts only as far as the backbone sees no animal: BlazeFace finds faces on
    pets and MoveNet fits bodies on dogs (docs/people.md, "Fifteenth session")."""
    value = float(sig.get(key, 0.0))
    if key == ADULT_EVIDENCE:
        animal = float(sig.get(ANIMAL_EVIDENCE, 0.0))
        value *= 1.0 - animal**veto_power
        in_body = float(sig.get(ADULT_IN_BODY, 0.0)) * (1.0 - animal**IN_BODY_VETO_POWER)
        value = max(value, in_body)
    return value


def signal_matrix(
    signals: Sequence[Mapping[str, float]],
    keys: Sequence[str],
    veto_power: float = ANIMAL_VETO_POWER,
) -> np.ndarray:
    """(N, K) float32 of the named signals, as :func:`signal_value` reads them."""
    out = np.zeros((len(signals), len(keys)), dtype=np.float32)
    for i, sig in enumerate(signals):
        for j, key in enumerate(keys):
            out[i, j] = signal_value(sig, key, veto_power)
    return out


def raw_features(
    embeddings: np.ndarray,
    signals: Sequence[Mapping[str, float]],
    signal_keys: Sequence[str],
    veto_power: float = ANIMAL_VETO_POWER,
) -> np.ndarray:
    """Embedding followed by the named signals, unstandardised: (N, D + K) float32."""
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(signals):
        raise ValueError(f"embeddings {emb.shape} do not match {len(signals)} signal dicts")
    return np.concatenate([emb, signal_matrix(signals, signal_keys, veto_power)], axis=1)


def sigmoid(z: np.ndarray) -> np.ndarray:
    # Written via exp(-|z|) so large |z| never overflows.
    e = np.exp(-np.abs(z))
    out: np.ndarray = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


@dataclass(frozen=True)
class ConceptHeads:
    """Linear heads over standardised features ``(x - mean) / scale``."""

    concepts: tuple[str, ...]
    source: dict[str, str]
    mean: np.ndarray  # (F,) float32
    scale: np.ndarray  # (F,) float32
    weights: np.ndarray  # (F, C) float32
    bias: np.ndarray  # (C,) float32
    signal_keys: tuple[str, ...]
    backbone: str
    thresholds: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)
    veto_power: float = ANIMAL_VETO_POWER  # as trained; heads saved without it were trained on 1

    def __post_init__(self) -> None:
        n_features, n_concepts = self.weights.shape
        if n_concepts != len(self.concepts) or self.bias.shape != (n_concepts,):
            raise ValueError("weights/bias do not match the concepts")
        if self.mean.shape != (n_features,) or self.scale.shape != (n_features,):
            raise ValueError("mean/scale do not match the weights")
        bad = {c: s for c, s in self.source.items() if s not in SOURCES}
        if bad or set(self.source) != set(self.concepts):
            raise ValueError(f"every concept needs a source in {SOURCES} (got {bad})")

    @property
    def embedding_dim(self) -> int:
        return int(self.weights.shape[0]) - len(self.signal_keys)

    def features(
        self, embeddings: np.ndarray, signals: Sequence[Mapping[str, float]]
    ) -> np.ndarray:
        """Standardised (N, F) features: the embedding, then ``signal_keys`` (missing -> 0)."""
        raw = raw_features(embeddings, signals, self.signal_keys, self.veto_power)
        if raw.shape[1] != self.weights.shape[0]:
            raise ValueError(
                f"embedding has {raw.shape[1] - len(self.signal_keys)} dimensions, the heads "
                f"expect {self.embedding_dim} (backbone {self.backbone})"
            )
        out: np.ndarray = (raw - self.mean) / self.scale
        return out

    @property
    def sources_read(self) -> frozenset[str]:
        """Signal sources the heads read besides the backbone's own roll-up."""
        return frozenset(source_of(k) for k in self.signal_keys) - {BACKBONE_SIGNAL_PREFIX}

    def absent(self, signals: Mapping[str, float]) -> frozenset[str]:
        """Sources the heads read that did not run for this photo (no key of theirs)."""
        return self.sources_read - sources_in(signals)

    def _direct(self, sig: Mapping[str, float], concept: str) -> float:
        return signal_value(sig, imagenet_key(concept), self.veto_power)

    def _columns(self, sources: frozenset[str]) -> np.ndarray:
        start = self.embedding_dim
        return np.array(
            [start + j for j, k in enumerate(self.signal_keys) if source_of(k) in sources], int
        )

    def _logits(
        self, embeddings: np.ndarray, signals: Sequence[Mapping[str, float]]
    ) -> tuple[np.ndarray, list[frozenset[str]]]:
        """(N, C) logits with absent sources' features at their training mean, and what was
        absent per row."""
        z = self.features(embeddings, signals)
        absent = [self.absent(sig) for sig in signals]
        for i, missing in enumerate(absent):
            if missing:
                z[i, self._columns(missing)] = 0.0
        return z.astype(np.float64) @ self.weights + self.bias, absent

    def head_probabilities(
        self, embeddings: np.ndarray, signals: Sequence[Mapping[str, float]]
    ) -> np.ndarray:
        """(N, C) sigmoid outputs of the linear heads for every concept, whatever its source."""
        return sigmoid(self._logits(embeddings, signals)[0])

    def scores(
        self, embeddings: np.ndarray, signals: Sequence[Mapping[str, float]]
    ) -> list[dict[str, float]]:
        """Per image ``{concept: score}`` from each concept's chosen source; a concept an absent
        source answers has no score (unknown, never "nobody found")."""
        logits, absent = self._logits(embeddings, signals)
        out: list[dict[str, float]] = []
        for row, sig, missing in zip(sigmoid(logits), signals, absent, strict=True):
            unanswered = frozenset().union(*(answered_by(s) for s in missing))
            out.append(
                {
                    c: float(source_score(self.source[c], row[j], self._direct(sig, c)))
                    for j, c in enumerate(self.concepts)
                    if c not in unanswered
                }
            )
        return out

    def score_ranges(
        self, embeddings: np.ndarray, signals: Sequence[Mapping[str, float]]
    ) -> list[dict[str, tuple[float, float]]]:
        """Per image, the concepts whose score hangs on an absent source through their head,
        with the lowest and highest score its features allow (nothing found ..
        ``ABSENT_SPREAD`` sd above the mean): a threshold inside means the heads are unsure."""
        logits, absent = self._logits(embeddings, signals)
        read = [j for j, c in enumerate(self.concepts) if self.source[c] != SOURCE_IMAGENET]
        out: list[dict[str, tuple[float, float]]] = []
        for row, sig, missing in zip(logits, signals, absent, strict=True):
            found: dict[str, tuple[float, float]] = {}
            if missing:
                cols = self._columns(missing)
                nothing = -self.mean[cols] / self.scale[cols]
                ends = np.stack([nothing, np.full_like(nothing, ABSENT_SPREAD)])
                moves = ends[:, :, None] * self.weights[cols][None]  # (2, K, C)
                low = sigmoid(row + moves.min(axis=0).sum(axis=0))
                high = sigmoid(row + moves.max(axis=0).sum(axis=0))
                for j in read:
                    c = self.concepts[j]
                    if low[j] < high[j]:
                        direct = self._direct(sig, c)
                        found[c] = (
                            float(source_score(self.source[c], low[j], direct)),
                            float(source_score(self.source[c], high[j], direct)),
                        )
            out.append(found)
        return out

    def unsure_bounds(self, thresholds: Mapping[str, float]) -> dict[str, tuple[float, float]]:
        """Per concept, the scores stored without the other sources for which `score_ranges`
        can hold its threshold (a superset for the mean source): unsure posts, set-based."""
        cols = self._columns(self.sources_read)
        if not len(cols):
            return {}
        ends = np.stack([-self.mean[cols] / self.scale[cols], np.full(len(cols), ABSENT_SPREAD)])
        moves = ends[:, :, None] * self.weights[cols][None].astype(np.float64)
        low, high = moves.min(axis=0).sum(axis=0), moves.max(axis=0).sum(axis=0)
        out: dict[str, tuple[float, float]] = {}
        for j, c in enumerate(self.concepts):
            if self.source[c] == SOURCE_IMAGENET or low[j] >= high[j] or c not in thresholds:
                continue
            t = min(max(float(thresholds[c]), 1e-6), 1 - 1e-6)
            if self.source[c] == SOURCE_MEAN:  # a head's own range is at most tanh(spread / 4)
                half = float(np.tanh((high[j] - low[j]) / 4)) / 2
                out[c] = (t - half, t + half)
            else:  # head, or max: its score is the head's wherever the head can decide
                logit = float(np.log(t / (1 - t)))
                out[c] = (float(sigmoid(logit - high[j])), float(sigmoid(logit - low[j])))
        return out

    def present(self, scores: Mapping[str, float]) -> list[str]:
        """Concepts whose score reaches their calibrated threshold (sorted)."""
        return sorted(
            c for c, s in scores.items() if c in self.thresholds and s >= self.thresholds[c]
        )

    def to_bytes(self) -> bytes:
        meta = {
            "format": HEADS_FORMAT,
            "concepts": list(self.concepts),
            "source": self.source,
            "signal_keys": list(self.signal_keys),
            "backbone": self.backbone,
            "thresholds": self.thresholds,
            "metadata": self.metadata,
            "veto_power": self.veto_power,
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            meta=np.array(json.dumps(meta, sort_keys=True)),
            mean=self.mean,
            scale=self.scale,
            weights=self.weights,
            bias=self.bias,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ConceptHeads:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            if meta.get("format") != HEADS_FORMAT:
                raise ValueError(f"unsupported heads format {meta.get('format')!r}")
            return cls(
                concepts=tuple(meta["concepts"]),
                source=dict(meta["source"]),
                mean=arrays["mean"].astype(np.float32),
                scale=arrays["scale"].astype(np.float32),
                weights=arrays["weights"].astype(np.float32),
                bias=arrays["bias"].astype(np.float32),
                signal_keys=tuple(meta["signal_keys"]),
                backbone=meta["backbone"],
                thresholds={k: float(v) for k, v in meta["thresholds"].items()},
                metadata=dict(meta["metadata"]),
                veto_power=float(meta.get("veto_power", 1.0)),
            )

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> ConceptHeads:
        return cls.from_bytes(Path(path).read_bytes())

    def digest(self) -> str:
        """Short content hash, for classifier version strings."""
        return hashlib.sha256(self.to_bytes()).hexdigest()[:8]


class BackboneMismatch(ValueError):
    """Heads trained on one backbone's embeddings were paired with another backbone."""


class HeadsClassifier:
    """A :class:`~mlmodels.base.Classifier`: backbone embedding + signals -> concept heads."""

    def __init__(
        self,
        backbone: Classifier,
        heads: ConceptHeads,
        version: str,
        signal_sources: Sequence[SignalSource] = (),
    ) -> None:
        if backbone.version != heads.backbone:
            raise BackboneMismatch(
                f"heads were trained on backbone {heads.backbone!r} but the backbone is "
                f"{backbone.version!r}; retrain the heads (python -m mlmodels.training)"
            )
        provided = {BACKBONE_SIGNAL_PREFIX} | {s.name for s in signal_sources}
        needed = {key.split(":", 1)[0] for key in heads.signal_keys}
        if needed - provided:
            # Missing signals would silently read as 0: refuse rather than degrade.
            raise ValueError(
                f"heads use signals from {sorted(needed - provided)}, which no signal source "
                "provides"
            )
        self.backbone = backbone
        self.heads = heads
        self.version = version
        self.signal_sources = tuple(signal_sources)
        self.concepts: frozenset[str] = frozenset(heads.concepts)
        self.thresholds: Mapping[str, float] = heads.thresholds

    def __repr__(self) -> str:
        return f"HeadsClassifier({self.backbone!r}, version={self.version!r})"

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        if not images:
            return []
        base = self.backbone.predict(images)
        mirrored = (
            self.backbone.predict(flipped(images)) if self.heads.metadata.get("hflip") else None
        )
        embeddings, signals = merge_predictions(images, base, mirrored, self.signal_sources)
        out: list[Prediction] = []
        for pred, emb, scores, sig in zip(
            base, embeddings, self.heads.scores(embeddings, signals), signals, strict=True
        ):
            stored = np.array(emb, dtype=np.float32)
            stored.flags.writeable = False
            out.append(
                Prediction(scores=scores, embedding=stored, top_labels=pred.top_labels, signals=sig)
            )
        return out
