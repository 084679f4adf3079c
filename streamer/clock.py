"""The media clock: pairs 20 ms audio frames into 40 ms video ticks and picks the avatar frame.

Timestamps come from this counter only. In real-time mode the clock never waits for speech past
the moment a tick is needed downstream: it sends idle frames with silence instead, and the speech
starts later, still in sync. Off real time (files, benchmarks) it waits for every frame.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from streamer.avatar.model import Avatar
from streamer.director import Action
from streamer.frames import AUDIO_FRAMES_PER_VIDEO_FRAME, FPS, IDLE, SPEECH, AudioFrame, Tick, silence
from streamer.stage import END, Pipe, Stage

log = logging.getLogger("livehost.clock")


class Clock(Stage):
    """Reads AudioFrames (and Actions) from `inp`, writes Ticks to `out`, then END.

    Ends after `max_frames` ticks when given, or when the speaker's END arrives.
    `lead` is how long before its wall-clock time a tick must leave the clock (real time only).
    """

    def __init__(self, inp: Pipe, out: Pipe, avatar: Avatar, stop: threading.Event, on_error,
                 on_event: Callable[..., None], realtime: bool = True,
                 max_frames: int | None = None, lead: float = 0.12):
        super().__init__("clock", stop, on_error)
        self.inp, self.out = inp, out
        self.avatar = avatar
        self.realtime = realtime
        self.max_frames = max_frames
        self.lead = lead
        self.on_event = on_event
        self.frames = 0
        self.speaking: str | None = None
        self._ended = False
        self._t0 = 0.0

    def loop(self) -> None:
        self._t0 = time.monotonic()
        while self.max_frames is None or self.frames < self.max_frames:
            n = self.frames
            deadline = self._t0 + n / FPS - self.lead
            got = [self._next_audio(deadline) for _ in range(AUDIO_FRAMES_PER_VIDEO_FRAME)]
            if self._ended and all(f is None for f in got):
                break
            audio = np.concatenate([f.samples if f is not None else silence() for f in got])
            speech = [f for f in got if f is not None and f.kind == SPEECH]
            utterance = speech[0].utterance if speech else None
            self.speaking = utterance.text if utterance else None
            self.out.put(Tick(n, audio, SPEECH if speech else IDLE, self.avatar.loop_index(n), utterance))
            self.frames = n + 1
        self.speaking = None
        self.out.put(END)

    def _next_audio(self, deadline: float) -> AudioFrame | None:
        while not self._ended:
            try:
                if self.realtime:
                    item = self.inp.get(timeout=max(0.0, deadline - time.monotonic()))
                else:
                    item = self.inp.get()
            except queue.Empty:
                return None
            if item is END:
                self._ended = True
            elif isinstance(item, Action):
                self._action(item)
            else:
                return item
        return None

    def _action(self, action: Action) -> None:
        # Action clips arrive with the control-plane issue; until then say so once per request.
        log.warning("avatar %s has no action clip %r; skipped", self.avatar.id, action.name)
        self.on_event("error", source="action", message=f"avatar {self.avatar.id} has no action clip {action.name!r}")
