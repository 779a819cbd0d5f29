from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlmodels.base import ALL_CONCEPTS
from mlmodels.concepts import rollup
from mlmodels.concepts.imagenet import class_names


def test_every_table_entry_resolves_to_an_imagenet_class() -> None:
    resolved = rollup.resolve_table()
    assert set(resolved) == set(rollup.CONCEPT_CLASSES)
    for concept, indices in resolved.items():
        assert indices, concept
        assert all(0 <= i < 1000 for i in indices)
    names = class_names()
    assert names[967] == "espresso"
    assert 967 in resolved["beverage"]


def test_hierarchy_and_exclusivity() -> None:
    r = {c: set(v) for c, v in rollup.resolve_table().items()}
    assert r["dog"] <= r["animal"]
    assert r["cat"] <= r["animal"]
    assert not r["food"] & r["beverage"]
    assert r["cat"] == set(range(281, 286))
    assert r["dog"] == set(range(151, 269))
    for concept, parent in rollup.CONCEPT_PARENTS.items():
        assert r[concept] <= r[parent]


def test_only_supported_concepts() -> None:
    assert rollup.ROLLUP_CONCEPTS <= set(ALL_CONCEPTS)
    # ImageNet cannot tell these apart; the roll-up must not pretend to.
    assert not {"adult", "child", "nail", "clothing"} & rollup.ROLLUP_CONCEPTS


def test_thresholds_cover_supported_concepts() -> None:
    assert set(rollup.DEFAULT_THRESHOLDS) == set(rollup.ROLLUP_CONCEPTS)
    assert all(0.0 < t < 1.0 for t in rollup.DEFAULT_THRESHOLDS.values())


def test_bad_names_are_rejected() -> None:
    with pytest.raises(rollup.RollupTableError, match="not an ImageNet class"):
        rollup.resolve_table({"food": ("kimchi",)})
    with pytest.raises(rollup.RollupTableError, match="several classes"):
        rollup.resolve_table({"other": ("missile",)})  # two ImageNet classes share this clean name
    with pytest.raises(rollup.RollupTableError, match="listed twice"):
        rollup.resolve_table({"food": ("pizza", range(960, 965))})


def test_scores_are_capped_sums() -> None:
    probs = np.zeros((2, 1000))
    probs[0, 967] = 0.6  # espresso
    probs[0, 968] = 0.3  # tea cup
    probs[0, 963] = 0.1  # pizza
    probs[1, 281] = 1.0  # tabby cat
    first, second = rollup.rollup_scores(probs)
    assert set(first) == rollup.ROLLUP_CONCEPTS
    assert first["beverage"] == pytest.approx(0.9)
    assert first["food"] == pytest.approx(0.1)
    assert second["cat"] == pytest.approx(1.0) and second["animal"] == pytest.approx(1.0)
    assert all(0.0 <= v <= 1.0 for s in (first, second) for v in s.values())


def test_present_concepts_adds_parents() -> None:
    scores = {"cat": 0.4, "animal": 0.45, "food": 0.2}
    assert rollup.present_concepts(scores, {"cat": 0.3, "animal": 0.9, "food": 0.5}) == [
        "animal",
        "cat",
    ]
    assert rollup.present_concepts(scores, {}) == []


def test_table_hash_is_stable_and_short() -> None:
    assert rollup.table_hash() == rollup.table_hash()
    assert len(rollup.table_hash()) == 8


def test_rollup_does_not_import_tensorflow() -> None:
    code = (
        "import sys, mlmodels.concepts.rollup, mlmodels.base, mlmodels.cli, mlmodels.fake,"
        " mlmodels.network.tf_mobilenet; print('tensorflow' in sys.modules)"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    assert out.stdout.strip() == "False"
