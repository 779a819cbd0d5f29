"""Test doubles for the ingest tests. NOT a model: scores are FakeClassifier's chosen ones.

``RecordingClassifier`` (``TAGLENS_CLASSIFIER=tests.ingest.recording.RecordingClassifier``)
works in worker processes too. Each test photo carries its number in the red channel of a
lossless PNG (``key_png``), so the classifier can tell which post an image belongs to, and
every ``predict`` call is appended to a log shared by all processes:

    <pid> start <key>,<key>,...     before the batch is scored
    <pid> done <key>,<key>,...      after

``TAGLENS_TEST_BLOCK_KEY`` makes the first process that meets that key write its pid to
``TAGLENS_TEST_BLOCK_MARK`` and hang (the test kills it there); later calls go through.
``TAGLENS_TEST_PREDICT_DELAY`` (seconds) slows each call so two workers interleave.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from PIL import Image

from mlmodels.base import Prediction
from mlmodels.fake import FakeClassifier

LOG_ENV = "TAGLENS_TEST_PREDICT_LOG"
BLOCK_KEY_ENV = "TAGLENS_TEST_BLOCK_KEY"
BLOCK_MARK_ENV = "TAGLENS_TEST_BLOCK_MARK"
DELAY_ENV = "TAGLENS_TEST_PREDICT_DELAY"


def key_png(key: int, size: tuple[int, int] = (48, 48)) -> bytes:
    """A lossless photo whose red channel is ``key`` (0..255)."""
    out = io.BytesIO()
    Image.new("RGB", size, (key, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def image_key(image: Image.Image) -> int:
    return int(image.convert("RGB").getpixel((0, 0))[0])  # type: ignore[index]


def _append(line: str) -> None:
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    # O_APPEND: each short write lands whole at the end, whichever process writes it; it is
    # in the kernel once os.write returns, so a SIGKILL right after loses nothing.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _block_here() -> None:
    mark = os.environ.get(BLOCK_MARK_ENV)
    if not mark:
        return
    try:
        fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return  # blocked once already: a retry goes through
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    time.sleep(3600)


class RecordingClassifier(FakeClassifier):
    """FakeClassifier that records which photos it scored (and their sizes)."""

    sizes: ClassVar[list[tuple[int, int]]] = []
    batches: ClassVar[list[list[int]]] = []  # the photos' keys, per predict call

    @classmethod
    def reset(cls) -> None:
        super().reset()
        cls.sizes = []
        cls.batches = []

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        keys = [image_key(image) for image in images]
        type(self).sizes.extend(image.size for image in images)
        type(self).batches.append(keys)
        listed = ",".join(map(str, keys))
        _append(f"{os.getpid()} start {listed}\n")
        block = os.environ.get(BLOCK_KEY_ENV)
        if block and int(block) in keys:
            _block_here()
        delay = float(os.environ.get(DELAY_ENV, "0") or 0)
        if delay:
            time.sleep(delay)
        predictions = super().predict(images)
        _append(f"{os.getpid()} done {listed}\n")
        return predictions


class PickyClassifier(FakeClassifier):
    """Refuses (raises) any batch holding a photo whose key is ``refused``: a photo the
    network cannot take, unlike one that cannot be decoded."""

    refused: ClassVar[int] = -1

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        if any(image_key(image) == type(self).refused for image in images):
            raise ValueError("tensor shape the network cannot take")
        return super().predict(images)


def read_log(path: Path) -> list[tuple[int, str, list[int]]]:
    """(pid, "start" | "done", keys) per line."""
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        pid, what, keys = line.split(" ")
        rows.append((int(pid), what, [int(k) for k in keys.split(",") if k]))
    return rows


def people_png(red: int, people: str = "", size: tuple[int, int] = (48, 48)) -> bytes:
    """A lossless photo: red drives the fake embedding's first value, green says who
    ``RecordingPeople`` finds ("adult", "child" or nobody)."""
    green = {"adult": 240, "child": 150}.get(people, 20)
    out = io.BytesIO()
    Image.new("RGB", size, (red, green, 160)).save(out, format="PNG")
    return out.getvalue()


class RecordingPeople:
    """A people ``SignalSource`` stand-in (NOT a model): reads who is there from the green
    channel (``people_png``) and records the photos it was run on, by their red value."""

    name = "people"
    version = "fake-people-1"
    model_subdir = "fake-people"
    seen: ClassVar[list[int]] = []

    def __init__(self, **options: object) -> None:
        self.options = dict(options)

    @classmethod
    def reset(cls) -> None:
        cls.seen = []

    def signals(self, images: Sequence[Image.Image]) -> list[dict[str, float]]:
        assert images, "the batch ran the people source on no photo"
        out = []
        for image in images:
            red, green, _ = image.convert("RGB").getpixel((0, 0))  # type: ignore[misc]
            type(self).seen.append(int(red))
            adult, child = (0.9, 0.1) if green >= 200 else (0.2, 0.8) if green >= 100 else (0, 0)
            out.append(
                {
                    "people:person": 0.9 if adult or child else 0.0,
                    "people:faces": 1.0 if adult or child else 0.0,
                    "people:adult": float(adult),
                    "people:child": float(child),
                }
            )
        return out
