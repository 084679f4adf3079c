"""Pipeline plumbing: named stage threads joined by small bounded queues, with one stop path.

Data flows one way through the queues; END travels behind the last item so every stage drains
and exits in order. Stop (an Event shared by the session) makes every blocking put/get give up.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("livehost.stage")


class _End:
    def __repr__(self) -> str:
        return "END"


END = _End()


class Stopped(Exception):
    """Raised inside a stage when the session is stopping."""


class Pipe:
    """A bounded queue between two stages whose blocking calls respect the session's stop."""

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


class Stage(threading.Thread):
    """A pipeline stage: one thread running `loop()` until END, stop, or an error.

    An exception in a stage is reported through `on_error` (the session fails and stops);
    Stopped is the normal way out when the session stops.
    """

    def __init__(self, name: str, stop: threading.Event, on_error: Callable[[str, BaseException], None]):
        super().__init__(name=name, daemon=True)
        self.stop_event = stop
        self._on_error = on_error

    def loop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self) -> None:
        try:
            self.loop()
        except Stopped:
            pass
        except BaseException as e:  # noqa: BLE001 - a stage must never die silently
            log.exception("stage %s failed", self.name)
            self._on_error(self.name, e)
