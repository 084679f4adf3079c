"""Speech for tests, float32 mono at 16 kHz: synthetic voiced speech (a harmonic voice with
vowel-like formants and a syllable rhythm) and espeak reading a text."""
from __future__ import annotations

import numpy as np

from streamer.frames import SAMPLE_RATE
from streamer.voice import create_voice

RATE = SAMPLE_RATE  # Hz, of everything here


def voiced(seconds: float, level: float = 0.3, f0: float = 130.0, syllables_hz: float = 4.0,
           formants: tuple[float, float] = (700.0, 1200.0)) -> tuple[np.ndarray, np.ndarray]:
    """(samples float32, envelope 0..1 per sample): an 'a'-like vowel pulsing at `syllables_hz`
    (0 for a steady vowel), peak amplitude `level`."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    x = np.zeros_like(t)
    for k in range(1, int(7000 / f0)):
        f = k * f0
        gain = sum(np.exp(-((f - fm) / 250.0) ** 2) for fm in formants) + 0.03
        x += gain * np.sin(2 * np.pi * f * t + 0.7 * k)
    x /= np.abs(x).max()
    env = np.ones_like(t) if syllables_hz == 0 else 0.5 - 0.5 * np.cos(2 * np.pi * syllables_hz * t)
    return (level * x * env).astype(np.float32), env


def speech(text: str) -> np.ndarray:
    """`text` read by espeak (English)."""
    return np.concatenate(list(create_voice("espeak:en").stream(text))).astype(np.float32)
