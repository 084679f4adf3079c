"""How MuseTalk turns Whisper features into the audio tokens of one video frame (pure numpy/math).

Feature frames run at 50 per second, video at 25 fps, so video frame i is centred on feature
frame c = 2 * i and takes the ten feature frames [c - 4, c + 6). Each feature frame holds every
hidden state of the Whisper encoder, (L + 1, D); the ten of them make 10 * (L + 1) tokens of
width D (50 x 384 with whisper-tiny). Outside the array, v15 uses zero frames (its code pads the
sequence with zeros) and v1 repeats the first or last frame (its code clamps the index).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from streamer.lipsync.musetalk.weights import VERSIONS

FEATURES_PER_SECOND = 50
SAMPLES_PER_FEATURE = 16_000 // FEATURES_PER_SECOND  # 320
FEATURES_PER_VIDEO_FRAME = 2  # 50 features per second / 25 fps
WINDOW_BEFORE = 4
WINDOW = 10  # feature frames per video frame: [c - 4, c + 6)
PE_MAX_LEN = 5000


def feature_count(samples: int) -> int:
    """Feature frames kept for `samples` of 16 kHz audio: one per started 20 ms (ceil(samples / 320)).

    MuseTalk's own code keeps floor(samples / 320); the two agree whenever the audio is whole
    20 ms frames, which is how the streamer feeds it.
    """
    return -(-samples // SAMPLES_PER_FEATURE)


def window_indices(version: str, frame: int, n_features: int) -> list[int | None]:
    """The feature frames that video frame `frame` reads, in order; None stands for a zero frame."""
    if version not in VERSIONS:
        raise ValueError(f"unknown MuseTalk version {version!r}")
    if frame < 0:
        raise ValueError(f"video frame index must be >= 0, not {frame}")
    start = FEATURES_PER_VIDEO_FRAME * frame - WINDOW_BEFORE
    wanted = range(start, start + WINDOW)
    if version == "v1":
        if n_features <= 0:
            raise ValueError("v1 windows need at least one feature frame")
        return [min(max(k, 0), n_features - 1) for k in wanted]
    return [k if 0 <= k < n_features else None for k in wanted]


def gather_windows(version: str, features: np.ndarray, frames: Sequence[int] | np.ndarray) -> np.ndarray:
    """(T, L+1, D) features -> (len(frames), 10 * (L+1), D) float32 tokens, frame-major."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 3:
        raise ValueError(f"features must be (T, layers, width), not shape {features.shape}")
    n, layers, width = features.shape
    zero_row = n  # index of the zero frame appended below
    rows = [[zero_row if k is None else k for k in window_indices(version, int(f), n)] for f in frames]
    padded = np.concatenate([features, np.zeros((1, layers, width), np.float32)])
    picked = padded[np.asarray(rows, dtype=np.int64).reshape(-1, WINDOW)]
    return picked.reshape(len(rows), WINDOW * layers, width)


def positional_encoding(length: int, d_model: int) -> np.ndarray:
    """The sinusoidal table of "Attention is all you need": (length, d_model) float32 with
    sin(pos / 10000^(2k/d)) in column 2k and cos of the same in column 2k + 1."""
    if length > PE_MAX_LEN:
        raise ValueError(f"at most {PE_MAX_LEN} positions, not {length}")
    pos = np.arange(length, dtype=np.float64)[:, None]
    rate = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    table = np.zeros((length, d_model), np.float64)
    table[:, 0::2] = np.sin(pos * rate)
    table[:, 1::2] = np.cos(pos * rate[: d_model // 2])
    return table.astype(np.float32)
