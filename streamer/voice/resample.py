"""Streaming conversion of engine audio to the pipeline's 16 kHz mono float32."""
from __future__ import annotations

import av
import numpy as np

from streamer.frames import SAMPLE_RATE

_EMPTY = np.zeros(0, dtype=np.float32)


class StreamResampler:
    """Stateful resampler for one audio stream: any rate/layout in, 16 kHz mono float32 out.

    Output samples lie within [-1, 1] (resampling a near-full-scale input can overshoot).

    Keeps filter state between calls, so chunk boundaries leave no clicks or gaps; call
    `flush()` once at the end for the last few samples. One instance per stream, one thread.
    """

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def pcm16(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """Resample int16 mono samples recorded at `rate` Hz."""
        if samples.size == 0:
            return _EMPTY
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        return self.frame(frame)

    def frame(self, frame: av.AudioFrame) -> np.ndarray:
        """Resample one decoded PyAV audio frame (any format, layout and rate)."""
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        """Return what the filter still holds; the stream is finished after this."""
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list[av.AudioFrame]) -> np.ndarray:
        if not frames:
            return _EMPTY
        out = [f.to_ndarray().reshape(-1) for f in frames]
        samples = out[0] if len(out) == 1 else np.concatenate(out)
        return np.clip(samples, -1.0, 1.0).astype(np.float32, copy=False)
