"""Text only where there is text: the OCR gate, its cost and what it shows, on the dev photos.

    .venv/bin/python bench/ocr.py [--photos ../shared/photos] [--before-sample 8] [--settings]

Prints the gate's firing rate per folder, OCR time per photo averaged over a mix (half with
people: adult/ and child/; a tenth with text: menu/; the rest the other folders), menu photos
with food evidence and photos outside menu/ with text shown, before (the ``tesseract`` program,
kor+eng, every photo at 1024 px, every word shown, the starter mappings) and now (gate,
Tesseract in process, confident words, menus, the food lexicon of migration 0018). "Before" is
read on ``--before-sample`` photos a folder (all of menu/): at ~1.5 s a photo all would take
half an hour. Times are CPU seconds of the reading thread (the 2 cores are shared).
``--settings``: only the menu photos, read under Tesseract settings that read less (SETTINGS).
"""

from __future__ import annotations

import argparse
import importlib
import io
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from mlmodels.base import load_image
from mlmodels.concepts import rollup
from mlmodels.dataset import default_photos_dir
from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier
from mlmodels.text import tesseract
from mlmodels.text.ocr import MIN_CONFIDENCE, TesseractReader, confident_text, text_words
from mlmodels.text.tesseract import Token
from mlmodels.text.textlike import is_menu, prices, text_expected
from moderation.rules.expr import ConceptRef
from moderation.rules.starter import KEYWORDS, MENU_KEYWORDS
from moderation.rules.words import IMAGE, match_words, word_index

PEOPLE = ("adult", "child")
TEXT = ("menu",)
MIX = {"people": 0.5, "text": 0.1, "rest": 0.4}
MENU_WORD = "메뉴"  # moderation/ingest/text.py's MENU_WORD, without Django
LEXICON = importlib.import_module("moderation.migrations.0018_food_lexicon").WORDS


def group(folder: str) -> str:
    return "people" if folder in PEOPLE else "text" if folder in TEXT else "rest"


def food_index(words: list[str]) -> dict[str, object]:
    food = {w: r for w, r in {**KEYWORDS, **MENU_KEYWORDS}.items() if r == "음식"}
    return dict(word_index({"음식": ConceptRef("food")}, {**food, **dict.fromkeys(words, "음식")}))


