"""The voices of one live: voice specs -> Voice objects, each created once, closed together."""
from __future__ import annotations

from collections.abc import Callable

from streamer.voice import create_voice
from streamer.voice.base import Voice


class Voices:
    """Callable as `voices(spec)`: the Voice for `spec`, or the live's own voice for None.

    `make(spec)` creates a voice (create_voice by default; a bench or test may give its own).
    """

    def __init__(self, default: str, make: Callable[[str], Voice] = create_voice):
        self.default = default
        self._make = make
        self._voices: dict[str, Voice] = {}

    def __call__(self, spec: str | None) -> Voice:
        spec = spec or self.default
        if spec not in self._voices:
            self._voices[spec] = self._make(spec)
        return self._voices[spec]

    def close(self) -> None:
        for v in self._voices.values():
            v.close()
