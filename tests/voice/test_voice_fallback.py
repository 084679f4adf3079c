"""A live's fallback voice: it speaks the sentences its voice cannot, and the voice is used again
once it works again."""
from __future__ import annotations

import time

import numpy as np

from streamer.voice import voices as voices_module
from streamer.voice.base import Voice, VoiceError
from streamer.voice.voices import Voices


class Tone(Voice):
    """A voice whose audio says who spoke: a constant level, `level`."""

    def __init__(self, level: float):
        self.level, self.down, self.name, self.calls = level, False, f"tone:{level}", 0

    def stream(self, text, cancel=None):
        self.calls += 1
        if self.down:
            raise VoiceError(f"{self.name}: server unreachable")
        yield np.full(1600, self.level, np.float32)


def said(voice, text):
    return float(np.concatenate(list(voice.stream(text))).mean())


def test_the_fallback_speaks_while_the_voice_is_down_and_the_voice_is_used_again_after_it_rests(monkeypatch):
    monkeypatch.setattr(voices_module, "RETRY_S", 0.3)
    primary, fallback, told = Tone(0.5), Tone(0.25), []
    made = {"server": primary, "espeak": fallback}
    voices = Voices("server", made.__getitem__, cache_mb=0, fallback="espeak",
                    on_fallback=lambda *a: told.append(a))
    assert said(voices(None), "one") == 0.5
    primary.down = True
    assert said(voices(None), "two") == 0.25 and told == [("tone:0.5", "espeak", "tone:0.5: server unreachable")]
    calls = primary.calls
    assert said(voices(None), "three") == 0.25 and primary.calls == calls  # resting: not waited on again
    primary.down = False
    time.sleep(0.35)
    assert said(voices(None), "four") == 0.5 and len(told) == 1  # back
    assert voices("espeak") is fallback  # the fallback itself has no fallback


def test_cached_sentences_of_the_fallback_are_never_played_as_the_voices_own():
    primary, fallback = Tone(0.5), Tone(0.25)
    voices = Voices("server", {"server": primary, "espeak": fallback}.__getitem__, cache_mb=1, fallback="espeak")
    primary.down = True
    assert said(voices(None), "hello") == 0.25
    primary.down = False
    voices(None)._resting_until = 0  # as if its rest were over
    assert said(voices(None), "hello") == 0.5
