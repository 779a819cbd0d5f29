"""People evidence at run time: is a person in the photo, and is it an adult or a child."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mlmodels.concepts.heads import ADULT_IN_BODY
from mlmodels.convert.tfjs import graph_function
from mlmodels.network.modelfiles import (
    MANIFEST_FILE,
    ModelFilesMissing,
    read_manifest,
    require_files,
)
from mlmodels.people.build import (
    BUILD_FORMAT,
    CENTERNET_FILE,
    CENTERNET_OUTPUT,
    DEFAULT_OUT,
    FACERES_AGE,
    FACERES_FILE,
    MTCNN_WEIGHTS_SHA256,
    NPM_TARBALL_SHA256,
    NPM_VERSION,
    BuildError,
    check_mtcnn_weights,
)

NAME = "people"
PIPELINE_REVISION = 3  # bump when preprocessing, in-pipeline thresholds or key meanings change

CENTERNET_INPUT = "tower_0/images:0"  # (1, 512, 512, 3) float RGB 0..255
CENTERNET_SIZE = 512
COCO_PERSON = 0
FACERES_INPUT = "input_1:0"  # (N, 224, 224, 3) float BGR 0..255
FACERES_SIZE = 224

# Decisions, each measured on the dev photos (docs/people.md, "Which faces count").
CHILD_MAX_AGE = 12  # "child" = under 13: P(child) = sum of P(age 0..12)
FACE_MIN_CONFIDENCE = 0.9  # a face not filling the frame also needs a person box around it
PERSON_BOX_MIN = 0.2
CLOSEUP_MIN_FRACTION = 0.5  # a close-up counts from a lower confidence: the frame cuts it
CLOSEUP_MIN_CONFIDENCE = 0.8
FACE_MIN_SIDE = 20  # px; smaller faces carry no usable age information
FACE_CROP_SCALE = 1.4  # the age model was trained on loose crops with hair and chin
DEFAULT_CHILD_THRESHOLD = 0.15  # low: P(child) spreads over older ages for 7-12 year olds
MAX_FACES = 10  # the largest faces only: age per face costs ~15 ms
ANALYSIS_MAX_SIDE = 800  # MTCNN's cost grows with area; faces worth ageing stay >= 20 px

SIGNAL_KEYS: dict[str, str] = {
    "people:person": "max of the best CenterNet person score and the best counted face's MTCNN "
    "confidence, 0..1",
    "people:faces": "number of counted faces (at most MAX_FACES)",
    "people:child": "max over counted faces of P(age < 13), 0..1; 0 without faces",
    "people:adult": "max over counted faces of 1 - P(age < 13), 0..1; 0 without faces",
    "people:children": "counted faces with P(child) >= child_threshold",
    "people:adults": "counted faces with P(child) < child_threshold",
    "people:adult_face": "people:adult from the faces alone (the lite source adds bodies there)",
    ADULT_IN_BODY: "1 when an adult's face lies inside a clear body (lite source only)",
    "people:age_min": "smallest expected age over counted faces (absent without faces)",
    "people:age_max": "largest expected age over counted faces (absent without faces)",
}
# The keys heads read: ages are absent without a face, and absent reads as 0 (a baby); the
# adult in a body only within the adult evidence (heads.signal_value).
HEAD_SIGNAL_KEYS = tuple(
    k for k in SIGNAL_KEYS if not k.startswith("people:age_") and k != ADULT_IN_BODY
)


def faceless_bodies(signals: Mapping[str, float]) -> int:
    """The clear bodies without a readable face that ``people:adults`` counts beside the adult
    faces (the lite source's; 0 for the MTCNN source, which counts faces only)."""
    faces = int(signals.get("people:faces", 0))
    adult_faces = faces - int(signals.get("people:children", 0))
    return max(0, int(signals.get("people:adults", 0)) - adult_faces)


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height in the analysed image
    confidence: float  # MTCNN
    p_child: float  # P(age < 13)
    age: float  # expected age under the age softmax


def square_crop(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    x, y, w, h = box
    side = max(w, h) * FACE_CROP_SCALE
    cx, cy = x + w / 2, y + h / 2
    # Pillow pads outside the image with black; shifting the box inside would de-centre the face
    return img.crop(
        (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    )


def face_input(img: Image.Image, box: tuple[float, float, float, float]) -> np.ndarray:
    """FaceRes' input for one face, 0..255 in BGR: its ages are right in that order (docs)."""
    crop = square_crop(img, box).resize((FACERES_SIZE, FACERES_SIZE), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(crop, np.float32)[..., ::-1])


class PeopleSignals:
    """People evidence (a ``SignalSource``); models load on first use, and inference is
    serialised because ``mtcnn`` does not promise thread safety."""

    name: str = NAME
    model_subdir: str = DEFAULT_OUT.name  # under TAGLENS_MODEL_DIR

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_OUT,
        threads: int = 2,
        child_threshold: float = DEFAULT_CHILD_THRESHOLD,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.child_threshold = child_threshold
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
        needed = [MANIFEST_FILE, CENTERNET_FILE, FACERES_FILE]
        require_files(self.model_dir, needed, hint, what="people model files")
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
                    pass  # TF already initialised by another model: keep its settings
                from mtcnn import MTCNN

                centernet = _load_graph(
                    self.model_dir / CENTERNET_FILE, CENTERNET_INPUT, CENTERNET_OUTPUT
                )
                faceres = _load_graph(self.model_dir / FACERES_FILE, FACERES_INPUT, FACERES_AGE)
                self._models = (centernet, MTCNN(), faceres)
        return self._models

    def _persons(self, centernet: Any, img: Image.Image) -> list[tuple[float, np.ndarray]]:
        """Person detections as (score, x1 y1 x2 y2 in image px), best first."""
        import tensorflow as tf

        # squashed to 512x512 like the upstream Human library; boxes are scaled back
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

        crops = [face_input(img, box) for box, _ in faces]
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
            adult = round(max([1.0 - f.p_child for f in faces] + [0.0]), 4)
            sig: dict[str, float] = {
                "people:person": round(person, 4),
                "people:faces": float(len(faces)),
                "people:child": round(max([f.p_child for f in faces] + [0.0]), 4),
                "people:adult": adult,
                "people:children": float(sum(f.p_child >= self.child_threshold for f in faces)),
                "people:adults": float(sum(f.p_child < self.child_threshold for f in faces)),
                "people:adult_face": adult,
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
    return graph_function(graph_def, [input_name], [output_name])
