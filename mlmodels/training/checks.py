"""The accuracy must-shows measured on a cross-validation's held-out decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlmodels.concepts.rollup import CONCEPT_PARENTS
from mlmodels.training.crossval import CVResult
from mlmodels.training.metrics import Metrics

SEARCH_PRECISION = 0.95  # a hashtag's search passes at this precision ...
SEARCH_RECALL = 0.90  # ... and this recall, together
ADULTS_IN_SCENES = 0.90  # at least: adults found in photos of people in scenes
GYM_ON_PEOPLE = 0.05  # at most: gym on photos of people that are not gym photos


@dataclass(frozen=True)
class Check:
    """``hits`` of ``n`` photos; passes when the share is >= ``target`` (``<=`` if
    ``at_most``); no target: reported only."""

    name: str
    hits: int
    n: int
    target: float | None = None
    at_most: bool = False

    @property
    def share(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.share is None:
            return None
        return self.share <= self.target if self.at_most else self.share >= self.target

    def as_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "name": self.name,
            "hits": self.hits,
            "n": self.n,
            "share": None if share is None else round(share, 4),
            "target": self.target,
            "at_most": self.at_most,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class HashtagResult:
    """Search under one hashtag's rule: shown vs relevant on photos whose truth is known;
    ``unknown_truth`` photos (a label the rule needs is ignored) are left out."""

    hashtag: str
    expression: str
    metrics: Metrics
    unknown_truth: int

    @property
    def passed(self) -> bool:
        m = self.metrics
        return bool(m.support) and m.precision >= SEARCH_PRECISION and m.recall >= SEARCH_RECALL

    def as_dict(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            **self.metrics.as_dict(),
            "unknown_truth": self.unknown_truth,
            "target": f"P >= {SEARCH_PRECISION} at R >= {SEARCH_RECALL}",
            "passed": self.passed,
        }


def present(cv: CVResult) -> np.ndarray:
    """(N, C) held-out decisions with a present dog or cat making animal present, as shown."""
    out = cv.decisions.copy()
    for child, parent in CONCEPT_PARENTS.items():
        if child in cv.concepts and parent in cv.concepts:
            out[:, cv.concepts.index(parent)] |= out[:, cv.concepts.index(child)]
    return out


def _check(cv: CVResult, name: str, rows: np.ndarray, concept: str, **target: Any) -> Check:
    tagged = present(cv)[:, cv.concepts.index(concept)]
    return Check(name, int((tagged & rows).sum()), int(rows.sum()), **target)


def concept_checks(cv: CVResult, scene_rows: np.ndarray) -> list[Check]:
    """``scene_rows``: the photos of people in scenes (not face crops or catalogue shots)."""
    needed = {"adult", "child", "gym", "flower", "animal"}
    if not needed <= set(cv.concepts):
        return []
    y = {c: cv.labels[:, cv.concepts.index(c)] for c in needed}
    people = (y["adult"] == 1) | (y["child"] == 1)
    return [
        _check(
            cv,
            "adult found on photos of adults in scenes",
            scene_rows & (y["adult"] == 1),
            "adult",
            target=ADULTS_IN_SCENES,
        ),
        _check(
            cv,
            "child found on photos of children in scenes",
            scene_rows & (y["child"] == 1),
            "child",
        ),
        _check(
            cv,
            "gym on photos of people that are not gym photos",
            people & (y["gym"] == 0),
            "gym",
            target=GYM_ON_PEOPLE,
            at_most=True,
        ),
        _check(
            cv,
            "animal on flower photos without an animal",
            (y["flower"] == 1) & (y["animal"] == 0),
            "animal",
        ),
    ]


def recall_by_source(cv: CVResult) -> dict[str, dict[str, tuple[int, int]]]:
    """concept -> source -> (positives found, positives) on the held-out decisions."""
    tagged = present(cv)
    groups = np.asarray(cv.groups)
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for j, concept in enumerate(cv.concepts):
        positive = cv.labels[:, j] == 1
        out[concept] = {
            str(source): (int((tagged[:, j] & rows).sum()), int(rows.sum()))
            for source in sorted(set(groups[positive].tolist()))
            for rows in [positive & (groups == source)]
        }
    return out


def checks_missed(checks: Sequence[Check], hashtags: Sequence[HashtagResult]) -> list[str]:
    missed = [
        f"{c.name}: {c.hits}/{c.n} = {c.share:.3f}, target {'<=' if c.at_most else '>='} "
        f"{c.target:.2f}"
        for c in checks
        if c.passed is False and c.share is not None and c.target is not None
    ]
    missed += [
        f"#{h.hashtag} ({h.expression}): precision {h.metrics.precision:.3f}, recall "
        f"{h.metrics.recall:.3f}; target P >= {SEARCH_PRECISION} at R >= {SEARCH_RECALL}"
        for h in hashtags
        if not h.passed
    ]
    return missed
