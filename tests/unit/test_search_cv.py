"""Per-hashtag search precision and recall of a cross-validation, under the starter rules and
the product's own three-valued logic. No database."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlmodels.training.crossval import cross_validate
from mlmodels.training.predictions import Predictions
from mlmodels.training.report import write_report
from moderation.ingest.search_cv import hashtag_results, hashtag_search, starter_rules
from moderation.rules.starter import CONCEPTS, RULES

KEYS = tuple(key for key, *_ in CONCEPTS)


def _rows(*rows: dict[str, int]) -> np.ndarray:
    return np.array([[row.get(k, 0) for k in KEYS] for row in rows], dtype=np.int8)


def test_search_precision_and_recall_on_a_hand_example() -> None:
    rules = {h: r for h, r in starter_rules().items() if h in ("연애", "동물")}
    labels = _rows(
        {"adult": 1},  # romance, shown: a true positive
        {"adult": 1, "child": 1},  # a child in it, shown anyway: a false positive
        {"adult": 1},  # adult not found: missed
        {"adult": -1, "child": -1},  # nothing known of people: left out
        {},  # nobody, not shown: a true negative
        {"adult": 1, "child": -1},  # children unknown: left out of romance
        {"dog": 1, "animal": 1},  # a present dog makes animal present
    )
    decisions = _rows(
        {"adult": 1},
        {"adult": 1},
        {},
        {"adult": 1},
        {"child": 1},
        {"adult": 1},
        {"dog": 1},
    ).astype(bool)
    predictions = Predictions(KEYS, labels, decisions, np.zeros_like(decisions), ())

    results = {r.hashtag: r for r in hashtag_search(predictions, rules)}

    romance = results["연애"]
    assert (romance.metrics.tp, romance.metrics.fp, romance.metrics.fn) == (1, 1, 1)
    assert romance.metrics.precision == pytest.approx(0.5)
    assert romance.metrics.recall == pytest.approx(0.5)
    assert romance.unknown_truth == 2
    assert not romance.passed
    animal = results["동물"]
    assert (animal.metrics.tp, animal.metrics.fp, animal.metrics.fn) == (1, 0, 0)
    assert animal.unknown_truth == 0


def test_the_report_has_a_row_per_starter_hashtag(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 60
    labels = (rng.uniform(size=(n, len(KEYS))) < 0.3).astype(np.int8)
    cv = cross_validate(
        rng.normal(size=(n, 6)), [{}] * n, labels, KEYS,
        groups=np.array([f"repo-{i % 6}" for i in range(n)]), folds=3, inner_folds=2,
        l2_grid=(1.0,),
    )  # fmt: skip
    hashtags = hashtag_results(cv)
    write_report(tmp_path, cv, {"backbone": "synthetic"}, hashtags=hashtags)

    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert list(report["hashtags"]) == [h for h, *_ in RULES]
    fashion = report["hashtags"]["패션"]
    assert fashion["expression"] == "adult or child or clothing"
    assert {"precision", "recall", "support", "unknown_truth", "passed"} <= set(fashion)
    text = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert "search per hashtag" in text and "연애" in text
    assert any(line.startswith("#") for line in report["targets_missed"])
