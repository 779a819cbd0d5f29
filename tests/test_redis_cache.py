"""The Redis cache backend keeps one redis-py client per process for a single server."""

from __future__ import annotations

import os

import pytest

from config.redis_cache import RedisCache

URL = os.environ.get("TAGLENS_REDIS_URL", "")
pytestmark = pytest.mark.skipif(not URL, reason="needs Redis: set TAGLENS_REDIS_URL")


def test_one_client_serves_reads_and_writes_and_values_round_trip() -> None:
    cache = RedisCache(URL, {"KEY_PREFIX": "redis-cache-test"})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("k", {"posts": [1, 2]}, 10)
    assert cache.get_many(["k", "missing"]) == {"k": {"posts": [1, 2]}}
    assert cache._cache.get_client() is client
    cache.delete("k")


def test_with_replicas_each_read_still_draws_its_server() -> None:
    cache = RedisCache([URL, URL], {"KEY_PREFIX": "redis-cache-test"})
    assert cache._cache.get_client() is not cache._cache.get_client()
