"""One encoding, several destinations: the tee gives each sink (an RTMP server, a recording, the
preview) its own copy of every packet, its own thread and its own bounded queue, so a destination
that is down, slow or full never delays or stops the others.

A branch whose queue fills (its server stalls, its disk is slow) drops what it holds and waits for
the next keyframe, so what it sends later still decodes; the drops are counted. A sink whose write
raises is stopped with an `error` event; the other branches go on.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import av

from streamer.output.sink import Sink

log = logging.getLogger("livehost.output")

QUEUE_SECONDS = 4.0  # media a branch may hold before it drops (at 25 fps, video packets)
_END = object()


def copy_packet(packet: av.Packet) -> av.Packet:
    """A packet of its own (sinks re-point a packet at their stream while muxing it)."""
    out = av.Packet(bytes(packet))
    out.pts, out.dts, out.duration, out.time_base = packet.pts, packet.dts, packet.duration, packet.time_base
    out.is_keyframe = packet.is_keyframe
    out.stream = packet.stream
    return out


class Branch(threading.Thread):
    """One destination of the tee: a sink fed from a bounded queue by a thread of its own."""

    def __init__(self, sink: Sink, on_event: Callable[..., None], capacity_s: float = QUEUE_SECONDS):
        super().__init__(name=f"tee-{sink.describe()}", daemon=True)
        self.sink, self.on_event = sink, on_event
        self.capacity = max(1, round(capacity_s * 25))  # video packets
        self._queue: deque = deque()
        self._video_queued = 0
        self._ready = threading.Condition()
        self._waiting_for_key = False
        self.dropped = 0  # packets dropped because the queue was full
        self.sent_bytes = 0
        self.failed: str | None = None  # why the sink was stopped
        self._rate = (time.monotonic(), 0, 0.0)  # (when, bytes then, bits a second)

    def put(self, packet: av.Packet) -> None:
        """Queue a copy of `packet`; past capacity, drop the queue and wait for a keyframe."""
        if self.failed is not None:
            return
        video = packet.stream is not None and packet.stream.type == "video"
        with self._ready:
            if self._waiting_for_key:
                if not (video and packet.is_keyframe):
                    self.dropped += 1
                    return
                self._waiting_for_key = False
            if video and self._video_queued >= self.capacity:
                self.dropped += len(self._queue) + 1
                self._queue.clear()
                self._video_queued = 0
                self._waiting_for_key = True
                log.warning("%s is %.0f s behind: dropped what it held, going on from the next keyframe",
                            self.sink.describe(), self.capacity / 25)
                return
            self._queue.append(copy_packet(packet))
            self._video_queued += video
            self._ready.notify()

    def finish(self) -> None:
        with self._ready:
            self._queue.append(_END)
            self._ready.notify()

    def run(self) -> None:
        try:
            while True:
                with self._ready:
                    while not self._queue:
                        self._ready.wait()
                    packet = self._queue.popleft()
                    if packet is not _END:
                        self._video_queued -= packet.stream.type == "video"
                if packet is _END:
                    return
                if self.failed is None:
                    self._write(packet)
        finally:
            try:
                self.sink.close()
            except Exception as e:  # noqa: BLE001 - one destination's trouble stays its own
                log.warning("closing %s: %s", self.sink.describe(), e)

    def _write(self, packet: av.Packet) -> None:
        size = packet.size
        try:
            self.sink.write(packet)
        except Exception as e:  # noqa: BLE001 - this destination stops; the live and the others go on
            self.failed = str(e).splitlines()[0] if str(e) else type(e).__name__
            log.error("%s stopped: %s", self.sink.describe(), self.failed)
            self.on_event("error", source="output", message=f"{self.sink.describe()} stopped: {self.failed}")
            with self._ready:
                self._queue.clear()
                self._video_queued = 0
            return
        self.sent_bytes += size

    def status(self) -> dict:
        """What the live's status shows of this destination."""
        now, before, rate = self._rate
        t = time.monotonic()
        if t - now >= 1.0:
            rate = (self.sent_bytes - before) * 8 / (t - now)
            self._rate = (t, self.sent_bytes, rate)
        (state,) = self.sink.destinations()
        return {**state, "connected": state["connected"] and self.failed is None, "bitrate": round(rate),
                "dropped": self.dropped, "error": self.failed or state["error"]}


class TeeSink(Sink):
    """Sends every packet to each of `sinks`, each on a Branch. Paced when any sink is live."""

    def __init__(self, sinks: list[Sink], on_event: Callable[..., None] | None = None,
                 capacity_s: float = QUEUE_SECONDS):
        self.realtime = any(s.realtime for s in sinks)
        on_event = on_event or (lambda *a, **k: None)
        self.branches = [Branch(s, on_event, capacity_s) for s in sinks]
        for b in self.branches:
            b.start()
        self._closed = False

    @property
    def connected(self) -> bool:
        """Every destination is connected."""
        return all(b.status()["connected"] for b in self.branches)

    def describe(self) -> str:
        return ", ".join(b.sink.describe() for b in self.branches)

    def write(self, packet: av.Packet) -> None:
        for b in self.branches:
            b.put(packet)

    def close(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        for b in self.branches:
            b.finish()
        deadline = time.monotonic() + timeout
        for b in self.branches:
            b.join(max(0.0, deadline - time.monotonic()))
            if b.is_alive():
                log.warning("%s did not finish within %.0f s; left behind", b.sink.describe(), timeout)

    def destinations(self) -> list[dict]:
        return [b.status() for b in self.branches]
