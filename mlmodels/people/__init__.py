"""People evidence (person, adult, child) for TagLens photos; see docs/people.md."""

from __future__ import annotations

from mlmodels.people.lite import PeopleSignalsLite
from mlmodels.people.signals import PeopleSignals

__all__ = ["PeopleSignals", "PeopleSignalsLite"]