def read_before(image: Image.Image) -> tuple[str, float]:
    """The reading this work replaced: the tesseract program, kor+eng, sparse text, grayscale
    upscaled to a long side of 1024 px (at most 4x); every word kept. With its CPU ms."""
    gray = ImageOps.grayscale(image)
    factor = min(1024 / max(gray.size), 4.0)
    if factor > 1:
        gray = gray.resize((round(gray.width * factor), round(gray.height * factor)))
    buffer = io.BytesIO()
    gray.save(buffer, format="PNG")
    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", "kor+eng", "--psm", "11"],
        input=buffer.getvalue(),
        capture_output=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ms = (after.ru_utime + after.ru_stime - spent.ru_utime - spent.ru_stime) * 1000
    return done.stdout.decode("utf-8", "replace").strip(), ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=default_photos_dir())
    parser.add_argument("--model-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--before-sample", type=int, default=8)
    parser.add_argument(
        "--settings",
        action="store_true",
        help="only: Tesseract settings that read less, on the menu photos (SETTINGS)",
    )
    args = parser.parse_args()
    if args.settings:
        settings_on_menus(args.photos)
        return
    files = sorted(p for p in args.photos.glob("*/*") if p.suffix.lower() in {".jpg", ".png"})
    if not files:
        sys.exit(f"no photos under {args.photos}")
    print(f"{len(files)} photos under {args.photos}; load average {os.getloadavg()[0]:.1f}")

    backbone = MobileNetV2RollupClassifier(args.model_dir, threads=2)
    signals: list[dict[str, float]] = []
    food_scores: list[float] = []
    for start in range(0, len(files), 32):
        predictions = backbone.predict([load_image(p) for p in files[start : start + 32]])
        signals += [dict(p.signals) for p in predictions]
        food_scores += [p.scores["food"] for p in predictions]
    probs = rollup.softmax(np.random.default_rng(0).normal(size=(1000, 1000)))
    clock = time.thread_time()
    rollup.text_scores(probs)
    gate_ms = (time.thread_time() - clock) / len(probs) * 1000

    reader = TesseractReader()
    folders = sorted({p.parent.name for p in files})
    fired: dict[str, list[bool]] = {f: [] for f in folders}
    cost: dict[str, list[float]] = {g: [] for g in MIX}
    after_food, shown_after, before_food, shown_before = [], [], [], []
    sampled: dict[str, int] = {}
    cost_before: dict[str, list[float]] = {g: [] for g in MIX}
    menu_tokens: list[tuple[Token, ...]] = []
    open_gate: list[tuple[Token, ...]] = []  # sampled photos outside menu/, read regardless
    new_index, old_index = food_index(LEXICON), food_index([])
    threshold = rollup.DEFAULT_THRESHOLDS["food"]
    for path, signal, food in zip(files, signals, food_scores, strict=True):
        folder = path.parent.name
        gate = text_expected(signal) is not False
        fired[folder].append(gate)
        ms = gate_ms
        words: list[str] = []
        text = ""
        if gate:
            image = load_image(path, draft_size=None)
            clock = time.thread_time()
            read = reader.read(image)
            ms += (time.thread_time() - clock) * 1000
            text, words = read.text, read.words
            if folder in TEXT:
                menu_tokens.append(read.tokens)
            if is_menu(signal, len(prices(read.tokens))):
                words = [*words, MENU_WORD]
        cost[group(folder)].append(ms)
        name = f"{folder}/{path.name}"
        if folder in TEXT:
            evidence = bool(match_words(words, new_index, IMAGE))
            after_food.append((name, evidence, evidence or food >= threshold))
        elif text:
            shown_after.append(name)
        if folder in TEXT or sampled.get(folder, 0) < args.before_sample:
            sampled[folder] = sampled.get(folder, 0) + 1
            old, old_ms = read_before(load_image(path, draft_size=None))
            cost_before[group(folder)].append(old_ms)
            if folder not in TEXT:
                open_gate.append(reader.read(load_image(path, draft_size=None)).tokens)
            if folder in TEXT:
                before_food.append(bool(match_words(text_words(old), old_index, IMAGE)))
            elif old:
                shown_before.append(name)

    print("\nGate: Tesseract reads a photo when its text-like classes sum to >= 0.1")
    for folder in folders:
        rate = fired[folder]
        share = sum(rate) / len(rate)
        print(f"  {folder:13s} fires on {sum(rate):3d} of {len(rate):3d} ({share:.0%})")
    print(f"  the gate itself: {gate_ms * 1000:.1f} us a photo (text_scores on the logits)")

    print("\nOCR CPU ms a photo (gate + Tesseract where it fires), mean per group:")
    for name, weight in MIX.items():
        mean = statistics.mean(cost[name])
        print(f"  {name:7s} weight {weight:.1f}: {mean:7.1f} ms over {len(cost[name])}")
    mixed = sum(weight * statistics.mean(cost[name]) for name, weight in MIX.items())
    read_ms = cost["text"]
    print(f"  mix (half people, a tenth text): {mixed:.1f} ms a photo")
    if all(cost_before.values()):
        before = sum(weight * statistics.mean(cost_before[n]) for n, weight in MIX.items())
        print(f"  before, every photo read (the sampled ones): {before:.0f} ms a photo")
    else:
        print("  before: not measured outside menu/ (--before-sample 0)")
    print(f"  a menu photo read: mean {statistics.mean(read_ms):.0f} ms, max {max(read_ms):.0f} ms")

    n_menu = len(after_food)
    print(f"\nMenu photos ({n_menu}):")
    print(f"  food evidence in the image text, before: {sum(before_food)} of {len(before_food)}")
    evidence = sum(e for _, e, _ in after_food)
    print(f"  food evidence in the image text, now:    {evidence} of {n_menu}")
    print(
        f"  shown under #음식 now (evidence or roll-up food >= {threshold}): "
        f"{sum(s for _, _, s in after_food)} of {n_menu}"
    )
    print(f"  without: {[n for n, e, _ in after_food if not e]}")
    others = len(files) - n_menu
    sample_total = sum(v for k, v in sampled.items() if k not in TEXT)
    print("\nPhotos outside menu/ with text shown on the post page:")
    print(f"  before: {len(shown_before)} of {sample_total} ({args.before_sample} a folder)")
    print(f"  now:    {len(shown_after)} of {others}: {shown_after}")

    print("\nWord confidence (letters or digits >= 2, or Hangul), were the gate always open:")
    for level in (60.0, 70.0, MIN_CONFIDENCE, 90.0):
        food_words = sum(
            bool(match_words(text_words(confident_text(t, level)), new_index, IMAGE))
            for t in menu_tokens
        )
        noise = sum(bool(confident_text(t, level)) for t in open_gate)
        print(
            f"  >= {level:.0f}: menu photos with a food word {food_words} of {n_menu}; "
            f"sampled photos outside menu/ showing text {noise} of {len(open_gate)}"
        )
    korean_menu(reader)


