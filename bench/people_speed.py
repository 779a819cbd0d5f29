"""Images per second of the people sources: ``PeopleSignals`` (TF graphs + MTCNN) vs
``PeopleSignalsLite`` (TFLite), at batch sizes 1 and 16, on dev photos, half with people.

    .venv/bin/python bench/people_speed.py [--old var/models/people] [--lite var/models/people-lite]

Includes preprocessing and post-processing, not JPEG decoding. The 2 cores are shared, so each
figure is the median of ``--repeats`` passes (load average printed alongside).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from PIL import Image

from mlmodels.base import SignalSource
from mlmodels.dataset import default_photos_dir
from mlmodels.people.lite import PeopleSignalsLite
from mlmodels.people.signals import PeopleSignals

WITH_PEOPLE = ("adult", "child")
WITHOUT_PEOPLE = ("food", "other", "sea", "dog", "flower", "mountain")


def sample(root: Path, n: int) -> list[Image.Image]:
    """``n`` photos: half people in scenes (not the UTKFace crops), half without people."""

    def spread(folders: Sequence[str], k: int) -> list[Path]:
        files = sorted(
            p for f in folders for p in (root / f).glob("*.jpg") if not p.name.startswith("utk_")
        )
        step = len(files) / k
        return [files[int(i * step)] for i in range(k)]

    paths = spread(WITH_PEOPLE, n // 2) + spread(WITHOUT_PEOPLE, n - n // 2)
    images = []
    for p in paths:
        with Image.open(p) as img:
            images.append(img.convert("RGB"))
    return images


def rate(source: SignalSource, images: list[Image.Image], batch: int, repeats: int) -> float:
    """Median images per second over ``repeats`` passes in ``batch``-sized calls."""
    source.signals(images[:batch])  # load the models and warm up outside the timing
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(images), batch):
            source.signals(images[i : i + batch])
        rates.append(len(images) / (time.perf_counter() - start))
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="var/models/people")
    parser.add_argument("--lite", default="var/models/people-lite")
    parser.add_argument("--photos", default=str(default_photos_dir()))
    parser.add_argument("-n", type=int, default=32, help="photos per pass (default 32)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    images = sample(Path(args.photos), args.n)
    sources: list[tuple[str, SignalSource]] = [
        ("PeopleSignals (CenterNet + MTCNN + FaceRes, TF)", PeopleSignals(args.old)),
        ("PeopleSignalsLite (MoveNet + BlazeFace + FaceRes, TFLite)", PeopleSignalsLite(args.lite)),
    ]
    print(f"{len(images)} photos, half with people; median of {args.repeats} passes; img/s")
    print("| source | batch 1 | batch 16 | load average |")
    print("|---|---|---|---|")
    for name, source in sources:
        one = rate(source, images, 1, args.repeats)
        sixteen = rate(source, images, 16, args.repeats)
        load = os.getloadavg()[0]
        print(f"| {name} | {one:.1f} | {sixteen:.1f} | {load:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
