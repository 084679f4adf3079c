"""The video half of a session's pipeline: lipsync, compositor and encoder stages.

Each knows what an interrupt means for itself. Lipsync drops its held work and skips stale ticks;
the compositor shows the idle frame for them; the encoder, the last stop before the wire, turns
every stale frame it meets into idle + silence, so nothing said before the cut is sent after it.
The encoder stage also knows what is on air: the utterance (start/end events) and the script item.
"""
from __future__ import annotations

import logging
import threading
import time

from streamer.avatar.model import Avatar
from streamer.compositor import Canvas
from streamer.cut import Generation
from streamer.director import Director, Position
from streamer.frames import FPS, IDLE, SAMPLES_PER_VIDEO_FRAME, SPEECH, Tick, Utterance, silence
from streamer.lipsync.base import LipsyncEngine
from streamer.output.encoder import Encoder
from streamer.stage import END, Pipe, Stage, Stopped

log = logging.getLogger("livehost.session")

SETTLE_TICKS = 12  # 480 ms of idle after a script item or an utterance means it is over


def stale(tick: Tick, gen: Generation) -> bool:
    """Is this tick's content (speech, a clip) from before the last interrupt?"""
    return tick.kind != IDLE and gen.stale(tick.gen)


class LipsyncStage(Stage):
    def __init__(self, inp: Pipe, out: Pipe, engine: LipsyncEngine, avatar: Avatar, gen: Generation, stop, on_error,
                 realtime: bool = True):
        super().__init__("lipsync", stop, on_error)
        self.inp, self.out, self.gen = inp, out, gen
        self.stream = engine.open(avatar, realtime)

    def loop(self) -> None:
        seen = self.gen.value
        try:
            while True:
                tick = self.inp.get()
                if tick is END:
                    for result in self.stream.flush():
                        self.out.put(result)
                    self.out.put(END)
                    return
                if self.gen.value != seen:  # interrupted: what the engine holds is stale
                    seen = self.gen.value
                    for result in self.stream.reset():
                        self.out.put(result)
                if stale(tick, self.gen):
                    self.out.put((tick, None))
                    continue
                for result in self.stream.push(tick):
                    self.out.put(result)
        finally:
            self.stream.close()


class CompositorStage(Stage):
    def __init__(self, inp: Pipe, out: Pipe, canvas: Canvas, gen: Generation, stop, on_error):
        super().__init__("compositor", stop, on_error)
        self.inp, self.out, self.canvas, self.gen = inp, out, canvas, gen

    def loop(self) -> None:
        while True:
            item = self.inp.get()
            if item is END:
                self.out.put(END)
                return
            tick, patch = item
            frame = self.canvas.idle(tick.index) if stale(tick, self.gen) else self.canvas.render(tick, patch)
            self.out.put((tick, frame))


class EncoderStage(Stage):
    """Encodes (tick, I420) pairs into packet lists on `out`; with `pace`, each frame `margin`
    seconds before its wall-clock time (the output then sends packets as they come).

    `lock` guards the on-air script tracking against an interrupt computing where to resume.
    Events: utterance start/end (as the encoder sends it, i.e. what viewers hear) and `cut`
    with the latency from the interrupt command to the first silent frame out of the encoder.
    """

    def __init__(self, inp: Pipe, out: Pipe, encoder: Encoder, canvas: Canvas, director: Director,
                 gen: Generation, stop, on_error, on_event, pace: bool = True, margin: float = 0.04):
        super().__init__("encoder", stop, on_error)
        self.inp, self.out, self.encoder, self.canvas = inp, out, encoder, canvas
        self.pace, self.margin = pace, margin
        self._origin: float | None = None
        self.director, self.gen, self.on_event = director, gen, on_event
        self.lock = threading.RLock()
        self.speaking: str | None = None
        self._utterance: Utterance | None = None
        self._quiet = 0
        self._current: Position | None = None
        self._completed: Position | None = None
        self._base: Position = director.start
        self._idle = 0
        self._seen = gen.value
        self._cut: tuple[int, float | None] | None = None  # first frame after a cut, command time

    def loop(self) -> None:
        silent = silence(SAMPLES_PER_VIDEO_FRAME)
        while True:
            item = self.inp.get()
            if item is END:
                self._on_air(None, cut=False)
                self.out.put(self.encoder.flush())
                self.out.put(END)
                return
            tick, i420 = item
            if self.pace:
                self._wait_until_due(tick.index)
            audio = tick.audio
            with self.lock:
                cut = stale(tick, self.gen)
                if cut:
                    i420, audio = self.canvas.idle(tick.index), silent
                else:
                    self._track(tick)
                if self._seen != self.gen.value:
                    self._seen = self.gen.value
                    self._cut = (tick.index, self.gen.cut_at)
            self._on_air(None if cut else tick, cut)
            packets = self.encoder.encode(tick.index, i420, audio)
            if self._cut is not None:
                self._measure(packets)
            self.out.put(packets)

    def _wait_until_due(self, index: int) -> None:
        """Encode each frame `margin` s before it is due on the wire, not earlier: what is encoded
        is committed, so the less is encoded ahead, the sooner an interrupt is heard."""
        now = time.monotonic()
        if self._origin is None:
            self._origin = now - index / FPS + self.margin
        delay = self._origin + index / FPS - self.margin - now
        if delay > 0 and self.stop_event.wait(delay):
            raise Stopped

    # -- where the script is, as sent -------------------------------------------------------------
    def _track(self, tick: Tick) -> None:
        p = tick.position
        if p is not None:
            self._idle = 0
            if p != self._current:
                self._completed = self._current or self._completed
                self._current = p
        elif self._current is not None:
            self._idle += 1
            if tick.kind == SPEECH or self._idle >= SETTLE_TICKS:  # a reply, or a long silence
                self._completed, self._current = self._current, None

    def resume_position(self) -> Position:
        """The script item airing now, else the one after the last completed, else the base."""
        with self.lock:
            if self._current is not None:
                return self._current
            if self._completed is not None:
                return self.director.after(self._completed)
            return self._base

    def rewind(self, resume: Position) -> None:
        """After an interrupt (called with `lock` held): nothing aired since; the script resumes at `resume`."""
        self._current = self._completed = None
        self._base = resume
        self._idle = 0

    # -- what is on air -----------------------------------------------------------------------------
    def _on_air(self, tick: Tick | None, cut: bool) -> None:
        u = tick.utterance if tick is not None and tick.kind == SPEECH else None
        if u is not None:
            self._quiet = 0
            if u is not self._utterance:
                self._end_utterance(cut=False)
                self._utterance, self.speaking = u, u.text
                self.on_event("utterance", state="start", id=u.id, text=u.text, source=u.source,
                              reply_to=u.reply_to)
        elif self._utterance is not None:
            self._quiet += 1
            if tick is None or self._quiet >= SETTLE_TICKS:
                self._end_utterance(cut)

    def _end_utterance(self, cut: bool) -> None:
        u = self._utterance
        if u is not None:
            self._utterance, self.speaking = None, None
            self.on_event("utterance", state="end", id=u.id, text=u.text, source=u.source, cut=cut)

    def _measure(self, packets) -> None:
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
