"""Small shared state of the API: the JWT blocklist. Redis when configured (every API process
sees it), else in-process for the single-process embedded default."""
from __future__ import annotations

import logging
import threading
import time

import redis

from backend.errors import ApiError

log = logging.getLogger("livehost.api")


class MemoryRevocations:
    def __init__(self):
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, jti: str, ttl: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._until = {k: v for k, v in self._until.items() if v > now}
            self._until[jti] = now + ttl

    def is_revoked(self, jti: str) -> bool:
        with self._lock:
            return self._until.get(jti, 0) > time.monotonic()


class RedisRevocations:
    """Revoked token ids as keys `livehost:jwt:revoked:{jti}` expiring with the token."""

    def __init__(self, client: redis.Redis):
        self.r = client

    def revoke(self, jti: str, ttl: int) -> None:
        try:
            self.r.set(f"livehost:jwt:revoked:{jti}", "1", ex=max(1, ttl))
        except redis.RedisError as e:
            log.error("cannot record a logout in Redis: %s", e)
            raise ApiError(503, "unavailable", "the token store (Redis) is unreachable; try again") from None

    def is_revoked(self, jti: str) -> bool:
        try:
            return bool(self.r.exists(f"livehost:jwt:revoked:{jti}"))
        except redis.RedisError as e:
            log.error("cannot check a token in Redis: %s", e)
            raise ApiError(503, "unavailable", "the token store (Redis) is unreachable; try again") from None
