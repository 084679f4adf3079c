"""The Speaker stage: turns the director's utterances into 20 ms audio frames with a voice."""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

import numpy as np

from streamer.director import Action, Director, Pause
from streamer.frames import AUDIO_FRAME_SAMPLES, AudioFrame, FrameKind, Utterance, silence
from streamer.pipeline.pipe import END, Pipe
from streamer.pipeline.stage import Stage, StageSetup
from streamer.voice.base import Voice, VoiceError

log = logging.getLogger("livehost.speech")

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def estimated_seconds(text: str) -> float:
    """Roughly how long a person takes to say `text` (for silence in place of a failed voice)."""
    cjk = len(_CJK.findall(text))
    words = len(re.findall(r"[A-Za-z0-9']+", text))
    return max(0.5, cjk * 0.22 + words * 0.38)


class Speaker(Stage):
    """Pulls items from the director and puts their audio on `out` as 20 ms AudioFrames, streamed.

    Pauses become silent frames (a reply waiting cuts in, and the rest of the pause follows it);
    Actions pass through for the clock. A voice that fails is
    reported through `on_event` and replaced by silence of about the same length: the live goes on.
    cut() (any thread) stops the utterance being synthesized at once; frames of a stale
    generation are never put on `out`. `voice_for(spec)` gives the Voice for a voice spec.
    """

    def __init__(self, setup: StageSetup, director: Director, out: Pipe, voice_for: Callable[[str | None], Voice]):
        super().__init__("speaker", setup, out=out)
        self.director = director
        self.voice_for = voice_for
        self._cancel = threading.Event()

    def cut(self) -> None:
        """Cancel the TTS stream of the utterance in progress (interrupt or stop)."""
        self._cancel.set()

    def loop(self) -> None:
        while True:
            item = self.director.next(self.stop_event)
            if item is END:
                self.out.put(END)
                return
            self._cancel = threading.Event()
            if self.gen.stale(item.gen):
                continue
            if isinstance(item, Pause):
                self._pause(item)
            elif isinstance(item, Action):
                self.out.put(item)
            else:
                self._say(item)

    def _put(self, frame: AudioFrame) -> bool:
        """Put a frame unless its generation went stale; False once it has."""
        if self.gen.stale(frame.gen):
            return False
        self.out.put(frame)
        return True

    def _pause(self, item: Pause) -> None:
        """A script pause, given up for a reply that is waiting: the rest of it comes after."""
        frames = round(item.ms / 20)
        for i in range(frames):
            if self.director.pending:
                self.director.carry(Pause((frames - i) * 20, item.gen, item.position))
                return
            if not self._put(AudioFrame(silence(), FrameKind.IDLE, None, item.gen, item.position)):
                return

    def _silence(self, seconds: float, gen: int, position=None) -> None:
        for _ in range(round(seconds * 50)):
            if not self._put(AudioFrame(silence(), FrameKind.IDLE, None, gen, position)):
                return

    def _say(self, u: Utterance) -> None:
        pending = np.zeros(0, np.float32)
        sent = 0
        cancel = self._cancel
        try:
            voice = self.voice_for(u.voice)
            for chunk in voice.stream(u.text, cancel):
                pending = np.concatenate([pending, chunk.astype(np.float32, copy=False)])
                whole = len(pending) // AUDIO_FRAME_SAMPLES * AUDIO_FRAME_SAMPLES
                for i in range(0, whole, AUDIO_FRAME_SAMPLES):
                    frame = AudioFrame(pending[i:i + AUDIO_FRAME_SAMPLES], FrameKind.SPEECH, u, u.gen, u.position)
                    if not self._put(frame):
                        cancel.set()
                        return
                    sent += 1
                pending = pending[whole:]
        except VoiceError as e:
            log.error("voice failed on utterance %d: %s", u.id, e)
            self.on_event("error", source="voice", message=str(e))
            self._silence(max(0.0, estimated_seconds(u.text) - sent * 0.02), u.gen, u.position)
            return
        if len(pending) and not cancel.is_set():
            tail = np.zeros(AUDIO_FRAME_SAMPLES, np.float32)
            tail[: len(pending)] = pending
            self._put(AudioFrame(tail, FrameKind.SPEECH, u, u.gen, u.position))
