"""Signal sources run lazily: for the posts whose rules need a concept a source answers (adult,
child from people), or whose heads are unsure without it (docs/people.md, "Lazy people")."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from mlmodels.base import SignalSource
from mlmodels.concepts.heads import ConceptHeads, answered_by
from moderation.ingest.classifier import get_signal_sources, signals_expected, version_heads
from moderation.ingest.needs import needed
from moderation.models import Embedding, ModelVersion
from moderation.rules.compiled import (
    CompiledRule,
    ConceptInfo,
    image_words_could_change,
    presences_evaluate,
)
from moderation.rules.expr import evaluate as kleene

logger = logging.getLogger(__name__)


def sources_usable(version: ModelVersion, heads: ConceptHeads | None) -> tuple[SignalSource, ...]:
    """The configured sources these heads read, at the version they were trained on."""
    if heads is None:
        return ()
    usable = []
    for source in get_signal_sources():
        if source.name not in heads.sources_read:
            continue
        expected = signals_expected(version, source.name)
        if expected is not None and expected != source.version:
            logger.warning(
                "Model version %s was trained on %s signals %s, the configured source makes %s: "
                "its concepts %s stay unknown until the heads are retrained.",
                version.name,
                source.name,
                expected,
                source.version,
                sorted(answered_by(source.name)),
            )
            continue
        usable.append(source)
    return tuple(usable)


@dataclass(frozen=True)
class SignalPlan:
    """What a batch needs to choose each post's sources: built in the database thread, read
    in the network thread (no database)."""

    heads: ConceptHeads | None = None
    sources: tuple[SignalSource, ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    needs: Mapping[int, frozenset[str]] = field(default_factory=dict)
    rules: Mapping[int, tuple[CompiledRule, ...]] = field(default_factory=dict)

    def wanted(
        self,
        post_ids: Sequence[int],
        vectors: Sequence[np.ndarray],
        signals: Sequence[Mapping[str, float]],
    ) -> dict[int, tuple[SignalSource, ...]]:
        """The sources to run now, for the posts that want any: absent for the post, and
        moving a needed score across its threshold, or answering a concept its rules need
        while they are undecided without it."""
        if self.heads is None or not self.sources or not post_ids:
            return {}
        matrix = np.stack(vectors)
        ranges = self.heads.score_ranges(matrix, signals)
        scored = self.heads.scores(matrix, signals)
        out: dict[int, tuple[SignalSource, ...]] = {}
        for pk, found, ranged, scores in zip(post_ids, signals, ranges, scored, strict=True):
            need = self.needs.get(pk, frozenset())
            missing = self.heads.absent(found)
            if not need or not missing:
                continue
            unsure = frozenset(
                c for c, (low, high) in ranged.items() if low < self.thresholds.get(c, 0.5) <= high
            )
            rules = self.rules.get(pk, ())
            run = tuple(
                s
                for s in self.sources
                if s.name in missing and _undecided(rules, scores, answered_by(s.name), unsure)
            )
            if run:
                out[pk] = run
        return out


def _undecided(
    rules: Sequence[CompiledRule],
    scores: Mapping[str, float],
    answered: frozenset[str],
    unsure: frozenset[str],
) -> bool:
    """Whether a rule needing a concept of ``answered``, or one the heads are ``unsure`` of
    without the source, could still change: unknown in Kleene's logic with those unsure ones
    unknown, or moved by some words the post might hold."""
    known = {key: score for key, score in scores.items() if key not in unsure}
    for rule in rules:
        if not (answered | unsure) & {p.key for p in rule.presences}:
            continue
        present = presences_evaluate(rule.presences, known, None, rule.words)
        if kleene(rule.expr, present) is None or image_words_could_change(rule, scores):
            return True
    return False


def signal_plan(
    *,
    version: ModelVersion,
    rules: Mapping[int, tuple[CompiledRule, ...]],
    catalog: Mapping[str, ConceptInfo],
) -> SignalPlan:
    """The plan for the posts of ``rules`` under ``version`` (empty: no source to run)."""
    heads = version_heads(version)
    sources = sources_usable(version, heads)
    if heads is None or not sources:
        return SignalPlan()
    return SignalPlan(
        heads=heads,
        sources=sources,
        thresholds={key: info.threshold for key, info in catalog.items()},
        needs={pk: frozenset().union(*map(needed, found)) for pk, found in rules.items()},
        rules=rules,
    )


def signals_run(
    plan: SignalPlan,
    wanted: Mapping[int, tuple[SignalSource, ...]],
    images: Mapping[int, Image.Image],
) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, str]]]:
    """Each source once over the images of the posts that want it (no database): the signals
    found and the versions that made them, per post."""
    found: dict[int, dict[str, float]] = {}
    made: dict[int, dict[str, str]] = {}
    for source in plan.sources:
        ids = [pk for pk, run in wanted.items() if source in run and pk in images]
        if not ids:
            continue
        for pk, signals in zip(ids, source.signals([images[pk] for pk in ids]), strict=True):
            found.setdefault(pk, {}).update({k: float(v) for k, v in signals.items()})
            made.setdefault(pk, {})[source.name] = source.version
    return found, made


def signals_replaced(
    stored: Mapping[str, float], found: Mapping[str, float], made: Mapping[str, str]
) -> dict[str, float]:
    """``stored`` with the keys of the sources that ran (``made``: name → version) replaced by
    ``found``: keys a source no longer reports go (an age without a face would otherwise linger)."""
    prefixes = tuple(f"{name}:" for name in made)
    kept = {k: v for k, v in stored.items() if not k.startswith(prefixes)}
    return {**kept, **found}


def signals_apply(
    embedding: Embedding, found: Mapping[str, float], made: Mapping[str, str]
) -> None:
    """Replace the stored keys of the sources that ran by ``found`` (``signals_replaced``)."""
    embedding.signals = signals_replaced(embedding.signals, found, made)
    embedding.signal_versions = {**embedding.signal_versions, **made}
