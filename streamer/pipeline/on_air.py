"""What is on air: the encoder stage tells this observer about every frame it commits, and it
keeps what viewers are getting: the utterance (start/end events, the caption; the director hears
when one has been heard to its end), the script item (where the script resumes after a cut or a
restart), and how long a cut took to go silent.
"""
from __future__ import annotations

import logging
import threading
import time

import av

from streamer.director import Director, Position
from streamer.frames import FPS, FrameKind, Tick, Utterance
from streamer.pipeline.stage import EventHandler

log = logging.getLogger("livehost.live")

SETTLE_TICKS = 12  # 480 ms of idle after a script item or an utterance means it is over


class OnAir:
    """Follows the frames as the encoder commits them (one thread: the encoder stage's).

    `lock` guards the script tracking against an interrupt computing where to resume (any
    thread). Events: utterance start/end as viewers hear it, and `cut` with the latency from the
    interrupt command to the first silent frame out of the encoder.
    """

    def __init__(self, director: Director, on_event: EventHandler):
        self.director, self.on_event = director, on_event
        self.lock = threading.RLock()
        self.speaking: str | None = None
        self._utterance: Utterance | None = None
        self._quiet = 0
        self._current: Position | None = None
        self._completed: Position | None = None
        self._base: Position = director.start
        self._idle = 0
        self._cut: tuple[int, float | None] | None = None  # first frame after a cut, command time

    # -- where the script is, as sent (call with `lock` held) ----------------------------------------
    def track(self, tick: Tick) -> None:
        """A frame that goes out as made (not turned idle by a cut)."""
        p = tick.position
        if p is not None:
            self._idle = 0
            if p != self._current:
                self._completed = self._current or self._completed
                self._current = p
        elif self._current is not None:
            self._idle += 1
            if tick.kind is FrameKind.SPEECH or self._idle >= SETTLE_TICKS:  # a reply, or a long silence
                self._completed, self._current = self._current, None

    def resume_position(self) -> Position:
        """The script item airing now, else the one after the last completed (unless replies took the
        rest of that pause, which is then still to come), else the base."""
        with self.lock:
            if self._current is not None:
                return self._current
            if self._completed is not None:
                if self._completed == self.director.carried_at():
                    return self._completed
                return self.director.after(self._completed)
            return self._base

    def rewind(self, resume: Position) -> None:
        """After an interrupt (called with `lock` held): nothing aired since; the script resumes at `resume`."""
        self._current = self._completed = None
        self._base = resume
        self._idle = 0

    # -- what viewers hear -------------------------------------------------------------------------
    def show(self, tick: Tick | None, cut: bool) -> None:
        """The frame just committed: `tick`, or None for an idle frame that replaced cut content."""
        u = tick.utterance if tick is not None and tick.kind is FrameKind.SPEECH else None
        if u is not None:
            self._quiet = 0
            if u is not self._utterance:
                self._end_utterance(cut=False)
                self._utterance, self.speaking = u, u.text
                latency = {"latency_ms": round((time.time() - u.asked_at) * 1000)} if u.asked_at else {}
                self.on_event("utterance", state="start", id=u.id, text=u.text, source=u.source,
                              reply_to=u.reply_to, **latency)
        elif self._utterance is not None:
            self._quiet += 1
            if tick is None or self._quiet >= SETTLE_TICKS:
                self._end_utterance(cut)

    def ended(self) -> None:
        """The stream ends: an utterance still on air ends with it."""
        self.show(None, cut=False)

    def _end_utterance(self, cut: bool) -> None:
        u = self._utterance
        if u is not None:
            self._utterance, self.speaking = None, None
            if not cut:  # heard to its end: the command it carries out may be done (before the event says so)
                self.director.aired(u.id)
            self.on_event("utterance", state="end", id=u.id, text=u.text, source=u.source, cut=cut)

    # -- how fast a cut went silent ------------------------------------------------------------------
    def cut_from(self, index: int, at: float | None) -> None:
        """Frame `index` is the first committed after an interrupt whose command arrived at `at`."""
        self._cut = (index, at)

    def encoded(self, packets: list[av.Packet]) -> None:
        """Packets out of the encoder: the first video packet of the cut frame closes the measurement."""
        if self._cut is None:
            return
        index, at = self._cut
        for p in packets:
            if p.stream is not None and p.stream.type == "video" and p.pts is not None \
                    and round(float(p.pts * p.time_base) * FPS) >= index:
                self._cut = None
                if at is not None:
                    ms = (time.time() - at) * 1000.0
                    log.info("interrupt: first silent frame out of the encoder %.0f ms after the command", ms)
                    self.on_event("cut", frame=index, latency_ms=round(ms, 1))
                return
