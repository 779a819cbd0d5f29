"""Roll-up of ImageNet-1k class probabilities into TagLens concepts."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np

from mlmodels.concepts.imagenet import NUM_CLASSES, class_names

Entry = str | range

CONCEPT_CLASSES: dict[str, tuple[Entry, ...]] = {
    # All of ImageNet's animal synsets sit in one block: 0 "tench" .. 397 "pufferfish".
    "animal": (range(0, 398),),
    # 151 "Chihuahua" .. 268 "Mexican hairless dog". Wolves, foxes, wild dogs (269-280): animal.
    "dog": (range(151, 269),),
    # Domestic cats only; big cats (286 cougar .. 293 cheetah) and lynx stay "animal".
    "cat": (
        "tabby cat",
        "a cat having a striped coat",  # "tiger cat" in the classic list
        "Persian cat",
        "Siamese cat",
        "Egyptian Mau",
    ),
    "food": (
        "plate",  # a served dish is very often classified as just "plate"
        # 924 guacamole .. 957 pomegranate: dishes, vegetables, fruit (cardoon is under flower)
        "guacamole",
        "consomme",
        "hot pot",
        "trifle",
        "ice cream",
        "popsicle",
        "baguette",
        "bagel",
        "pretzel",
        "cheeseburger",
        "hot dog",
        "mashed potatoes",
        "cabbage",
        "broccoli",
        "cauliflower",
        "zucchini",
        "spaghetti squash",
        "acorn squash",
        "butternut squash",
        "cucumber",
        "artichoke",
        "bell pepper",
        "mushroom",
        "Granny Smith apple",
        "strawberry",
        "orange",
        "lemon",
        "fig",
        "pineapple",
        "banana",
        "jackfruit",
        "cherimoya (custard apple)",
        "pomegranate",
        # 958 "hay" is not food. 959-965:
        "carbonara",
        "chocolate syrup",
        "dough",
        "meatloaf",
        "pizza",
        "pot pie",
        "burrito",
        # 966-969 are drinks -> beverage. Cooking vessels that mostly appear full of food:
        "wok",
        "Dutch oven",
        "frying pan",
        "Crock Pot",
    ),
    "beverage": (
        "red wine",
        "espresso",
        "tea cup",  # "cup" in the classic list
        "eggnog",  # latte / milky drinks land here
        "coffee mug",
        "beer glass",
        "beer bottle",
        "wine bottle",
        "soda bottle",  # "pop bottle"
        "water bottle",
        "cocktail shaker",
        "teapot",
        "coffeepot",
        "goblet",
        "drink pitcher",
        "whiskey jug",
        "water jug",
        "espresso machine",
    ),
    "flower": (
        "daisy",
        "yellow lady's slipper",
        "rapeseed",  # fields of yellow flowers
        "cardoon",  # ImageNet's cardoon images are the purple thistle-like flower heads
        "plant pot",  # potted flowers; measured: frequent on the flower photos
        "vase",  # cut flowers
    ),
    "mountain": (
        "mountain",  # "alp" in the classic list
        "volcano",
        "valley",
        "cliff",
    ),
    "sea": (
        "beach",  # "seashore"
        "sandbar",
        "promontory",  # coastal headland
        "coral reef",
        "breakwater",
        "lakeshore",  # water's edge scenes; ImageNet does not separate lake from sea shores well
    ),
    "gym": (
        "dumbbell",
        "barbell",
        "gymnastic horizontal bar",
        "parallel bars",
        "balance beam",
        "punching bag",
        "forklift",
    ),
}

ROLLUP_CONCEPTS: frozenset[str] = frozenset(CONCEPT_CLASSES)

# Classes whose photos are mostly text, for the OCR gate (docs/moderation.md, "The gate"): not
# concepts, so outside the table hash; the backbone reports them as signals, not scores.
TEXT_CLASSES: dict[str, tuple[Entry, ...]] = {
    "text": (
        "menu",
        "website",
        "scoreboard",
        "dust jacket",
        "product packet / packaging",
        "traffic or street sign",
    ),
    "menu": ("menu",),
}

# A present child implies its parent. Needed because thresholds are per concept: a cat photo can
# pass the cat threshold while its (larger) animal score is still under the stricter animal one.
CONCEPT_PARENTS: dict[str, str] = {"dog": "animal", "cat": "animal"}

# From `python -m mlmodels.training.calibrate` (training's threshold rule); docs/model.md.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "animal": 0.9819,
    "beverage": 0.1238,
    "cat": 0.0827,
    "dog": 0.968,
    "flower": 0.1786,
    "food": 0.5155,
    "gym": 0.1878,
    "mountain": 0.3935,
    "sea": 0.2649,
}
# The same (`calibrate --pair`) for MobileNetV2's and Lite0's probabilities averaged: the pair.
AVERAGED_THRESHOLDS: dict[str, float] = {
    "animal": 0.8007,
    "beverage": 0.078,
    "cat": 0.0717,
    "dog": 0.824,
    "flower": 0.2292,
    "food": 0.3098,
    "gym": 0.1795,
    "mountain": 0.3696,
    "sea": 0.2019,
}


def present_concepts(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    """Concepts reaching their threshold (none without one), plus their parents; sorted."""
    present = {c for c, s in scores.items() if c in thresholds and s >= thresholds[c]}
    present |= {
        CONCEPT_PARENTS[c] for c in present if c in CONCEPT_PARENTS and CONCEPT_PARENTS[c] in scores
    }
    return sorted(present)


class RollupTableError(ValueError):
    """The roll-up table refers to a class that does not exist or is ambiguous."""


def resolve_table(
    table: Mapping[str, Sequence[Entry]] = CONCEPT_CLASSES, names: Sequence[str] | None = None
) -> dict[str, tuple[int, ...]]:
    """Map each concept to its sorted ImageNet class indices, validating every entry."""
    names = class_names() if names is None else names
    by_name: dict[str, list[int]] = {}
    for idx, name in enumerate(names):
        by_name.setdefault(name, []).append(idx)
    resolved: dict[str, tuple[int, ...]] = {}
    for concept, entries in table.items():
        indices: set[int] = set()
        for entry in entries:
            if isinstance(entry, range):
                if entry.start < 0 or entry.stop > len(names) or len(entry) == 0:
                    raise RollupTableError(f"{concept}: bad index range {entry}")
                new = set(entry)
            else:
                found = by_name.get(entry)
                if not found:
                    raise RollupTableError(f"{concept}: {entry!r} is not an ImageNet class name")
                if len(found) > 1:
                    raise RollupTableError(
                        f"{concept}: {entry!r} names several classes {found}; use indices"
                    )
                new = set(found)
            if indices & new:
                raise RollupTableError(f"{concept}: {entry!r} listed twice")
            indices |= new
        resolved[concept] = tuple(sorted(indices))
    return resolved


@functools.cache
def _resolved() -> dict[str, tuple[int, ...]]:
    return resolve_table()


@functools.cache
def _projection() -> tuple[tuple[str, ...], np.ndarray]:
    concepts = tuple(sorted(CONCEPT_CLASSES))
    matrix = np.zeros((NUM_CLASSES, len(concepts)), dtype=np.float32)
    for j, concept in enumerate(concepts):
        matrix[list(_resolved()[concept]), j] = 1.0
    return concepts, matrix


def table_hash() -> str:
    """Short hash of the resolved table; part of the classifier version string."""
    canonical = json.dumps(
        {c: list(v) for c, v in sorted(_resolved().items())}, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    probs: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return probs


def rollup_scores(probs: np.ndarray) -> list[dict[str, float]]:
    """``probs`` (N, 1000) softmax probabilities -> per image ``{concept: score in 0..1}``."""
    concepts, matrix = _projection()
    sums = np.minimum(1.0, np.asarray(probs, dtype=np.float32) @ matrix)
    return [{c: float(v) for c, v in zip(concepts, row, strict=True)} for row in sums]


@functools.cache
def _text_projection() -> tuple[tuple[str, ...], np.ndarray]:
    resolved = resolve_table(TEXT_CLASSES)
    keys = tuple(sorted(resolved))
    matrix = np.zeros((NUM_CLASSES, len(keys)), dtype=np.float32)
    for j, key in enumerate(keys):
        matrix[list(resolved[key]), j] = 1.0
    return keys, matrix


def text_scores(probs: np.ndarray) -> list[dict[str, float]]:
    """Per image, the summed probability of each :data:`TEXT_CLASSES` group."""
    keys, matrix = _text_projection()
    sums = np.minimum(1.0, np.asarray(probs, dtype=np.float32) @ matrix)
    return [{k: float(v) for k, v in zip(keys, row, strict=True)} for row in sums]


def top_labels(probs: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
    """Top-``k`` ImageNet class names with probabilities, per image."""
    names = class_names()
    top = np.argsort(-probs, axis=-1)[:, :k]
    return [[(names[i], float(p[i])) for i in row] for row, p in zip(top, probs, strict=True)]
