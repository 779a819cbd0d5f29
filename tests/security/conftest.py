"""Shared set-up for the security tests: the generated corpus of bad inputs, and a clean
throttle cache so one test's requests never count against another's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.make_bad_inputs import Case, write_corpus


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Case]]:
    folder = tmp_path_factory.mktemp("bad_inputs")
    return folder, {case.name: case for case in write_corpus(folder)}


@pytest.fixture(autouse=True)
def _fresh_throttle_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    # Every case makes a user; PBKDF2 at production strength would be most of the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
