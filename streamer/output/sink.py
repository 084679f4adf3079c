"""What a sink is, and the output stage that writes packets to it."""
from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

import av

from streamer.stage import END, Pipe, Stage

log = logging.getLogger("livehost.output")


class SinkError(Exception):
    """A sink cannot be opened (bad URL, unreachable server, unwritable file). One line."""


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


class OutputStage(Stage):
    """Takes packet lists from `inp` and writes them to `sink` as they come (the encoder stage
    paces a live). Counts what it sent for status: `frames` (video packets) and `bytes`."""

    def __init__(self, inp: Pipe, sink: Sink, stop: threading.Event, on_error):
        super().__init__("output", stop, on_error)
        self.inp, self.sink = inp, sink
        self.frames = 0
        self.bytes = 0

    def loop(self) -> None:
        try:
            while True:
                item = self.inp.get()
                if item is END:
                    return
                for packet in item:
                    size = packet.size
                    is_video = packet.stream.type == "video" if packet.stream else False
                    self.sink.write(packet)
                    self.bytes += size
                    self.frames += is_video
        finally:
            self.sink.close()
