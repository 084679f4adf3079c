"""A source of audience events: one platform's live chat for one live, on its own thread.

A Source connects, reads and hands each AudienceEvent to `on_event` until stopped. When the
connection fails or drops it waits (capped exponential backoff with jitter) and connects again,
for as long as the live runs; nothing it does can stall or crash the live: `on_event` must
return quickly (the triage only queues), and every exception of a session is caught, logged once
per outage and shown in status().
"""
from __future__ import annotations

import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from streamer.audience.events import AudienceEvent

log = logging.getLogger("livehost.audience")


class SourceError(Exception):
    """A source cannot work as configured (bad room id, refused credentials): one line for the
    operator. Raised by a session, it is shown and retried like any other failure."""


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnects: `first` seconds, doubling up to `cap`, +-`jitter` of each."""

    first: float = 1.0
    cap: float = 30.0
    jitter: float = 0.2

    def delay(self, failures: int) -> float:
        base = min(self.cap, self.first * 2 ** max(0, failures - 1))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


class Source(ABC):
    """One platform's chat for one live. start() and stop() from the live's thread; the session
    runs on a daemon thread named `audience-<name>`.

    Subclasses implement session(): connect, call connected(), then read and emit() until the
    connection ends (return) or fails (raise). `name` is what status and logs show, e.g.
    "bilibili:21452505"; it never holds a credential.
    """

    platform = ""

    def __init__(self, name: str, on_event: Callable[[AudienceEvent], None], backoff: Backoff = Backoff()):
        self.name = name
        self.on_event = on_event
        self.backoff = backoff
        self.halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connected = False
        self._connected_at: float | None = None
        self._last_event_at: float | None = None
        self._error: str | None = None
        self._events = 0
        self._unknown = 0  # messages of kinds the adapter does not know (counted, ignored)
        self._malformed = 0  # messages that could not be read (logged, skipped)
        self._reconnects = 0
        self._failures = 0  # consecutive failed sessions

    # -- the live's side ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"audience-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Ask the session to end and wait up to `timeout` s; close() wakes a blocked read."""
        self.halt.set()
        try:
            self.close()
        except Exception:  # noqa: BLE001 - stopping must not raise into the live
            log.debug("%s: close failed", self.name, exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> dict:
        """connected, since (time.time() of the connect), last_event_at, events, unknown,
        malformed, reconnects, error (the last failure, one line, or None)."""
        with self._lock:
            return {"name": self.name, "platform": self.platform, "connected": self._connected,
                    "since": self._connected_at, "last_event_at": self._last_event_at, "events": self._events,
                    "unknown": self._unknown, "malformed": self._malformed, "reconnects": self._reconnects,
                    "error": self._error}

    # -- the session's side ----------------------------------------------------------------------
    @abstractmethod
    def session(self) -> None:
        """Connect and read until the connection ends or `halt` is set. Raise on failure."""

    def close(self) -> None:
        """Wake a session blocked on its connection (called by stop(), from another thread)."""

    def connected(self) -> None:
        with self._lock:
            if self._connected_at is not None:
                self._reconnects += 1
            self._connected, self._connected_at, self._error = True, time.time(), None
            self._failures = 0
        log.info("%s: connected", self.name)

    def emit(self, event: AudienceEvent) -> None:
        with self._lock:
            self._events += 1
            self._last_event_at = time.time()
        try:
            self.on_event(event)
        except Exception:  # noqa: BLE001 - the receiver's bug must not end the source
            log.exception("%s: handling a %s event failed", self.name, event.kind)

    def unknown(self, what: str) -> None:
        """A message of a kind this adapter does not handle: counted and ignored."""
        with self._lock:
            self._unknown += 1
        log.debug("%s: ignored %s", self.name, what)

    def malformed(self, what: str) -> None:
        """A message that cannot be read: logged and skipped; the connection goes on."""
        with self._lock:
            self._malformed += 1
            count = self._malformed
        if count <= 10 or count % 1000 == 0:
            log.warning("%s: skipped a malformed message (%d so far): %s", self.name, count, what[:200])

    def _run(self) -> None:
        while not self.halt.is_set():
            try:
                self.session()
                problem = None if self.halt.is_set() else "the connection was closed"
            except Exception as e:  # noqa: BLE001 - every failure is shown and retried
                problem = (str(e).splitlines() or [type(e).__name__])[0][:300] or type(e).__name__
            with self._lock:
                self._connected = False
                if problem is None:
                    break
                self._failures += 1
                failures = self._failures
                first = self._error is None
                self._error = problem
            delay = self.backoff.delay(failures)
            if first:
                log.warning("%s: %s; reconnecting with backoff (up to %g s)", self.name, problem, self.backoff.cap)
            else:
                log.debug("%s: %s; retry in %.1f s", self.name, problem, delay)
            self.halt.wait(delay)
        log.info("%s: stopped", self.name)
