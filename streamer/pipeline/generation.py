"""The interrupt generation: one counter per live that makes queued media stale at once.

An interrupt does not chase data through the queues. It bumps the counter; every item carries the
generation it was made in, and each stage drops or replaces stale items when it meets them
(the speaker stops synthesizing, the clock drops audio, lipsync skips, the encoder sends idle).
"""
from __future__ import annotations

import threading
import time


class Generation:
    """Monotonic interrupt counter shared by a live's stages; reads need no lock."""

    def __init__(self) -> None:
        self.value = 0
        self.cut_at: float | None = None  # wall time (time.time()) the last interrupt's command arrived
        self._lock = threading.Lock()

    def bump(self, at: float | None = None) -> int:
        """Start a new generation; everything made before is stale. Returns the new value."""
        with self._lock:
            self.cut_at = time.time() if at is None else at
            self.value += 1
            return self.value

    def stale(self, gen: int) -> bool:
        return gen < self.value
