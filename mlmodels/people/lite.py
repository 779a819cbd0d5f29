"""People evidence from the TFLite models: MoveNet bodies, BlazeFace faces, FaceRes ages.

Same keys as ``PeopleSignals``; faces in scenes are often hidden, so a body alone may be adult.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from mlmodels.concepts.heads import ADULT_IN_BODY
from mlmodels.network.engines import tflite_interpreter_class
from mlmodels.network.modelfiles import (
    MANIFEST_FILE,
    ModelFilesMissing,
    read_manifest,
    require_files,
)
from mlmodels.people.build import NPM_TARBALL_SHA256, NPM_VERSION
from mlmodels.people.decode import MOVENET_KEYPOINTS, blazeface_decode, movenet_decode
from mlmodels.people.lite_models import (
    BLAZEFACE,
    DEFAULT_LITE_OUT,
    FACERES,
    LITE_BUILD_FORMAT,
    MOVENET,
    blazeface_input,
    letterbox,
    output_order,
)
from mlmodels.people.signals import (
    ANALYSIS_MAX_SIDE,
    CHILD_MAX_AGE,
    DEFAULT_CHILD_THRESHOLD,
    FACE_MIN_SIDE,
    MAX_FACES,
    NAME,
    face_input,
)

LITE_PIPELINE_REVISION = 9  # bump when preprocessing, thresholds or key meanings change

# Decisions measured on the dev photos (docs/people.md, "TFLite people source").
FACE_MIN_SCORE = 0.6  # BlazeFace P(face), and the face in a person box (body_face) ...
PERSON_BOX_MIN = 0.2  # ... of at least this score: dogs, cats and dishes have no body around
FACE_ALONE_SCORE = 0.85  # ... unless this sure: close-ups cut the body off the frame
HEAD_KEYPOINT_MIN = 0.2  # a face in a body holds its nose, an eye or an ear: collars do not
PERSON_MIN_SCORE = 0.25  # MoveNet person score (centre x mean keypoint score)
KEYPOINT_MIN_SCORE = 0.3
BODY_MIN_KEYPOINTS = 6  # fewer visible joints: too often a dog, a poster or noise ...
BODY_MIN_LIMB_JOINTS = 3  # ... and so are bodies without elbows, wrists, hips, knees or ankles
_LIMBS = slice(7, 17)  # COCO order: nose, eyes, ears, shoulders, then the limb joints
_HEAD = slice(0, 5)
MOVENET_SUB_BATCH = 1  # batches of 4-8 ran no faster per image on 2 cores
ZOOM_OUT_MARGIN = 0.25  # a face filling the frame is past BlazeFace's anchors (docs, "Close-ups")
ZOOM_OUT_FILL = (128, 128, 128)


@dataclass(frozen=True)
class Person:
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in image px
    keypoints: np.ndarray  # (17, 3): x, y in image px, score

    @property
    def visible(self) -> int:
        return int((self.keypoints[:, 2] >= KEYPOINT_MIN_SCORE).sum())

    @property
    def limb_joints(self) -> int:
        return int((self.keypoints[_LIMBS, 2] >= KEYPOINT_MIN_SCORE).sum())


@dataclass(frozen=True)
class LiteFace:
    box: tuple[float, float, float, float]  # x, y, width, height in image px
    confidence: float  # BlazeFace
    p_child: float
    age: float


def _centred_in(box: tuple[float, float, float, float], person: Person) -> bool:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return person.box[0] <= cx <= person.box[2] and person.box[1] <= cy <= person.box[3]


def face_in(face: LiteFace, person: Person) -> bool:
    return _centred_in(face.box, person)


def body_face(box: tuple[float, float, float, float], person: Person) -> bool:
    """A face box (x, y, w, h) centred in ``person``'s box that holds one of its head points."""
    if not _centred_in(box, person):
        return False
    x, y, w, h = box
    head = person.keypoints[_HEAD]
    head = head[head[:, 2] >= HEAD_KEYPOINT_MIN]
    inside = (head[:, 0] >= x) & (head[:, 0] <= x + w) & (head[:, 1] >= y) & (head[:, 1] <= y + h)
    return bool(inside.any())


def clear_bodies(persons: Sequence[Person]) -> list[Person]:
    """Bodies seen well enough to count as a person: score and enough joints, some on limbs."""
    return [
        p
        for p in persons
        if p.score >= PERSON_MIN_SCORE
        and p.visible >= BODY_MIN_KEYPOINTS
        and p.limb_joints >= BODY_MIN_LIMB_JOINTS
    ]


