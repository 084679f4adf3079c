"""The voices of one live: voice specs -> Voice objects, each created once, closed together, and
sharing one cache of what they synthesized."""
from __future__ import annotations

from collections.abc import Callable

from streamer.voice import create_voice
from streamer.voice.base import Voice
from streamer.voice.cache import CachedVoice, VoiceCache


class Voices:
    """Callable as `voices(spec)`: the Voice for `spec`, or the live's own voice for None.

    `make(spec)` creates a voice (create_voice by default; a bench or test may give its own).
    `cache_mb`: the size of the cache of synthesized sentences (0: none).
    """

    def __init__(self, default: str, make: Callable[[str], Voice] = create_voice, cache_mb: int = 64):
        self.default = default
        self._make = make
        self._voices: dict[str, Voice] = {}
        self.cache = VoiceCache(cache_mb << 20) if cache_mb > 0 else None

    def __call__(self, spec: str | None) -> Voice:
        spec = spec or self.default
        if spec not in self._voices:
            voice = self._make(spec)
            self._voices[spec] = CachedVoice(voice, self.cache, spec) if self.cache is not None else voice
        return self._voices[spec]

    def close(self) -> None:
        for v in self._voices.values():
            v.close()
