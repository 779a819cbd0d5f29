"""Production settings: `check --deploy` is clean with the documented environment, and the
settings refuse to start without a secret."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "taglens.example",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://taglens.example",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_EMAIL_HOST": "smtp.taglens.example",
}


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TAGLENS_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**clean, "TAGLENS_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path) -> None:
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNING" not in output


def test_check_deploy_warns_when_hsts_is_left_at_its_defaults(tmp_path) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if "INCLUDE_SUBDOMAINS" not in k}
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W005" in result.stdout + result.stderr


def test_check_deploy_warns_that_without_smtp_no_reset_link_is_mailed(tmp_path) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_EMAIL_HOST"}
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "taglens.W001" in result.stdout + result.stderr
    assert manage(tmp_path, "check", "--deploy", **env).returncode == 0  # make serve goes on


def test_production_refuses_to_start_without_a_secret_key(tmp_path) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr
    assert not (tmp_path / "dev_secret_key").exists()  # no key was made up


def test_production_refuses_the_development_secret_key_with_a_clear_message(tmp_path) -> None:
    dev_key = secrets.token_urlsafe(50)
    (tmp_path / "dev_secret_key").write_text(dev_key)
    result = manage(tmp_path, "check", **{**PRODUCTION_ENV, "DJANGO_SECRET_KEY": dev_key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is the development key" in result.stderr
    assert "needs its own secret" in result.stderr


def test_production_refuses_a_placeholder_or_short_secret_key(tmp_path) -> None:
    for key, said in [
        ("django-insecure-" + "x1y2z3" * 10, "insecure placeholder"),
        ("too-short", "at least 50 random"),
    ]:
        result = manage(tmp_path, "check", **{**PRODUCTION_ENV, "DJANGO_SECRET_KEY": key})
        assert result.returncode != 0 and said in result.stderr, result.stderr
