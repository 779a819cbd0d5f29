"""Django's Redis cache, with one redis-py client per process and server instead of one per call."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis import Redis


class ReusedRedisClient(RedisCacheClient):
    # redis-py builds a table of reply parsers in every client: 0.4 ms a cache call (#3624).
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._single = len(servers) == 1
        self._reused: Redis | None = None

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        if not self._single:  # reads go to a replica drawn per call
            return super().get_client(key, write=write)
        if self._reused is None:  # one server: reads and writes share its pool
            self._reused = super().get_client(key, write=write)
        return self._reused


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedRedisClient
