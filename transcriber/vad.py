"""Streaming Silero VAD: the model faster-whisper ships, fed 32 ms frames as they arrive, with state
kept per client (never shared between clients)."""
from __future__ import annotations

import numpy as np

FRAME = 512     # samples per VAD frame at 16 kHz (32 ms)
CONTEXT = 64    # samples of the previous frame the model sees


def silero_session():
    """The ONNX session of Silero VAD; thread-safe, shared by every client's `StreamingVad`."""
    from faster_whisper.vad import get_vad_model

    return get_vad_model().session


class StreamingVad:
    """Speech probabilities of consecutive 512-sample frames of one stream. Not thread-safe: one owner."""

    def __init__(self, session):
        self._session = session
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._rest = np.zeros(0, np.float32)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities of the whole frames completed by `samples` (leftover samples wait)."""
        audio = np.concatenate([self._rest, samples]) if self._rest.size else samples
        n = audio.size // FRAME
        self._rest = audio[n * FRAME:].copy()
        if n == 0:
            return np.zeros(0, np.float32)
        frames = audio[: n * FRAME].reshape(n, FRAME).astype(np.float32)
        contexts = np.concatenate([self._context[None, :], frames[:-1, -CONTEXT:]], axis=0)
        self._context = frames[-1, -CONTEXT:].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return np.asarray(out, np.float32).reshape(-1)