def adult_bodies(clear: Sequence[Person], faces: Sequence[LiteFace]) -> list[Person]:
    """Of the clear bodies, those with no face of their own, presumed adult (docs/people.md)."""
    return [p for p in clear if not any(face_in(f, p) for f in faces)]


class _Runner:
    """One TFLite interpreter at a fixed batch (resizing makes XNNPACK re-plan the graph)."""

    def __init__(self, path: Path, threads: int, batch: int) -> None:
        interpreter_cls = tflite_interpreter_class()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self._interp = interpreter_cls(model_path=str(path), num_threads=threads)
        detail = self._interp.get_input_details()[0]
        self._input, self._dtype = detail["index"], detail["dtype"]
        self._interp.resize_tensor_input(self._input, [batch, *detail["shape"][1:]])
        self._interp.allocate_tensors()
        details = sorted(self._interp.get_output_details(), key=lambda d: output_order(d["name"]))
        self._outputs = [d["index"] for d in details]

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        self._interp.set_tensor(self._input, np.ascontiguousarray(x, dtype=self._dtype))
        self._interp.invoke()
        return [self._interp.get_tensor(i).copy() for i in self._outputs]


class PeopleSignalsLite:
    """People evidence (a ``SignalSource``) from TFLite models; loads on first use, once per
    process; one lock around inference, as interpreters must not run concurrently."""

    name: str = NAME
    model_subdir: str = DEFAULT_LITE_OUT.name  # under TAGLENS_MODEL_DIR

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_LITE_OUT,
        threads: int = 2,
        child_threshold: float = DEFAULT_CHILD_THRESHOLD,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.child_threshold = child_threshold
        # a build whose FaceRes is int8 ages a little differently: its signals are not the same
        faceres = str((read_manifest(self.model_dir) or {}).get("faceres", "float32"))
        self.version: str = (
            f"people-lite-{NPM_VERSION}-{NPM_TARBALL_SHA256[:8]}-{LITE_PIPELINE_REVISION}"
            f"{'-faceres8' if faceres.startswith('int8') else ''}-c{child_threshold:g}"
        )
        self._runners: dict[str, _Runner] | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PeopleSignalsLite({str(self.model_dir)!r})"

    def _load(self) -> dict[str, _Runner]:
        if self._runners is not None:
            return self._runners
        with self._load_lock:
            if self._runners is None:
                hint = f"run `python -m mlmodels.people build` (writes {self.model_dir})"
                needed = [MANIFEST_FILE, MOVENET.file, BLAZEFACE.file, FACERES.file]
                require_files(self.model_dir, needed, hint, what="TFLite people model files")
                manifest = read_manifest(self.model_dir) or {}
                if (
                    manifest.get("npm_tarball_sha256") != NPM_TARBALL_SHA256
                    or manifest.get("build_format") != LITE_BUILD_FORMAT
                ):
                    raise ModelFilesMissing(
                        f"{self.model_dir} was built from other sources or by another version: "
                        f"{hint} with --force"
                    )
                self._runners = {
                    m.file: _Runner(
                        self.model_dir / m.file,
                        self.threads,
                        MOVENET_SUB_BATCH if m is MOVENET else 1,
                    )
                    for m in (MOVENET, BLAZEFACE, FACERES)
                }
        return self._runners

    def analyse(self, images: Sequence[Image.Image]) -> list[tuple[list[Person], list[LiteFace]]]:
        """Bodies and faces (with ages) of each image, for signals, explanations and bench/."""
        if not images:
            return []
        runners = self._load()
        rgb = [_analysed(im) for im in images]
        boxed = [letterbox(im) for im in rgb]
        batch = np.stack(boxed)
        out = []
        with self._run_lock:
            heads: list[list[np.ndarray]] = []
            for start in range(0, len(batch), MOVENET_SUB_BATCH):
                chunk = runners[MOVENET.file].run(batch[start : start + MOVENET_SUB_BATCH])
                heads.extend([h[i] for h in chunk] for i in range(len(chunk[0])))
            for im, arr, head in zip(rgb, boxed, heads, strict=True):
                persons = _persons(movenet_decode(*head), max(im.size))
                faces = self._faces(runners, im, arr, persons)
                out.append((persons, faces))
        return out

    def _faces(
        self, runners: dict[str, _Runner], im: Image.Image, arr: np.ndarray, persons: list[Person]
    ) -> list[LiteFace]:
        bodies = [p for p in persons if p.score >= PERSON_BOX_MIN]
        boxes = _face_boxes(runners[BLAZEFACE.file], arr, im.size, 0.0, bodies)
        if not boxes:
            margin = round(max(im.size) * ZOOM_OUT_MARGIN)
            wide = ImageOps.expand(im, border=margin, fill=ZOOM_OUT_FILL)
            boxes = _face_boxes(runners[BLAZEFACE.file], letterbox(wide), im.size, margin, bodies)
        boxes.sort(key=lambda f: -f[0][2] * f[0][3])
        boxes = boxes[:MAX_FACES]
        ages = np.arange(100, dtype=np.float64)
        faces = []
        for box, score in boxes:
            p = np.asarray(runners[FACERES.file].run(face_input(im, box)[None])[0][0], np.float64)
            faces.append(LiteFace(box, score, float(p[: CHILD_MAX_AGE + 1].sum()), float(p @ ages)))
        return faces

    def signals(self, images: Sequence[Image.Image]) -> list[dict[str, float]]:
        out = []
        for persons, faces in self.analyse(images):
            clear = clear_bodies(persons)
            bodies = adult_bodies(clear, faces)
            adult_faces = [f for f in faces if f.p_child < self.child_threshold]
            person = max([p.score for p in persons] + [f.confidence for f in faces] + [0.0])
            adult_face = max([1.0 - f.p_child for f in faces] + [0.0])
            sig: dict[str, float] = {
                "people:person": round(person, 4),
                "people:faces": float(len(faces)),
                "people:child": round(max([f.p_child for f in faces] + [0.0]), 4),
                # A faceless clear body is presumed adult outright, as people:adults counts it.
                "people:adult": 1.0 if bodies else round(adult_face, 4),
                "people:children": float(len(faces) - len(adult_faces)),
                "people:adults": float(len(adult_faces) + len(bodies)),
                "people:adult_face": round(adult_face, 4),
                ADULT_IN_BODY: float(any(face_in(f, p) for f in adult_faces for p in clear)),
            }
            if faces:
                sig["people:age_min"] = round(min(f.age for f in faces), 1)
                sig["people:age_max"] = round(max(f.age for f in faces), 1)
            out.append(sig)
        return out


