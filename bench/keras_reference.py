"""The study's reference: Keras EfficientNetV2B0 ``predict`` at batch 32, in a process of its
own (no Django), for bench/pipeline.py.

Usage: ``python bench/keras_reference.py PHOTO... [--batch 32] [--repeats 5]``

The photos are decoded and resized to 224 px first (not timed); ``weights=None`` (random
weights: nothing can be downloaded here, and the rate does not depend on them). Prints one
JSON line: images, the median seconds of ``--repeats`` predict passes over them, images/s and
CPU milliseconds per image (all threads), and each pass's images/s: on some machines ``predict``
runs a pass on about one core or on both, with the same CPU time (docs/people.md, "Keras
predict runs at two speeds").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

SIDE = 224


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import keras

    images = []
    for path in args.photos:
        with Image.open(path) as img:
            images.append(np.asarray(img.convert("RGB").resize((SIDE, SIDE)), np.float32))
    batch = np.stack(images)
    model = keras.applications.EfficientNetV2B0(weights=None)
    model.predict(batch[: args.batch], batch_size=args.batch, verbose=0)  # build and warm up
    passes, cpu = [], []
    for _ in range(args.repeats):
        start, used = time.perf_counter(), time.process_time()
        model.predict(batch, batch_size=args.batch, verbose=0)
        passes.append(time.perf_counter() - start)
        cpu.append(time.process_time() - used)
    seconds = statistics.median(passes)
    found = {
        "images": len(batch),
        "seconds": seconds,
        "images_per_second": len(batch) / seconds,
        # CPU time (all threads) per image: steadier than the rate on a shared machine
        "cpu_ms_per_image": 1000 * statistics.median(cpu) / len(batch),
        "passes_images_per_second": [round(len(batch) / s, 1) for s in passes],
    }
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
