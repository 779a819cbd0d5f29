"""What the people models saw in a post's photo, for the post page's "why"."""

from __future__ import annotations

from dataclasses import dataclass

from mlmodels.people.signals import NAME as PEOPLE
from mlmodels.people.signals import faceless_bodies
from moderation.models import Embedding


@dataclass(frozen=True)
class PeopleSeen:
    ran: bool
    faces: int = 0
    child_faces: int = 0
    bodies: int = 0  # clear bodies without a readable face, presumed adult
    age_min: int | None = None  # years, rounded: the page says "aged about"
    age_max: int | None = None


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
    )