def _face_boxes(
    blazeface: _Runner,
    boxed: np.ndarray,
    size: tuple[int, int],
    margin: float,
    bodies: Sequence[Person],
) -> list[tuple[tuple[float, float, float, float], float]]:
    """Counted faces of ``boxed`` (the photo letterboxed, ``margin`` px around it), photo px."""
    s512, s384, r512, r384 = blazeface.run(blazeface_input(boxed[None]))
    found = blazeface_decode(
        np.concatenate([s512[0, :, 0], s384[0, :, 0]]),
        np.concatenate([r512[0], r384[0]]),
        FACE_MIN_SCORE,
    )
    width, height = size
    side = max(size) + 2 * margin
    boxes = []
    for score, b in found:
        x1, y1, x2, y2 = (float(v) * side - margin for v in b)
        x1, y1 = max(x1, 0.0), max(y1, 0.0)
        w, h = min(x2, width) - x1, min(y2, height) - y1
        in_body = any(body_face((x1, y1, w, h), p) for p in bodies)
        if min(w, h) >= FACE_MIN_SIDE and (in_body or score >= FACE_ALONE_SCORE):
            boxes.append(((x1, y1, w, h), score))
    return boxes


def _persons(decoded: np.ndarray, side: float) -> list[Person]:
    """MoveNet rows (normalised to the letterboxed square) -> bodies in image px, best first."""
    out = []
    for row in decoded:
        kp = row[: MOVENET_KEYPOINTS * 3].reshape(MOVENET_KEYPOINTS, 3)
        y0, x0, y1, x1 = (float(v) * side for v in row[51:55])
        keypoints = np.stack([kp[:, 1] * side, kp[:, 0] * side, kp[:, 2]], axis=1)
        out.append(Person(float(row[55]), (x0, y0, x1, y1), keypoints))
    return sorted(out, key=lambda p: -p.score)


def _analysed(image: Image.Image) -> Image.Image:
    """RGB, long side at most ``ANALYSIS_MAX_SIDE``: face crops need no more (docs/people.md)."""
    img = image if image.mode == "RGB" else image.convert("RGB")
    if max(img.size) > ANALYSIS_MAX_SIDE:
        img = img.copy()
        img.thumbnail((ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE), Image.Resampling.BILINEAR)
    return img
