"""One cross-validation under several deals of sources to folds: how much the deal decides.

With a few large sources per concept, which fold holds which source moves the figures a lot
(docs/model.md, "Sixth session"); a target is read over several deals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlmodels.training.checks import Check, HashtagResult


@dataclass(frozen=True)
class Deal:
    """What one deal (a ``seed`` of ``group_folds``) measured."""

    seed: int
    macro_f1: float
    checks: Sequence[Check]
    hashtags: Sequence[HashtagResult]


def _passes(results: Sequence[bool | None]) -> str:
    judged = [r for r in results if r is not None]
    return f"passed {sum(judged)} of {len(judged)}" if judged else ""


def deals_table(deals: Sequence[Deal]) -> str:
    """A row per must-show and per hashtag, a column per deal, and how many deals pass it."""
    width = 46
    lines = [
        "over deals of the folds".ljust(width) + "".join(f"seed {d.seed}".rjust(15) for d in deals)
    ]
    lines.append("macro F1".ljust(width) + "".join(f"{d.macro_f1:15.3f}" for d in deals))
    for i, check in enumerate(deals[0].checks):
        checks = [d.checks[i] for d in deals]
        cells = "".join(f"{c.hits}/{c.n}".rjust(15) for c in checks)
        lines.append(f"{check.name.ljust(width)}{cells}  {_passes([c.passed for c in checks])}")
    for i, tag in enumerate(deals[0].hashtags):
        tags = [d.hashtags[i] for d in deals]
        cells = "".join(
            f"{h.metrics.precision:.3f} / {h.metrics.recall:.3f}".rjust(15) for h in tags
        )
        label = f"#{tag.hashtag} P / R".ljust(width)
        lines.append(f"{label}{cells}  {_passes([h.passed for h in tags])}")
    return "\n".join(lines)


def deals_json(deals: Sequence[Deal]) -> dict[str, Any]:
    return {
        "seeds": [d.seed for d in deals],
        "macro_f1": [round(d.macro_f1, 4) for d in deals],
        "checks": {
            check.name: [d.checks[i].as_dict() for d in deals]
            for i, check in enumerate(deals[0].checks)
        },
        "hashtags": {
            tag.hashtag: [d.hashtags[i].as_dict() for d in deals]
            for i, tag in enumerate(deals[0].hashtags)
        },
    }
