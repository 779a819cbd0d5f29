"""Cross-validation grouped by source, and the labels ALSO.csv, MANIFEST.csv and our own
decisions add. Synthetic numbers and a tiny labelled folder; the dev set only where noted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlmodels.base import ALL_CONCEPTS
from mlmodels.dataset import (
    label_decisions,
    load_labelled_folder,
    people_in_scene,
    photo_sources,
)
from mlmodels.training.checks import concept_checks
from mlmodels.training.crossval import cross_validate
from mlmodels.training.folds import TooFewGroupsError, group_folds


def _folds_of_each_group(groups: np.ndarray, fold_of: np.ndarray) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = {}
    for group, fold in zip(groups.tolist(), fold_of.tolist(), strict=True):
        seen.setdefault(group, set()).add(fold)
    return seen


@pytest.mark.parametrize("seed", range(8))
def test_group_folds_never_put_a_source_in_two_folds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 60, size=23)  # a few big sources, many small ones, like the dev set
    groups = np.repeat([f"repo-{i}" for i in range(len(sizes))], sizes)
    rng.shuffle(groups)
    labels = (rng.uniform(size=(len(groups), 4)) < 0.2).astype(np.int8)
    fold_of = group_folds(groups, labels, 5, seed)
    assert all(len(f) == 1 for f in _folds_of_each_group(groups, fold_of).values())
    assert set(fold_of.tolist()) == set(range(5))


def test_group_folds_balance_rows_and_positives() -> None:
    groups = np.repeat([f"repo-{i}" for i in range(20)], 10)
    labels = np.zeros((200, 2), dtype=np.int8)
    labels[groups == "repo-0", 0] = 1  # concept 0: two sources hold every positive
    labels[groups == "repo-1", 0] = 1
    labels[::2, 1] = 1  # concept 1: spread over every source
    fold_of = group_folds(groups, labels, 5, seed=0)
    assert sorted(np.bincount(fold_of).tolist()) == [40] * 5
    # The two sources of concept 0 land in different folds, not one.
    assert fold_of[groups == "repo-0"][0] != fold_of[groups == "repo-1"][0]
    assert np.array_equal(fold_of, group_folds(groups, labels, 5, seed=0))


def test_too_few_sources_for_the_folds_is_an_error() -> None:
    groups = np.array(["a", "a", "b", "b"])
    with pytest.raises(TooFewGroupsError, match="2 groups cannot fill 3 folds"):
        group_folds(groups, np.zeros((4, 1), dtype=np.int8), 3, seed=0)


def test_cross_validation_scores_each_source_with_heads_that_never_saw_it() -> None:
    rng = np.random.default_rng(1)
    groups = np.array([f"repo-{i % 12}" for i in range(120)])
    labels = (rng.uniform(size=(120, 2)) < 0.4).astype(np.int8)
    emb = rng.normal(size=(120, 8)).astype(np.float32)
    emb[:, 0] += 3 * labels[:, 0]
    cv = cross_validate(
        emb, [{}] * 120, labels, ("a", "b"), groups=groups, folds=4, inner_folds=3,
        l2_grid=(1.0,),
    )  # fmt: skip
    assert cv.groups == tuple(groups.tolist())
    assert all(len(f) == 1 for f in _folds_of_each_group(groups, cv.fold_of).values())
    assert set(cv.fold_of.tolist()) == set(range(4))
    assert cv.decisions.shape == (120, 2)


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (90, 90, 90)).save(path)


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    names = ("gym/g1.jpg", "gym/g2.jpg", "flower/f1.jpg", "flower/f2.jpg", "adult/a1.jpg")
    for name in (*names, "nail/n1.jpg"):
        _image(tmp_path / name)
    (tmp_path / "ALSO.csv").write_bytes(
        b"file,also\r\ngym/g1.jpg,adult\r\nadult/a1.jpg,dog;sea\r\n"
    )
    (tmp_path / "MANIFEST.csv").write_text(
        "file,category,source_repo,source_path,license\n"
        "gym/g1.jpg,gym,org/gyms,x,unstated\ngym/g2.jpg,gym,org/gyms,y,unstated\n"
        "flower/f1.jpg,flower,org/flowers,z,unstated\nadult/a1.jpg,adult,org/people,w,unstated\n"
    )
    return tmp_path


def test_also_csv_adds_positives_and_their_parents(tiny_set: Path) -> None:
    concepts = ("adult", "dog", "animal", "sea", "gym", "flower")
    paths, labels = load_labelled_folder(tiny_set, concepts, decisions=None)
    assert len(paths) == 6
    rows = {
        p.relative_to(tiny_set).as_posix(): dict(zip(concepts, r, strict=True))
        for p, r in zip(paths, labels.tolist(), strict=True)
    }
    assert rows["gym/g1.jpg"]["adult"] == 1  # ALSO: a person in the gym is an adult
    assert rows["gym/g2.jpg"]["adult"] == 0  # not listed: a gym photo without people
    assert rows["nail/n1.jpg"]["adult"] == -1  # a hand says nothing of adults or children
    assert rows["adult/a1.jpg"] == {
        "adult": 1, "dog": 1, "animal": 1, "sea": 1, "gym": 0, "flower": 0,
    }  # fmt: skip
    assert rows["flower/f1.jpg"]["animal"] == 0


def test_label_decisions_apply_after_also(tiny_set: Path, tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("file,concept,label\nflower/f1.jpg,animal,1\nflower/f2.jpg,animal,-1\n")
    paths, labels = load_labelled_folder(tiny_set, ("animal", "flower"), decisions=decisions)
    by_name = {p.name: r for p, r in zip(paths, labels.tolist(), strict=True)}
    assert by_name["f1.jpg"] == [1, 1] and by_name["f2.jpg"] == [-1, 1]
    decisions.write_text("file,concept,label\nflower/f1.jpg,animal,0\n")
    with pytest.raises(ValueError, match="not 1 or -1"):
        label_decisions(decisions)


def test_sources_come_from_the_manifest_and_unlisted_photos_stand_alone(tiny_set: Path) -> None:
    paths, _ = load_labelled_folder(tiny_set, ("adult",), decisions=None)
    sources = photo_sources(tiny_set, paths).tolist()
    names = [p.relative_to(tiny_set).as_posix() for p in paths]
    assert dict(zip(names, sources, strict=True)) == {
        "adult/a1.jpg": "org/people",
        "flower/f1.jpg": "org/flowers",
        "flower/f2.jpg": "unlisted:flower/f2.jpg",
        "gym/g1.jpg": "org/gyms",
        "gym/g2.jpg": "org/gyms",
        "nail/n1.jpg": "unlisted:nail/n1.jpg",
    }


def test_people_in_scene_leaves_out_face_crops_and_catalogue_shots() -> None:
    folders = np.array(["adult", "adult", "child", "gym"])
    sources = np.array(
        [
            "Mohanish-5744/Major_Ensemble_Gender",
            "open-mmlab/mmpose",
            "Mehranai/stanford40_pose",
            "x",
        ]
    )
    assert people_in_scene(folders, sources).tolist() == [False, True, True, False]


def test_concept_checks_count_gym_on_people_and_adults_in_scenes() -> None:
    concepts = ("adult", "child", "gym", "flower", "animal", "dog")
    labels = np.array(
        [
            [1, -1, 0, 0, 0, 0],  # adult in a scene, found, and tagged gym (wrongly)
            [1, 0, 0, 0, 0, 0],  # adult in a scene, missed
            [1, 0, 1, 0, 0, 0],  # adult in the gym: not counted for gym-on-people
            [0, 0, 0, 1, 0, 0],  # flower, tagged dog: a dog makes animal present
        ],
        dtype=np.int8,
    )
    decisions = np.array(
        [[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 1]],
        dtype=bool,
    )
    rng = np.random.default_rng(0)
    cv = cross_validate(
        rng.normal(size=(4, 3)), [{}] * 4, labels, concepts,
        groups=np.array(["a", "b", "c", "d"]), folds=2, inner_folds=2, l2_grid=(1.0,),
    )  # fmt: skip
    from dataclasses import replace

    cv = replace(cv, decisions=decisions)
    checks = {c.name: c for c in concept_checks(cv, np.array([True, True, False, False]))}
    adults = checks["adult found on photos of adults in scenes"]
    assert (adults.hits, adults.n, adults.passed) == (1, 2, False)
    gym = checks["gym on photos of people that are not gym photos"]
    assert (gym.hits, gym.n, gym.passed) == (1, 2, False)
    flowers = checks["animal on flower photos without an animal"]
    assert (flowers.hits, flowers.n) == (1, 1)


@pytest.mark.photos
def test_the_dev_set_reads_also_and_every_photo_has_a_source(photos_dir: Path) -> None:
    paths, labels = load_labelled_folder(photos_dir)
    folders = np.array([p.parent.name for p in paths])
    adult = labels[:, ALL_CONCEPTS.index("adult")]
    assert (adult[folders == "gym"] == 1).sum() >= 39  # ALSO.csv: gym photos with people
    sources = photo_sources(photos_dir, paths)
    assert not any(s.startswith("unlisted:") for s in sources.tolist())
    assert len(set(sources.tolist())) >= 50


def test_every_label_decision_names_a_dev_photo_and_a_concept(photos_dir: Path) -> None:
    decided = label_decisions()
    assert decided, "mlmodels/label_decisions.csv holds no rows"
    missing = [key for key in decided if not (photos_dir / key).is_file()]
    unknown = {c for labels in decided.values() for c in labels} - set(ALL_CONCEPTS)
    assert not missing, f"decisions for photos the dev set does not hold: {missing}"
    assert not unknown, f"decisions for unknown concepts: {sorted(unknown)}"
