"""The voices of one live: voice specs -> Voice objects, each created once, closed together, and
sharing one cache of what they synthesized; a voice that fails before its first audio is replaced
by the live's fallback voice for that sentence."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from streamer.voice import create_voice
from streamer.voice.base import Voice, VoiceError
from streamer.voice.cache import CachedVoice, VoiceCache

log = logging.getLogger("livehost.voice")

RETRY_S = 10.0  # after a voice failed, the fallback speaks for it this long before it is tried again


class Voices:
    """Callable as `voices(spec)`: the Voice for `spec`, or the live's own voice for None.

    `make(spec)` creates a voice (create_voice by default; a bench or test may give its own).
    `cache_mb`: the size of the cache of synthesized sentences (0: none). `fallback`: the spec that
    speaks a sentence whose voice fails or gives no audio in time (None: silence, as before);
    `on_fallback(voice, fallback, reason)` is told each time it takes over.
    """

    def __init__(self, default: str, make: Callable[[str], Voice] = create_voice, cache_mb: int = 64,
                 fallback: str | None = None, on_fallback: Callable[[str, str, str], None] | None = None):
        self.default = default
        self._make = make
        self._voices: dict[str, Voice] = {}
        self.cache = VoiceCache(cache_mb << 20) if cache_mb > 0 else None
        self.fallback = fallback
        self._on_fallback = on_fallback

    def __call__(self, spec: str | None) -> Voice:
        spec = spec or self.default
        if spec not in self._voices:
            voice = self._cached(spec)
            if self.fallback and spec != self.fallback:
                voice = WithFallback(voice, lambda: self(self.fallback), self._fell_back)
            self._voices[spec] = voice
        return self._voices[spec]

    def _cached(self, spec: str) -> Voice:
        voice = self._make(spec)
        return CachedVoice(voice, self.cache, spec) if self.cache is not None else voice

    def _fell_back(self, voice: str, reason: str) -> None:
        log.warning("voice %s failed (%s): %s speaks instead", voice, reason, self.fallback)
        if self._on_fallback is not None:
            self._on_fallback(voice, self.fallback or "", reason)

    def close(self) -> None:
        for v in self._voices.values():
            v.close()


class WithFallback(Voice):
    """`voice`, with `fallback()` speaking each sentence it fails before its first audio (an error,
    a server down, no audio within its timeout). After a failure the fallback speaks for RETRY_S
    seconds without waiting on the voice again; then the voice is tried again, so a server that
    comes back is used again. A failure after the first audio is raised (the sentence is cut)."""

    def __init__(self, voice: Voice, fallback: Callable[[], Voice], told: Callable[[str, str], None]):
        self.voice, self._fallback, self._told = voice, fallback, told
        self.name = voice.name
        self._resting_until = 0.0
        self._lock = threading.Lock()

    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        if time.monotonic() >= self._resting_until:
            started = False
            try:
                for chunk in self.voice.stream(text, cancel):
                    started = started or len(chunk) > 0
                    yield chunk
                return
            except VoiceError as e:
                if started:
                    raise
                self._failed(str(e))
        yield from self._fallback().stream(text, cancel)

    def _failed(self, reason: str) -> None:
        with self._lock:
            self._resting_until = time.monotonic() + RETRY_S
        self._told(self.name, reason)

    def check(self) -> None:
        """The voice's own check; if it fails the live still starts, with the fallback speaking (and
        saying so), unless the fallback cannot speak either."""
        try:
            self.voice.check()
        except VoiceError as e:
            self._fallback().check()
            self._failed(str(e))

    def close(self) -> None:
        self.voice.close()
