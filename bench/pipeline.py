"""The default pipeline end to end, as shipped, over a realistic mix, against Keras
EfficientNetV2B0 ``predict`` (batch 32) measured in the same run.

Usage: ``python bench/pipeline.py [--posts 320] [--rounds 3] [--photos DIR] [--profile
[--profile-dump FILE]] [--database-url URL --redis-url URL]`` (first run: ~5 more minutes
embedding the training photos; later runs reuse var/cache/bench-pipeline-embeddings.npz)

**Pipeline.** Photos are uploaded through ``posts.services.post_create`` (validation,
re-encoding, thumbnail, hashtags, pending verdicts) in one transaction, whose commit queues the
``classify_post`` tasks; a real ``manage.py qcluster`` with the shipped settings (workers,
model threads, batch size, signal sources, OCR: whatever the environment and
config/settings.py give, printed) claims the posts, decodes them, runs the backbone, the people
source where the lazy rule wants it, reads the text where its words could change a verdict
(lazy text) and stores embeddings, scores and verdicts.
The clock runs from the commit to the last post classified; the upload side's time per photo is
printed beside (web processes, not the workers). The cluster is started and warmed up once
(backbone, people models and OCR loaded), then each round uploads the mix again into an empty
database; the figure is the rounds' median.

**Mix** (``--posts`` N, sampled with a fixed seed from ``--photos``): half people (adult/ and
child/: scenes, catalogue shots, face crops), a tenth text (menu/), the rest the other folders
in proportion. **Hashtags** (every post gets one or two; ``TAG_PLAN`` below): an adult photo
carries a hashtag whose rule needs people (#ootd, #데일리룩, #패션: "adult or child";
#럽스타그램: "adult and not child") with probability ``--adult-tag-share`` (0.4), a child photo
(#육아, #아기: "child") with ``--child-tag-share`` (0.6), the rest of them everyday tags (#일상,
#여행 without a rule, #카페, #맛집, #바다); a clothing product shot carries #데일리룩 half the time;
every other photo its folder's tags (#음식 #맛집, #카페 #커피, #강아지, #헬스 #오운완, #메뉴 ...).
The share of posts whose rules need people is printed: the lazy rule runs people for those,
and for posts whose heads are unsure of a needed concept without people.

**Model version.** Concept heads trained here (``mlmodels.training``, 3 folds grouped by
source) on the backbone and the people source over the development photos *not* in the mix, so
the heads' doubts on the mix are those of unseen photos; activated with their thresholds, as
``train_concepts --activate`` does.

**Reference.** bench/keras_reference.py in a fresh process (TensorFlow's default threads) on
160 of the mix's photos, before the rounds and after them; the ratio uses the mean. Printed
beside: the CPU time a photo of the pipeline (workers with the Tesseract runs they waited for,
the database's and broker's processes; not the uploads) against Keras' CPU time an image, a
ratio that moves far less than the rates when other work shares the cores.

``--profile``: afterwards, one more upload of the mix classified in this process under cProfile
(batches in turn, the same functions the workers run): the top functions by own time per photo;
``--profile-dump`` also writes its pstats file, to read by cumulative time.

The machine may be shared: figures move with the load (printed); compare within a run.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from workers import Cluster, bench_environment, cpu_seconds, phases, wait

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=320)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared" / "photos")
    parser.add_argument("--adult-tag-share", type=float, default=0.4)
    parser.add_argument("--child-tag-share", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default="", help="an empty database (default SQLite)")
    parser.add_argument("--redis-url", default="", help="django-q2's Redis broker")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-dump", type=Path, help="also write the profile's pstats file")
    return parser.parse_args()


ARGS = parse_args()
if not ARGS.photos.is_dir():
    raise SystemExit(f"{ARGS.photos}: the development photos are needed for the mix")
VAR = bench_environment("taglens-bench-pipeline-", ARGS.database_url, ARGS.redis_url)
CACHE = REPO / "var" / "cache" / "bench-pipeline-embeddings.npz"
os.environ["TAGLENS_LOG_LEVEL"] = "WARNING"  # this process; the workers log at INFO
os.environ["TAGLENS_UPLOADS_PER_HOUR"] = "0"
# As served (make serve): DEBUG off, so no query is kept or formatted for the debug log.
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402
from django_q.models import OrmQ  # noqa: E402
from heads_version import heads_activated  # noqa: E402

from mlmodels.base import ALL_CONCEPTS  # noqa: E402
from mlmodels.concepts.heads import ConceptHeads, answered_by  # noqa: E402
from mlmodels.dataset import embed_paths, load_labelled_folder, photo_sources  # noqa: E402
from mlmodels.training.fit import fit_and_evaluate  # noqa: E402
from moderation.ingest.batches import classification_run_batch  # noqa: E402
from moderation.ingest.classifier import get_backbone, get_signal_sources  # noqa: E402
from moderation.ingest.needs import hashtag_needs  # noqa: E402
from moderation.ingest.training import signal_keys_available  # noqa: E402
from moderation.models import Concept, ModelVersion, TextExtraction, Verdict  # noqa: E402
from moderation.rules.analyzer import analyzer_warm  # noqa: E402
from moderation.selectors.catalog import concept_catalog, rule_index  # noqa: E402
from posts.models import Post  # noqa: E402
from posts.services import post_create  # noqa: E402

PEOPLE, TEXT = ("adult", "child"), "menu"
PEOPLE_TAGS = {"adult": ["ootd", "데일리룩", "패션", "럽스타그램"], "child": ["육아", "아기"]}
EVERYDAY = ["일상", "여행", "카페", "맛집", "바다"]
TAG_PLAN = {
    "menu": ["맛집", "메뉴"],
    "food": ["음식", "맛집"],
    "beverage": ["카페", "커피"],
    "cat": ["고양이", "냥스타그램"],
    "dog": ["강아지", "멍스타그램"],
    "other_animal": ["동물"],
    "flower": ["꽃"],
    "mountain": ["등산", "산"],
    "sea": ["바다", "여행"],
    "gym": ["헬스", "오운완"],
    "nail": ["네일"],
    "clothing": ["쇼핑"],
    "other": ["일상"],
}
SIGNALLED = re.compile(r"signals on (\d+)")


def photo_mix(n: int, rng: random.Random) -> list[Path]:
    """Half people, a tenth text, the rest the other folders in proportion; a folder with
    fewer photos than asked is used again (a photo posted twice is two posts)."""
    folders = {p.name: sorted(p.glob("*.jpg")) for p in ARGS.photos.iterdir() if p.is_dir()}
    people = [p for name in PEOPLE for p in folders.get(name, [])]
    others = [p for name, ps in folders.items() if name not in (*PEOPLE, TEXT) for p in ps]

    def take(pool: list[Path], k: int) -> list[Path]:
        picked = rng.sample(pool, min(k, len(pool)))
        return picked + [rng.choice(pool) for _ in range(k - len(picked))]

    n_people, n_text = n // 2, n // 10
    mix = take(people, n_people) + take(folders[TEXT], n_text) + take(others, n - n_people - n_text)
    rng.shuffle(mix)
    return mix


def hashtags(path: Path, rng: random.Random) -> list[str]:
    folder = path.parent.name
    if folder in PEOPLE:
        share = ARGS.adult_tag_share if folder == "adult" else ARGS.child_tag_share
        if rng.random() < share:
            return [rng.choice(PEOPLE_TAGS[folder]), rng.choice(EVERYDAY)]
        return rng.sample(EVERYDAY, 2)
    if folder == "clothing" and rng.random() < 0.5:
        return ["데일리룩"]
    return TAG_PLAN[folder]


def heads_activate(held_out: set[Path]) -> ModelVersion:
    """Heads trained on the photos not in the mix (kept in var/cache for the next run with the
    same mix and models), active with their thresholds."""
    backbone, sources = get_backbone(), get_signal_sources()
    paths, labels = load_labelled_folder(ARGS.photos, ALL_CONCEPTS, strict=False)
    keep = [i for i, p in enumerate(paths) if p not in held_out]
    paths, labels = [paths[i] for i in keep], labels[keep]
    # The training code and this bench: a change there must not reuse heads trained before it.
    made = [*(REPO / "mlmodels" / "training").glob("*.py"), Path(__file__)]
    code = sorted(p.read_bytes() for p in made)
    made_by = [backbone.version, *(s.version for s in sources), *map(str, paths), *code]
    stored = CACHE.with_name(
        f"bench-pipeline-heads-{hashlib.sha1(str(made_by).encode()).hexdigest()[:12]}.npz"
    )
    if stored.is_file():
        heads = ConceptHeads.load(stored)
        print(f"heads from {stored.relative_to(REPO)}")
    else:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        embedded = embed_paths(paths, backbone, CACHE, signal_sources=sources)
        heads, cv = fit_and_evaluate(
            embedded.embeddings,
            embedded.signals,
            labels[embedded.kept],
            ALL_CONCEPTS,
            groups=photo_sources(ARGS.photos, paths)[embedded.kept],
            backbone=backbone.version,
            signal_keys=signal_keys_available(),
            folds=3,
        )
        heads.save(stored)
        print(
            f"heads trained on {len(embedded.kept)} photos not in the mix, CV macro F1 "
            f"{cv.macro_f1:.3f}"
        )
    name = f"bench-pipeline-{heads.digest()}"
    version = heads_activated(
        heads, name, {"signal_sources": [f"{s.name}@{s.version}" for s in sources]}
    )
    for key, threshold in heads.thresholds.items():
        Concept.objects.filter(key=key).update(threshold=threshold)
    print(f"signal keys the heads read: {list(heads.signal_keys)}")
    return version


def keras_reference(photos: list[Path]) -> dict[str, Any]:
    """Images/s and CPU ms per image of EfficientNetV2B0 predict, batch 32, in a fresh process."""
    command = [sys.executable, str(REPO / "bench" / "keras_reference.py"), *map(str, photos)]
    found = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(found.stdout.strip().splitlines()[-1]))


def upload(author: Any, plan: list[tuple[bytes, list[str]]]) -> list[int]:
    return [post_create(author=author, image=io.BytesIO(b), hashtags=t).pk for b, t in plan]


def pending(ids: list[int]) -> bool:
    return Post.objects.filter(pk__in=ids, status=Post.Status.PENDING).exists()


def queue_empty() -> bool:
    return (get_broker().queue_size() or 0) == 0 if ARGS.redis_url else not OrmQ.objects.exists()


def database() -> str | None:
    return str(settings.DATABASES["default"]["NAME"]) if connection.vendor == "postgresql" else None


def round_(cluster: Cluster, author: Any, plan: list[tuple[bytes, list[str]]]) -> dict[str, Any]:
    mark = len(cluster.text())
    clock = time.perf_counter()
    with transaction.atomic():
        ids = upload(author, plan)
        uploaded = time.perf_counter() - clock
        cpu_start = cpu_seconds([cluster], database())
        committed = timezone.now()
    wait(lambda: not pending(ids), 3600, "classification", every=0.2)
    cpu = cpu_seconds([cluster], database())
    last = Post.objects.filter(pk__in=ids).aggregate(last=Max("classified_at"))["last"]
    seconds = (last - committed).total_seconds()
    wait(queue_empty, 600, "the queue to empty", every=0.2)
    log = cluster.text()[mark:]
    spent, batches = phases(log)
    n = len(ids)
    decisions = Counter(Verdict.objects.filter(post_id__in=ids).values_list("decision", flat=True))
    failed = Post.objects.filter(pk__in=ids, status=Post.Status.FAILED).count()
    texts = TextExtraction.objects.filter(post_id__in=ids).values_list("status", flat=True)
    read = Counter(texts)
    Post.objects.filter(pk__in=ids).delete()
    return {
        "photos": n,
        "seconds": round(seconds, 2),
        "photos_per_second": round(n / seconds, 1),
        "upload_ms_per_photo": round(1000 * uploaded / n, 1),
        "ms_per_photo": {k: round(1000 * v / n, 2) for k, v in spent.items()},
        "batches": batches,
        "people_ran_on": sum(int(k) for k in SIGNALLED.findall(log)),
        "cpu_ms_per_photo": {
            k: round(1000 * (v - cpu_start.get(k, 0.0)) / n, 1) for k, v in cpu.items()
        },
        "failed": failed,
        "decisions": dict(decisions),
        "text": dict(read),
        "load": round(os.getloadavg()[0], 1),
    }


def profile(author: Any, plan: list[tuple[bytes, list[str]]]) -> None:
    """The workers' functions in this process, batches in turn, under cProfile."""
    ids = upload(author, plan)  # no worker runs: the tasks stay queued
    classification_run_batch(post_id=None, limit=1)  # models loaded outside the profile
    analyzer_warm()  # as a worker does at start: Kiwi's first analysis takes seconds
    profiler = cProfile.Profile()
    profiler.enable()
    while pending(ids):
        classification_run_batch(post_id=None)
    profiler.disable()
    if ARGS.profile_dump:
        profiler.dump_stats(ARGS.profile_dump)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(25)
    print(f"\nprofile, {len(ids)} photos (seconds are totals; divide by the photos):")
    print(out.getvalue())


