"""The media clock: pairs 20 ms audio frames into 40 ms video ticks and picks the avatar frame.

Timestamps come from this counter only. In real-time mode the clock never waits for speech past
the moment a tick is needed downstream: it sends idle frames with silence instead, and the speech
starts later, still in sync. Off real time (files, benchmarks) it waits for every frame.

Action clips play here too: a clip's ticks show its frames (and carry its audio, if any); when it
ends the next ticks fade from its last frame back to the idle loop. Speech that arrives during a
clip waits for it or cuts it short, as the room says; a looping clip gives way to anything due.
"""
from __future__ import annotations

import logging
import queue
from collections import deque
from dataclasses import dataclass

import numpy as np

from streamer.avatar.model import ActionClip, Avatar
from streamer.director import Action
from streamer.frames import (AUDIO_FRAMES_PER_VIDEO_FRAME, FPS, SAMPLES_PER_VIDEO_FRAME, AudioFrame, FrameKind, Tick,
                             silence)
from streamer.pipeline.pipe import END, Pipe
from streamer.pipeline.stage import Stage, StageSetup

log = logging.getLogger("livehost.clock")

LEAD = 0.16  # seconds a tick leaves the clock before its wall-clock time (plus the lipsync engine's delay)

FADE_TICKS = 6  # 240 ms crossfade from a clip's last frame back to the idle loop


@dataclass
class _Playing:
    action: Action
    clip: ActionClip
    loop: bool
    index: int = 0


