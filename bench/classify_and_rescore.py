"""The product's classification rate end to end and its rescoring rate from stored embeddings.

Usage: ``python bench/classify_and_rescore.py [--posts 20000] [--images 32]``

1. Classification as a worker does it: decode (``load_image``), the configured backbone
   (TFLite; by default MobileNetV2 and EfficientNet-Lite0), the people signals (faces +
   ages) and trained heads, at batch 1 and 16, on scikit-image's sample photos (no private
   data). Printed with and without the people signals, since they dominate the cost.
2. Rescoring as activating a model version does it (``model_version_rescore``): N posts with
   stored embeddings of the backbone's size in a throw-away SQLite database; heads with random
   weights (the rate does not depend on the weights); posts per second, verdicts included.

Writes ``bench/results/classify_and_rescore-<date>.json``. The machine is shared: compare
figures within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TAGLENS_VAR_DIR"] = tempfile.mkdtemp(prefix="taglens-bench-")
os.environ.setdefault("TAGLENS_MODEL_DIR", str(REPO / "var" / "models"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402

from mlmodels.base import ALL_CONCEPTS, load_image  # noqa: E402
from mlmodels.concepts.heads import ConceptHeads, HeadsClassifier  # noqa: E402
from moderation.ingest.activation import model_version_rescore  # noqa: E402
from moderation.ingest.classifier import get_backbone, get_signal_sources  # noqa: E402
from moderation.ingest.model_versions import model_version_register  # noqa: E402
from moderation.models import Embedding, ModelVersion  # noqa: E402
from posts.models import Hashtag, Post, PostHashtag  # noqa: E402

PHOTOS = ("coffee", "chelsea", "astronaut", "rocket")


def random_heads(backbone: str, signal_keys: list[str], dim: int) -> ConceptHeads:
    rng = np.random.default_rng(0)
    n_features = dim + len(signal_keys)
    return ConceptHeads(
        concepts=tuple(ALL_CONCEPTS),
        source={c: "head" for c in ALL_CONCEPTS},
        mean=np.zeros(n_features, dtype=np.float32),
        scale=np.ones(n_features, dtype=np.float32),
        weights=rng.normal(0, 0.05, (n_features, len(ALL_CONCEPTS))).astype(np.float32),
        bias=np.zeros(len(ALL_CONCEPTS), dtype=np.float32),
        signal_keys=tuple(signal_keys),
        backbone=backbone,
        thresholds={c: 0.5 for c in ALL_CONCEPTS},
    )


def jpegs(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        buf = io.BytesIO()
        Image.fromarray(getattr(skdata, PHOTOS[i % len(PHOTOS)])()).convert("RGB").save(
            buf, format="JPEG", quality=90
        )
        out.append(buf.getvalue())
    return out


def classify_rate(classifier: HeadsClassifier, files: list[bytes], batch: int) -> float:
    classifier.predict([load_image(io.BytesIO(files[0]))])  # warm-up: load models
    start = time.perf_counter()
    for i in range(0, len(files), batch):
        classifier.predict([load_image(io.BytesIO(f)) for f in files[i : i + batch]])
    return len(files) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--images", type=int, default=32)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    backbone = get_backbone()
    sources = get_signal_sources()
    files = jpegs(args.images)
    dim = int(backbone.predict([load_image(io.BytesIO(files[0]))])[0].embedding.size)
    results: dict[str, object] = {"date": dt.date.today().isoformat(), "cpus": os.cpu_count()}

    people_keys = ["people:person", "people:faces", "people:adult", "people:child"]
    plain = HeadsClassifier(backbone, random_heads(backbone.version, [], dim), "bench")
    full = HeadsClassifier(
        backbone, random_heads(backbone.version, people_keys, dim), "bench", sources
    )
    for label, classifier in (("backbone+heads", plain), ("backbone+people+heads", full)):
        for batch in (1, 16):
            rate = classify_rate(classifier, files, batch)
            results[f"classify {label} batch {batch} img/s"] = round(rate, 1)
            print(f"classify  {label:<24} batch {batch:>2}: {rate:7.1f} images/s")

    # Rescoring: N posts sharing one stored image file, each with its own embedding row.
    heads = random_heads(backbone.version, people_keys, dim)
    version = model_version_register(
        name="bench-heads",
        backbone=backbone.version,
        concepts=list(ALL_CONCEPTS),
        heads=heads.to_bytes(),
        thresholds=heads.thresholds,
        metrics={},
        training={},
    )
    tag = Hashtag.objects.create(name="카페")
    now = timezone.now()
    rng = np.random.default_rng(1)
    posts = Post.objects.bulk_create(
        Post(image="bench/shared.jpg", status=Post.Status.CLASSIFIED, classified_at=now)
        for _ in range(args.posts)
    )
    PostHashtag.objects.bulk_create(PostHashtag(post=p, hashtag=tag) for p in posts)
    from moderation.models import Verdict

    Verdict.objects.bulk_create(
        Verdict(post=p, hashtag=tag, post_created_at=p.created_at) for p in posts
    )
    Embedding.objects.bulk_create(
        (
            Embedding(
                post=p,
                backbone=backbone.version,
                dim=dim,
                vector=rng.random(dim, dtype=np.float32).astype("<f4").tobytes(),
                base_scores={"food": 0.1},
                signals={"people:person": 0.0},
            )
            for p in posts
        ),
        batch_size=2000,
    )
    start = time.perf_counter()
    done = model_version_rescore(version_id=version.pk)
    seconds = time.perf_counter() - start
    rate = done / seconds
    results["rescore posts"] = done
    results["rescore seconds"] = round(seconds, 2)
    results["rescore posts/s"] = round(rate, 1)
    print(f"rescore   {done} posts from stored embeddings: {seconds:.1f} s, {rate:.0f} posts/s")
    print(
        f"(database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"version {ModelVersion.objects.get(pk=version.pk).rescore_message})"
    )
    out = REPO / "bench" / "results" / f"classify_and_rescore-{results['date']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
