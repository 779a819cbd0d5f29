"""The model's raw rate for bench/ingest.py, in a process of its own (no Django, no database).

Usage (normally started by bench/ingest.py, one or several at once):
``python bench/ingest_raw.py --pipeline backbone+heads --threads 2 --batch 16 [--start FILE]``

Decodes the photos first, builds the classifier (TFLite MobileNetV2 + concept heads with random
weights over embedding + roll-up scores; ``full`` adds the people signal source and Tesseract),
warms it up, prints ``ready``, waits for ``--start`` to exist (so parallel copies run together),
then scores the decoded photos in batches and prints one JSON line: photos and seconds for the
model alone, then for decoding included.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from mlmodels.base import ALL_CONCEPTS, load_image  # noqa: E402
from mlmodels.concepts.heads import ConceptHeads, HeadsClassifier  # noqa: E402

PEOPLE_KEYS = ["people:person", "people:faces", "people:adult", "people:child"]


def photo_bytes(folder: Path, limit: int) -> tuple[list[bytes], str]:
    """``limit`` JPEGs spread over the development set's folders, else scikit-image's photos."""
    if folder.is_dir():
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"})
        chosen = paths[:: max(1, len(paths) // limit)][:limit]
        if chosen:
            return [p.read_bytes() for p in chosen], str(folder)
    from skimage import data

    out = []
    names = ("coffee", "chelsea", "astronaut", "rocket", "motorcycle_left", "cat")
    for i in range(limit):
        buf = io.BytesIO()
        Image.fromarray(getattr(data, names[i % len(names)])()).convert("RGB").save(
            buf, format="JPEG", quality=90
        )
        out.append(buf.getvalue())
    return out, "scikit-image"


def random_heads(backbone: str, signal_keys: list[str], dim: int) -> ConceptHeads:
    """Heads of the product's shape; the rate does not depend on the weights."""
    rng = np.random.default_rng(0)
    n = dim + len(signal_keys)
    return ConceptHeads(
        concepts=tuple(ALL_CONCEPTS),
        source={c: "head" for c in ALL_CONCEPTS},
        mean=np.zeros(n, dtype=np.float32),
        scale=np.ones(n, dtype=np.float32),
        weights=rng.normal(0, 0.05, (n, len(ALL_CONCEPTS))).astype(np.float32),
        bias=np.zeros(len(ALL_CONCEPTS), dtype=np.float32),
        signal_keys=tuple(signal_keys),
        backbone=backbone,
        thresholds={c: 0.5 for c in ALL_CONCEPTS},
    )


def heads_keys(concepts: frozenset[str], pipeline: str) -> list[str]:
    keys = [f"imagenet:{c}" for c in sorted(concepts)]
    return keys + (PEOPLE_KEYS if pipeline == "full" else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", choices=["backbone+heads", "full"], required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--count", type=int, default=160)
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared" / "photos")
    parser.add_argument("--model-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--start", type=Path)
    parser.add_argument("--no-decode-pass", action="store_true", help="skip the pass with decoding")
    args = parser.parse_args()

    from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier

    files, _ = photo_bytes(args.photos, args.count)
    decoded = [load_image(io.BytesIO(b)) for b in files]
    backbone = MobileNetV2RollupClassifier(args.model_dir, threads=args.threads)
    dim = int(backbone.predict(decoded[:1])[0].embedding.size)
    sources = []
    reader = None
    if args.pipeline == "full":
        from mlmodels.people import PeopleSignalsLite
        from mlmodels.text.ocr import TesseractReader

        sources = [PeopleSignalsLite(args.model_dir / PeopleSignalsLite.model_subdir)]
        reader = TesseractReader(timeout=30)
        if not reader.available():
            reader = None
    heads = random_heads(backbone.version, heads_keys(backbone.concepts, args.pipeline), dim)
    classifier = HeadsClassifier(backbone, heads, "bench", sources)

    def model(images: list[Image.Image]) -> None:
        classifier.predict(images)
        if reader is not None:
            for image in images:
                reader.read(image)

    model(decoded[: args.batch])  # warm-up: interpreters planned for this batch size
    print("ready", flush=True)
    while args.start is not None and not args.start.exists():
        time.sleep(0.01)
    start = time.perf_counter()
    for i in range(0, len(decoded), args.batch):
        model(decoded[i : i + args.batch])
    model_seconds = time.perf_counter() - start
    decode_seconds = None
    if not args.no_decode_pass:
        start = time.perf_counter()
        for i in range(0, len(files), args.batch):
            model([load_image(io.BytesIO(b)) for b in files[i : i + args.batch]])
        decode_seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "photos": len(decoded),
                "model_seconds": model_seconds,
                "decode_and_model_seconds": decode_seconds,
                "ocr": reader is not None,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
