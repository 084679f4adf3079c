"""What a TTS engine promises: text in, 16 kHz mono float32 out, streamed as it is synthesized."""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np


class VoiceError(Exception):
    """A voice could not speak (unknown voice, no network, engine failure). One-line message."""


class Voice(ABC):
    """A TTS engine bound to one voice. Thread-safe to call from one stage thread at a time."""

    name: str = "voice"

    @abstractmethod
    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        """Yield float32 mono chunks at 16 kHz (any length) while synthesizing `text`.

        Stops early, without raising, once `cancel` is set. Raises VoiceError on failure.
        """

    def check(self) -> None:
        """Raise VoiceError now if this voice cannot work (missing voice, library), else return."""

    def close(self) -> None:
        """Release engine resources."""
