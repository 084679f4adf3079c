"""What a sink is: where the encoded packets of a live go (RTMP, a file, a test)."""
from __future__ import annotations

from abc import ABC, abstractmethod

import av


class SinkError(Exception):
    """A sink cannot be opened (bad URL, unreachable server, unwritable file). One line, and
    optionally a stable `reason` (rtmp_unreachable, rtmp_refused, rtmp_dropped, ...) with its
    `params`, for a user interface to word in its own language."""

    def __init__(self, message: str, reason: str | None = None, **params):
        super().__init__(message)
        self.reason, self.params = reason, params


class Sink(ABC):
    """Carries encoded packets somewhere. Called from one thread (the output stage)."""

    #: a live sink is fed at the media's own speed; a recording may go as fast as it can
    realtime: bool = True

    @abstractmethod
    def write(self, packet: av.Packet) -> None:
        """Send one packet. A live sink that lost its server drops it and reconnects later."""

    @abstractmethod
    def close(self) -> None:
        """Finish the stream properly (trailer, connection closed)."""

    def describe(self) -> str:
        return type(self).__name__

    def destinations(self) -> list[dict]:
        """Where the live goes, each with its state, for the live's status (a tee has several)."""
        return [{"name": self.describe(), "connected": getattr(self, "connected", True),
                 "reconnects": max(0, getattr(self, "connects", 1) - 1), "dropped": 0,
                 "error": getattr(self, "failed", None) or getattr(self, "last_error", None)}]