# Tesseract parameters that make it read less (fewer, larger or cleaner candidate lines).
SETTINGS: dict[str, dict[str, str]] = {
    "as shipped": {},
    "no inverted second reading": {"tessedit_do_invert": "0"},
    "text rows from 14 px x-height": {"textord_min_xheight": "14"},
    "text rows from 20 px x-height": {"textord_min_xheight": "20"},
    "stricter noise blobs": {"textord_noise_sizelimit": "1.0"},
    "automatic layout (psm 3)": {"tessedit_pageseg_mode": "3"},
}


def settings_on_menus(photos: Path) -> None:
    """Per setting, in a process of its own (Tesseract's textord_* parameters are process-wide):
    CPU ms a menu photo, photos with a food word, photos with at least 3 prices. The menu class
    needs no reading."""
    files = sorted((photos / TEXT[0]).glob("*"))
    print(f"{len(files)} menu photos; load average {os.getloadavg()[0]:.1f}")
    for label, variables in SETTINGS.items():
        with multiprocessing.get_context("fork").Pool(1) as pool:
            print(f"  {label:32s} {pool.apply(_read_menus, (files, variables))}")


def _read_menus(files: list[Path], variables: dict[str, str]) -> str:
    images = [load_image(p, draft_size=None) for p in files]
    index = food_index(LEXICON)
    reader = TesseractReader()
    reader.read(images[0])  # makes this process's engines
    for language in ("eng", "kor"):
        for name, value in variables.items():
            tesseract.engine(language).set_variable(name, value)
    spent, food, priced = 0.0, 0, 0
    for image in images:
        clock = time.thread_time()
        read = reader.read(image)
        spent += time.thread_time() - clock
        food += bool(match_words(read.words, index, IMAGE))
        priced += len(prices(read.tokens)) >= 3
    ms = spent / len(images) * 1000
    return f"{ms:6.0f} ms   food word {food:2d}   3 prices {priced:2d}"


def korean_menu(reader: TesseractReader) -> None:
    """No development photo is a Korean menu: a printed one (Nanum font) stands in."""
    font = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
    if not font.exists():
        print("\n(Korean menu skipped: apt-get install fonts-nanum)")
        return
    lines = ["메뉴", "김치찌개 9,000원", "된장찌개 8,000원", "제육볶음 12,000원", "비빔밥 9,500원"]
    lines += ["냉면 10,000원", "떡볶이 5,000원", "Americano 4,500원", "Cafe Latte 5,000원"]
    image = Image.new("RGB", (512, 40 + 44 * len(lines)), (250, 240, 215))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text(
            (30, 20 + 44 * i), line, font=ImageFont.truetype(str(font), 24), fill=(30, 30, 30)
        )
    clock = time.thread_time()
    read = reader.read(image)
    ms = (time.thread_time() - clock) * 1000
    print(f"\nA printed Korean menu ({len(lines)} lines): {ms:.0f} ms, read with {read.languages}:")
    print("  " + read.text.replace("\n", " | "))


if __name__ == "__main__":
    main()
