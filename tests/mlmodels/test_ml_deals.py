"""The table over several deals of sources to folds (``evaluate_concepts --seeds``)."""

from __future__ import annotations

import json

from mlmodels.training.checks import Check, HashtagResult
from mlmodels.training.deals import Deal, deals_json, deals_table
from mlmodels.training.metrics import Metrics


def deal(seed: int, adults: int, animal: Metrics) -> Deal:
    checks = [Check("adult found on photos of adults in scenes", adults, 119, 0.90)]
    return Deal(seed, 0.83 + seed / 100, checks, [HashtagResult("동물", "animal", animal, 2)])


def test_each_deal_is_a_column_and_the_passes_are_counted() -> None:
    deals = [
        deal(0, 100, Metrics(tp=184, fp=12, fn=6)),  # P 0.939: misses
        deal(1, 108, Metrics(tp=186, fp=7, fn=4)),  # P 0.964, R 0.979: passes
    ]
    lines = deals_table(deals).splitlines()
    assert lines[0].split()[-4:] == ["seed", "0", "seed", "1"]
    assert lines[1].split()[-2:] == ["0.830", "0.840"]
    adults = next(line for line in lines if line.startswith("adult found"))
    assert adults.split()[-6:] == ["100/119", "108/119", "passed", "1", "of", "2"]
    animal = next(line for line in lines if line.startswith("#동물"))
    assert "0.939 / 0.968" in animal and "0.964 / 0.979" in animal
    assert animal.endswith("passed 1 of 2")


def test_the_json_keeps_every_deal() -> None:
    written = json.loads(
        json.dumps(deals_json([deal(0, 100, Metrics(1, 0, 0)), deal(3, 90, Metrics(0, 1, 1))]))
    )
    assert written["seeds"] == [0, 3]
    assert [c["hits"] for c in written["checks"]["adult found on photos of adults in scenes"]] == [
        100,
        90,
    ]
    assert len(written["hashtags"]["동물"]) == 2
