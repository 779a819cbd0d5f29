"""Measure "adult present" rules of the TFLite people source on the dev photos.

    .venv/bin/python bench/people_adult_rule.py [--models var/models/people-lite] [--cache F]

Runs ``PeopleSignalsLite.analyse`` once per photo (cached in ``--cache``), then scores each rule:
adults found in people-in-scene photos, children found, false adults on photos without people,
"person" on gym rooms without people. Figures go to docs/people.md.
"""

from __future__ import annotations

import argparse
import csv
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from mlmodels.dataset import default_photos_dir
from mlmodels.people import lite
from mlmodels.people.lite import LiteFace, PeopleSignalsLite, Person

NO_PEOPLE = ("other", "food", "sea", "mountain", "flower", "dog", "cat")
Found = tuple[list[Person], list[LiteFace]]
Result = tuple[list[Person], list[LiteFace], str]  # bodies, faces, photo key
Rule = Callable[[Result], bool]


def photo_sets(root: Path) -> dict[str, list[str]]:
    """Evaluation sets as lists of ``folder/file`` keys."""
    also: dict[str, set[str]] = {}
    with open(root / "ALSO.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            also[row["file"].strip()] = {a.strip() for a in row["also"].split(";")}

    def files(folder: str) -> list[str]:
        return sorted(f"{folder}/{p.name}" for p in (root / folder).glob("*.jpg"))

    def extra(key: str) -> set[str]:
        return also.get(key, also.get(key.split("/", 1)[1], set()))

    scene = [k for k in files("adult") if "/utk_" not in k]
    with_adult = [k for f in sorted(p.name for p in root.iterdir() if p.is_dir()) for k in files(f)]
    scene += [k for k in with_adult if "adult" in extra(k) and "/utk_" not in k]
    child = [k for k in files("child") if "/utk_" not in k]
    no_people = [k for f in NO_PEOPLE for k in files(f) if not extra(k) & {"adult", "child"}]
    gym_empty = [k for k in files("gym") if not extra(k) & {"adult", "child"}]
    return {
        "adults in scenes": scene,
        "children in scenes": child,
        "child scenes, no adult in ALSO": [k for k in child if "adult" not in extra(k)],
        "no people": no_people + gym_empty,
        "gym without people": gym_empty,
        "utk adult crops": [k for k in files("adult") if "/utk_" in k],
        "utk child crops": [k for k in files("child") if "/utk_" in k],
    }


def analyse_all(
    source: PeopleSignalsLite, root: Path, keys: list[str], cache: Path
) -> dict[str, Found]:
    done: dict[str, Found] = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
    todo = [k for k in keys if k not in done]
    for start in range(0, len(todo), 16):
        chunk = todo[start : start + 16]
        images = []
        for k in chunk:
            with Image.open(root / k) as img:
                images.append(img.convert("RGB"))
        for k, res in zip(chunk, source.analyse(images), strict=True):
            done[k] = res
        cache.write_bytes(pickle.dumps(done))
    return done


def old_signals(
    root: Path, keys: list[str], cache: Path, model_dir: str
) -> dict[str, dict[str, float]]:
    """``PeopleSignals`` (CenterNet + MTCNN + FaceRes, faces only) on the same photos."""
    from mlmodels.people.signals import PeopleSignals

    done: dict[str, dict[str, float]] = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
    source = PeopleSignals(model_dir)
    for i, k in enumerate(k for k in keys if k not in done):
        with Image.open(root / k) as img:
            done[k] = source.signals([img.convert("RGB")])[0]
        if i % 50 == 49:
            cache.write_bytes(pickle.dumps(done))
    cache.write_bytes(pickle.dumps(done))
    return done


def rules(child_t: float) -> dict[str, tuple[Rule, Rule]]:
    """name -> (adult present, child present)."""

    def adult_face(r: Result) -> bool:
        return any(f.p_child < child_t for f in r[1])

    def child_face(r: Result) -> bool:
        return any(f.p_child >= child_t for f in r[1])

    def any_person(s: float) -> Rule:
        return lambda r: adult_face(r) or any(p.score >= s for p in r[0])

    def body(no_child: bool) -> Rule:
        return lambda r: (
            adult_face(r)
            or (
                bool(lite.adult_bodies(lite.clear_bodies(r[0]), r[1]))
                and not (no_child and child_face(r))
            )
        )

    def any_body(r: Result) -> bool:  # the chosen rule without its limb-joint test
        return adult_face(r) or any(
            p.score >= lite.PERSON_MIN_SCORE
            and p.visible >= lite.BODY_MIN_KEYPOINTS
            and not any(lite.face_in(f, p) for f in r[1])
            for p in r[0]
        )

    return {
        "faces only": (adult_face, child_face),
        "any person >= 0.2": (any_person(0.2), child_face),
        "any person >= 0.3": (any_person(0.3), child_face),
        "faceless body, >= 6 joints": (any_body, child_face),
        "faceless body, >= 6 joints, >= 3 on limbs (chosen)": (body(False), child_face),
        "chosen, and no child face in the photo": (body(True), child_face),
    }


def lite_person(r: Result) -> bool:
    return bool(r[1] or lite.clear_bodies(r[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="var/models/people-lite")
    parser.add_argument("--photos", default=str(default_photos_dir()))
    parser.add_argument("--cache", default="/tmp/people_lite_analyse.pkl")
    parser.add_argument("--child-threshold", type=float, default=0.15)
    parser.add_argument("--old", help="also score PeopleSignals built in this folder (slow)")
    args = parser.parse_args(argv)
    root = Path(args.photos)
    sets = photo_sets(root)
    keys = sorted({k for v in sets.values() for k in v})
    found = analyse_all(PeopleSignalsLite(args.models), root, keys, Path(args.cache))
    results: dict[str, Result] = {
        k: (found[k][0], found[k][1], k) for k in keys
    }  # the key lets the old source's rule look up
    table = rules(args.child_threshold)
    if args.old:
        old = old_signals(root, keys, Path(args.cache + ".old"), args.old)
        table = {
            "PeopleSignals (MTCNN faces only)": (
                lambda r: old[r[2]]["people:adults"] >= 1,
                lambda r: old[r[2]]["people:children"] >= 1,
            ),
            **table,
        }
    print("| rule | " + " | ".join(f"{n} ({len(v)})" for n, v in sets.items()) + " |")
    print("|---" * (len(sets) + 1) + "|")
    for name, (adult, child) in table.items():
        person = (lambda r: old[r[2]]["people:person"] >= 0.5) if "MTCNN" in name else lite_person
        cells = []
        for set_name, members in sets.items():
            if set_name.startswith("children"):
                hit = sum(child(results[k]) for k in members)
            elif set_name == "gym without people":
                hit = sum(person(results[k]) for k in members)
            elif set_name == "utk child crops":
                hit = sum(child(results[k]) for k in members)
            else:
                hit = sum(adult(results[k]) for k in members)
            cells.append(f"{hit} ({100 * hit / max(len(members), 1):.0f} %)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
