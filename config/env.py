"""Small typed readers for environment variables that fail loudly on bad values."""

from __future__ import annotations

import os


class ImproperlySetError(RuntimeError):
    """An environment variable holds a value that cannot be used."""


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlySetError(f"Environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlySetError(f"{name}={value!r} is not a boolean (use true/false).")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlySetError(f"{name}={value!r} is not an integer.") from None


def env_list(name: str, default: list[str], *, empty_is_none: bool = False) -> list[str]:
    """Comma-separated items. Unset gives ``default``; set but empty gives ``default`` too,
    unless ``empty_is_none`` (then no items: ``NAME=`` switches a list off)."""
    value = os.environ.get(name)
    if value is None or (value == "" and not empty_is_none):
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlySetError(f"{name}={value!r} is not a number.") from None


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def env_log_level(name: str, default: str) -> str:
    """One of ``LOG_LEVELS``, in any case."""
    value = env_str(name, default).strip().upper()
    if value not in LOG_LEVELS:
        raise ImproperlySetError(
            f"{name}={value!r} is not a log level (use {', '.join(LOG_LEVELS)})."
        )
    return value
