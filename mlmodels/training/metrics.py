"""Precision, recall and F1 of decisions, and the threshold rules that choose them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEVER = 2.0  # a threshold no score in 0..1 reaches (concept without positives)
PRECISION_TARGET = 0.90  # of the trained heads and of the roll-up (mlmodels.training.calibrate)


@dataclass(frozen=True)
class Metrics:
    tp: int
    fp: int
    fn: int

    @classmethod
    def of(cls, predicted: np.ndarray, y: np.ndarray) -> Metrics:
        labelled = y >= 0
        p, t = predicted[labelled].astype(bool), y[labelled] == 1
        return cls(int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum()))

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


RULE_PRECISION = "precision-target"
RULE_MAX_F1 = "max-F1 (precision target unreachable)"
RULE_NO_POSITIVES = "no positives"
RULE_FLOOR = "raised to its source's own cut"


def calibrate_threshold(
    scores: np.ndarray, y: np.ndarray, precision_target: float
) -> tuple[float, str]:
    """Among the thresholds whose precision reaches ``precision_target``, the one with the best
    F1 (the lowest on ties), else the max-F1 one; returns (threshold, rule). Present = score >=
    threshold."""
    labelled = y >= 0
    s, t = scores[labelled].astype(np.float64), y[labelled] == 1
    if not t.any():
        return NEVER, RULE_NO_POSITIVES
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    # Candidate cut after the last of each run of equal scores.
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(t)[last]
    fp = np.cumsum(~t)[last]
    cut = s[last]
    precision = tp / (tp + fp)
    f1 = 2 * tp / (tp + fp + t.sum())
    below = np.r_[cut[1:], cut[-1] - 1e-6]  # next lower distinct score
    reach = np.flatnonzero(precision >= precision_target)
    if reach.size:
        # The last maximum: the lowest of equally good thresholds.
        i = int(reach[len(reach) - 1 - int(np.argmax(f1[reach][::-1]))])
        rule = RULE_PRECISION
    else:
        i = int(np.argmax(f1))
        rule = RULE_MAX_F1
    return float((cut[i] + below[i]) / 2), rule


def average_precision(scores: np.ndarray, y: np.ndarray) -> float:
    """Mean precision at each positive's rank: a threshold-free score for choosing l2."""
    labelled = y >= 0
    s, t = scores[labelled], y[labelled] == 1
    if not t.any():
        return 0.0
    t = t[np.argsort(-s, kind="stable")]
    hits = np.cumsum(t)
    return float((hits[t] / (np.flatnonzero(t) + 1)).mean())
