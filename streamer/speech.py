"""The Speaker stage: turns the director's utterances into 20 ms audio frames with a voice."""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

import numpy as np

from streamer.director import Action, Pause
from streamer.frames import AUDIO_FRAME_SAMPLES, IDLE, SPEECH, AudioFrame, Utterance, silence
from streamer.stage import END, Pipe, Stage
from streamer.voice.base import Voice, VoiceError

log = logging.getLogger("livehost.speech")

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def estimated_seconds(text: str) -> float:
    """Roughly how long a person takes to say `text` (for silence in place of a failed voice)."""
    cjk = len(_CJK.findall(text))
    words = len(re.findall(r"[A-Za-z0-9']+", text))
    return max(0.5, cjk * 0.22 + words * 0.38)


class Speaker(Stage):
    """Synthesizes each Utterance and puts its audio on `out` as AudioFrames, streamed.

    Pauses become silent frames; Actions pass through for the clock. A voice that fails is
    reported through `on_event` and replaced by silence of about the same length: the live goes on.
    `voice_for(spec)` gives the Voice for an utterance's voice spec (None: the session's default).
    """

    def __init__(self, inp: Pipe, out: Pipe, voice_for: Callable[[str | None], Voice],
                 stop: threading.Event, on_error, on_event: Callable[..., None]):
        super().__init__("speaker", stop, on_error)
        self.inp, self.out = inp, out
        self.voice_for = voice_for
        self.on_event = on_event
        self.cancel = threading.Event()

    def loop(self) -> None:
        while True:
            item = self.inp.get()
            if item is END:
                self.out.put(END)
                return
            if isinstance(item, Pause):
                self._silence(item.ms / 1000.0)
            elif isinstance(item, Action):
                self.out.put(item)
            else:
                self._say(item)

    def _silence(self, seconds: float, utterance: Utterance | None = None) -> None:
        for _ in range(round(seconds * 50)):
            self.out.put(AudioFrame(silence(), IDLE, utterance))

    def _say(self, u: Utterance) -> None:
        self.on_event("utterance", id=u.id, text=u.text)
        pending = np.zeros(0, np.float32)
        sent = 0
        try:
            voice = self.voice_for(u.voice)
            for chunk in voice.stream(u.text, self.cancel):
                pending = np.concatenate([pending, chunk.astype(np.float32, copy=False)])
                whole = len(pending) // AUDIO_FRAME_SAMPLES * AUDIO_FRAME_SAMPLES
                for i in range(0, whole, AUDIO_FRAME_SAMPLES):
                    self.out.put(AudioFrame(pending[i:i + AUDIO_FRAME_SAMPLES], SPEECH, u))
                    sent += 1
                pending = pending[whole:]
        except VoiceError as e:
            log.error("voice failed on utterance %d: %s", u.id, e)
            self.on_event("error", source="voice", message=str(e))
            self._silence(max(0.0, estimated_seconds(u.text) - sent * 0.02))
            return
        if len(pending):
            tail = np.zeros(AUDIO_FRAME_SAMPLES, np.float32)
            tail[: len(pending)] = pending
            self.out.put(AudioFrame(tail, SPEECH, u))
