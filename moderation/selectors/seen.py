"""What the models saw in a post's photo, for the post page's "why" and the API."""

from __future__ import annotations

from dataclasses import dataclass

from mlmodels.people.signals import NAME as PEOPLE
from mlmodels.people.signals import faceless_bodies
from moderation.models import Classification, Embedding
from moderation.rules.compiled import ConceptInfo
from moderation.selectors.catalog import concept_catalog


@dataclass(frozen=True)
class ConceptScore:
    info: ConceptInfo
    score: float | None  # None: not measured for this post, or the version cannot see it

    @property
    def present(self) -> bool | None:
        return None if self.score is None else self.score >= self.info.threshold

    @property
    def percent(self) -> int | None:
        return None if self.score is None else round(self.score * 100)

    @property
    def threshold_percent(self) -> int:
        return round(self.info.threshold * 100)


def concept_scores(classification: Classification) -> list[ConceptScore]:
    """Every concept of the catalogue with this classification's score, in key order."""
    return [
        ConceptScore(info=info, score=classification.scores.get(key))
        for key, info in concept_catalog().items()
    ]


@dataclass(frozen=True)
class PeopleSeen:
    ran: bool
    faces: int = 0
    child_faces: int = 0
    bodies: int = 0  # clear bodies without a readable face, presumed adult
    age_min: int | None = None  # years, rounded: the page says "aged about"
    age_max: int | None = None
    child_chance: int | None = None  # per cent, the likeliest child among the faces


def people_seen(embedding: Embedding | None) -> PeopleSeen | None:
    """The stored people evidence in plain counts; ``ran`` is false where the people models have
    not looked at the photo (they run once a rule needs them). None without an embedding."""
    if embedding is None:
        return None
    if PEOPLE not in (embedding.signal_versions or {}):
        return PeopleSeen(ran=False)
    signals = embedding.signals or {}
    ages = [signals.get(key) for key in ("people:age_min", "people:age_max")]
    low, high = (None if age is None else round(age) for age in ages)
    return PeopleSeen(
        ran=True,
        faces=int(signals.get("people:faces", 0)),
        child_faces=int(signals.get("people:children", 0)),
        bodies=faceless_bodies(signals),
        age_min=low,
        age_max=high,
        child_chance=round(100 * signals["people:child"]) if "people:child" in signals else None,
    )
