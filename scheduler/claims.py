"""Who runs a live: one Redis key per session, held by one worker and renewed every second.

`livehost:session:{id}:owner` = the worker's name, with a TTL. Taking it is atomic (SET NX), so a
task delivered twice never runs twice; renewing and releasing check the value, so a worker that
lost its claim (it stalled past the TTL and another took over) cannot extend or drop the new one.
Only a claim held by another worker is lost: renewing a claim that is gone (Redis restarted
without its data, failed over, or the claim lapsed and nobody took it) takes it back, atomically,
so a live is not cut because Redis forgot who runs it. The scheduler therefore reads a claim
missing for a whole TTL (never renewed nor taken back) on a running session as "its worker died".
RedisClaims keeps them in Redis; MemoryClaims keeps the same claims in one process (the embedded
default, where the scheduler and the worker are threads of the API's process).
"""
from __future__ import annotations

import threading
import time
from enum import IntEnum

import redis

from streamer.control.bus import key

_RENEW = """
local held = redis.call('get', KEYS[1])
if held == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
if held == false then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def owner_key(session_id: int) -> str:
    return key(session_id, "owner")


class Renewal(IntEnum):
    """What renewing a claim found. False only when it is lost."""

    LOST = 0  # another worker holds it now
    RENEWED = 1
    RETAKEN = 2  # it was gone (Redis lost it, or it lapsed with nobody taking it): held again


class RedisClaims:
    """The claims in Redis, through one client."""

    def __init__(self, r: redis.Redis):
        self.r = r

    def claim(self, session_id: int, worker: str, ttl_s: float) -> bool:
        """Take the live for `worker`; False if another worker holds it."""
        return bool(self.r.set(owner_key(session_id), worker, nx=True, px=int(ttl_s * 1000)))

    def renew(self, session_id: int, worker: str, ttl_s: float) -> Renewal:
        """Extend `worker`'s claim, or take it back if nobody holds it; LOST (falsy) if another does."""
        return Renewal(int(self.r.eval(_RENEW, 1, owner_key(session_id), worker, int(ttl_s * 1000))))

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

    def renew(self, session_id: int, worker: str, ttl_s: float) -> Renewal:
        with self._lock:
            owner = self._owner(session_id)
            if owner not in (worker, None):
                return Renewal.LOST
            self._held[session_id] = (worker, time.monotonic() + ttl_s)
            return Renewal.RENEWED if owner == worker else Renewal.RETAKEN

    def release(self, session_id: int, worker: str) -> None:
        with self._lock:
            if self._owner(session_id) == worker:
                del self._held[session_id]

    def owners(self, session_ids: list[int]) -> dict[int, str | None]:
        with self._lock:
            return {i: self._owner(i) for i in session_ids}
