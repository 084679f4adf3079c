"""Who runs a live: one Redis key per session, held by one worker and renewed every second.

`livehost:session:{id}:owner` = the worker's name, with a TTL. Taking it is atomic (SET NX), so a
task delivered twice never runs twice; renewing and releasing check the value, so a worker that
lost its claim (it stalled past the TTL and another took over) cannot extend or drop the new one.
The scheduler reads a missing key on a running session as "its worker died". RedisClaims keeps
them in Redis; MemoryClaims keeps the same claims in one process (the embedded default, where the
scheduler and the worker are threads of the API's process).
"""
from __future__ import annotations

import threading
import time

import redis

from streamer.control.bus import key

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def owner_key(session_id: int) -> str:
    return key(session_id, "owner")


class RedisClaims:
    """The claims in Redis, through one client."""

    def __init__(self, r: redis.Redis):
        self.r = r

    def claim(self, session_id: int, worker: str, ttl_s: float) -> bool:
        """Take the live for `worker`; False if another worker holds it."""
        return bool(self.r.set(owner_key(session_id), worker, nx=True, px=int(ttl_s * 1000)))

    def renew(self, session_id: int, worker: str, ttl_s: float) -> bool:
        """Extend `worker`'s claim; False if it is not (or no longer) the owner."""
        return bool(self.r.eval(_RENEW, 1, owner_key(session_id), worker, int(ttl_s * 1000)))

    def release(self, session_id: int, worker: str) -> None:
        self.r.eval(_RELEASE, 1, owner_key(session_id), worker)

    def owners(self, session_ids: list[int]) -> dict[int, str | None]:
        """The owner of each session (None: nobody holds it)."""
        if not session_ids:
            return {}
        values = self.r.mget([owner_key(i) for i in session_ids])
        return {i: (v.decode() if isinstance(v, bytes) else v) for i, v in zip(session_ids, values)}


class MemoryClaims:
    """The same claims with the same rules (expiry, only the owner renews or releases), in memory."""

    def __init__(self):
        self._held: dict[int, tuple[str, float]] = {}  # session -> (worker, monotonic expiry)
        self._lock = threading.Lock()

    def _owner(self, session_id: int) -> str | None:
        held = self._held.get(session_id)
        return held[0] if held and held[1] > time.monotonic() else None

    def claim(self, session_id: int, worker: str, ttl_s: float) -> bool:
        with self._lock:
            if self._owner(session_id) is not None:
                return False
            self._held[session_id] = (worker, time.monotonic() + ttl_s)
            return True

    def renew(self, session_id: int, worker: str, ttl_s: float) -> bool:
        with self._lock:
            if self._owner(session_id) != worker:
                return False
            self._held[session_id] = (worker, time.monotonic() + ttl_s)
            return True

    def release(self, session_id: int, worker: str) -> None:
        with self._lock:
            if self._owner(session_id) == worker:
                del self._held[session_id]

    def owners(self, session_ids: list[int]) -> dict[int, str | None]:
        with self._lock:
            return {i: self._owner(i) for i in session_ids}
