"""One live session: the stages of the pipeline wired together, with status and one stop path.

    Director -> Speaker (TTS) -> Clock -> Lipsync -> Compositor -> Encoder -> Output (sink)

Each arrow is a small bounded Pipe, so the whole chain runs at the pace of its slowest stage (the
sink, paced to the wall clock, for a live) and holds about a second of media in all
(0.5 s of audio before the clock, about 20 video frames after it).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from streamer.avatar.model import Avatar
from streamer.clock import Clock
from streamer.compositor import Canvas
from streamer.director import Director, Position
from streamer.frames import FPS
from streamer.lipsync.base import LipsyncEngine
from streamer.output.encoder import Encoder
from streamer.output.sink import OutputStage, Sink
from streamer.script import Script
from streamer.settings import Settings
from streamer.speech import Speaker
from streamer.stage import END, Pipe, Stage
from streamer.voice.base import Voice

log = logging.getLogger("livehost.session")

EventHandler = Callable[..., None]


class LipsyncStage(Stage):
    def __init__(self, inp: Pipe, out: Pipe, engine: LipsyncEngine, avatar: Avatar, stop, on_error):
        super().__init__("lipsync", stop, on_error)
        self.inp, self.out = inp, out
        self.stream = engine.open(avatar)

    def loop(self) -> None:
        try:
            while True:
                tick = self.inp.get()
                results = self.stream.flush() if tick is END else self.stream.push(tick)
                for result in results:
                    self.out.put(result)
                if tick is END:
                    self.out.put(END)
                    return
        finally:
            self.stream.close()


class CompositorStage(Stage):
    def __init__(self, inp: Pipe, out: Pipe, canvas: Canvas, stop, on_error):
        super().__init__("compositor", stop, on_error)
        self.inp, self.out, self.canvas = inp, out, canvas

    def loop(self) -> None:
        while True:
            item = self.inp.get()
            if item is END:
                self.out.put(END)
                return
            tick, patch = item
            self.out.put((tick, self.canvas.compose(tick.avatar_index, patch)))


class EncoderStage(Stage):
    def __init__(self, inp: Pipe, out: Pipe, encoder: Encoder, stop, on_error):
        super().__init__("encoder", stop, on_error)
        self.inp, self.out, self.encoder = inp, out, encoder

    def loop(self) -> None:
        while True:
            item = self.inp.get()
            if item is END:
                self.out.put(self.encoder.flush())
                self.out.put(END)
                return
            tick, i420 = item
            self.out.put(self.encoder.encode(tick.index, i420, tick.audio))


class LiveSession:
    """Runs one live until the script ends, `duration` seconds of media are out, or stop().

    `voice_for(spec)` returns the Voice for an utterance's voice spec (None = the default).
    `realtime` False lets the clock wait for speech and the sink run unpaced (recordings, tests).
    Events (utterance, error, output, state) go to `on_event(kind, **fields)` from stage threads.
    """

    def __init__(self, *, settings: Settings, script: Script, avatar: Avatar, engine: LipsyncEngine,
                 voice_for: Callable[[str | None], Voice], encoder: Encoder, sink: Sink,
                 duration: float | None = None, realtime: bool = True,
                 on_event: EventHandler | None = None, session_id: str = "live",
                 start: Position = Position()):
        self.id = session_id
        self.settings = settings
        self.encoder = encoder
        self.sink = sink
        self._user_event = on_event or (lambda kind, **f: None)
        self.errors: list[str] = []
        self.state = "starting"
        self.started_at: float | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        stop, err = self._stop, self._stage_failed
        q = lambda n: Pipe(stop, n)  # noqa: E731
        to_speaker, audio, ticks, lips, frames, packets = q(2), q(25), q(4), q(4), q(4), q(8)
        self.director = Director(script, to_speaker, stop, err, start)
        self.speaker = Speaker(to_speaker, audio, voice_for, stop, err, self._event)
        max_frames = round(duration * FPS) if duration else None
        self.clock = Clock(audio, ticks, avatar, stop, err, self._event, realtime, max_frames)
        self.lipsync = LipsyncStage(ticks, lips, engine, avatar, stop, err)
        self.compositor = CompositorStage(lips, frames, Canvas(avatar, settings.width, settings.height), stop, err)
        self.encoder_stage = EncoderStage(frames, packets, encoder, stop, err)
        self.output = OutputStage(packets, sink, stop, err, pace=realtime)
        self.stages: list[Stage] = [self.director, self.speaker, self.clock, self.lipsync,
                                    self.compositor, self.encoder_stage, self.output]
        self.pipes = {"speech": to_speaker, "audio": audio, "ticks": ticks, "lips": lips,
                      "frames": frames, "packets": packets}
        self._rate: deque[tuple[float, int, int]] = deque(maxlen=12)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = time.monotonic()
        self._set_state("live")
        for stage in self.stages:
            stage.start()
        threading.Thread(target=self._watch, name=f"session-{self.id}", daemon=True).start()

    def _watch(self) -> None:
        self.output.join()
        self._stop.set()
        self.speaker.cancel.set()
        for stage in self.stages:
            stage.join(timeout=5)
        self.encoder.close()
        if self.state != "failed":
            self._set_state("ended")
        self._done.set()

    def stop(self) -> None:
        """Stop now: cancel speech, stop every stage, close the stream properly, join threads."""
        if not self._done.is_set():
            self._set_state("stopping")
            self.speaker.cancel.set()
            self._stop.set()
        self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the live has ended; True if it has."""
        return self._done.wait(timeout)

    # -- status and events --------------------------------------------------------------------
    def status(self) -> dict:
        now = time.monotonic()
        frames, sent = self.output.frames, self.output.bytes
        self._rate.append((now, frames, sent))
        t0, f0, b0 = self._rate[0]
        dt = now - t0
        return {
            "id": self.id,
            "state": self.state,
            "seconds": round(frames / FPS, 2),
            "fps": round((frames - f0) / dt, 1) if dt > 0.5 else 0.0,
            "bitrate": round((sent - b0) * 8 / dt) if dt > 0.5 else 0,
            "speaking": self.clock.speaking,
            "position": self.director.position,
            "queues": {name: p.qsize() for name, p in self.pipes.items()},
            "connected": getattr(self.sink, "connected", True),
            "errors": len(self.errors),
        }

    def _event(self, kind: str, **fields) -> None:
        if kind == "error":
            self.errors.append(fields.get("message", ""))
        try:
            self._user_event(kind, session=self.id, **fields)
        except Exception:  # noqa: BLE001 - a listener must not break the live
            log.exception("event handler failed")

    def _set_state(self, state: str) -> None:
        self.state = state
        self._event("state", state=state)

    def _stage_failed(self, stage: str, e: BaseException) -> None:
        self._set_state("failed")
        self._event("error", source=stage, message=f"{stage}: {e}")
        self._stop.set()
