"""Built model files on disk: hashes, manifests and atomic writes shared by every builder."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"


class ModelFilesMissing(RuntimeError):
    """The built model files are not in ``model_dir``; the message says what to run."""


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    manifest: dict[str, Any]
    rebuilt: bool


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(out_dir: Path, name: str = MANIFEST_FILE) -> dict[str, Any] | None:
    try:
        manifest = json.loads((Path(out_dir) / name).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the app user must read the models
    os.replace(tmp, path)


def write_manifest(
    out_dir: Path, name: str, fields: dict[str, Any], outputs: tuple[str, ...]
) -> dict[str, Any]:
    """Write ``fields`` + creation date + output hashes as the manifest, last of all files:
    its presence with matching hashes is what marks a build complete."""
    manifest = {
        **fields,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {output: sha256_file(out_dir / output) for output in outputs},
    }
    atomic_write(out_dir / name, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def require_files(model_dir: Path, names: list[str], hint: str, what: str = "model files") -> None:
    missing = [name for name in names if not (model_dir / name).is_file()]
    if missing:
        raise ModelFilesMissing(f"{what} {missing} not found in {model_dir}: {hint}")