class Clock(Stage):
    """Reads AudioFrames (and Actions) from `inp`, writes Ticks to `out`, then END.

    Ends after `max_frames` ticks when given, or when the speaker's END arrives.
    In real time a tick leaves the clock `lead` seconds before its wall-clock time: never later
    (it goes idle rather than wait for speech), and never earlier, so that little waits downstream.
    `speech_during_action` is "wait" (a clip plays to its end first) or "interrupt".
    play() (any thread) starts an action clip at the next tick.
    """

    def __init__(self, setup: StageSetup, inp: Pipe, out: Pipe, avatar: Avatar, realtime: bool = True,
                 max_frames: int | None = None, lead: float = LEAD, speech_during_action: str = "wait"):
        super().__init__("clock", setup, inp, out)
        self.avatar = avatar
        self.realtime = realtime
        self.max_frames = max_frames
        self.lead = lead
        self.speech_during_action = speech_during_action
        self.frames = 0
        self._ended = False
        self._t0 = 0.0
        self._requests: deque[Action] = deque()
        self._playing: _Playing | None = None
        self._fade: tuple[str, int, int] | None = None  # clip, frame, ticks left
        self._held: list = []  # items pulled early while a clip played

    def play(self, action: Action) -> None:
        """Start action clip `action.name` at the next tick (replacing any clip playing)."""
        self._requests.append(action)

    @property
    def action(self) -> str | None:
        """The clip playing now, if any."""
        p = self._playing
        return p.action.name if p else None

    def loop(self) -> None:
        self._t0 = self.wall.now()
        while self.max_frames is None or self.frames < self.max_frames:
            n = self.frames
            while self._requests:
                self._start(self._requests.popleft())
            playing = self._playing
            if playing is not None and self.gen.stale(playing.action.gen):
                self._playing = playing = None  # interrupted: back to idle at once, no fade
            if playing is not None:
                tick = self._clip_tick(n, playing)
            else:
                tick = self._media_tick(n)
                if tick is None:
                    break
            if self.realtime:  # no earlier than `lead` ahead: a reply after a cut is not queued behind idle
                wait = self._t0 + n / FPS - self.lead - self.wall.now()
                if wait > 0 and self.wall.wait(self.stop_event, wait):
                    break
            self.out.put(tick)
            self.frames = n + 1
        self.out.put(END)

    # -- ordinary ticks: speech, pauses, idle ---------------------------------------------------
    def _media_tick(self, n: int) -> Tick | None:
        deadline = self._t0 + n / FPS - self.lead
        got: list[AudioFrame | None] = []
        for _ in range(AUDIO_FRAMES_PER_VIDEO_FRAME):
            got.append(self._next_audio(deadline))
            if self._playing is not None:  # an Action arrived: the clip starts next tick
                break
        got += [None] * (AUDIO_FRAMES_PER_VIDEO_FRAME - len(got))
        if self._ended and all(f is None for f in got) and self._playing is None:
            return None
        audio = np.concatenate([f.samples if f is not None else silence() for f in got])
        real = [f for f in got if f is not None]
        speech = [f for f in real if f.kind is FrameKind.SPEECH]
        first = speech[0] if speech else (real[0] if real else None)
        tick = Tick(n, audio, FrameKind.SPEECH if speech else FrameKind.IDLE, self.avatar.loop_index(n),
                    speech[0].utterance if speech else None,
                    gen=first.gen if first is not None else self.gen.value,
                    position=first.position if first is not None else None)
        if self._fade is not None:
            clip, index, left = self._fade
            tick.fade = (clip, index, left / (FADE_TICKS + 1))
            self._fade = (clip, index, left - 1) if left > 1 else None
        return tick

    def _next_audio(self, deadline: float) -> AudioFrame | None:
        while True:
            if self._held:
                item = self._held.pop(0)
            elif self._ended:
                return None
            else:
                try:
                    if self.realtime:
                        item = self.inp.get(timeout=max(0.0, deadline - self.wall.now()))
                    else:
                        item = self.inp.get()
                except queue.Empty:
                    return None
            if item is END:
                self._ended = True
            elif isinstance(item, Action):
                if not self.gen.stale(item.gen):
                    self._start(item)
                    if self._playing is not None:
                        return None
            elif not self.gen.stale(item.gen):
                return item

    # -- action clips ----------------------------------------------------------------------------------
    def _start(self, action: Action) -> None:
        if self.gen.stale(action.gen):
            return
        clip = self.avatar.actions.get(action.name)
        if clip is None or not clip.frames:
            log.warning("avatar %s has no action clip %r; skipped", self.avatar.id, action.name)
            self.on_event("error", source="action",
                          message=f"avatar {self.avatar.id} has no action clip {action.name!r}")
            return
        loop = clip.loop if action.loop is None else action.loop
        self._playing = _Playing(action, clip, loop)
        self._fade = None
        self.on_event("action", name=action.name, state="start", loop=loop)

    def _clip_tick(self, n: int, p: _Playing) -> Tick:
        clip = p.clip
        i = p.index
        if clip.audio is not None:
            audio = clip.audio[i * SAMPLES_PER_VIDEO_FRAME:(i + 1) * SAMPLES_PER_VIDEO_FRAME]
            if len(audio) < SAMPLES_PER_VIDEO_FRAME:
                audio = np.concatenate([audio, silence(SAMPLES_PER_VIDEO_FRAME - len(audio))])
        else:
            audio = silence(SAMPLES_PER_VIDEO_FRAME)
        tick = Tick(n, audio, FrameKind.ACTION, i, None, clip=p.action.name, gen=p.action.gen,
                    position=p.action.position)
        p.index = i + 1
        if p.index >= len(clip.frames):
            if p.loop and not self._something_due():
                p.index = 0
            else:
                self._finish(p, i)
        elif (p.loop or self.speech_during_action == "interrupt") and self._something_due():
            self._finish(p, i)
        return tick

    def _something_due(self) -> bool:
        """Has anything (speech, a pause, the script's end) arrived behind the clip? Never blocks."""
        if self._held or self._ended:
            return True
        try:
            item = self.inp.get(timeout=0)
        except queue.Empty:
            return False
        if item is not END and not isinstance(item, Action) and self.gen.stale(item.gen):
            return False
        self._held.append(item)
        return True

    def _finish(self, p: _Playing, last: int) -> None:
        self._playing = None
        self._fade = (p.action.name, last, FADE_TICKS)
        self.on_event("action", name=p.action.name, state="end")