def main() -> None:
    call_command("migrate", verbosity=0)
    if Post.objects.exists():
        raise SystemExit("The bench database already holds posts: give it an empty one.")
    from django.contrib.auth.models import User

    rng = random.Random(ARGS.seed)
    mix = photo_mix(ARGS.posts, rng)
    plan = [(p.read_bytes(), hashtags(p, rng)) for p in mix]
    heads_activate(set(mix))
    answered = frozenset().union(*(answered_by(s.name) for s in get_signal_sources()))
    needs = hashtag_needs(
        {t for _, tags in plan for t in tags}, index=rule_index(), catalog=concept_catalog()
    )
    needing = sum(any(needs[t] & answered for t in tags) for _, tags in plan)
    folders = Counter(p.parent.name for p in mix)
    print(
        f"{connection.vendor}, broker {'redis' if ARGS.redis_url else 'orm'}, "
        f"{os.cpu_count()} CPUs; workers {settings.Q_CLUSTER['workers']}, model threads "
        f"{settings.TAGLENS_MODEL_THREADS}, batch {settings.TAGLENS_CLASSIFY_BATCH}, signal "
        f"sources {settings.TAGLENS_SIGNAL_SOURCES}, OCR {settings.TAGLENS_OCR}, DEBUG "
        f"{settings.DEBUG}\n"
        f"mix of {len(mix)}: {dict(sorted(folders.items()))}; rules need people for "
        f"{needing} posts ({needing / len(mix):.0%})"
    )
    reference = [p for p in mix if p.suffix.lower() in (".jpg", ".jpeg")][:160]
    keras = [keras_reference(reference)]
    print(f"Keras EfficientNetV2B0 predict, batch 32 (before): {keras[0]}")
    author, _ = User.objects.get_or_create(username="bench-pipeline")
    cluster = Cluster({**os.environ, "TAGLENS_LOG_LEVEL": "INFO"}, VAR / "cluster.log")
    rounds = []
    try:
        wait(lambda: " running." in cluster.text(), 120, "the cluster")
        # Every model loads on its first photo: one whose rule needs people among them.
        warm_ids = upload(author, [*plan[:8], (plan[0][0], ["ootd"])])
        wait(lambda: not pending(warm_ids), 600, "warm-up", every=0.2)
        Post.objects.filter(pk__in=warm_ids).delete()
        for number in range(ARGS.rounds):
            rounds.append(round_(cluster, author, plan))
            print(f"round {number + 1}: {json.dumps(rounds[-1], ensure_ascii=False)}", flush=True)
    finally:
        cluster.stop()
    keras.append(keras_reference(reference))
    print(f"Keras EfficientNetV2B0 predict, batch 32 (after): {keras[1]}")
    summary = summarise(rounds, keras)
    print("\n" + "\n".join(f"{k}: {v}" for k, v in summary.items()))
    day = time.strftime("%Y-%m-%d")
    out = REPO / "bench" / "results" / f"pipeline-{day}-{connection.vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    found = {"summary": summary, "rounds": rounds, "keras": keras}
    out.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    if ARGS.profile:
        profile(author, plan)


