"""What the audience tests share: a recorder of a source's events, a quick backoff, a wait."""
from __future__ import annotations

import threading
import time

from streamer.audience.source import Backoff

QUICK = Backoff(first=0.05, cap=0.2, jitter=0.0)  # reconnects within a test's patience


class Received:
    """What on_event was given, with a wait."""

    def __init__(self):
        self.events = []
        self._changed = threading.Condition()

    def __call__(self, event):
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        with self._changed:
            self._changed.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
