"""The pipes between stages: small bounded queues whose blocking calls give up when the live stops.

Data flows one way through the pipes; END travels behind the last item so every stage drains and
exits in order. Stop (an Event shared by the live) makes every blocking put/get raise Stopped.
"""
from __future__ import annotations

import queue
import threading


class _End:
    def __repr__(self) -> str:
        return "END"


END = _End()


class Stopped(Exception):
    """Raised inside a stage when the live is stopping."""


class Pipe:
    """A bounded queue between two stages whose blocking calls respect the live's stop."""

    def __init__(self, stop: threading.Event, maxsize: int):
        self._q: queue.Queue = queue.Queue(maxsize)
        self._stop = stop

    def put(self, item) -> None:
        while True:
            if self._stop.is_set():
                raise Stopped
            try:
                self._q.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def get(self, timeout: float | None = None):
        """Next item; raises queue.Empty once `timeout` seconds pass (None waits for ever)."""
        waited = 0.0
        while True:
            if self._stop.is_set():
                raise Stopped
            step = 0.05 if timeout is None else min(0.05, max(timeout - waited, 0.0))
            try:
                return self._q.get(timeout=step) if step > 0 else self._q.get_nowait()
            except queue.Empty:
                waited += step
                if timeout is not None and waited >= timeout:
                    raise

    def drain(self) -> list:
        """Take everything queued now (for interrupts and shutdown)."""
        items = []
        while True:
            try:
                items.append(self._q.get_nowait())
            except queue.Empty:
                return items

    def qsize(self) -> int:
        return self._q.qsize()