def summarise(rounds: list[dict[str, Any]], keras: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds, and the ratios: by wall-clock rates (the target's; also against
    Keras' fastest pass, as its passes run at two speeds here), and by CPU time per photo (what
    the rates would be with the cores to themselves: steadier here)."""
    rate = statistics.median(r["photos_per_second"] for r in rounds)
    keras_rate = statistics.mean(k["images_per_second"] for k in keras)
    keras_cpu = statistics.mean(k["cpu_ms_per_image"] for k in keras)
    keras_best = max(max(k["passes_images_per_second"]) for k in keras)
    # The web side's uploads (this process) are not the pipeline's workers.
    cpu = statistics.median(
        sum(v for k, v in r["cpu_ms_per_photo"].items() if k != "bench") for r in rounds
    )
    stages = {
        k: round(statistics.median(r["ms_per_photo"].get(k, 0.0) for r in rounds), 2)
        for k in rounds[0]["ms_per_photo"]
    }
    return {
        "pipeline photos/s (median of rounds)": rate,
        "Keras EfficientNetV2B0 predict batch 32 img/s (mean of before and after)": round(
            keras_rate, 1
        ),
        "ratio of rates": round(rate / keras_rate, 2),
        "Keras predict, its fastest pass img/s": keras_best,
        "ratio of rates to Keras' fastest pass": round(rate / keras_best, 2),
        "pipeline CPU ms/photo (workers incl. Tesseract, database, broker)": round(cpu, 1),
        "Keras CPU ms/image": round(keras_cpu, 1),
        "ratio by CPU time": round(keras_cpu / cpu, 2),
        "worker ms/photo by stage (median)": stages,
        "people ran on (median)": statistics.median(r["people_ran_on"] for r in rounds),
        "text read, waiting (median)": [
            statistics.median(r["text"].get(s, 0) for r in rounds) for s in ("ok", "deferred")
        ],
        "upload ms/photo, web side (median)": statistics.median(
            r["upload_ms_per_photo"] for r in rounds
        ),
    }


if __name__ == "__main__":
    main()
