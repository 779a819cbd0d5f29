"""The backbone's scores under two kernel libraries: one TFLite file run by XNNPACK (what the
product runs; it picks kernels by CPU) and by TFLite's own kernels, float32 and int8.

Usage: ``python bench/int8_kernels.py [--model-dir var/models] [--photos DIR] [--count 400]
[--reference]``

Prints each file's sha256, top-1 agreement, embedding cosine and the roll-up decisions at the
shipped thresholds that differ, and each path's CPU ms an image (one thread, batch 8).
``--reference``: TFLite's own kernels against its reference kernels too (~160 ms an image).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from mlmodels.base import load_image  # noqa: E402
from mlmodels.concepts import rollup  # noqa: E402
from mlmodels.convert.quantize import outputs_agreement  # noqa: E402
from mlmodels.dataset import default_photos_dir  # noqa: E402
from mlmodels.network.backbones import MOBILENET_V2  # noqa: E402
from mlmodels.network.engines import _FixedBatchInterpreter  # noqa: E402
from mlmodels.network.preprocess import to_batch  # noqa: E402

BATCH = 8
Outputs = tuple[np.ndarray, np.ndarray, float]  # logits, embeddings, CPU ms an image
CPU_FLAGS = ("avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_int8")


def cpu_summary() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if "model name" in ln), "")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if "flags" in ln), [])
    return f"{name}; {' '.join(f for f in CPU_FLAGS if f in flags) or 'no VNNI/AMX flags'}"


def run(model: Path, resolver: object, batches: list[np.ndarray]) -> Outputs:
    import tensorflow as tf

    interpreter = functools.partial(tf.lite.Interpreter, experimental_op_resolver_type=resolver)
    runner = _FixedBatchInterpreter(interpreter, model, threads=1, batch=BATCH)
    runner.run(batches[0])  # XNNPACK plans its kernels on the first invoke
    started = time.process_time()
    outputs = [runner.run(batch) for batch in batches]
    ms = (time.process_time() - started) * 1000 / (len(batches) * BATCH)
    return np.concatenate([o[0] for o in outputs]), np.concatenate([o[1] for o in outputs]), ms


def decisions(logits: np.ndarray) -> np.ndarray:
    scores = rollup.rollup_scores(rollup.softmax(logits.astype(np.float64)))
    concepts = sorted(rollup.DEFAULT_THRESHOLDS)
    return np.array([[s[c] >= rollup.DEFAULT_THRESHOLDS[c] for c in concepts] for s in scores])


def compare(a: Outputs, b: Outputs) -> str:
    figures = outputs_agreement(a[:2], b[:2])
    differ, total = int((decisions(a[0]) != decisions(b[0])).sum()), decisions(a[0]).size
    return (
        f"top-1 same {figures['top1_agreement']:.3f}, embedding cosine median "
        f"{figures['median_embedding_cosine']:.4f} / least {figures['least_embedding_cosine']:.4f}"
        f", max |logit difference| {np.abs(a[0] - b[0]).max():.3f}, roll-up decisions that "
        f"differ {differ} of {total}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--photos", type=Path, default=default_photos_dir())
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--reference", action="store_true")
    args = parser.parse_args(argv)

    files = sorted(args.photos.glob("*/*.jpg"))
    if not files:
        print(f"no photos under {args.photos}", file=sys.stderr)
        return 2
    step = max(len(files) / args.count, 1.0)
    chosen = [files[int(i * step)] for i in range(min(args.count, len(files)))]
    chosen = chosen[: len(chosen) // BATCH * BATCH]
    pixels = to_batch([load_image(p) for p in chosen])
    batches = [pixels[i : i + BATCH] for i in range(0, len(pixels), BATCH)]

    import tensorflow as tf

    kinds = tf.lite.experimental.OpResolverType
    print(f"{cpu_summary()}; TensorFlow {tf.__version__}; {len(chosen)} photos")
    for name in (MOBILENET_V2.tflite_file, MOBILENET_V2.int8_file):
        if name is None or not (args.model_dir / name).exists():
            print(f"{name}: not built (python -m mlmodels.build --out {args.model_dir})")
            continue
        model = args.model_dir / name
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        xnnpack = run(model, kinds.AUTO, batches)
        builtin = run(model, kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES, batches)
        print(f"{name} (sha256 {digest[:16]}): XNNPACK vs TFLite's kernels:")
        print(f"  {compare(xnnpack, builtin)}")
        print(f"  CPU ms an image: XNNPACK {xnnpack[2]:.1f}, TFLite's kernels {builtin[2]:.1f}")
        if args.reference:
            reference = run(model, kinds.BUILTIN_REF, batches)
            print(f"  TFLite's kernels vs its reference kernels ({reference[2]:.0f} ms an image):")
            print(f"  {compare(builtin, reference)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
