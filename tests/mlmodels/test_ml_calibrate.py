"""Roll-up threshold calibration: the training rule applied through the child -> parent rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmodels.training.calibrate import (
    ScoredPhotos,
    calibrate,
    calibration_order,
    evaluate,
    held_out,
    shown_scores,
)
from mlmodels.training.metrics import RULE_MAX_F1, RULE_PRECISION

CONCEPTS = ("animal", "cat", "food")


def test_children_are_calibrated_before_their_parent() -> None:
    assert calibration_order(["animal", "food", "dog", "cat"]) == ["cat", "dog", "food", "animal"]


def test_a_present_child_shows_its_parent_whatever_the_parent_score() -> None:
    scores = [{"cat": 0.5, "animal": 0.1}, {"cat": 0.2, "animal": 0.4}]
    assert shown_scores(scores, "animal", {"cat": 0.3}).tolist() == [1.0, 0.4]
    assert shown_scores(scores, "animal", {}).tolist() == [0.1, 0.4]


def test_the_parent_cut_is_chosen_on_what_the_rollup_shows() -> None:
    # Shown, the cats score 1.0 for animal, so the cut need not reach down to their own 0.2 and
    # stops above the other photos at 0.05 (on its own scores it would stop at 0.125).
    rows = [(0.8, 0.0, 1, 0)] * 4 + [(0.5, 0.0, 0, 0)] + [(0.3, 0.0, 1, 0)] * 4
    rows += [(0.2, 0.9, 1, 1)] * 4 + [(0.05, 0.0, 0, 0)] * 4
    scores = [{"animal": a, "cat": c, "food": 0.0} for a, c, _, _ in rows]
    labels = np.array([(animal, cat, 0) for _, _, animal, cat in rows], dtype=np.int8)
    chosen = calibrate(scores, labels, CONCEPTS, precision_target=0.9)
    assert chosen["animal"] == (pytest.approx(0.175), RULE_PRECISION)
    figures = evaluate(scores, labels, CONCEPTS, {c: t for c, (t, _) in chosen.items()})
    assert (figures["animal"].tp, figures["animal"].fp, figures["animal"].fn) == (12, 1, 0)
    assert figures["cat"].f1 == 1.0


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 60),
    target=st.sampled_from([0.8, 0.9, 0.95]),
)
def test_what_the_rollup_shows_reaches_the_target_the_cut_was_chosen_for(
    seed: int, n: int, target: float
) -> None:
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 3)) < 0.4).astype(np.int8)
    labels[:, 0] |= labels[:, 1]  # a cat is an animal
    labels[rng.random(n) < 0.1, 2] = -1  # some photos ignored for food
    noisy = np.clip(labels + rng.normal(0, 0.5, (n, 3)), 0, 1).round(3)
    scores = [dict(zip(CONCEPTS, map(float, row), strict=True)) for row in noisy]
    chosen = calibrate(scores, labels, CONCEPTS, precision_target=target)
    figures = evaluate(scores, labels, CONCEPTS, {c: t for c, (t, _) in chosen.items()})
    for concept, (_, rule) in chosen.items():
        if rule == RULE_PRECISION:
            assert figures[concept].precision >= target, concept
        elif rule == RULE_MAX_F1:
            assert figures[concept].precision < target, concept


def test_held_out_scores_each_photo_once_per_split_with_thresholds_not_chosen_on_it() -> None:
    # One food photo scores 0.3, between the other food (0.9) and the rest (0.1): in-sample the
    # cut reaches down to it; chosen without it (between 0.9 and 0.1) it misses it.
    rows = [(0.9, 1)] * 9 + [(0.3, 1)] + [(0.1, 0)] * 10
    scores = [{"animal": 0.0, "cat": 0.0, "food": s} for s, _ in rows]
    labels = np.array([(0, 0, y) for _, y in rows], dtype=np.int8)
    strata = np.array(["food" if y else "other" for _, y in rows])
    assert calibrate(scores, labels, CONCEPTS)["food"][0] == pytest.approx(0.2)
    food = held_out(ScoredPhotos(scores, labels, CONCEPTS, strata), folds=2, repeats=3)["food"]
    assert (food.tp, food.fp, food.fn) == (27, 0, 3)
