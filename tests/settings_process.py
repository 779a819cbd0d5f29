"""Settings built in a fresh process from chosen environment variables (none of the caller's
DJANGO_, TAGLENS_, AWS_ or DATABASE_URL variables leak in)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def settings_process(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (Python that calls ``django.setup()``) with config.settings, the variable
    folder in ``tmp_path`` and ``env``; its output is captured."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "TAGLENS_", "AWS_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "TAGLENS_VAR_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
