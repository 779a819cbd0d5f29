"""Measure MobileNetV2 inference speed: Keras (tf.function, optionally XLA) vs TFLite (XNNPACK),
float32 and int8 (mlmodels.convert.quantize).

Usage: ``python bench/model_speed.py [--model-dir var/models] [--photos DIR] [--seconds 8]``

Prints images/s for the model alone and end to end (JPEG decode via mlmodels.base.load_image +
resize/crop + model + roll-up), at batch 1 and batch 16, and writes the figures as JSON to
``bench/results/model_speed-<date>[-x<upscale>].json`` (git-ignored). Inputs are scikit-image's
sample photos saved as JPEGs (or the images of ``--photos``), so the run needs no network and no
private data. The machine is shared: figures vary by +-30 % between runs; compare within a run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from mlmodels.base import load_image  # noqa: E402
from mlmodels.build import build  # noqa: E402
from mlmodels.concepts import rollup  # noqa: E402
from mlmodels.network.backbones import MOBILENET_V2  # noqa: E402
from mlmodels.network.engines import Engine, KerasEngine, TFLiteEngine  # noqa: E402
from mlmodels.network.preprocess import to_batch  # noqa: E402

SAMPLE_PHOTOS = (
    "coffee",
    "chelsea",
    "astronaut",
    "rocket",
    "motorcycle_left",
    "cat",
    "immunohistochemistry",
)


def sample_jpegs(out_dir: Path, upscale: int) -> list[Path]:
    """scikit-image photos as JPEG q90; ``upscale`` multiplies the size (phones give ~4000 px)."""
    from skimage import data

    paths = []
    for name in SAMPLE_PHOTOS:
        try:
            arr = getattr(data, name)()
        except Exception:
            continue
        img = Image.fromarray(arr).convert("RGB")
        if upscale > 1:
            img = img.resize((img.width * upscale, img.height * upscale), Image.Resampling.BICUBIC)
        path = out_dir / f"{name}_x{upscale}.jpg"
        img.save(path, quality=90)
        paths.append(path)
    return paths


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Images/s of ``fn`` (which returns how many images it processed), after one warm-up."""
    fn()
    done, start = 0, time.perf_counter()
    while True:
        done += fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def measure(engine: Engine, paths: list[Path], seconds: float) -> dict[str, float]:
    out: dict[str, float] = {}
    cycle = [paths[i % len(paths)] for i in range(16)]
    for batch in (1, 16):
        arrays = to_batch([load_image(p) for p in cycle[:batch]])

        def model_only(arrays: np.ndarray = arrays) -> int:
            engine.run(arrays)
            return len(arrays)

        def end_to_end(batch: int = batch) -> int:
            images = [load_image(p) for p in cycle[:batch]]
            logits, _ = engine.run(to_batch(images))
            rollup.rollup_scores(rollup.softmax(logits))
            return batch

        out[f"model_b{batch}"] = round(rate(model_only, seconds), 1)
        out[f"end_to_end_b{batch}"] = round(rate(end_to_end, seconds), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--photos", type=Path, help="folder of JPEGs to use instead of the samples")
    parser.add_argument(
        "--upscale", type=int, default=1, help="enlarge the sample photos (decode cost)"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--xla", action="store_true", help="also measure Keras with XLA (slow on CPU)"
    )
    args = parser.parse_args(argv)

    build(args.model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if args.photos:
            paths = sorted(
                p for p in args.photos.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"}
            )[:64]
        else:
            paths = sample_jpegs(Path(tmp), args.upscale)
        sizes = sorted({Image.open(p).size for p in paths})
        engines: dict[str, Callable[[], Engine]] = {
            "tflite": lambda: TFLiteEngine(args.model_dir, args.threads),
            "tflite_int8": lambda: TFLiteEngine(
                args.model_dir, args.threads, filename=MOBILENET_V2.int8_file
            ),
            "keras": lambda: KerasEngine(args.model_dir, args.threads),
        }
        if args.xla:
            engines["keras_xla"] = lambda: _xla_engine(args.model_dir, args.threads)
        results: dict[str, dict[str, float]] = {}
        for name, factory in engines.items():
            results[name] = measure(factory(), paths, args.seconds)
            print(
                f"{name:10s} " + "  ".join(f"{k} {v:7.1f} img/s" for k, v in results[name].items()),
                flush=True,
            )

    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "threads": args.threads,
        "upscale": args.upscale,
        "inputs": {
            "count": len(paths),
            "sizes": [list(s) for s in sizes[:8]],
            "source": str(args.photos or "skimage"),
        },
        "images_per_second": results,
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"-x{args.upscale}" if args.upscale > 1 else ""
    out = out_dir / f"model_speed-{dt.date.today().isoformat()}{suffix}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    return 0


def _xla_engine(model_dir: Path, threads: int) -> Engine:
    """Keras engine whose forward pass is XLA-compiled (jit_compile=True)."""
    import tensorflow as tf

    engine = KerasEngine(model_dir, threads)
    model = engine._model
    engine._fn = tf.function(lambda x: model(x, training=False), jit_compile=True)
    return engine


if __name__ == "__main__":
    sys.exit(main())
